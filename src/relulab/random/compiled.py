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
SMALL_DRAWS_BEFORE_LOADING = 200  # a program that draws this often pays numba's one-off load (~0.3 s) gladly
_kernels = False  # not looked up yet; None once numba turns out to be missing
_small_draws = 0


def kernels(n):
    """The numba kernels for a draw of ``n`` values, or None: numba absent or ``RELULAB_NO_NUMBA`` set, or numba
    not loaded yet and neither this draw large nor the program a frequent drawer.  numba is imported on the first
    large draw (or the 200th small one), never by ``import relulab``."""
    global _kernels, _small_draws
    if os.environ.get("RELULAB_NO_NUMBA"):
        return None
    if _kernels is False and n < COMPILED_MIN:
        _small_draws += 1
        if _small_draws < SMALL_DRAWS_BEFORE_LOADING:
            return None
    if _kernels is False:
        try:
            from . import _numba_kernels as loaded
        except ImportError:
            loaded = None
        _kernels = loaded
    return _kernels
