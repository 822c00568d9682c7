"""The generator's parts on their own (no oracle needed): the mt19937 stream, exact FMA, states and bad input."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import relulab as rl
from relulab.random import Generator, capability, distributions, fork_rng
from relulab.random.engine import MT19937
from relulab.random.fma import fma


def reference_mt19937(seed, count):
    """Matsumoto & Nishimura's genrand_int32, written out plainly."""
    mt = [seed & 0xFFFFFFFF]
    for i in range(1, 624):
        mt.append((1812433253 * (mt[-1] ^ (mt[-1] >> 30)) + i) & 0xFFFFFFFF)
    out, index = [], 624
    for _ in range(count):
        if index == 624:
            for i in range(624):
                y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7FFFFFFF)
                mt[i] = mt[(i + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
            index = 0
        y = mt[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        out.append(y)
    return out


@pytest.mark.parametrize("seed", [0, 5489, 2 ** 32 + 17, 2 ** 64 - 1])
def test_engine_is_the_reference_mt19937_on_the_low_32_bits(seed):
    engine = MT19937(seed)
    words = np.concatenate([engine.uint32(1), engine.uint32(700), engine.uint32(600)])  # across two twists
    assert words.tolist() == reference_mt19937(seed, 1301)


def test_uint64_is_high_word_then_low_word():
    a, b = MT19937(3), MT19937(3)
    pair = a.uint32(2).astype(np.uint64)
    assert int(b.uint64(1)[0]) == (int(pair[0]) << 32) | int(pair[1])


finite32 = st.floats(-1e6, 1e6, width=32, allow_subnormal=False)
finite64 = st.floats(-1e100, 1e100, allow_subnormal=False)


@settings(max_examples=300, deadline=None)
@given(finite32, finite32, finite32)
def test_fma_float32_rounds_once(a, b, c):
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    got = fma(np.float32(a), np.float32(b), np.float32(c), np.float32)
    candidates = [np.float32(float(exact)), np.nextafter(np.float32(float(exact)), np.float32(np.inf)),
                  np.nextafter(np.float32(float(exact)), np.float32(-np.inf))]
    best = min(candidates, key=lambda v: (abs(Fraction(float(v)) - exact), int(np.float32(v).view(np.int32)) & 1))
    assert got == best


@settings(max_examples=300, deadline=None)
@given(finite64, finite64, finite64)
def test_fma_float64_rounds_once(a, b, c):
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    assert fma(a, b, c, np.float64) == float(exact)  # Fraction → float rounds to nearest even


def test_fma_differs_from_two_roundings():
    """The control: a case where a·b + c rounded twice is wrong, so the tests above could fail."""
    a = np.float64(1 + 2 ** -30)
    assert a * a - 1 != fma(a, a, -1.0, np.float64)
    assert fma(a, a, -1.0, np.float64) == float(Fraction(a) ** 2 - 1)


def test_state_round_trip_continues_the_stream():
    gen = Generator().manual_seed(8)
    gen.normal(0, 1, (3,))  # leaves a cached Box-Muller value
    gen.uniform(0, 1, (5,))
    state = gen.get_state()
    expected = [gen.normal(0, 1, (3,)), gen.randint(0, 10, (7,)), gen.normal(0, 1, (40,))]
    gen.set_state(state)
    again = [gen.normal(0, 1, (3,)), gen.randint(0, 10, (7,)), gen.normal(0, 1, (40,))]
    for a, b in zip(expected, again):
        np.testing.assert_array_equal(a, b)


def test_fork_rng_restores_the_default_generator():
    rl.manual_seed(1)
    with fork_rng():
        rl.rand(100)
    after = rl.rand(3).numpy()
    rl.manual_seed(1)
    np.testing.assert_array_equal(after, rl.rand(3).numpy())


@pytest.mark.parametrize("corrupt, message", [
    (lambda b: b[:100], "expected a state of 5056"),
    (lambda b: b[:8] + (0).to_bytes(4, "little") + b[12:], "'left' count"),
    (lambda b: b[:12] + (0).to_bytes(4, "little") + b[16:], "never seeded"),
    (lambda b: b[:24] + (2 ** 40).to_bytes(8, "little") + b[32:], "does not fit in 32 bits"),
    (lambda b: b[:16] + (7).to_bytes(8, "little") + b[24:], "inconsistent engine position"),
])
def test_bad_states_are_refused_and_change_nothing(corrupt, message):
    gen = Generator().manual_seed(4)
    gen.uniform(0, 1, (10,))
    good = gen.get_state().numpy().tobytes()
    bad = np.frombuffer(corrupt(good), dtype=np.uint8).copy()
    with pytest.raises(RuntimeError, match=message):
        gen.set_state(bad)
    assert gen.get_state().numpy().tobytes() == good


def test_set_state_needs_uint8():
    with pytest.raises(TypeError, match="1-D uint8"):
        Generator().set_state(np.zeros(5056, dtype=np.int64))


@pytest.mark.parametrize("call, error, message", [
    (lambda: rl.manual_seed(2 ** 64), RuntimeError, "does not fit in 64 bits"),
    (lambda: rl.manual_seed("seven"), TypeError, "expected an int seed"),
    (lambda: rl.empty(3).uniform_(2.0, 1.0), RuntimeError, r"\[from, to\) range"),
    (lambda: rl.empty(3).normal_(0.0, -1.0), RuntimeError, "std >= 0.0"),
    (lambda: rl.empty(3).bernoulli_(1.5), RuntimeError, r"p to be in \[0, 1\]"),
    (lambda: rl.empty(3).exponential_(0.0), RuntimeError, "lambda > 0.0"),
    (lambda: rl.randint(5, 5, (2,)), RuntimeError, "'from' to be less than 'to'"),
    (lambda: rl.randperm(-1), RuntimeError, "non-negative"),
    (lambda: rl.multinomial(rl.tensor([0.2, 0.8]), 3), RuntimeError, "without replacement"),
    (lambda: rl.multinomial(rl.tensor([0.0, 0.0]), 1), RuntimeError, "sum of probabilities"),
    (lambda: rl.multinomial(rl.tensor([0.5, -0.1]), 1), RuntimeError, "element < 0"),
    (lambda: rl.multinomial(rl.tensor([[[0.5]]]), 1), RuntimeError, "1 or 2 dim"),
    (lambda: rl.zeros(3, dtype=np.int64).normal_(), RuntimeError, "floating-point"),
])
def test_bad_arguments_name_the_operation(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_capability_override_switches_the_float32_normal_path(monkeypatch):
    """Off AVX2, PyTorch's float32 normals use scalar libm; relulab follows (approximately, see capability)."""
    fast = Generator().manual_seed(6).normal(0, 1, (4096,), np.float32)
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    capability.cpu_capability.cache_clear()
    try:
        assert not capability.fuses_multiply_add()
        portable = Generator().manual_seed(6).normal(0, 1, (4096,), np.float32)
    finally:
        monkeypatch.delenv("ATEN_CPU_CAPABILITY")
        capability.cpu_capability.cache_clear()
    if capability.cpu_capability() == "avx2":
        assert not np.array_equal(fast, portable)
    np.testing.assert_allclose(portable, fast, rtol=1e-5, atol=2e-6)  # the same transform, other rounding


def test_normal_fill_tail_redraws_the_last_16():
    """n = 20: 20 uniforms fill the tensor, then 16 more replace the last 16 values (PyTorch's tail rule)."""
    gen = Generator().manual_seed(2)
    values = gen.normal(0, 1, (20,), np.float64)
    words_used = gen.engine.key_and_position()[2]
    assert words_used == 2 * (20 + 16)  # two 32-bit words per float64 uniform
    head = Generator().manual_seed(2).normal(0, 1, (16,), np.float64)
    np.testing.assert_array_equal(values[:4], head[:4])


def test_randperm_is_a_permutation_for_many_sizes():
    gen = Generator().manual_seed(0)
    for n in (0, 1, 2, 3, 10, 1000):
        assert sorted(gen.randperm(n).tolist()) == list(range(n))
    assert distributions.opmath(np.float16) == np.float32


def test_compiled_engine_continues_numpys_stream(draw_path):
    """Large draws (numba's loop when installed) and small ones (NumPy's MT19937) interleave into one stream."""
    engine = MT19937(12)
    words = np.concatenate([engine.uint32(5), engine.uint32(70_000), engine.uint32(3), engine.uint32(1 << 16)])
    reference = MT19937(12)
    assert words.tolist() == reference._draw.integers(0, 1 << 32, size=words.size, dtype=np.uint32).tolist()
    ours, theirs = engine._bits.state["state"], reference._bits.state["state"]
    assert ours["pos"] == theirs["pos"]
    np.testing.assert_array_equal(ours["key"], theirs["key"])


def test_float64_transcendentals_carry_the_c_librarys_values():
    """PyTorch's scalar kernels call the C library's log/log1p/cos/sin; relulab.random.libm must give those bits
    whichever SIMD loops NumPy dispatches on this processor (math.* calls the C library)."""
    import math

    from relulab.random import libm
    x = np.random.default_rng(0).uniform(1e-9, 7.0, 4096)
    for ours, c_library in ((libm.log, math.log), (libm.cos, math.cos), (libm.sin, math.sin)):
        assert np.array_equal(ours(x), np.array([c_library(v) for v in x]))
    assert np.array_equal(libm.log1p(-x / 8), np.array([math.log1p(v) for v in -x / 8]))
    assert libm.log(np.empty(0)).shape == (0,)
