"""Matrix products: batched ``matmul`` and the fused ``linear`` (x Wᵀ + b) that every dense layer uses."""
import numpy as np

from ..backend import xp
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.tensor import Tensor
from .elementwise import operands, unbroadcast


def _matmul(a, b):
    if a.ndim >= 2 and b.ndim >= 2 and a.shape[-1] == 1 == b.shape[-2]:
        # An outer product (a weight gradient at batch 1): one product per entry, so broadcasting gives the
        # same numbers, several times faster than BLAS on a contraction of length 1.
        return a * b
    try:
        return xp.matmul(a, b)
    except ValueError:
        raise RuntimeError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied") from None


class MatMul(Function):
    def forward(self, a, b):
        return _matmul(a, b)

    def backward(self, g, out):
        a, b = self.inputs
        # Promote 1-D operands to matrices, as matmul itself does, so one formula covers every case.
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(-1) if b.ndim == 1 else b
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g2 = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if a.requires_grad:
            ga = unbroadcast(g2 @ b2.mT, a2.shape).reshape(a.shape)
        if b.requires_grad:
            gb = unbroadcast(a2.mT @ g2, b2.shape).reshape(b.shape)
        return ga, gb


def matmul(a, b):
    a, b = operands(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes {tuple(a.shape)} "
                           f"and {tuple(b.shape)}")
    return MatMul().apply(a, b)


class TransposedMatMul(Function):
    """aᵀ b for 2-D a and b: a linear layer's weight gradient as one node, not a transpose and a product."""

    def forward(self, a, b):
        return _matmul(a.T, b)

    def backward(self, g, out):
        a, b = self.inputs
        return (b @ g.mT if a.requires_grad else None, a @ g if b.requires_grad else None)


class Linear(Function):
    """y = x Wᵀ + b over the last dimension of x."""

    def forward(self, x, w, b=None):
        if x.shape[-1:] != w.shape[1:]:
            raise RuntimeError(f"linear: input of shape {x.shape} does not match weight of shape {w.shape} "
                               f"(expected last dimension {w.shape[1]})")
        y = x @ w.T
        if b is not None:
            y += b
        return y

    def backward(self, g, out):
        x, w = self.inputs[:2]
        if not is_grad_enabled():  # no graph to build: the same products on arrays, without op dispatch
            return self._array_backward(g._data, x, w)
        gx = g @ w if x.requires_grad else None
        g2 = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])  # no Reshape nodes in the common 2-D case
        gw = None
        if w.requires_grad:
            gw = TransposedMatMul().apply(g2, x if x.ndim == 2 else x.reshape(-1, x.shape[-1]))
        grads = (gx, gw)
        if len(self.inputs) == 3:
            b = self.inputs[2]
            grads += (g2.sum(dim=0) if b.requires_grad else None,)
        return grads

    def _array_backward(self, g, x, w):
        g2 = g.reshape(-1, g.shape[-1])
        gw = None
        if w.requires_grad:
            x2 = x._data.reshape(-1, x.shape[-1])
            # gᵀx straight into W's layout: (xᵀg)ᵀ runs the GEMM as fast on OpenBLAS 0.3.31 but then needs a
            # transposing copy that cost up to as much again (bench/step_floor.py's MLP rows).
            gw = _matmul(g2.T, x2)
        grads = (Tensor._make(_matmul(g, w._data)) if x.requires_grad else None,
                 None if gw is None else Tensor._make(gw))
        if len(self.inputs) == 3:
            grads += (Tensor._make(xp.sum(g2, axis=(0,))) if self.inputs[2].requires_grad else None,)
        return grads


def linear(x, weight, bias=None):
    if weight.ndim != 2:
        raise RuntimeError(f"linear: weight must be 2-D, got shape {tuple(weight.shape)}")
    if x.ndim == 0:
        raise RuntimeError("linear: input must have at least 1 dimension")
    if x.dtype != weight.dtype:
        raise RuntimeError(f"linear: input dtype {x.dtype} does not match weight dtype {weight.dtype}")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Linear().apply(*inputs)
