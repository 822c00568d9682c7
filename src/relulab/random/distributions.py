"""PyTorch's CPU sampling algorithms, draw for draw: how each kernel turns engine words into values.

Each function consumes exactly the words PyTorch's kernel consumes, in the same order, and applies the same
arithmetic (``DistributionsHelper.h``, ``TransformationHelper.h``, ``cpu/DistributionTemplates.h``).  Arrays come back
in the requested NumPy dtype; the Generator supplies the engine and the cached Box-Muller sample.
"""
import math

import numpy as np

from . import avx_math, compiled, libm
from .capability import fuses_multiply_add, uses_avx2_normals
from .fma import fma

_CHUNK = 1 << 15  # lanes per pass of the vectorised normal kernel: small enough to stay in cache
_F32_LOW_BITS = np.uint32((1 << 24) - 1)
_HIGH_21_BITS = np.uint32((1 << 21) - 1)
_SMALL_RANGE = 1 << 28  # below this, integer draws use one 32-bit word ("allow approx 5% skew")
_RANDPERM_32BIT_LIMIT = 0xFFFFFFFF // 20


def opmath(dtype):
    """The type PyTorch computes a float dtype's draws in: float64 stays, everything narrower uses float32."""
    return np.dtype(np.float64) if np.dtype(dtype) == np.float64 else np.dtype(np.float32)


def unit_uniform(engine, n, dtype):
    """n uniforms on [0, 1) in ``opmath(dtype)``: 24 bits of one word, or 53 bits of a 64-bit word."""
    if opmath(dtype) == np.float64:
        # the low 53 bits of (high << 32 | low), as high's low 21 bits · 2**-21 + low · 2**-53 (exact in float64)
        words = engine.uint32(2 * n)
        kernels = compiled.kernels(n)
        if kernels is not None:
            values = np.empty(n, np.float64)
            kernels.unit_uniforms64(words, values)
            return values
        high = (words[0::2] & _HIGH_21_BITS).astype(np.float64)
        high *= 2.0 ** -21
        low = words[1::2].astype(np.float64)
        low *= 2.0 ** -53
        high += low
        return high
    words = engine.uint32(n)
    kernels = compiled.kernels(n)
    if kernels is not None:
        values = np.empty(n, np.float32)
        kernels.unit_uniforms(words, values)
        return values
    values = (words & _F32_LOW_BITS).astype(np.float32)
    values *= np.float32(2.0 ** -24)
    return values


def _scale_and_shift(x, scale, shift, dtype):
    """x·scale + shift in ``dtype``, rounded once where PyTorch's kernels are built with FMA."""
    if scale == 1 and shift == 0:
        return x.astype(dtype, copy=False)
    if fuses_multiply_add():
        return fma(x, scale, shift, dtype)
    return (x * dtype.type(scale) + dtype.type(shift)).astype(dtype)


def uniform(engine, low, high, n, dtype):
    """``uniform_(low, high)``: low + x·(high − low), with a value that rounds up to ``high`` replaced by ``low``."""
    dtype, math_dtype = np.dtype(dtype), opmath(dtype)
    low_m, high_m = math_dtype.type(low), math_dtype.type(high)
    values = _scale_and_shift(unit_uniform(engine, n, dtype), high_m - low_m, low_m, math_dtype).astype(dtype)
    values[values == dtype.type(high)] = dtype.type(low)
    return values


# ---------------------------------------------------------------------------------------------------- normal
def _box_muller_avx2(u, mean, std, out):
    """NormalFill16 of PyTorch's AVX2 build on blocks of 16 float32 uniforms (rows of ``u``), into ``out``."""
    scratch = avx_math.Scratch(min(_CHUNK, u.shape[0] * 8))
    one, minus_two, two_pi = np.float32(1), np.float32(-2), np.float32(2.0 * math.pi)
    for start in range(0, u.shape[0], _CHUNK // 8):
        block = u[start:start + _CHUNK // 8]
        lanes = block.shape[0] * 8
        first, second = block[:, :8].reshape(-1), block[:, 8:].reshape(-1)
        radius = np.empty(lanes, np.float32)
        avx_math.log_ps(one - first, radius, scratch)
        radius *= minus_two
        np.sqrt(radius, out=radius)
        sin, cos = np.empty(lanes, np.float32), np.empty(lanes, np.float32)
        avx_math.sincos_ps(two_pi * second, sin, cos, scratch)
        target = out[start:start + block.shape[0]]
        target[:, :8] = _affine(radius * cos, mean, std, np.float32).reshape(-1, 8)
        target[:, 8:] = _affine(radius * sin, mean, std, np.float32).reshape(-1, 8)


def _box_muller_scalar(u, mean, std, out, dtype):
    """NormalFill16 compiled as scalar code: libm log, cos and sin in ``dtype`` (float64, or float32 in the DEFAULT build)."""
    first, second = u[:, :8], u[:, 8:]
    if dtype == np.float64:
        radius = np.sqrt(-2.0 * libm.log(1.0 - first))
        theta = 2.0 * math.pi * second
        cos, sin = libm.cos(theta), libm.sin(theta)
    else:
        # float32 libm (logf, cosf, sinf) evaluated in float64 and rounded: glibc is within an ulp of this
        radius = np.sqrt(np.float32(-2) * np.log(np.float32(1) - first, dtype=np.float64).astype(np.float32))
        theta = (2.0 * math.pi * second.astype(np.float64)).astype(np.float32)
        cos = np.cos(theta, dtype=np.float64).astype(np.float32)
        sin = np.sin(theta, dtype=np.float64).astype(np.float32)
    out[:, :8] = _affine(radius * cos, mean, std, dtype)
    out[:, 8:] = _affine(radius * sin, mean, std, dtype)


def _affine(z, mean, std, dtype):
    """fma(z, std, mean) in ``dtype``; exact shortcuts when it reduces to a product or to z itself."""
    dtype = np.dtype(dtype)
    std, mean = dtype.type(std), dtype.type(mean)
    if mean == 0:
        return z if std == 1 else (z * std).astype(dtype)
    return fma(z, std, mean, dtype)


def _box_muller_blocks(u, mean, std, dtype):
    out = np.empty_like(u)
    if dtype == np.float32 and uses_avx2_normals():
        _box_muller_avx2(u, mean, std, out)
    else:
        _box_muller_scalar(u, mean, std, out, dtype)
    return out.reshape(-1)


def normal_fill(engine, mean, std, n, dtype):
    """``normal_`` on a contiguous tensor of n ≥ 16: Box-Muller on blocks of 16 uniforms, the last 16 redrawn."""
    dtype, math_dtype = np.dtype(dtype), opmath(dtype)
    full = n - n % 16
    if _compiled_normals(math_dtype, n):
        return _normal_fill_compiled(engine, mean, std, n, dtype, full)
    if math_dtype == dtype:  # float32/float64 draw every uniform first, into the output itself
        values = unit_uniform(engine, n, dtype)
        out = np.empty(n, dtype)
        out[:full] = _box_muller_blocks(values[:full].reshape(-1, 16), mean, std, dtype)
    else:  # float16 draws block by block into a float32 buffer
        out = np.empty(n, math_dtype)
        out[:full] = _box_muller_blocks(unit_uniform(engine, full, dtype).reshape(-1, 16), mean, std, math_dtype)
    if n % 16:
        out[n - 16:] = _box_muller_blocks(unit_uniform(engine, 16, dtype).reshape(1, 16), mean, std, math_dtype)
    return out.astype(dtype, copy=False)


def _compiled_normals(math_dtype, n):
    return math_dtype == np.float32 and uses_avx2_normals() and compiled.kernels(n) is not None



def _normal_fill_compiled(engine, mean, std, n, dtype, full):
    """The AVX2 float32 kernel straight from engine words (numba): the same words and values as ``normal_fill``."""
    out = np.empty(n, np.float32)
    words = engine.uint32(n if dtype == np.float32 else full)  # float16 draws only whole blocks, as PyTorch does
    kernels = compiled.kernels(n)
    kernels.normals_from_words(words[:full], out[:full])
    if n % 16:
        tail = np.empty(16, np.float32)
        kernels.normals_from_words(engine.uint32(16), tail)
        out[n - 16:] = tail
    return _affine(out, mean, std, np.float32).astype(dtype, copy=False)


def normal_serial(generator, mean, std, n, dtype):
    """``normal_`` on a small or strided tensor: ``normal_distribution<double>``, one value a call, with the second
    Box-Muller value cached on the generator for the next call."""
    raw = np.empty(n, np.float64)
    filled = 0
    if n and generator._next_double_normal is not None:
        raw[0], generator._next_double_normal, filled = generator._next_double_normal, None, 1
    remaining = n - filled
    pairs = (remaining + 1) // 2
    if pairs:
        u = unit_uniform(generator.engine, 2 * pairs, np.float64).reshape(pairs, 2)
        radius = np.sqrt(-2.0 * libm.log1p(-u[:, 1]))
        theta = 2.0 * math.pi * u[:, 0]
        stream = np.stack([radius * libm.cos(theta), radius * libm.sin(theta)], axis=1).reshape(-1)
        raw[filled:] = stream[:remaining]
        if remaining % 2:
            generator._next_double_normal = float(stream[-1])
    return _scale_and_shift(raw, std, mean, np.dtype(np.float64)).astype(dtype)


# ---------------------------------------------------------------------------------------------------- integers
def random_from_to(engine, low, high, n, dtype):
    """``random_(low, high)`` / ``randint``: (word % (high − low)) + low, with a 64-bit word for ranges ≥ 2**28."""
    span = int(high) - int(low)
    if span <= 0:
        raise ValueError(f"random_from_to: expects 'from' < 'to', but got from={low} >= to={high}")
    words = engine.uint64(n) if span >= _SMALL_RANGE else engine.uint32(n).astype(np.uint64)
    return _wrap_int64(words % np.uint64(span), int(low)).astype(dtype)


def _wrap_int64(offsets, low):
    """low + offsets in int64 arithmetic, wrapping as C++ does."""
    return (offsets + np.uint64(low % (1 << 64))).view(np.int64)


def random_full(engine, n, dtype):
    """``random_()`` with no bounds: [0, 2**63) for int64 and float64 (via 2**53 + 1), [0, max] for other ints."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return (engine.uint32(n) & np.uint32(1)).astype(np.bool_)
    if dtype in (np.int64, np.float64):
        words = engine.uint64(n)
        modulus = (1 << 53) + 1 if dtype == np.float64 else 1 << 63
        return (words % np.uint64(modulus)).astype(dtype)
    words = engine.uint32(n).astype(np.uint64)
    if dtype.kind == "f":
        modulus = (1 << (np.finfo(dtype).nmant + 1)) + 1
    else:
        modulus = int(np.iinfo(dtype).max) + 1
    return (words % np.uint64(modulus)).astype(dtype)


def random_from(engine, low, n, dtype):
    """``random_(from=low)`` with no ``to``: [low, max], max being the dtype's largest integer (2**digits for
    floats); from -2**63 a whole 64-bit word reinterpreted as int64."""
    if low == -(1 << 63):
        return engine.uint64(n).view(np.int64).astype(dtype)
    dtype = np.dtype(dtype)
    top = (1 << (np.finfo(dtype).nmant + 1)) if dtype.kind == "f" else int(np.iinfo(dtype).max)
    if low > top:
        raise RuntimeError(f"random_ expects 'from' to be at most {top} for dtype {dtype}, but got from={low}")
    return random_from_to(engine, low, top + 1, n, dtype)


def randperm(engine, n):
    """``randperm(n)``: Fisher-Yates swapping slot i with i + word % (n − i), or, for n ≥ 2**32/20, the inside-out
    variant with 64-bit words."""
    if n < _RANDPERM_32BIT_LIMIT:
        steps = max(n - 1, 0)
        partners = (engine.uint32(steps) % np.arange(n, 1, -1, dtype=np.uint32)).astype(np.int64)
        partners += np.arange(steps, dtype=np.int64)
        kernels = compiled.kernels(n)
        if kernels is not None:
            order = np.arange(n, dtype=np.int64)
            kernels.swap_forward(order, partners)
            return order
        order = list(range(n))
        for i, j in enumerate(partners.tolist()):  # each swap depends on the ones before it
            order[i], order[j] = order[j], order[i]
        return np.asarray(order, dtype=np.int64)
    picks = (engine.uint64(n) % np.arange(1, n + 1, dtype=np.uint64)).tolist()
    order = [0] * n
    for i, z in enumerate(picks):
        order[i] = order[z]
        order[z] = i
    return np.asarray(order, dtype=np.int64)


# ---------------------------------------------------------------------------------------------------- others
def bernoulli_scalar(engine, p, n, dtype):
    """``bernoulli_(p)``: a float64 uniform below p."""
    return (unit_uniform(engine, n, np.float64) < p).astype(dtype)


def bernoulli_tensor(engine, p, dtype):
    """``bernoulli(p)`` for an array of probabilities: a uniform in p's precision below each p, in order."""
    flat = np.ascontiguousarray(p).reshape(-1)
    u = unit_uniform(engine, flat.size, np.float64 if flat.dtype == np.float64 else np.float32)
    return (u < flat).reshape(np.shape(p)).astype(dtype)


def exponential(engine, rate, n, dtype):
    """``exponential_(λ)``: −1/λ · log1p(−u) with a float64 uniform u."""
    return ((-1.0 / rate) * libm.log1p(-unit_uniform(engine, n, np.float64))).astype(dtype)


def multinomial(engine, probs, n_sample, replacement):
    """``multinomial``: without replacement (and for one draw) the largest p / q with q ~ Exp(1) (the Gumbel trick,
    one exponential per category); with replacement a float64 uniform per draw, searched in the normalised CDF."""
    probs = np.asarray(probs)
    if not replacement or n_sample == 1:
        q = exponential(engine, 1.0, probs.size, probs.dtype).reshape(probs.shape)
        keys = (probs / q).astype(probs.dtype)
        if n_sample == 1:
            return np.argmax(keys, axis=-1, keepdims=True).astype(np.int64)
        return np.argsort(-keys, axis=-1, kind="stable")[..., :n_sample].astype(np.int64)
    rows = probs.reshape(-1, probs.shape[-1])
    math_dtype = opmath(probs.dtype)
    cdf = np.cumsum(rows.astype(math_dtype), axis=1, dtype=math_dtype)  # sequential sums, as the kernel's loop
    cdf /= cdf[:, -1:]
    cdf[:, -1] = 1  # the last bucket always closes the interval
    u = unit_uniform(engine, rows.shape[0] * n_sample, np.float64).reshape(rows.shape[0], n_sample)
    picks = np.stack([np.searchsorted(cdf[i].astype(np.float64), u[i], side="left") for i in range(rows.shape[0])])
    return picks.reshape(probs.shape[:-1] + (n_sample,)).astype(np.int64)
