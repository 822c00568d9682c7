"""Shape ops: reshape, permute, expand, squeeze/unsqueeze, and joining (cat, stack)."""
import numpy as np

from ..backend import xp
from ..autograd.function import Function
from .elementwise import unbroadcast
from .reduce import normalize_dims


class Reshape(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, a):
        try:
            return a.reshape(self.shape)
        except ValueError:
            raise RuntimeError(f"reshape: shape {tuple(self.shape)} is invalid for an input of shape {a.shape} "
                               f"({a.size} elements)") from None

    def backward(self, g, out):
        return (g.reshape(self.inputs[0].shape),)


class Permute(Function):
    def __init__(self, dims):
        self.dims = dims

    def forward(self, a):
        return xp.transpose(a, self.dims)

    def backward(self, g, out):
        return (g.permute(*np.argsort(self.dims)),)


class Expand(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, a):
        try:
            return xp.broadcast_to(a, self.shape)
        except ValueError:
            raise RuntimeError(f"expand: a tensor of shape {a.shape} cannot be expanded to {tuple(self.shape)}") from None

    def backward(self, g, out):
        return (unbroadcast(g, self.inputs[0].shape),)


def _view_of(out, x):
    out._vc = x._vc  # views share the version counter, so in-place changes through either are seen
    return out


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(int(s) for s in shape)


def reshape(x, *shape):
    shape = _shape_arg(shape)
    if shape == x.shape:
        return x
    return _view_of(Reshape(shape).apply(x), x)


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, 1)
    start, end = (d % x.ndim for d in (start_dim, end_dim))
    shape = x.shape[:start] + (int(np.prod(x.shape[start:end + 1])),) + x.shape[end + 1:]
    return reshape(x, shape)


def unflatten(x, dim, sizes):
    d = dim % x.ndim
    return reshape(x, x.shape[:d] + tuple(sizes) + x.shape[d + 1:])


def squeeze(x, dim=None):
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        dims = normalize_dims(dim, x.ndim, "squeeze")
        shape = tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1))
    return reshape(x, shape)


def unsqueeze(x, dim):
    if not -x.ndim - 1 <= dim <= x.ndim:
        raise IndexError(f"unsqueeze: dimension {dim} is out of range for a tensor with {x.ndim} dimensions")
    d = dim % (x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def permute(x, *dims):
    dims = _shape_arg(dims)
    if sorted(d % max(x.ndim, 1) for d in dims) != list(range(x.ndim)):
        raise RuntimeError(f"permute: dims {dims} are not a permutation of the {x.ndim} dimensions of shape "
                           f"{tuple(x.shape)}")
    dims = tuple(d % x.ndim for d in dims)
    if dims == tuple(range(x.ndim)):
        return x
    return _view_of(Permute(dims).apply(x), x)


def transpose(x, dim0, dim1):
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    d0, d1 = normalize_dims(dim0, x.ndim, "transpose")[0], normalize_dims(dim1, x.ndim, "transpose")[0]
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(x, dims)


def t(x):
    if x.ndim > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, got shape {tuple(x.shape)}")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def expand(x, *sizes):
    sizes = _shape_arg(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes {sizes} must be >= the number of dimensions "
                           f"of shape {tuple(x.shape)}")
    shape = tuple(x.shape[i - lead] if (s == -1 and i >= lead) else s for i, s in enumerate(sizes))
    if shape == x.shape:
        return x
    return _view_of(Expand(shape).apply(x), x)


def broadcast_to(x, shape):
    return expand(x, tuple(shape))


class Cat(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *arrays):
        return xp.concatenate(arrays, axis=self.axis)

    def backward(self, g, out):
        grads, start = [], 0
        for t in self.inputs:
            stop = start + t.shape[self.axis]
            index = (slice(None),) * self.axis + (slice(start, stop),)
            grads.append(g[index] if t.requires_grad else None)
            start = stop
        return tuple(grads)


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat: expected a non-empty list of tensors")
    floats = [t.dtype for t in tensors if t.dtype.kind == "f"]
    dtype = np.result_type(*(floats or [t.dtype for t in tensors]))  # ints joining floats take the float dtype
    tensors = [t.to(dtype) for t in tensors]
    ref = tensors[0]
    if ref.ndim == 0:
        raise RuntimeError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    (axis,) = normalize_dims(dim, ref.ndim, "cat")
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or any(a != b for j, (a, b) in enumerate(zip(t.shape, ref.shape)) if j != axis):
            raise RuntimeError(f"cat: tensor {i} has shape {tuple(t.shape)}, which does not match shape "
                               f"{tuple(ref.shape)} of tensor 0 outside dimension {dim}")
    return Cat(axis).apply(*tensors)


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack: expects each tensor to be equal size, but got {tuple(tensors[0].shape)} "
                               f"at entry 0 and {tuple(t.shape)} at entry {i}")
    return cat([unsqueeze(t, dim) for t in tensors], dim % (tensors[0].ndim + 1))
