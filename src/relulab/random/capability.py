"""Which of PyTorch's CPU kernel builds this processor runs, since two random kernels depend on it.

PyTorch compiles its CPU kernels three times (DEFAULT, AVX2, AVX512) and picks one at start-up.  The AVX2 and AVX512
builds fuse a·b + c into one rounding, and both draw float32 normals with the AVX2 kernel's vectorised log/sin/cos.
``ATEN_CPU_CAPABILITY`` overrides the choice, as it does for PyTorch.
"""
import functools
import os

CAPABILITIES = ("default", "avx2", "avx512")


def _cpu_flags():
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


@functools.lru_cache(maxsize=None)
def cpu_capability():
    """'default', 'avx2' or 'avx512', chosen as PyTorch chooses its kernel build."""
    override = os.environ.get("ATEN_CPU_CAPABILITY", "").strip().lower()
    if override in CAPABILITIES:
        return override
    flags = _cpu_flags()
    if {"avx512f", "avx512vl", "avx512bw", "avx512dq", "fma"} <= flags:
        return "avx512"
    if {"avx2", "fma"} <= flags:
        return "avx2"
    return "default"


def fuses_multiply_add():
    """Whether PyTorch's kernels here round x·(to − from) + from once (the FMA builds) or twice."""
    return cpu_capability() != "default"


def uses_avx2_normals():
    """Whether float32 normals come from the AVX2 Box-Muller kernel: PyTorch's AVX512 build calls it too."""
    return cpu_capability() != "default"
