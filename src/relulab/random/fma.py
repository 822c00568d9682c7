"""Exact fused multiply-add, a·b + c rounded once, for float32 and float64 arrays.

PyTorch's CPU kernels are compiled with FMA contraction, so its uniform and normal draws round a·b + c once.  NumPy has
no fma ufunc; these emulate it exactly with error-free transformations and rounding to odd (Boldo & Melquiond 2008).
"""
import numpy as np

_SPLITTER = 134217729.0  # 2**27 + 1: Veltkamp's split of a float64 into two 26-bit halves
_BELOW_FLOAT32 = np.uint64((1 << 29) - 1)  # the float64 mantissa bits a float32 drops
_FLOAT32_HALF_ULP = np.uint64(1 << 28)


def _two_sum(a, b):
    """s + e == a + b exactly, with s = fl(a + b) (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_product(a, b):
    """p + e == a·b exactly, with p = fl(a·b) (Dekker)."""
    p = a * b
    scaled = _SPLITTER * a
    a_hi = scaled - (scaled - a)
    a_lo = a - a_hi
    scaled = _SPLITTER * b
    b_hi = scaled - (scaled - b)
    b_lo = b - b_hi
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def _add_round_to_odd(a, b):
    """a + b rounded to odd: truncate, then set the last bit if anything was lost."""
    s, e = _two_sum(a, b)
    lost = (e != 0) & ((s.view(np.int64) & 1) == 0)
    if lost.any():
        s = np.array(s, copy=True)
        s[lost] = np.nextafter(s[lost], np.where(e[lost] > 0, np.inf, -np.inf))
    return s


def fma(a, b, c, dtype):
    """fl(a·b + c) in ``dtype`` (float32 or float64), elementwise with broadcasting."""
    a, b, c = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(c, np.float64))
    if a.ndim == 0:
        return fma(a.reshape(1), b.reshape(1), c.reshape(1), dtype).reshape(())
    if np.dtype(dtype) == np.float32:
        # float32 products are exact in float64, so only the sum rounds; rounding it to odd at 53 bits, then to
        # nearest at 24, is exact.  That only matters when the float64 sum lands on a float32 midpoint.
        total = a * b + c
        at_midpoint = (total.view(np.uint64) & _BELOW_FLOAT32) == _FLOAT32_HALF_ULP
        if at_midpoint.any():
            total[at_midpoint] = _add_round_to_odd((a * b)[at_midpoint], c[at_midpoint])
        return total.astype(np.float32)
    high, low = _two_product(a, b)
    sum_high, sum_low = _two_sum(c, high)
    return sum_high + _add_round_to_odd(low, sum_low)
