"""Rearranging copies: ``repeat``, ``repeat_interleave``, ``flip``, ``roll``, and splitting (``chunk``, ``split``).

Each backward is written in Tensor ops (a reshape-and-sum, the opposite flip or roll, an index scatter), so these
differentiate to any order like every other op.
"""
import numpy as np

from .. import backend
from ..backend import xp
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from .index import getitem
from .reduce import normalize_dims
from .shape import _shape_arg


class Repeat(Function):
    """``np.tile``: the input (with leading 1s added up to ``len(reps)`` dimensions) copied ``reps[i]`` times
    along each dimension.  The gradient sums the copies back: g viewed as (r0, s0, r1, s1, ...) summed over the r's."""

    def __init__(self, reps):
        self.reps = reps

    def forward(self, a):
        return xp.tile(a.reshape((1,) * (len(self.reps) - a.ndim) + a.shape), self.reps)

    def backward(self, g, out):
        (a,) = self.inputs
        shape = (1,) * (len(self.reps) - a.ndim) + tuple(a.shape)
        interleaved = tuple(n for pair in zip(self.reps, shape) for n in pair)
        copies = tuple(range(0, 2 * len(shape), 2))
        return (g.reshape(interleaved).sum(dim=copies).reshape(a.shape),)


def repeat(x, *sizes):
    """Tile ``x``: ``x.repeat(2, 3)`` copies a (n, m) tensor into (2n, 3m); extra leading sizes add dimensions."""
    reps = _shape_arg(sizes)
    if len(reps) < x.ndim:
        raise RuntimeError(f"repeat: number of dimensions of repeat dims {reps} can not be smaller than the number "
                           f"of dimensions of the tensor (shape {tuple(x.shape)})")
    if any(r < 0 for r in reps):
        raise RuntimeError(f"repeat: repeats {reps} must be non-negative")
    return Repeat(reps).apply(x)


def _index_array(index, op):
    array = index._data if isinstance(index, Tensor) else xp.asarray(index)
    if array.dtype.kind not in "iu" or array.ndim > 1:
        raise RuntimeError(f"{op}: index must be a 0-d or 1-d integer tensor, got dtype {array.dtype} and shape "
                           f"{array.shape}")
    return array.reshape(-1).astype(backend.int64, copy=False)


def index_select(x, dim, index):
    """The slices ``x[..., index[k], ...]`` along ``dim``, in the order (and with the repeats) of ``index``."""
    idx = _index_array(index, "index_select")
    if x.ndim == 0:
        if idx.size != 1 or idx[0] not in (0, -1):
            raise IndexError(f"index_select: index {idx.tolist()} is out of range for a 0-d tensor")
        return x.clone()  # a 0-d input gives a 0-d copy, as in PyTorch
    (axis,) = normalize_dims(dim, x.ndim, "index_select")
    n = x.shape[axis]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"index_select: index {idx.min() if idx.min() < 0 else idx.max()} is out of range for "
                         f"dimension {dim} of size {n} (shape {tuple(x.shape)})")
    return getitem(x, (slice(None),) * axis + (idx,))


def repeat_interleave(x, repeats=None, dim=None, output_size=None):
    """Repeat each element (``dim=None``: of the flattened input) or each slice along ``dim`` ``repeats`` times;
    ``repeats`` is an int or one count per slice.  ``repeat_interleave(counts)`` alone gives arange(n) repeated."""
    if repeats is None:  # torch.repeat_interleave(repeats): the indices 0..n-1, each repeated
        counts = _index_array(x, "repeat_interleave")
        return Tensor._make(xp.repeat(xp.arange(counts.size, dtype=backend.int64), counts))
    if dim is None:
        x, dim = x.reshape(-1), 0
    (axis,) = normalize_dims(dim, x.ndim, "repeat_interleave")
    n = x.shape[axis] if x.ndim else 1
    if isinstance(repeats, Tensor) and repeats.numel() != 1 or isinstance(repeats, (list, tuple, np.ndarray)):
        counts = _index_array(repeats, "repeat_interleave")
        if counts.size != n:
            raise RuntimeError(f"repeat_interleave: repeats must have the same size as input along dim {dim}, got "
                               f"{counts.size} repeats for size {n}")
    else:
        counts = np.full(n, int(repeats), dtype=backend.int64)
    if counts.size and counts.min() < 0:
        raise RuntimeError(f"repeat_interleave: repeats can not be negative, got {counts.min()}")
    out = index_select(x, axis, xp.repeat(xp.arange(n, dtype=backend.int64), counts))
    if output_size is not None and out.shape[axis] != output_size:
        raise RuntimeError(f"repeat_interleave: output_size {output_size} does not match the {out.shape[axis]} "
                           "repeated slices")
    return out


def _dims_tuple(dims):
    return (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)


class Flip(Function):
    def __init__(self, axes):
        self.axes = axes

    def forward(self, a):
        return xp.flip(a, self.axes).copy()

    def backward(self, g, out):
        return (Flip(self.axes).apply(g),)


def flip(x, *dims):
    """Reverse the order of elements along ``dims`` (a copy, as in PyTorch)."""
    dims = _dims_tuple(dims[0]) if len(dims) == 1 else tuple(dims)
    axes = normalize_dims(dims, x.ndim, "flip") if dims else ()
    if len(set(d % max(x.ndim, 1) for d in dims)) != len(dims):
        raise RuntimeError(f"flip: dims {dims} has a repeated dimension")
    return Flip(axes).apply(x)


class Roll(Function):
    """``axes=None`` rolls the flattened tensor (NumPy's and PyTorch's rule alike); the gradient rolls back."""

    def __init__(self, shifts, axes):
        self.shifts, self.axes = shifts, axes

    def forward(self, a):
        return xp.roll(a, self.shifts[0] if self.axes is None else self.shifts, self.axes)

    def backward(self, g, out):
        return (Roll(tuple(-s for s in self.shifts), self.axes).apply(g),)


def roll(x, shifts, dims=None):
    """Shift elements along ``dims`` circularly (those rolled past the end come back at the start).  Without
    ``dims`` the flattened tensor is rolled and the shape restored."""
    shifts = tuple(int(s) for s in _dims_tuple(shifts))
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: with dims=None, shifts must be a single int, got {shifts}")
        return Roll(shifts, None).apply(x)
    dims = _dims_tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    if x.ndim == 0:
        normalize_dims(dims, 0, "roll")
        return Roll(shifts[:1], None).apply(x)
    axes = tuple(normalize_dims(d, x.ndim, "roll")[0] for d in dims)
    return Roll(shifts, axes).apply(x)


def split(x, split_size_or_sections, dim=0):
    """Pieces along ``dim``: of ``split_size`` each (the last may be smaller), or of the listed sizes.
    Each piece is a slice of ``x`` (a view, as in PyTorch)."""
    if x.ndim == 0:
        raise RuntimeError("split: expects at least a 1-dimensional tensor")
    (axis,) = normalize_dims(dim, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and n):
            raise RuntimeError(f"split: split_size must be positive, got {size} (dimension {dim} of size {n})")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if size else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise RuntimeError(f"split: split_sizes {sizes} must be non-negative and sum to {n}, the size of "
                               f"dimension {dim} (shape {tuple(x.shape)})")
    pieces, start = [], 0
    for s in sizes:
        pieces.append(getitem(x, (slice(None),) * axis + (slice(start, start + s),)))
        start += s
    return tuple(pieces)


def chunk(x, chunks, dim=0):
    """At most ``chunks`` pieces of ceil(n / chunks) slices each, as in PyTorch (so possibly fewer)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be positive, got {chunks}")
    if x.ndim == 0:
        raise RuntimeError("chunk: expects at least a 1-dimensional tensor")
    (axis,) = normalize_dims(dim, x.ndim, "chunk")
    n = x.shape[axis]
    return split(x, max(-(-n // chunks), 1) if n else 0, axis) if n else split(x, [0] * chunks, axis)
