"""float64 log, log1p, cos and sin with the C library's values, which PyTorch's scalar kernels call.

NumPy computes these itself: with libm's results on most processors, but with its own SIMD code (a last-bit
difference in a few values per thousand) where it dispatches AVX512_SKX loops.  There each value goes through
Python's ``math`` module, which calls the C library: slower, and the same bits as PyTorch's draws.
"""
import math

import numpy as np


def _numpy_has_own_simd_math():
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy < 2
        from numpy.core._multiarray_umath import __cpu_features__
    return bool(__cpu_features__.get("AVX512_SKX"))


def _through_c_library(fn):
    scalar = np.frompyfunc(fn, 1, 1)

    def apply(x):
        x = np.asarray(x, dtype=np.float64)
        return scalar(x).astype(np.float64) if x.size else np.empty_like(x)
    return apply


if _numpy_has_own_simd_math():
    log, log1p, cos, sin = (_through_c_library(f) for f in (math.log, math.log1p, math.cos, math.sin))
else:
    log, log1p, cos, sin = np.log, np.log1p, np.cos, np.sin
