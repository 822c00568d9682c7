"""Tensor factories: ``tensor``, ``zeros``, ``randn``, ``arange`` and friends, with PyTorch's dtype defaults."""
import numpy as np

from . import backend
from .backend import xp
from .autograd.tensor import Tensor
from .random import _generator


def _shape(size, keyword=None):
    """A shape from ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))``, as PyTorch accepts all three."""
    if keyword is not None:
        if size:
            raise TypeError("a size was given both positionally and as size=")
        size = (keyword,)
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


def zeros(*dims, size=None, dtype=None, device=None, requires_grad=False):
    return _finish(xp.zeros(_shape(dims, size), dtype=_float(dtype)), requires_grad)


def ones(*dims, size=None, dtype=None, device=None, requires_grad=False):
    return _finish(xp.ones(_shape(dims, size), dtype=_float(dtype)), requires_grad)


def empty(*dims, size=None, dtype=None, device=None, requires_grad=False):
    return zeros(*dims, size=size, dtype=dtype, requires_grad=requires_grad)


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


def rand(*dims, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform on [0, 1), PyTorch's draws for the same seed."""
    return _finish(_generator(generator).uniform(0.0, 1.0, _shape(dims, size), _float(dtype)), requires_grad)


def randn(*dims, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal, PyTorch's draws for the same seed."""
    return _finish(_generator(generator).normal(0.0, 1.0, _shape(dims, size), _float(dtype)), requires_grad)


def normal(mean, std, size=None, *, generator=None, dtype=None, requires_grad=False):
    """``torch.normal``: floats with a ``size``, or tensors of means and stds (drawn as N(0, 1)·std + mean)."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        mean_a = mean._data if isinstance(mean, Tensor) else np.asarray(mean)
        std_a = std._data if isinstance(std, Tensor) else np.asarray(std)
        shape = np.broadcast_shapes(mean_a.shape, std_a.shape)
        out_dtype = mean_a.dtype if isinstance(mean, Tensor) else std_a.dtype
        if (std_a < 0).any():
            raise RuntimeError("normal expects all elements of std >= 0.0")
        noise = _generator(generator).normal(0.0, 1.0, shape, out_dtype)
        return _finish((noise * std_a.astype(out_dtype) + mean_a.astype(out_dtype)).astype(out_dtype), requires_grad)
    if size is None:
        raise TypeError("normal: with float mean and std, size is required")
    return _finish(_generator(generator).normal(mean, std, _shape((size,)), _float(dtype)), requires_grad)


def randint(low, high=None, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers in [low, high), PyTorch's draws for the same seed; ``randint(high, size)`` as in PyTorch."""
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint: size is required")
    if not int(low) < int(high):
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dtype = np.dtype(dtype) if dtype is not None else backend.int64
    return _finish(_generator(generator).randint(low, high, _shape((size,)), dtype), requires_grad)


def randperm(n, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n-1, PyTorch's for the same seed."""
    if int(n) < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    order = _generator(generator).randperm(int(n))
    return _finish(order.astype(np.dtype(dtype) if dtype else backend.int64), requires_grad)


def bernoulli(input, p=None, *, generator=None):
    """0/1 draws: each element of ``input`` is its own probability (or all use the float ``p``)."""
    probs = input._data if isinstance(input, Tensor) else np.asarray(input)
    gen = _generator(generator)
    if p is not None:
        return Tensor._make(gen.bernoulli(p, probs.shape, probs.dtype))
    return Tensor._make(gen.bernoulli(probs, dtype=probs.dtype))


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices drawn from the rows of ``input`` (unnormalised probabilities), PyTorch's for the same seed."""
    probs = input._data if isinstance(input, Tensor) else np.asarray(input)
    if probs.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {probs.shape}")
    if probs.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {probs.dtype}")
    n_categories = probs.shape[-1]
    if int(num_samples) <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples (got {num_samples})")
    if not replacement and num_samples > n_categories:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                           f"({num_samples} > {n_categories})")
    if n_categories > 1 << 24:
        raise RuntimeError("multinomial: number of categories cannot exceed 2^24")
    if not np.isfinite(probs).all() or (probs < 0).any():
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    if (probs.reshape(-1, n_categories).sum(axis=1) == 0).any():
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    return Tensor._make(_generator(generator).multinomial(probs, int(num_samples), replacement))


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


def randint_like(x, low, high=None, dtype=None, generator=None, requires_grad=False):
    return randint(low, high, x.shape, generator=generator, dtype=_like(x, dtype), requires_grad=requires_grad)
