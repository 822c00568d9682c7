"""Float32 log and sin/cos exactly as PyTorch's AVX2 kernel computes them for ``normal_`` (``avx_mathfun.h``).

PyTorch's AVX2 build draws float32 normals with Julien Pommier's Cephes-derived polynomials, and the compiler fuses each
product that only feeds a sum into one FMA.  Only 2**24 inputs ever occur (uniforms are k·2**-24), and over all of them
these NumPy versions equal an exact-FMA emulation of the kernel: ``tests/test_random_avx.py`` checks every input.
A fused step is computed in float64 and rounded once to float32: the product of two float32s is exact in float64, so
only the sum rounds twice, and the exhaustive check shows that this never changes a result here.

The functions work in place on caller-owned scratch buffers, because a draw of 10**7 normals is ~100 array passes and
allocation would double its cost.
"""
import numpy as np

_F32 = np.float32
_MIN_NORMAL = np.float32(1.17549435e-38)
_SQRT_HALF = np.float32(0.707106781186547524)
_LOG_POLY = tuple(np.float32(v) for v in (
    7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1, 1.4249322787E-1,
    -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1))
_LOG_Q1 = np.float32(-2.12194440e-4)
_LOG_Q2 = np.float32(0.693359375)
_FOUR_OVER_PI = np.float32(1.27323954473516)
_PI4_PARTS = tuple(np.float32(v) for v in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8))
_SIN_POLY = tuple(np.float32(v) for v in (-1.9515295891E-4, 8.3321608736E-3, -1.6666654611E-1))
_COS_POLY = tuple(np.float32(v) for v in (2.443315711809948E-005, -1.388731625493765E-003, 4.166664568298827E-002))
_MANTISSA_MASK = np.int32(~0x7f800000)
_HALF_BITS = np.float32(0.5).view(np.int32)


class Scratch:
    """Reusable buffers for chunks of up to ``size`` lanes."""

    def __init__(self, size):
        self.wide = np.empty((3, size), np.float64)
        self.f = [np.empty(size, _F32) for _ in range(5)]
        self.i = [np.empty(size, np.int32) for _ in range(2)]
        self.mask = [np.empty(size, bool) for _ in range(3)]

    def view(self, n):
        return self.wide[:, :n], [b[:n] for b in self.f], [b[:n] for b in self.i], [m[:n] for m in self.mask]


def _fused_into(out, a, b, c, wide):
    """out = fl32(a·b + c): the float32 product is exact in float64, so one rounding remains."""
    np.multiply(a, b, out=wide, dtype=np.float64)
    np.add(wide, c, out=out, dtype=np.float64, casting="same_kind")


def _horner(out, x_wide, coefficients, wide, acc_wide):
    """out = the polynomial in x, each step fl32(y·x + c), with x and y kept in float64 (NumPy's mixed-type loops are
    several times slower than same-type ones)."""
    np.multiply(x_wide, coefficients[0], out=wide)
    for coefficient in coefficients[1:-1]:
        wide += coefficient
        np.copyto(out, wide, casting="same_kind")
        np.copyto(acc_wide, out)
        np.multiply(acc_wide, x_wide, out=wide)
    wide += coefficients[-1]
    np.copyto(out, wide, casting="same_kind")


def log_ps(x, out, scratch):
    """out = log(x) for positive float32 ``x`` (log256_ps); ``x`` is left unchanged."""
    wide, (m, e, y, z, tmp), (bits, _), (small, _, _) = scratch.view(x.size)
    np.maximum(x, _MIN_NORMAL, out=m)
    np.right_shift(m.view(np.int32), 23, out=bits)
    np.subtract(bits, 0x7f, out=bits)
    np.copyto(e, bits, casting="unsafe")
    e += _F32(1)
    mi = m.view(np.int32)
    np.bitwise_and(mi, _MANTISSA_MASK, out=mi)
    np.bitwise_or(mi, _HALF_BITS, out=mi)
    np.less(m, _SQRT_HALF, out=small)
    np.subtract(e, small, out=e, casting="unsafe")
    np.multiply(m, small, out=tmp, casting="unsafe")
    m -= _F32(1)
    m += tmp
    np.multiply(m, m, out=z)
    np.copyto(wide[1], m)
    _horner(y, wide[1], _LOG_POLY, wide[0], wide[2])
    y *= m
    np.multiply(e, _LOG_Q1, out=tmp)  # its own rounded product, added by the fused y·z
    _fused_into(y, y, z, tmp, wide[0])
    np.negative(z, out=tmp)
    _fused_into(y, tmp, _F32(0.5), y, wide[0])
    m += y
    _fused_into(out, e, _LOG_Q2, m, wide[0])
    return out


def sincos_ps(x, sin_out, cos_out, scratch):
    """(sin x, cos x) of float32 ``x`` into the outputs (sincos256_ps); ``x`` is left unchanged."""
    wide, (a, y, z, c, s), (octant, k), (negative, use_sin_poly, flip) = scratch.view(x.size)
    np.signbit(x, out=negative)
    np.abs(x, out=a)
    np.multiply(a, _FOUR_OVER_PI, out=y)
    np.copyto(octant, y, casting="unsafe")  # truncation toward zero, as cvttps
    octant += 1
    octant &= ~1
    np.copyto(y, octant, casting="unsafe")
    for part in _PI4_PARTS:  # x − y·π/4 in three pieces ("extended precision modular arithmetic")
        _fused_into(a, y, part, a, wide[0])
    np.multiply(a, a, out=z)
    np.copyto(wide[1], z)
    _horner(c, wide[1], _COS_POLY, wide[0], wide[2])
    c *= z
    np.multiply(z, _F32(0.5), out=y)
    np.negative(y, out=y)
    _fused_into(c, c, z, y, wide[0])
    c += _F32(1)
    _horner(s, wide[1], _SIN_POLY, wide[0], wide[2])
    s *= z
    _fused_into(s, s, a, a, wide[0])
    np.bitwise_and(octant, 2, out=k)
    np.equal(k, 0, out=use_sin_poly)
    np.bitwise_and(octant, 4, out=k)
    np.not_equal(k, 0, out=flip)
    np.logical_xor(negative, flip, out=negative)  # the sine's sign
    np.subtract(octant, 2, out=k)
    np.invert(k, out=k)
    np.bitwise_and(k, 4, out=k)
    np.not_equal(k, 0, out=flip)  # the cosine's sign
    np.copyto(sin_out, c)
    np.copyto(sin_out, s, where=use_sin_poly)
    np.copyto(cos_out, s)
    np.copyto(cos_out, c, where=use_sin_poly)
    np.negative(sin_out, out=sin_out, where=negative)
    np.negative(cos_out, out=cos_out, where=flip)
    return sin_out, cos_out
