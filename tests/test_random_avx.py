"""The float32 log and sin/cos of PyTorch's AVX2 normal kernel, against a literal exact-FMA emulation.

The reference below follows ``avx_mathfun.h`` intrinsic by intrinsic, fusing every product whose only use is a sum
(as GCC's contraction does) with an exact FMA.  The product's fast versions compute each fused step in float64 and round
once; that is only safe because the inputs are uniforms on the 2**-24 grid, so the check covers the grid: a stride
through all 2**24 inputs in CI, and every input with ``python tests/test_random_avx.py``.
"""
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from relulab.random import avx_math
from relulab.random.fma import fma

from conftest import require_numba

F32 = np.float32


def _fused(a, b, c):
    return fma(a, b, c, np.float32)


def reference_log(x, fused=_fused):
    x = np.maximum(x, F32(1.17549435e-38))
    bits = x.view(np.int32)
    e = ((bits >> 23) - 0x7f).astype(F32) + F32(1)
    x = ((bits & ~0x7f800000) | F32(0.5).view(np.int32)).view(F32)
    mask = x < F32(0.707106781186547524)
    tmp = np.where(mask, x, F32(0))
    x = x - F32(1)
    e = e - np.where(mask, F32(1), F32(0))
    x = x + tmp
    z = x * x
    y = np.full_like(x, F32(7.0376836292E-2))
    for p in (-1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1, 1.4249322787E-1, -1.6668057665E-1,
              2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1):
        y = fused(y, x, F32(p))            # y = y·x + p
    y = y * x
    y = fused(y, z, e * F32(-2.12194440e-4))  # y·z + (e·q1): the first product in program order is fused
    y = fused(-z, F32(0.5), y)             # y − z·0.5
    return fused(e, F32(0.693359375), x + y)


def reference_sincos(x):
    sign_sin = np.signbit(x)
    x = np.abs(x)
    j = ((x * F32(1.27323954473516)).astype(np.int32) + 1) & ~1
    y = j.astype(F32)
    for d in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8):
        x = _fused(y, F32(d), x)
    sign_cos = ((~(j - 2)) & 4) != 0
    sign_sin = sign_sin ^ ((j & 4) != 0)
    poly = (j & 2) == 0
    z = x * x
    c = _fused(np.full_like(z, F32(2.443315711809948E-005)), z, F32(-1.388731625493765E-003))
    c = _fused(c, z, F32(4.166664568298827E-002))
    c = _fused(c * z, z, -(z * F32(0.5))) + F32(1)
    s = _fused(np.full_like(z, F32(-1.9515295891E-4)), z, F32(8.3321608736E-3))
    s = _fused(s, z, F32(-1.6666654611E-1))
    s = _fused(s * z, x, x)
    sin, cos = np.where(poly, s, c), np.where(poly, c, s)
    return np.where(sign_sin, -sin, sin), np.where(sign_cos, -cos, cos)


def _fast(k):
    u = k.astype(F32) * F32(2.0 ** -24)
    u1, theta = F32(1) - u, F32(2.0 * np.pi) * u
    scratch = avx_math.Scratch(u.size)
    log, sin, cos = (np.empty_like(u) for _ in range(3))
    avx_math.log_ps(u1, log, scratch)
    avx_math.sincos_ps(theta, sin, cos, scratch)
    return u1, theta, log, sin, cos


def _check(k):
    u1, theta, log, sin, cos = _fast(k)
    np.testing.assert_array_equal(log, reference_log(u1))
    ref_sin, ref_cos = reference_sincos(theta)
    np.testing.assert_array_equal(sin, ref_sin)
    np.testing.assert_array_equal(cos, ref_cos)


def test_grid_stride_matches_the_exact_fma_reference():
    _check(np.arange(0, 1 << 24, 7, dtype=np.uint32))


def test_known_hard_inputs():
    """Inputs where fusing x − y·π/4 changes the cosine, and the grid's ends."""
    _check(np.array([0, 1, 2, 12582909, 12582912, 12582913, (1 << 23), (1 << 24) - 2, (1 << 24) - 1],
                    dtype=np.uint32))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, (1 << 24) - 1), min_size=1, max_size=64))
def test_any_grid_points(ks):
    _check(np.array(ks, dtype=np.uint32))


def test_compiled_kernel_matches_the_reference():
    """numba's Box-Muller kernel (``relulab[fast]``) on the same grid stride, against the same reference."""
    require_numba()
    from relulab.random import _numba_kernels
    k = np.arange(0, 1 << 24, 7, dtype=np.uint32)
    k = k[: k.size - k.size % 8]
    u1, theta, _, _, _ = _fast(k)
    cos, sin = np.empty(k.size, F32), np.empty(k.size, F32)
    _numba_kernels._pairs(k, k, cos, sin)  # each lane's words: u = k·2**-24 for both the radius and the angle
    radius = np.sqrt(F32(-2) * reference_log(u1))
    ref_sin, ref_cos = reference_sincos(theta)
    np.testing.assert_array_equal(cos, radius * ref_cos)
    np.testing.assert_array_equal(sin, radius * ref_sin)


def test_unfused_arithmetic_would_differ():
    """The control: the same kernel without FMA contraction gives other values on the grid, so the check has teeth."""
    u1, _, log, _, _ = _fast(np.arange(0, 1 << 24, 7, dtype=np.uint32))
    unfused = reference_log(u1, fused=lambda a, b, c: (F32(a) * F32(b) + F32(c)).astype(F32))
    assert (unfused != log).sum() > 100


if __name__ == "__main__":  # every input: about a minute
    for start in range(0, 1 << 24, 1 << 20):
        _check(np.arange(start, start + (1 << 20), dtype=np.uint32))
        print(f"{start + (1 << 20):>9} of {1 << 24} inputs equal", file=sys.stderr)
