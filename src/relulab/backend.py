"""The array module behind every tensor.

Every array call in relulab goes through ``xp``.  Today it is NumPy; an array library with NumPy's API
(CuPy, for instance) can be dropped in here without touching the ops.
"""
import numpy as np

xp = np

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
