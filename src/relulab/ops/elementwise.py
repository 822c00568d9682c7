"""Elementwise ops, with NumPy-style broadcasting and gradients summed back to each input's shape."""
import numbers

import numpy as np

from .. import backend
from ..backend import xp
from ..autograd.function import Function
from ..autograd.tensor import Tensor


# ---------------------------------------------------------------------------- operands and promotion
def scalar_tensor(value, like: Tensor) -> Tensor:
    """A Python number as a 0-d tensor, typed as PyTorch types a scalar operand next to ``like``."""
    if isinstance(value, (bool, np.bool_)):
        dtype = like.dtype
    elif isinstance(value, (numbers.Integral, np.integer)):
        dtype = like.dtype if like.dtype.kind != "b" else backend.int64
    elif isinstance(value, (numbers.Real, np.floating)):
        dtype = like.dtype if like.dtype.kind == "f" else backend.get_default_dtype()
    else:
        raise TypeError(f"unsupported operand of type {type(value).__name__} for a tensor of dtype {like.dtype}")
    try:
        return Tensor._make(xp.asarray(value, dtype=dtype))
    except OverflowError:  # an integer out of the tensor's range wraps around, as in PyTorch (uint8 + 300)
        if not -2 ** 63 <= value < 2 ** 64:
            raise RuntimeError(f"value {value} cannot be converted to {dtype} without overflow") from None
        return Tensor._make(xp.asarray(value, dtype=np.uint64 if value >= 2 ** 63 else np.int64)
                            .astype(dtype))


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def _result_dtype(a: Tensor, b: Tensor):
    da, db = a.dtype, b.dtype
    if da == db:
        return da
    ca, cb = _CATEGORY[da.kind], _CATEGORY[db.kind]
    if ca != cb:
        return da if ca > cb else db  # bool < integer < float: the higher category's dtype wins
    # Same category: a 0-d tensor does not widen a dimensioned one (PyTorch's rule).
    if a.ndim == 0 and b.ndim > 0:
        return db
    if b.ndim == 0 and a.ndim > 0:
        return da
    return np.promote_types(da, db)


_TORCH_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long",
                "float16": "Half", "float32": "Float", "float64": "Double"}


def check_inplace_result(out: Tensor, other, op, true_division=False):
    """PyTorch refuses an in-place op whose promoted result cannot be cast back into ``out`` (float into an
    integer tensor, a number into a bool one) instead of truncating it."""
    if out.dtype.kind == "f" or not isinstance(other, (Tensor, numbers.Real, np.number)):
        return
    if not isinstance(other, Tensor):
        other = scalar_tensor(other, out)
    result = out.dtype if out.dtype == other.dtype else _result_dtype(out, other)
    if true_division and result.kind != "f":
        result = backend.get_default_dtype()
    if (result.kind == "f" and out.dtype.kind in "biu") or (result.kind in "iu" and out.dtype.kind == "b"):
        raise RuntimeError(f"{op}: result type {_TORCH_NAMES.get(result.name, result.name)} can't be cast to the "
                           f"desired output type {_TORCH_NAMES.get(out.dtype.name, out.dtype.name)}")


def operands(a, b):
    """Both operands as tensors of one dtype."""
    if not isinstance(a, Tensor):
        a = scalar_tensor(a, b) if not isinstance(a, (np.ndarray, list, tuple)) else Tensor(a)
    if not isinstance(b, Tensor):
        b = scalar_tensor(b, a) if not isinstance(b, (np.ndarray, list, tuple)) else Tensor(b)
    if a.dtype != b.dtype:
        dtype = _result_dtype(a, b)
        a, b = a.to(dtype), b.to(dtype)
    return a, b


def _is_bool(x) -> bool:
    if isinstance(x, (Tensor, np.ndarray)):
        return x.dtype == backend.bool_
    return isinstance(x, (bool, np.bool_))


def check_sub(a, b):
    """PyTorch refuses ``-`` with a bool operand (before promotion: ``uint8 - bool`` too)."""
    if _is_bool(a) or _is_bool(b):
        if _is_bool(a) and _is_bool(b):
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                               "Use the `^` or `logical_xor()` operator instead.")
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                           "to invert a mask, use the `~` or `logical_not()` operator instead.")


def unbroadcast(grad: Tensor, shape) -> Tensor:
    """Sum ``grad`` over the dimensions that broadcasting added or stretched, to get back ``shape``."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1)
    if dims:
        grad = grad.sum(dim=dims, keepdim=True)
    return grad.reshape(shape)


class BinaryOp(Function):
    """Names the op and both shapes when broadcasting fails."""

    symbol = ""

    def apply(self, a, b):
        try:
            return Function.apply(self, a, b)
        except ValueError as e:
            if "broadcast" not in str(e):
                raise
            raise RuntimeError(
                f"{self.name.lower()}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be broadcast together"
            ) from None


# ---------------------------------------------------------------------------- dtype and copies
class Cast(Function):
    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, a):
        return a.astype(self.dtype)

    def backward(self, g, out):
        (a,) = self.inputs
        return (g.to(a.dtype),)


class Clone(Function):
    def forward(self, a):
        return a.copy()

    def backward(self, g, out):
        return (g,)


# ---------------------------------------------------------------------------- arithmetic
class Add(BinaryOp):
    def forward(self, a, b):
        return a + b

    def backward(self, g, out):
        a, b = self.inputs
        return (unbroadcast(g, a.shape) if a.requires_grad else None,
                unbroadcast(g, b.shape) if b.requires_grad else None)


class Sub(BinaryOp):
    def forward(self, a, b):
        return a - b

    def backward(self, g, out):
        a, b = self.inputs
        return (unbroadcast(g, a.shape) if a.requires_grad else None,
                unbroadcast(-g, b.shape) if b.requires_grad else None)


class Mul(BinaryOp):
    def forward(self, a, b):
        return a * b

    def backward(self, g, out):
        a, b = self.inputs
        return (unbroadcast(g * b, a.shape) if a.requires_grad else None,
                unbroadcast(g * a, b.shape) if b.requires_grad else None)


class Div(BinaryOp):
    def forward(self, a, b):
        return a / b

    def backward(self, g, out):
        a, b = self.inputs
        return (unbroadcast(g / b, a.shape) if a.requires_grad else None,
                unbroadcast(-g * a / (b * b), b.shape) if b.requires_grad else None)


class Pow(BinaryOp):
    """``a ** b`` for tensors; at a = 0 the exponent's gradient is taken as 0 (PyTorch's convention)."""

    saves_output = True  # backward reads the output: the engine checks it was not changed in place

    def forward(self, a, b):
        return a ** b

    def backward(self, g, out):
        a, b = self.inputs
        ga = gb = None
        # PyTorch's masks, written the way it composes them, so that second derivatives agree too: the base's
        # gradient is 0 where b = 0 (even at a = 0), the exponent's is 0 where a = 0 and b >= 0.
        if a.requires_grad:
            ga = unbroadcast(where(const(b._data == 0), 0.0, g * b * a ** (b - 1)), a.shape)
        if b.requires_grad:
            base_zero = const((a._data == 0) & (b._data >= 0))
            with np.errstate(divide="ignore"):  # log 0 = -inf is masked out just below
                log_a = a.log()
            gb = unbroadcast(g * where(base_zero, 0.0, out * log_a), b.shape)
        return ga, gb


class PowScalar(Function):
    """``a ** c`` for a constant exponent c."""

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, a):
        return a ** self.exponent

    def backward(self, g, out):
        return (pow_scalar_grad(g, self.inputs[0], self.exponent),)


def pow_scalar_grad(g, a, c):
    """g · c·a^(c−1), with the exact shortcuts for c = 0, 1, 2; for Tensors and for plain arrays alike."""
    if c == 0:
        return g * 0.0
    if c == 1:
        return g
    if c == 2:
        return g * (2.0 * a)
    return g * (c * a ** (c - 1))


class Neg(Function):
    def forward(self, a):
        if a.dtype == backend.bool_:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                               "to invert a mask, use the `~` or `logical_not()` operator instead.")
        return -a

    def backward(self, g, out):
        return (-g,)


# ---------------------------------------------------------------------------- unary math
class Exp(Function):
    saves_output = True  # backward reads the output: the engine checks it was not changed in place

    def forward(self, a):
        return xp.exp(a)

    def backward(self, g, out):
        return (g * out,)


class Log(Function):
    def forward(self, a):
        return xp.log(a)

    def backward(self, g, out):
        return (g / self.inputs[0],)


class Log1p(Function):
    def forward(self, a):
        return xp.log1p(a)

    def backward(self, g, out):
        return (g / (self.inputs[0] + 1.0),)


class Sqrt(Function):
    saves_output = True  # backward reads the output: the engine checks it was not changed in place

    def forward(self, a):
        return xp.sqrt(a)

    def backward(self, g, out):
        return (g / (2.0 * out),)


class Abs(Function):
    def forward(self, a):
        return xp.abs(a)

    def backward(self, g, out):
        a = self.inputs[0]._data
        sign = xp.sign(a)
        if sign.dtype.kind == "f" and xp.isnan(sign).any():
            sign = xp.nan_to_num(sign, nan=0.0)  # PyTorch's sgn(NaN) is 0, so no gradient reaches a NaN input
        return (g * const(sign),)


class Sigmoid(Function):
    saves_output = True  # backward reads the output: the engine checks it was not changed in place

    def forward(self, a):
        # Split by sign so exp never overflows.
        e = xp.exp(-xp.abs(a))
        return xp.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(a.dtype, copy=False)

    def backward(self, g, out):
        return (g * out * (1.0 - out),)


class LogSigmoid(Function):
    """log sigmoid(x) = min(x, 0) - log1p(exp(-|x|)), finite for any x."""

    def forward(self, a):
        return xp.minimum(a, 0) - xp.log1p(xp.exp(-xp.abs(a)))

    def backward(self, g, out):
        return (g * (-self.inputs[0]).sigmoid(),)


class Tanh(Function):
    saves_output = True  # backward reads the output: the engine checks it was not changed in place

    def forward(self, a):
        return xp.tanh(a)

    def backward(self, g, out):
        return (TanhBackward().apply(g, out),)


class TanhBackward(Function):
    """g·(1 − y²) for y = tanh(x): one node in a recorded gradient (an HVP's graph) instead of three."""

    def forward(self, g, y):
        return g * (1.0 - y * y)

    def backward(self, gg, out):
        g, y = self.inputs
        return (TanhBackward().apply(gg, y) if g.requires_grad else None,
                gg * g * y * -2.0 if y.requires_grad else None)


# ---------------------------------------------------------------------------- piecewise (kinks get PyTorch's one-sided choice)
class MaskedGrad(Function):
    """Ops whose derivative is a constant per element: the gradient is ``g * slope``."""

    def slope(self, a):
        raise NotImplementedError

    def backward(self, g, out):
        a = self.inputs[0]._data
        return (g * const(self.slope(a).astype(a.dtype, copy=False)),)


class ReLU(MaskedGrad):
    def forward(self, a):
        return xp.maximum(a, 0).astype(a.dtype, copy=False)

    def slope(self, a):
        return ~(a <= 0)  # a NaN input passes the gradient through, as in PyTorch


class LeakyReLU(MaskedGrad):
    def __init__(self, negative_slope=0.01):
        self.negative_slope = negative_slope

    def forward(self, a):
        return xp.where(a > 0, a, a * self.negative_slope).astype(a.dtype, copy=False)

    def slope(self, a):
        return xp.where(a > 0, 1.0, self.negative_slope)


class Hardsigmoid(MaskedGrad):
    """relu6(x + 3) / 6: zero below -3, one above 3, linear in between."""

    def forward(self, a):
        return (xp.clip(a + 3.0, 0.0, 6.0) / 6.0).astype(a.dtype, copy=False)

    def slope(self, a):
        return ((a > -3.0) & (a < 3.0)) / 6.0


class Clamp(MaskedGrad):
    def __init__(self, min=None, max=None):
        self.min, self.max = min, max

    def forward(self, a):
        return xp.clip(a, self.min, self.max).astype(a.dtype, copy=False)

    def slope(self, a):
        keep = xp.ones(a.shape, dtype=bool)
        if self.min is not None:
            keep &= a >= self.min
        if self.max is not None:
            keep &= a <= self.max
        return keep


class Softplus(Function):
    """log(1 + exp(beta x)) / beta, reverting to x where beta x > threshold (PyTorch's rule)."""

    def __init__(self, beta=1.0, threshold=20.0):
        self.beta, self.threshold = beta, threshold

    def forward(self, a):
        z = a * self.beta
        soft = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / self.beta
        return xp.where(z > self.threshold, a, soft).astype(a.dtype, copy=False)

    def backward(self, g, out):
        (a,) = self.inputs
        linear = const(a._data * self.beta > self.threshold)
        return (where(linear, g, g * (a * self.beta).sigmoid()),)


class Maximum(BinaryOp):
    """Ties split the gradient equally between the two inputs, as in PyTorch."""

    select, wins = staticmethod(xp.maximum), staticmethod(xp.greater)

    def forward(self, a, b):
        return self.select(a, b)

    def backward(self, g, out):
        a, b = self.inputs
        # Each input's gradient is dropped only where the other one wins: at a NaN both get it (PyTorch's rule).
        tie = 0.5 * (a._data == b._data)
        share_a = (~self.wins(b._data, a._data) - tie).astype(g.dtype, copy=False)
        share_b = (~self.wins(a._data, b._data) - tie).astype(g.dtype, copy=False)
        return (unbroadcast(g * const(share_a), a.shape) if a.requires_grad else None,
                unbroadcast(g * const(share_b), b.shape) if b.requires_grad else None)


class Minimum(Maximum):
    select, wins = staticmethod(xp.minimum), staticmethod(xp.less)


class Where(Function):
    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        try:
            return xp.where(self.condition, a, b)
        except ValueError:
            raise RuntimeError(
                f"where: condition {self.condition.shape}, input {a.shape} and other {b.shape} cannot be broadcast"
            ) from None

    def backward(self, g, out):
        a, b = self.inputs
        zero = Tensor._make(xp.zeros((), g.dtype))
        return (unbroadcast(Where(self.condition).apply(g, zero), a.shape) if a.requires_grad else None,
                unbroadcast(Where(self.condition).apply(zero, g), b.shape) if b.requires_grad else None)


# ---------------------------------------------------------------------------- functional forms
def const(array) -> Tensor:
    """An array that enters the graph as a constant."""
    return Tensor._make(array)


def where(condition, input, other):
    cond = condition._data if isinstance(condition, Tensor) else xp.asarray(condition)
    if cond.dtype != bool:
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    input, other = operands(input, other)
    return Where(cond).apply(input, other)


def maximum(a, b):
    a, b = operands(a, b)
    return Maximum().apply(a, b)


def minimum(a, b):
    a, b = operands(a, b)
    return Minimum().apply(a, b)


def clamp(x, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of min or max must be given")
    if x.dtype.kind != "f" and any(isinstance(v, (float, np.floating)) for v in (min, max)):
        x = x.to(backend.get_default_dtype())
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    return Clamp(min, max).apply(x)


def pow(a, b):
    if isinstance(a, Tensor) and not isinstance(b, Tensor) and isinstance(b, (numbers.Real, np.number)):
        if a.dtype.kind != "f" and isinstance(b, (float, np.floating)):
            a = a.to(backend.get_default_dtype())
        elif a.dtype.kind == "b":  # PyTorch: bool ** True stays bool, bool ** 2 is int64
            if isinstance(b, (bool, np.bool_)):
                return Tensor._make(a._data.copy() if b else xp.ones_like(a._data))
            a = a.to(backend.int64)
        return PowScalar(b).apply(a)
    a, b = operands(a, b)
    if a.dtype.kind == "b":
        raise NotImplementedError(f"pow: not implemented for two bool operands (shapes {tuple(a.shape)} and "
                                  f"{tuple(b.shape)}), as in PyTorch; convert one to an integer dtype")
    return Pow().apply(a, b)


def true_divide(a, b):
    a, b = operands(a, b)
    if a.dtype.kind != "f":  # integer division is true division, in the default float dtype
        a, b = a.to(backend.get_default_dtype()), b.to(backend.get_default_dtype())
    return Div().apply(a, b)


def _float_unary(op_cls):
    def fn(x, *args):
        if x.dtype.kind != "f":
            x = x.to(backend.get_default_dtype())
        return op_cls(*args).apply(x)
    fn.__name__ = op_cls.__name__.lower()
    return fn


exp = _float_unary(Exp)
log = _float_unary(Log)
log1p = _float_unary(Log1p)
sqrt = _float_unary(Sqrt)
sigmoid = _float_unary(Sigmoid)
tanh = _float_unary(Tanh)
logsigmoid = _float_unary(LogSigmoid)


def abs(x):
    return Abs().apply(x)


def relu(x):
    return ReLU().apply(x)


def leaky_relu(x, negative_slope=0.01):
    return LeakyReLU(negative_slope).apply(x)


def hardsigmoid(x):
    return Hardsigmoid().apply(x)


def softplus(x, beta=1.0, threshold=20.0):
    return Softplus(beta, threshold).apply(x)
