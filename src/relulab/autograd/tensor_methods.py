"""Bind the ops onto ``Tensor`` as methods and operators (``x.sum()``, ``a @ b``, ``a < b`` ...)."""
import numbers

import numpy as np

from ..backend import xp
from ..ops import (elementwise as E, index as I, linalg as L, rearrange as A, reduce as R, scan as C, shape as S,
                   sort as O)
from .grad_mode import is_grad_enabled
from .tensor import Tensor


def _plain_float_with_number(t, other):
    """A float tensor that records nothing, with a Python number: the op is one NumPy call (an optimizer's
    ``p -= lr * p.grad``).  NumPy types the number as the tensor's dtype, PyTorch's rule, so the values are the
    ones the op would give; 0-d tensors take the op, which keeps the result an array."""
    return (type(other) in (float, int) and t._data.dtype.kind == "f" and t._data.ndim
            and not (t.requires_grad and is_grad_enabled()))


def _binary(op_cls, ufunc, check=None):
    def method(self, other):
        if _plain_float_with_number(self, other):
            return Tensor._make(ufunc(self._data, other))
        if check is not None:
            check(self, other)
        a, b = E.operands(self, other)
        return op_cls().apply(a, b)

    def reflected(self, other):
        if _plain_float_with_number(self, other):
            return Tensor._make(ufunc(other, self._data))
        if check is not None:
            check(other, self)
        a, b = E.operands(other, self)
        return op_cls().apply(a, b)
    return method, reflected


def _compare_promoted(ufunc):
    """A comparison after PyTorch's promotion of both operands: int64 [16777217] == float32 [16777216.] is True,
    as both are compared in float32; a number out of an integer dtype's range wraps first."""
    fallback = _compare(ufunc)

    def method(self, other):
        if type(other) in (float, int) and self._data.dtype.kind == "f":
            # NumPy casts a Python number to a float array's own dtype, which is PyTorch's rule too
            return Tensor._make(xp.asarray(ufunc(self._data, other)))
        if not isinstance(other, (Tensor, numbers.Real, np.number)):
            return fallback(self, other)
        a, b = E.operands(self, other)
        try:
            return Tensor._make(xp.asarray(ufunc(a._data, b._data)))
        except ValueError:
            raise RuntimeError(f"{ufunc.__name__}: shapes {tuple(self.shape)} and {tuple(b.shape)} cannot be "
                               f"broadcast together") from None
    return method


def _compare(ufunc):
    def method(self, other):
        other = other._data if isinstance(other, Tensor) else other
        try:
            return Tensor._make(xp.asarray(ufunc(self._data, other)))
        except ValueError:
            raise RuntimeError(f"{ufunc.__name__}: shapes {tuple(self.shape)} and {xp.shape(other)} cannot be "
                               f"broadcast together") from None
    return method


Tensor.__add__, Tensor.__radd__ = _binary(E.Add, xp.add)
Tensor.__sub__, Tensor.__rsub__ = _binary(E.Sub, xp.subtract, E.check_sub)
Tensor.__mul__, Tensor.__rmul__ = _binary(E.Mul, xp.multiply)
Tensor.__truediv__ = lambda self, other: E.true_divide(self, other)
Tensor.__rtruediv__ = lambda self, other: E.true_divide(other, self)
Tensor.__pow__ = lambda self, other: E.pow(self, other)
Tensor.__rpow__ = lambda self, other: E.pow(E.scalar_tensor(other, self) if not isinstance(other, Tensor) else other, self)
Tensor.__matmul__ = lambda self, other: L.matmul(self, other)
Tensor.__rmatmul__ = lambda self, other: L.matmul(other, self)
Tensor.__neg__ = lambda self: E.Neg().apply(self)
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = lambda self: E.abs(self)
Tensor.__getitem__ = lambda self, index: I.getitem(self, index)

Tensor.__lt__ = Tensor.lt = _compare_promoted(xp.less)
Tensor.__le__ = Tensor.le = _compare_promoted(xp.less_equal)
Tensor.__gt__ = Tensor.gt = _compare_promoted(xp.greater)
Tensor.__ge__ = Tensor.ge = _compare_promoted(xp.greater_equal)
Tensor.__eq__ = Tensor.eq = _compare_promoted(xp.equal)
Tensor.__ne__ = Tensor.ne = _compare_promoted(xp.not_equal)
Tensor.logical_not = lambda self: Tensor._make(xp.logical_not(self._data))
Tensor.__invert__ = Tensor.logical_not
Tensor.all = lambda self, dim=None, keepdim=False: Tensor._make(xp.asarray(xp.all(self._data, axis=dim, keepdims=keepdim)))
Tensor.any = lambda self, dim=None, keepdim=False: Tensor._make(xp.asarray(xp.any(self._data, axis=dim, keepdims=keepdim)))
Tensor.__and__ = _compare(xp.logical_and)
Tensor.__or__ = _compare(xp.logical_or)


def _equal(self, other):
    return self.shape == other.shape and bool(xp.array_equal(self._data, other._data))


def _allclose(self, other, rtol=1e-5, atol=1e-8, equal_nan=False):
    return bool(xp.allclose(self._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


Tensor.add = lambda self, other, alpha=1: self + (other if alpha == 1 else other * alpha)
Tensor.sub = lambda self, other, alpha=1: self - (other if alpha == 1 else other * alpha)
Tensor.mul = Tensor.__mul__
Tensor.div = Tensor.__truediv__
Tensor.pow = Tensor.__pow__
Tensor.neg = Tensor.__neg__
Tensor.matmul = Tensor.__matmul__
Tensor.mm = Tensor.__matmul__
Tensor.exp = E.exp
Tensor.log = E.log
Tensor.log1p = E.log1p
Tensor.sqrt = E.sqrt
Tensor.abs = E.abs
Tensor.sigmoid = E.sigmoid
Tensor.tanh = E.tanh
Tensor.relu = E.relu
Tensor.square = lambda self: self * self
Tensor.sign = lambda self: Tensor._make(xp.sign(self._data))
Tensor.clamp = E.clamp
Tensor.clip = E.clamp
Tensor.maximum = E.maximum
Tensor.minimum = E.minimum
Tensor.masked_fill = lambda self, mask, value: E.where(mask, value, self)
Tensor.where = lambda self, condition, other: E.where(condition, self, other)
Tensor.equal = _equal
Tensor.allclose = _allclose

Tensor.sum = R.sum
Tensor.mean = R.mean
Tensor.var = R.var
Tensor.std = R.std
Tensor.max = R.max
Tensor.min = R.min
Tensor.amax = R.amax
Tensor.amin = R.amin
Tensor.argmax = R.argmax
Tensor.argmin = R.argmin
Tensor.softmax = R.softmax
Tensor.log_softmax = R.log_softmax
Tensor.logsumexp = R.logsumexp
Tensor.norm = R.norm
Tensor.prod = R.prod
Tensor.cumsum = C.cumsum

Tensor.reshape = S.reshape
Tensor.view = S.reshape
Tensor.view_as = lambda self, other: S.reshape(self, other.shape)
Tensor.reshape_as = Tensor.view_as
Tensor.flatten = S.flatten
Tensor.unflatten = S.unflatten
Tensor.squeeze = S.squeeze
Tensor.unsqueeze = S.unsqueeze
Tensor.permute = S.permute
Tensor.transpose = S.transpose
Tensor.t = S.t
Tensor.expand = S.expand
Tensor.expand_as = lambda self, other: S.expand(self, other.shape)
Tensor.gather = I.gather
Tensor.index_select = A.index_select
Tensor.nonzero = I.nonzero
Tensor.repeat = A.repeat
Tensor.repeat_interleave = A.repeat_interleave
Tensor.flip = A.flip
Tensor.roll = A.roll
Tensor.split = A.split
Tensor.chunk = A.chunk
Tensor.sort = O.sort
Tensor.argsort = O.argsort
Tensor.topk = O.topk


def _masked_fill_(self, mask, value):
    self._check_inplace("masked_fill_", value)
    cond = mask._data if isinstance(mask, Tensor) else xp.asarray(mask)
    if cond.dtype != bool:
        raise RuntimeError(f"masked_fill_: expected a bool mask, got {cond.dtype}")
    return self._inplace("masked_fill_", xp.where(cond, self._arr(value), self._data).astype(self.dtype, copy=False))


Tensor.masked_fill_ = _masked_fill_


# ---------------------------------------------------------------------------- new_* : like this tensor's dtype
def _new(fill):
    def method(self, *size, dtype=None, device=None, requires_grad=False, **kwargs):
        from .. import factory
        return fill(factory, size, dtype if dtype is not None else self.dtype, requires_grad)
    return method


Tensor.new_zeros = _new(lambda f, size, dtype, rg: f.zeros(*size, dtype=dtype, requires_grad=rg))
Tensor.new_ones = _new(lambda f, size, dtype, rg: f.ones(*size, dtype=dtype, requires_grad=rg))
Tensor.new_empty = _new(lambda f, size, dtype, rg: f.empty(*size, dtype=dtype, requires_grad=rg))


def _new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False, **kwargs):
    from .. import factory
    return factory.full(size, fill_value, dtype=dtype if dtype is not None else self.dtype,
                        requires_grad=requires_grad)


def _new_tensor(self, data, dtype=None, device=None, requires_grad=False, **kwargs):
    from .. import factory
    return factory.tensor(data, dtype=dtype if dtype is not None else self.dtype, requires_grad=requires_grad)


Tensor.new_full = _new_full
Tensor.new_tensor = _new_tensor
