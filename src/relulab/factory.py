"""Tensor factories: ``tensor``, ``zeros``, ``randn``, ``arange`` and friends, with PyTorch's dtype defaults."""
import numpy as np

from . import backend
from .backend import xp
from .autograd.tensor import Tensor
from .random import _generator


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    shape = tuple(int(s) for s in size)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"negative dimension in size {shape}")
    return shape


def _float(dtype):
    return np.dtype(dtype) if dtype is not None else backend.get_default_dtype()


def _finish(array, requires_grad):
    t = Tensor._make(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor copied from data: Python floats give float32, ints give int64, NumPy keeps its dtype."""
    if isinstance(data, Tensor):
        data = data._data
    return Tensor(xp.array(data, copy=True) if isinstance(data, np.ndarray) and dtype is None else data,
                  dtype=dtype, requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return Tensor._make(data)
    return Tensor(data, dtype=dtype)


def from_numpy(array):
    """Shares memory with ``array``, as in PyTorch."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    return Tensor._make(array)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _finish(xp.zeros(_shape(size), dtype=_float(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _finish(xp.ones(_shape(size), dtype=_float(dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = (backend.bool_ if isinstance(fill_value, bool) else
                 backend.int64 if isinstance(fill_value, (int, np.integer)) else backend.get_default_dtype())
    return _finish(xp.full(_shape((size,)), fill_value, dtype=np.dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _finish(xp.eye(n, m, dtype=_float(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = backend.int64 if ints else backend.get_default_dtype()
    return _finish(xp.arange(start, end, step).astype(np.dtype(dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    return _finish(xp.linspace(start, end, steps).astype(_float(dtype)), requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform on [0, 1)."""
    return _finish(_generator(generator).uniform(0.0, 1.0, _shape(size)).astype(_float(dtype)), requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal."""
    return _finish(_generator(generator).normal(0.0, 1.0, _shape(size)).astype(_float(dtype)), requires_grad)


def randint(low, high=None, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint: size is required")
    array = _generator(generator).integers(low, high, _shape((size,)))
    return _finish(array.astype(np.dtype(dtype) if dtype is not None else backend.int64), requires_grad)


def randperm(n, generator=None, dtype=None, device=None):
    return Tensor._make(_generator(generator).permutation(n).astype(np.dtype(dtype) if dtype else backend.int64))


def _like(x, dtype):
    return np.dtype(dtype) if dtype is not None else x.dtype


def zeros_like(x, dtype=None, requires_grad=False):
    return _finish(xp.zeros(x.shape, dtype=_like(x, dtype)), requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    return _finish(xp.ones(x.shape, dtype=_like(x, dtype)), requires_grad)


def empty_like(x, dtype=None, requires_grad=False):
    return zeros_like(x, dtype, requires_grad)


def full_like(x, fill_value, dtype=None, requires_grad=False):
    return _finish(xp.full(x.shape, fill_value, dtype=_like(x, dtype)), requires_grad)


def rand_like(x, dtype=None, generator=None, requires_grad=False):
    return rand(*x.shape, generator=generator, dtype=_like(x, dtype), requires_grad=requires_grad)


def randn_like(x, dtype=None, generator=None, requires_grad=False):
    return randn(*x.shape, generator=generator, dtype=_like(x, dtype), requires_grad=requires_grad)
