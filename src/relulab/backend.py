"""The array module behind every tensor.

Every array call in relulab goes through ``xp``.  Today it is NumPy; an array library with NumPy's API
(CuPy, for instance) can be dropped in here without touching the ops.
"""
import ctypes
import os
import sys

import numpy as np

xp = np


def _keep_freed_buffers():
    """Let glibc reuse freed array buffers instead of returning them to the OS.

    Every op allocates a fresh NumPy array.  By default glibc hands buffers over ~128 KiB back to the kernel
    on free, so the next step page-faults them in again (measured: 40 % of a LeNet training step).  Raising
    the mmap/trim thresholds keeps them in the heap for reuse, the job PyTorch's caching allocator does.
    The cost is that the process keeps its peak heap.  Set RELULAB_KEEP_FREED_BUFFERS=0 to opt out.
    """
    if os.environ.get("RELULAB_KEEP_FREED_BUFFERS", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    ok = libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024)  # glibc's ceiling for this setting on 64-bit
    ok &= libc.mallopt(m_trim_threshold, 1024 * 1024 * 1024)
    ok &= libc.mallopt(m_top_pad, 64 * 1024 * 1024)
    return bool(ok)


KEEPS_FREED_BUFFERS = _keep_freed_buffers()

float32 = np.dtype("float32")
float64 = np.dtype("float64")
float16 = np.dtype("float16")
int64 = np.dtype("int64")
int32 = np.dtype("int32")
int8 = np.dtype("int8")
uint8 = np.dtype("uint8")
bool_ = np.dtype("bool")

_default_float = float32


def get_default_dtype():
    """The floating dtype given to tensors built from Python floats (float32, as in PyTorch)."""
    return _default_float


def set_default_dtype(dtype):
    global _default_float
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only floating dtypes are supported, got {dtype}")
    _default_float = dtype


def is_floating(dtype) -> bool:
    return np.dtype(dtype).kind == "f"
