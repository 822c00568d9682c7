"""An optional compiled form (numba) of the generator's hot loops: the same values, faster.

NumPy needs ~100 array passes per block of AVX2 normals (the polynomials' fused steps cannot be expressed in fewer),
which leaves float32 ``randn`` ~3x slower than PyTorch.  With numba installed (``pip install relulab[fast]``), draws of
``COMPILED_MIN`` values or more (so that small scripts never wait for the JIT) run these loops instead: the mt19937
engine, the unit uniforms, randperm's swaps and the Box-Muller kernel.  Each fused step of the kernel is a real float32
FMA (``llvm.fma.f32``: one rounding, as the AVX2 kernel's ``vfmadd``; a processor without FMA gets libm's exact
``fmaf``), and ``tests/test_random_avx.py`` checks it against the exact reference on the same grid.  Without numba
every name here is None and the NumPy path runs.
"""
import os

COMPILED_MIN = 1 << 16
_kernels = False  # not looked up yet; None once numba turns out to be missing


def kernels(n):
    """The numba kernels for a draw of ``n`` values, or None: numba absent, the draw small, or
    ``RELULAB_NO_NUMBA`` set.  numba is imported on the first large draw, never by ``import relulab``."""
    global _kernels
    if n < COMPILED_MIN or os.environ.get("RELULAB_NO_NUMBA"):
        return None
    if _kernels is False:
        try:
            from . import _numba_kernels as loaded
        except ImportError:
            loaded = None
        _kernels = loaded
    return _kernels
