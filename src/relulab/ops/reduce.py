"""Reductions (sum, mean, max/min, var), arg-reductions and the softmax family."""
import builtins
from collections import namedtuple

import numpy as np

from .. import backend
from ..backend import xp
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from .elementwise import Sqrt, const, where

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def normalize_dims(dim, ndim, op):
    """``dim`` (None, an int or a sequence) as a sorted tuple of non-negative axes.

    None and an empty sequence mean every dimension (PyTorch's rule).  A 0-d tensor accepts dim 0 and -1 and
    has no axes to reduce, so its dims come back empty.
    """
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim) if dim is not None else ()
    span = builtins.max(ndim, 1)
    for d in dims:
        if not -span <= d < span:
            raise IndexError(f"{op}: dimension {d} is out of range for a tensor with {ndim} dimensions")
    if not dims:
        return tuple(range(ndim))
    return tuple(sorted({d % span for d in dims})) if ndim else ()


def _keepdim_shape(shape, dims):
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


class Sum(Function):
    def __init__(self, dims, keepdim):
        self.dims, self.keepdim = dims, keepdim

    def forward(self, a):
        return xp.sum(a, axis=self.dims, keepdims=self.keepdim)

    def backward(self, g, out):
        (a,) = self.inputs
        if not self.keepdim and a.ndim:
            g = g.reshape(_keepdim_shape(a.shape, self.dims))
        return (g.expand(a.shape),)


class SelectReduce(Function):
    """max/min over dims.  The gradient flows to the selected element(s) through a constant weight mask."""

    saves_output = True  # backward reads the output: the engine checks it was not changed in place

    def __init__(self, dims, keepdim, largest, mask_fn):
        self.dims, self.keepdim, self.largest, self.mask_fn = dims, keepdim, largest, mask_fn

    def forward(self, a):
        if any(a.shape[d] == 0 for d in self.dims) or (a.size == 0 and not self.dims):
            raise RuntimeError(f"{'max' if self.largest else 'min'}: cannot reduce over a dimension of size 0 "
                               f"(shape {a.shape}, dims {self.dims})")
        return (xp.max if self.largest else xp.min)(a, axis=self.dims, keepdims=self.keepdim)

    def backward(self, g, out):
        (a,) = self.inputs
        kshape = _keepdim_shape(a.shape, self.dims)
        mask = self.mask_fn(a._data, out._data.reshape(kshape), self.dims)
        return (g.reshape(kshape).expand(a.shape) * const(mask.astype(a.dtype, copy=False)),)


def _even_mask(a, m, dims):
    """Full reductions share the gradient evenly among tied extremes (PyTorch's amax rule)."""
    hit = a == m
    return hit / hit.sum(axis=dims, keepdims=True)


def _even_mask_nan(a, m, dims):
    """max()/min() share like amax, except that a NaN result shares the gradient among the NaN inputs, where
    amax gives NaN (both as PyTorch)."""
    hit = a == m
    if a.dtype.kind == "f":
        nan = xp.isnan(m)
        if nan.any():
            hit = xp.where(nan, xp.isnan(a), hit)
    return hit / hit.sum(axis=dims, keepdims=True)


def _reduce_extreme(x, dim, keepdim, largest):
    name = "max" if largest else "min"
    if dim is None:
        return SelectReduce(normalize_dims(None, x.ndim, name), False, largest, _even_mask_nan).apply(x)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{name}: dim must be an int, got {dim!r}")
    dims = normalize_dims(dim, x.ndim, name)
    if x.ndim == 0:  # nothing to reduce: the value itself, at index 0
        return ValuesIndices(SelectReduce((), keepdim, largest, _even_mask_nan).apply(x),
                             Tensor._make(xp.zeros((), dtype=backend.int64)))
    (axis,) = dims
    if x.shape[axis] == 0:
        raise IndexError(f"{name}: cannot reduce over dimension {dim} of size 0 (shape {tuple(x.shape)})")
    idx = (xp.argmax if largest else xp.argmin)(x._data, axis=axis, keepdims=True)

    def first_hit(a, m, dims):  # with a dim, only the index returned gets the gradient
        onehot = xp.zeros(a.shape, dtype=bool)
        xp.put_along_axis(onehot, idx, True, axis=axis)
        return onehot

    op = SelectReduce(dims, keepdim, largest, first_hit)
    op.saves_output = False  # the gradient goes to the saved index, whatever the values became (as torch)
    values = op.apply(x)
    indices = idx if keepdim else xp.squeeze(idx, axis=axis)
    return ValuesIndices(values, Tensor._make(indices.astype(backend.int64)))


def sum(x, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype.kind in "bi" and x.dtype != backend.int64:
        x = x.to(backend.int64)
    return Sum(normalize_dims(dim, x.ndim, "sum"), keepdim).apply(x)


def mean(x, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind != "f":
        raise RuntimeError(f"mean: input dtype should be floating point, got {x.dtype}")
    dims = normalize_dims(dim, x.ndim, "mean")
    count = int(np.prod([x.shape[d] for d in dims]))
    return Sum(dims, keepdim).apply(x) * (1.0 / count if count else float("nan"))


def var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    """Variance with Bessel's correction by default (``correction=1``), as PyTorch."""
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    dims = normalize_dims(dim, x.ndim, "var")
    count = int(np.prod([x.shape[d] for d in dims]))
    centered = x - mean(x, dims, keepdim=True)
    dof = count - correction
    return Sum(dims, keepdim).apply(centered * centered) * (1.0 / dof if dof > 0 else float("nan"))


class _StdSqrt(Sqrt):
    """The square root that turns a variance into a std: where the std is 0 (a constant input) its gradient
    is 0, not 0/0, as in PyTorch's std backward."""

    def backward(self, g, out):
        zero = out._data == 0
        if not zero.any():
            return super().backward(g, out)
        return (where(const(zero), 0.0, g / (2.0 * where(const(zero), 1.0, out))),)


def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return _StdSqrt().apply(var(x, dim, unbiased, keepdim, correction))


def max(x, dim=None, keepdim=False):
    if isinstance(dim, Tensor):
        from .elementwise import maximum
        return maximum(x, dim)
    return _reduce_extreme(x, dim, keepdim, True)


def min(x, dim=None, keepdim=False):
    if isinstance(dim, Tensor):
        from .elementwise import minimum
        return minimum(x, dim)
    return _reduce_extreme(x, dim, keepdim, False)


def amax(x, dim=None, keepdim=False):
    return SelectReduce(normalize_dims(dim, x.ndim, "amax"), keepdim, True, _even_mask).apply(x)


def amin(x, dim=None, keepdim=False):
    return SelectReduce(normalize_dims(dim, x.ndim, "amin"), keepdim, False, _even_mask).apply(x)


def _arg_extreme(x, dim, keepdim, largest):
    name = "argmax" if largest else "argmin"
    if x._data.size == 0:
        raise RuntimeError(f"{name}: cannot take {name} of an empty tensor of shape {tuple(x.shape)}")
    fn = xp.argmax if largest else xp.argmin
    if dim is None:
        out = fn(x._data.reshape(-1))
        out = xp.reshape(out, (1,) * x.ndim) if keepdim else xp.asarray(out)
    elif x.ndim == 0:
        normalize_dims(dim, 0, name)
        out = xp.zeros((), dtype=backend.int64)
    else:
        (axis,) = normalize_dims(dim, x.ndim, name)
        out = fn(x._data, axis=axis, keepdims=keepdim)
    return Tensor._make(xp.asarray(out, dtype=backend.int64))


def argmax(x, dim=None, keepdim=False):
    return _arg_extreme(x, dim, keepdim, True)


def argmin(x, dim=None, keepdim=False):
    return _arg_extreme(x, dim, keepdim, False)


# ---------------------------------------------------------------------------- softmax family
class Softmax(Function):
    saves_output = True  # backward reads the output: the engine checks it was not changed in place

    def __init__(self, axis):
        self.axis = axis

    def forward(self, a):
        if a.size == 0:  # an empty dim (or tensor): an empty result, as in PyTorch
            return a.copy()
        e = xp.exp(a - xp.max(a, axis=self.axis, keepdims=True))  # shift by the max: exp never overflows
        return e / xp.sum(e, axis=self.axis, keepdims=True)

    def backward(self, g, out):
        return (out * (g - (g * out).sum(dim=self.axis, keepdim=True)),)


class LogSoftmax(Function):
    saves_output = True  # backward reads the output: the engine checks it was not changed in place

    def __init__(self, axis):
        self.axis = axis

    def forward(self, a):
        if a.size == 0:
            return a.copy()
        shifted = a - xp.max(a, axis=self.axis, keepdims=True)
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=self.axis, keepdims=True))

    def backward(self, g, out):
        return (g - out.exp() * g.sum(dim=self.axis, keepdim=True),)


def _softmax_axis(x, dim, op):
    if dim is None:  # PyTorch's legacy implicit choice
        dim = 0 if x.ndim in (0, 1, 3) else 1
    (axis,) = normalize_dims(dim, x.ndim, op)
    return axis


def softmax(x, dim=None, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    if x.ndim == 0:
        return Softmax(None).apply(x)
    return Softmax(_softmax_axis(x, dim, "softmax")).apply(x)


def log_softmax(x, dim=None, dtype=None):
    if dtype is not None:
        x = x.to(dtype)
    if x.ndim == 0:
        return LogSoftmax(None).apply(x)
    return LogSoftmax(_softmax_axis(x, dim, "log_softmax")).apply(x)


def logsumexp(x, dim, keepdim=False):
    dims = normalize_dims(dim, x.ndim, "logsumexp")
    if any(x.shape[d] == 0 for d in dims):  # the log of an empty sum: -inf, as in PyTorch
        with np.errstate(divide="ignore"):
            out = x.exp().sum(dim=dims, keepdim=True).log()
        return out if keepdim else out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in dims))
    m = amax(x, dims, keepdim=True).detach()
    if not xp.isfinite(m._data).all():
        # An infinite max would make x - m NaN; shift by 0 there instead (PyTorch's rule), so -inf entries give
        # -inf and +inf entries give inf.  NaN stays NaN.
        m = const(xp.where(xp.isinf(m._data), 0, m._data).astype(m.dtype, copy=False))
    out = (x - m).exp().sum(dim=dims, keepdim=True).log() + m
    return out if keepdim else out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in dims))


# ---------------------------------------------------------------------------- products and norms
class Prod(Function):
    """Product over dims.  Away from zeros the gradient is out / x; where the input holds a zero, each element's
    gradient is the product of the *other* elements, taken exactly by masking one position at a time
    (n² work per reduced group, paid only when a zero is present)."""

    saves_output = True  # backward reads the output: the engine checks it was not changed in place

    def __init__(self, dims, keepdim):
        self.dims, self.keepdim = dims, keepdim

    def forward(self, a):
        return xp.prod(a, axis=self.dims, keepdims=self.keepdim)

    def backward(self, g, out):
        (a,) = self.inputs
        kshape = _keepdim_shape(a.shape, self.dims)
        g = g.reshape(kshape)
        if not (a._data == 0).any():
            return (g * out.reshape(kshape) / a,)
        return (g * _product_of_others(a, self.dims),)


def _product_of_others(a, dims):
    from .elementwise import where
    rest = [d for d in range(a.ndim) if d not in dims]
    perm = rest + list(dims)
    n = int(np.prod([a.shape[d] for d in dims]))
    b = a.permute(*perm).reshape(tuple(a.shape[d] for d in rest) + (n,))
    masked = where(xp.eye(n, dtype=bool), 1.0, b.unsqueeze(-2))     # row i: the group with element i set to 1
    others = Prod((masked.ndim - 1,), False).apply(masked)
    return others.reshape(tuple(a.shape[d] for d in perm)).permute(*np.argsort(perm))


def prod(x, dim=None, keepdim=False, dtype=None):
    """Product of all elements, or along one ``dim``; integer and bool inputs multiply in int64 (PyTorch's rule)."""
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype.kind in "biu" and x.dtype != backend.int64:
        x = x.to(backend.int64)
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TypeError(f"prod: dim must be an int, got {dim!r}")
    return Prod(normalize_dims(dim, x.ndim, "prod"), keepdim and dim is not None).apply(x)


class EuclideanNorm(Function):
    """sqrt(Σ x²) over dims.  Its gradient x / ‖x‖ is taken as 0 where the norm is 0, as PyTorch does."""

    saves_output = True  # backward reads the output: the engine checks it was not changed in place

    def __init__(self, dims, keepdim):
        self.dims, self.keepdim = dims, keepdim

    def forward(self, a):
        return xp.sqrt(xp.sum(a * a, axis=self.dims, keepdims=self.keepdim))

    def backward(self, g, out):
        from .elementwise import where
        (a,) = self.inputs
        kshape = _keepdim_shape(a.shape, self.dims)
        g, out = g.reshape(kshape), out.reshape(kshape)
        zero = out._data == 0
        if not zero.any():
            return ((g / out) * a,)
        return (where(zero, 0.0, g / where(zero, 1.0, out)) * a,)


def norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    """The p-norm over ``dim`` (all elements by default): ``'fro'``/2 (Euclidean), 1, any real p, inf (max |x|),
    -inf (min |x|) and 0 (the count of non-zeros)."""
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind != "f":
        raise RuntimeError(f"norm: input dtype should be floating point, got {x.dtype}")
    dims = normalize_dims(dim, x.ndim, "norm")
    if p is None or (isinstance(p, str) and p == "fro") or (not isinstance(p, str) and p == 2):
        return EuclideanNorm(dims, keepdim).apply(x)
    if isinstance(p, str):
        raise NotImplementedError(f"norm: relulab does not implement p={p!r}; use 'fro' or a number")
    if p == float("inf"):
        return amax(x.abs(), dims, keepdim)
    if p == float("-inf"):
        return amin(x.abs(), dims, keepdim)
    if p == 0:  # the count of non-zeros; its gradient is 0
        count = Tensor._make(xp.sum(x._data != 0, axis=dims, keepdims=keepdim).astype(x.dtype))
        return count + Sum(dims, keepdim).apply(x * 0.0)
    if p == 1:
        return Sum(dims, keepdim).apply(x.abs())
    return Sum(dims, keepdim).apply(x.abs() ** p) ** (1.0 / p)
