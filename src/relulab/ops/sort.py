"""Ordering: ``sort``, ``argsort`` and ``topk``.  Indices come from a stable NumPy argsort; the values are then
gathered from the input, so their gradient flows back to the positions they came from (an index scatter)."""
from collections import namedtuple

import numpy as np

from .. import backend
from ..backend import xp
from ..autograd.tensor import Tensor
from .index import gather
from .reduce import normalize_dims

SortResult = namedtuple("sort", ["values", "indices"])
TopKResult = namedtuple("topk", ["values", "indices"])


def _order(a, axis, descending):
    """Stable argsort along ``axis``; NaN counts as the largest value (PyTorch's rule), so it comes last
    ascending and first descending."""
    if a.dtype.kind in "ub":
        a = a.astype(backend.int64)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    key = -a
    if a.dtype.kind == "f":
        key = xp.where(xp.isnan(a), -xp.inf, key)
    return xp.argsort(key, axis=axis, kind="stable")


def argsort(x, dim=-1, descending=False, stable=False):
    if x.ndim == 0:
        normalize_dims(dim, 0, "argsort")
        return Tensor._make(xp.zeros((), dtype=backend.int64))
    (axis,) = normalize_dims(dim, x.ndim, "argsort")
    return Tensor._make(_order(x._data, axis, descending).astype(backend.int64, copy=False))


def sort(x, dim=-1, descending=False, stable=False):
    """(values, indices) with values = x gathered at indices; equal values keep their input order."""
    indices = argsort(x, dim, descending)
    if x.ndim == 0:
        return SortResult(x.clone(), indices)
    return SortResult(gather(x, dim, indices), indices)


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) values along ``dim`` and their indices, largest first."""
    n = x.shape[dim] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {dim} of size {n} "
                           f"(shape {tuple(x.shape)})")
    if x.ndim == 0:
        return TopKResult(x.clone(), Tensor._make(xp.zeros((), dtype=backend.int64)))
    (axis,) = normalize_dims(dim, x.ndim, "topk")
    order = _order(x._data, axis, descending=largest)
    indices = Tensor._make(np.take(order, np.arange(k), axis=axis).astype(backend.int64, copy=False))
    return TopKResult(gather(x, axis, indices), indices)
