"""Indexing: basic slices and advanced (integer or boolean) indices, e.g. ``logits[arange(N), labels]``."""
import math

import numpy as np

from ..backend import xp
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.tensor import Tensor


def _is_advanced(part):
    return hasattr(part, "dtype") or isinstance(part, list)


def normalize_index(index, shape, op="__getitem__"):
    """Turn Tensors in an index into arrays, checking they hold integers or booleans."""
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    for part in parts:
        if isinstance(part, Tensor):
            part = part._data
        elif isinstance(part, list):
            part = xp.asarray(part)
            if part.size == 0:
                part = part.astype(xp.int64)
        if hasattr(part, "dtype") and getattr(part, "ndim", 0) >= 0 and not isinstance(part, (int, bool)):
            if part.dtype.kind not in "iub":
                raise IndexError(f"{op}: tensors used as indices must be long, int or bool, got {part.dtype} "
                                 f"(indexing a tensor of shape {tuple(shape)})")
        out.append(part)
    return tuple(out) if isinstance(index, tuple) or len(out) != 1 else out[0]


def _index_error(op, index, shape, err):
    return IndexError(f"{op}: index {index!r} is invalid for a tensor of shape {tuple(shape)}: {err}")


def _flat_positions(index, shape):
    """Row-major positions for an index made only of integer arrays, one per dimension; else None.

    Such an index (``logits[arange(N), labels]``, max-pool winners) then gathers with one ``take`` and scatters
    with one ``bincount`` (or a plain assignment when positions are unique), far faster than ``add.at``.
    """
    if not (isinstance(index, tuple) and len(index) == len(shape)):
        return None
    if not all(isinstance(p, np.ndarray) and p.dtype.kind in "iu" for p in index):
        return None
    try:
        return np.ravel_multi_index(np.broadcast_arrays(*index), shape, mode="raise")
    except ValueError:
        return None  # out of range or negative: let NumPy's own indexing raise or wrap


class GetItem(Function):
    """``a[index]``.  ``flat`` may give the row-major positions directly (then ``index`` may be None);
    ``unique`` promises no position repeats, so the gradient can be assigned rather than accumulated."""

    def __init__(self, index, unique=False, flat=None):
        self.index, self.unique, self.flat = index, unique, flat

    def forward(self, a):
        if self.flat is None:
            self.flat = _flat_positions(self.index, a.shape)
        if self.flat is not None:
            return np.take(a.reshape(-1), self.flat)
        try:
            return a[self.index]
        except IndexError as e:
            raise _index_error("__getitem__", self.index, a.shape, e) from None

    def backward(self, g, out):
        a = self.inputs[0]
        return (IndexAdd(a.shape, self.index, self.unique, self.flat).apply(g),)


class IndexAdd(Function):
    """zeros(shape) with ``g`` added at ``index`` (repeated indices add up): the adjoint of GetItem."""

    def __init__(self, shape, index, unique=False, flat=None):
        self.shape, self.index, self.unique, self.flat = shape, index, unique, flat

    def forward(self, g):
        if self.flat is not None:
            size = math.prod(self.shape)
            if self.unique:
                out = xp.zeros(size, dtype=g.dtype)
                out[self.flat.reshape(-1)] = g.reshape(-1)
            else:
                out = np.bincount(self.flat.reshape(-1), weights=g.reshape(-1), minlength=size).astype(g.dtype)
            return out.reshape(self.shape)
        out = xp.zeros(self.shape, dtype=g.dtype)
        parts = self.index if isinstance(self.index, tuple) else (self.index,)
        if any(_is_advanced(p) and getattr(p, "dtype", None) != bool for p in parts):
            xp.add.at(out, self.index, g)  # integer arrays may repeat a position
        else:
            out[self.index] = g
        return out

    def backward(self, gg, out):
        return (GetItem(self.index, self.unique, self.flat).apply(gg),)


_BASIC = (int, slice, type(None), type(Ellipsis))


def getitem(x, index):
    if not x.requires_grad or not is_grad_enabled():
        # Fast path for data (a Dataset's ``self.x[idx]``): nothing to record, so skip the op object.
        if type(index) in _BASIC or (type(index) is tuple and all(type(p) in _BASIC for p in index)):
            try:
                out = Tensor._make(x._data[index])
            except IndexError as e:
                raise _index_error("__getitem__", index, x.shape, e) from None
            out._vc = x._vc  # basic indexing returns a view
            return out
        index = normalize_index(index, x.shape)
        out = Tensor._make(GetItem(index).forward(x._data))
        if not any(_is_advanced(p) for p in (index if isinstance(index, tuple) else (index,))):
            out._vc = x._vc
        return out
    index = normalize_index(index, x.shape)
    out = GetItem(index).apply(x)
    if not any(_is_advanced(p) for p in (index if isinstance(index, tuple) else (index,))):
        out._vc = x._vc  # basic indexing returns a view
    return out


def gather(x, dim, index):
    """``out[i][j] = x[i][index[i][j]]`` along ``dim`` (2-D shown; any rank works)."""
    idx = index._data if isinstance(index, Tensor) else xp.asarray(index)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"gather: index must be an integer tensor, got {idx.dtype}")
    if idx.ndim != x.ndim:
        raise RuntimeError(f"gather: index of shape {idx.shape} must have as many dimensions as input "
                           f"of shape {tuple(x.shape)}")
    if x.ndim == 0:
        if idx.item() != 0:
            raise IndexError(f"gather: index {idx.item()} is out of bounds for a 0-d tensor")
        return getitem(x, ())
    axis = dim % x.ndim
    grids = list(xp.ogrid[tuple(slice(n) for n in idx.shape)])
    grids[axis] = idx
    return getitem(x, tuple(grids))


def nonzero(x, as_tuple=False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or with ``as_tuple`` one index per dim."""
    from .. import backend
    positions = xp.argwhere(x._data).astype(backend.int64)
    if as_tuple:
        if x.ndim == 0:
            return (Tensor._make(positions[:, 0] if positions.shape[1] else xp.zeros(len(positions), backend.int64)),)
        return tuple(Tensor._make(xp.ascontiguousarray(positions[:, d])) for d in range(x.ndim))
    return Tensor._make(positions)
