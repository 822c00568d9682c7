"""Running sums: ``cumsum``.  The gradient of a running sum is the running sum of the gradient from the end:
flip, cumsum, flip, all Tensor ops, so it differentiates again."""
from .. import backend
from ..backend import xp
from ..autograd.function import Function
from .reduce import normalize_dims


class Cumsum(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, a):
        return xp.cumsum(a, axis=self.axis)

    def backward(self, g, out):
        from .rearrange import flip
        return (flip(Cumsum(self.axis).apply(flip(g, self.axis)), self.axis),)


def cumsum(x, dim, dtype=None):
    """out[i] = x[0] + ... + x[i] along ``dim``; integer and bool inputs sum in int64, as in PyTorch."""
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype.kind in "biu" and x.dtype != backend.int64:
        x = x.to(backend.int64)
    if x.ndim == 0:
        normalize_dims(dim, 0, "cumsum")
        return x.clone()
    (axis,) = normalize_dims(dim, x.ndim, "cumsum")
    return Cumsum(axis).apply(x)
