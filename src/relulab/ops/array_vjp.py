"""Vector-Jacobian products on bare arrays, for the engine's walk when no graph is recorded.

Every op's ``backward`` (Tensor ops, differentiable to any order) stays the definition of its derivative.
Without ``create_graph`` nothing needs recording, so the engine asks here first: the same formulas on NumPy
arrays skip a Tensor and an op object per step (most of an HVP's second pass), and they accept a cotangent
with leading batch dimensions, ``g.shape = batch + out.shape``, so that one walk pushes a whole block of
vectors (``autograd.grad(..., is_grads_batched=True)``, the exact Hessian) through a handful of big products.

A rule ``rule(ctx, g, out)`` gets the op, the cotangent array and the output array and returns one array
(or None) per input, each of shape ``batch + input.shape``; or None as a whole when it cannot handle this
case, and the engine then runs the op's own ``backward`` (once per vector in a batch).  Rules are looked up
by exact type, so a subclass with its own derivative never inherits a parent's rule.
"""
import math

import numpy as np

from ..backend import xp
from . import activation, elementwise as ew, index, linalg, reduce, shape

RULES = {}


def rule(*classes):
    def register(fn):
        for cls in classes:
            RULES[cls] = fn
        return fn
    return register


def _lead(g, out):
    return g.ndim - out.ndim


def sum_to(g, shape, k):
    """``g`` of shape ``batch + broadcast`` (``k`` batch dims) summed back to ``batch + shape``."""
    shape = tuple(shape)
    if g.shape[k:] == shape:
        return g
    lead = g.ndim - k - len(shape)
    axes = tuple(range(k, k + lead)) + tuple(k + lead + i for i, n in enumerate(shape)
                                             if n == 1 and g.shape[k + lead + i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(g.shape[:k] + shape)


def _mT(a):
    return a.swapaxes(-1, -2)


# ---------------------------------------------------------------------------- elementwise
@rule(ew.Add)
def _add(ctx, g, out):
    a, b = ctx.inputs
    k = _lead(g, out)
    return (sum_to(g, a.shape, k) if a.requires_grad else None,
            sum_to(g, b.shape, k) if b.requires_grad else None)


@rule(ew.Sub)
def _sub(ctx, g, out):
    a, b = ctx.inputs
    k = _lead(g, out)
    return (sum_to(g, a.shape, k) if a.requires_grad else None,
            sum_to(-g, b.shape, k) if b.requires_grad else None)


@rule(ew.Mul)
def _mul(ctx, g, out):
    a, b = ctx.inputs
    k = _lead(g, out)
    return (sum_to(g * b._data, a.shape, k) if a.requires_grad else None,
            sum_to(g * a._data, b.shape, k) if b.requires_grad else None)


@rule(ew.Div)
def _div(ctx, g, out):
    a, b = ctx.inputs
    k = _lead(g, out)
    return (sum_to(g / b._data, a.shape, k) if a.requires_grad else None,
            sum_to(-g * a._data / (b._data * b._data), b.shape, k) if b.requires_grad else None)


@rule(ew.Neg)
def _neg(ctx, g, out):
    return (-g,)


@rule(ew.Clone)
def _clone(ctx, g, out):
    return (g,)


@rule(ew.Cast)
def _cast(ctx, g, out):
    return (g.astype(ctx.inputs[0].dtype),)


@rule(ew.Exp)
def _exp(ctx, g, out):
    return (g * out,)


@rule(ew.Log)
def _log(ctx, g, out):
    return (g / ctx.inputs[0]._data,)


@rule(ew.Sqrt)
def _sqrt(ctx, g, out):
    return (g / (2.0 * out),)


@rule(ew.Sigmoid)
def _sigmoid(ctx, g, out):
    return (g * out * (1.0 - out),)


@rule(ew.Tanh)
def _tanh(ctx, g, out):
    return (g * (1.0 - out * out),)


@rule(ew.TanhBackward)
def _tanh_backward(ctx, gg, out):
    g, y = ctx.inputs
    return (gg * (1.0 - y._data * y._data) if g.requires_grad else None,
            gg * g._data * y._data * -2.0 if y.requires_grad else None)


@rule(ew.PowScalar)
def _pow_scalar(ctx, g, out):
    return (ew.pow_scalar_grad(g, ctx.inputs[0]._data, ctx.exponent),)


@rule(ew.ReLU, ew.LeakyReLU, ew.Hardsigmoid, ew.Clamp, activation.Hardtanh)
def _masked(ctx, g, out):
    a = ctx.inputs[0]._data
    return (g * ctx.slope(a).astype(a.dtype, copy=False),)


@rule(ew.Where)
def _where(ctx, g, out):
    a, b = ctx.inputs
    k = _lead(g, out)
    zero = xp.zeros((), g.dtype)
    return (sum_to(xp.where(ctx.condition, g, zero), a.shape, k) if a.requires_grad else None,
            sum_to(xp.where(ctx.condition, zero, g), b.shape, k) if b.requires_grad else None)


# ---------------------------------------------------------------------------- reductions
@rule(reduce.Sum)
def _sum(ctx, g, out):
    a = ctx.inputs[0]
    k = _lead(g, out)
    if not ctx.keepdim and a.ndim:
        g = g.reshape(g.shape[:k] + reduce._keepdim_shape(a.shape, ctx.dims))
    target = g.shape[:k] + tuple(a.shape)
    return (g if g.shape == target else xp.broadcast_to(g, target),)


@rule(reduce.Softmax)
def _softmax(ctx, g, out):
    if ctx.axis is None:
        return None
    axis = ctx.axis + _lead(g, out)
    return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)


@rule(reduce.LogSoftmax)
def _log_softmax(ctx, g, out):
    if ctx.axis is None:
        return None
    axis = ctx.axis + _lead(g, out)
    return (g - xp.exp(out) * g.sum(axis=axis, keepdims=True),)


# ---------------------------------------------------------------------------- shapes
@rule(shape.Reshape)
def _reshape(ctx, g, out):
    return (g.reshape(g.shape[:_lead(g, out)] + tuple(ctx.inputs[0].shape)),)


@rule(shape.Permute)
def _permute(ctx, g, out):
    k = _lead(g, out)
    dims = ctx.dims
    inverse = sorted(range(len(dims)), key=dims.__getitem__)
    return (xp.transpose(g, tuple(range(k)) + tuple(k + d for d in inverse)),)


@rule(shape.Expand)
def _expand(ctx, g, out):
    return (sum_to(g, ctx.inputs[0].shape, _lead(g, out)),)


# ---------------------------------------------------------------------------- indexing
def _parts(idx):
    return idx if isinstance(idx, tuple) else (idx,)


def _keeps_place(parts):
    """Whether ``(slice(None),) + parts`` indexes like ``parts`` behind a new leading axis.  NumPy moves the
    dimensions of advanced indices to the front when they are not adjacent (integers count as advanced
    beside an array), so only adjacent ones keep their place."""
    arrays = [i for i, p in enumerate(parts) if index._is_advanced(p) and getattr(p, "ndim", 1) > 0]
    if not arrays:
        return True
    adv = [i for i, p in enumerate(parts) if index._is_advanced(p) or isinstance(p, (int, np.integer))]
    return adv == list(range(adv[0], adv[0] + len(adv)))


@rule(index.GetItem)
def _getitem(ctx, g, out):
    a = ctx.inputs[0]
    k = _lead(g, out)
    batch = g.shape[:k]
    if ctx.flat is not None:
        if not k and not ctx.unique:
            return (index.IndexAdd(a.shape, ctx.index, ctx.unique, ctx.flat).forward(g),)  # one bincount
        flat = ctx.flat.reshape(-1)
        res = xp.zeros(batch + (math.prod(a.shape),), dtype=g.dtype)
        rows = g.reshape(batch + (-1,))
        if ctx.unique:
            res[(slice(None),) * k + (flat,)] = rows
        else:
            xp.add.at(res, (slice(None),) * k + (flat,), rows)
        return (res.reshape(batch + tuple(a.shape)),)
    parts = _parts(ctx.index)
    if k and not _keeps_place(parts):
        return None
    res = xp.zeros(batch + tuple(a.shape), dtype=g.dtype)
    where = (slice(None),) * k + parts
    if any(index._is_advanced(p) and getattr(p, "dtype", None) != bool for p in parts):
        xp.add.at(res, where, g)  # integer arrays may repeat a position
    else:
        res[where] = g
    return (res,)


@rule(index.IndexAdd)
def _index_add(ctx, g, out):
    k = _lead(g, out)
    if k == 0:
        return (index.GetItem(ctx.index, ctx.unique, ctx.flat).forward(g),)
    if ctx.flat is not None:
        return (xp.take(g.reshape(g.shape[:k] + (-1,)), ctx.flat, axis=k),)
    parts = _parts(ctx.index)
    if not _keeps_place(parts):
        return None
    return (g[(slice(None),) * k + parts],)


# ---------------------------------------------------------------------------- products
@rule(linalg.Linear)
def _linear(ctx, g, out):
    x, w = ctx.inputs[:2]
    k = _lead(g, out)
    if k == 0:
        return tuple(None if t is None else t._data for t in ctx._array_backward(g, x, w))
    g2 = g.reshape(g.shape[:k] + (-1, g.shape[-1]))
    grads = (linalg._matmul(g, w._data) if x.requires_grad else None,
             _mT(g2) @ x._data.reshape(-1, x.shape[-1]) if w.requires_grad else None)
    if len(ctx.inputs) == 3:
        grads += (g2.sum(axis=k) if ctx.inputs[2].requires_grad else None,)
    return grads


@rule(linalg.TransposedMatMul)
def _transposed_matmul(ctx, g, out):
    a, b = ctx.inputs
    return (linalg._matmul(b._data, _mT(g)) if a.requires_grad else None,
            linalg._matmul(a._data, g) if b.requires_grad else None)


@rule(linalg.MatMul)
def _matmul(ctx, g, out):
    a, b = ctx.inputs
    if a.ndim == 2 and b.ndim == 2:  # the common case: no promotion, no broadcast to undo
        return (linalg._matmul(g, _mT(b._data)) if a.requires_grad else None,
                linalg._matmul(_mT(a._data), g) if b.requires_grad else None)
    k = _lead(g, out)
    batch = g.shape[:k]
    # Promote 1-D operands to matrices, as matmul itself does, so one formula covers every case.
    a2 = a._data[None] if a.ndim == 1 else a._data
    b2 = b._data[:, None] if b.ndim == 1 else b._data
    inner = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    g2 = g.reshape(batch + inner + (a2.shape[-2], b2.shape[-1]))
    ga = gb = None
    if a.requires_grad:
        ga = sum_to(linalg._matmul(g2, _mT(b2)), a2.shape, k).reshape(batch + tuple(a.shape))
    if b.requires_grad:
        gb = sum_to(linalg._matmul(_mT(a2), g2), b2.shape, k).reshape(batch + tuple(b.shape))
    return ga, gb
