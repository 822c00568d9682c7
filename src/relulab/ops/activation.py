"""More activations (PyTorch's definitions): hardtanh and relu6, ELU, GELU (exact via erf, or the tanh form),
SiLU, PReLU.  Hardtanh is a primitive with PyTorch's strict kink rule; the others are written in Tensor ops,
so they differentiate to any order."""
import math

from .. import backend
from ..backend import xp
from ..autograd.function import Function
from ..autograd.tensor import Tensor
from .elementwise import MaskedGrad, const, where


class Hardtanh(MaskedGrad):
    """clip(x, min, max); the slope is 1 strictly inside (min, max) and 0 at and beyond the ends, as PyTorch."""

    def __init__(self, min_val, max_val):
        self.min_val, self.max_val = min_val, max_val

    def forward(self, a):
        return xp.clip(a, self.min_val, self.max_val).astype(a.dtype, copy=False)

    def slope(self, a):
        return (a > self.min_val) & (a < self.max_val)


def hardtanh(x, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return Hardtanh(min_val, max_val).apply(x)


def relu6(x, inplace=False):
    """min(max(0, x), 6)."""
    return Hardtanh(0.0, 6.0).apply(x)


class Erf(Function):
    """The error function; d erf(x)/dx = 2/√π · exp(−x²)."""

    def forward(self, a):
        from scipy.special import erf as _erf
        return _erf(a).astype(a.dtype, copy=False)

    def backward(self, g, out):
        (a,) = self.inputs
        return (g * (2.0 / math.sqrt(math.pi)) * (-(a * a)).exp(),)


def erf(x):
    if x.dtype.kind != "f":
        x = x.to(backend.get_default_dtype())
    return Erf().apply(x)


def elu(x, alpha=1.0, inplace=False):
    """x for x > 0, α(eˣ − 1) otherwise.  The exponential sees min(x, 0), so large x never overflows it."""
    negative = (x.clamp(max=0.0).exp() - 1.0) * alpha
    return where(x > 0, x, negative)


def gelu(x, approximate="none"):
    """x·Φ(x) = ½x(1 + erf(x/√2)); ``approximate='tanh'``: ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""
    if approximate == "none":
        return x * 0.5 * (erf(x * (1.0 / math.sqrt(2.0))) + 1.0)
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (inner.tanh() + 1.0)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(x, inplace=False):
    """x·sigmoid(x) (also called swish)."""
    return x * x.sigmoid()


def prelu(x, weight):
    """x for x > 0, a·x otherwise, with one learned slope a (or one per channel, dimension 1)."""
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu: weight must be a tensor, got {type(weight).__name__}")
    if weight.numel() == 1:
        slope = weight.reshape(())
    else:
        channel = 1 if x.ndim >= 2 else 0
        if x.ndim == 0 or x.shape[channel] != weight.numel():
            raise RuntimeError(f"prelu: {weight.numel()} slopes do not match the {x.shape[channel] if x.ndim else 0} "
                               f"channels of an input of shape {tuple(x.shape)}")
        shape = [1] * x.ndim
        shape[channel] = weight.numel()
        slope = weight.reshape(shape)
    return where(const(x._data > 0), x, x * slope)
