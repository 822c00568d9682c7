"""``torch.Tensor`` and the typed constructors (``FloatTensor``, ``LongTensor`` ...), over relulab's one Tensor.

``torch.Tensor(2, 3)`` makes a 2×3 float tensor and ``torch.LongTensor([1, 2])`` converts data, as in PyTorch;
``isinstance(x, torch.Tensor)`` holds for every relulab tensor and ``isinstance(x, torch.FloatTensor)`` for the
float32 ones.  relulab fills "uninitialised" tensors with zeros.
"""
import numbers

import numpy as np

from .. import backend, factory
from ..autograd.tensor import Tensor as _Tensor
from ..autograd.tensor_meta import Size, check_cpu
from ..autograd.tensor_types import DTYPES_BY_NAME


def _construct(dtype, name, args, kwargs):
    device = kwargs.pop("device", None)
    check_cpu(name, device)
    if kwargs:
        raise TypeError(f"{name}(): unexpected keyword argument(s) {sorted(kwargs)}")
    dtype = backend.get_default_dtype() if dtype is None else dtype
    if not args:
        return factory.zeros(0, dtype=dtype)
    if len(args) == 1 and isinstance(args[0], Size):
        args = tuple(args[0])
    if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args):
        return factory.zeros(*args, dtype=dtype)
    if len(args) > 1:
        raise TypeError(f"{name}(): expected sizes (ints) or one sequence of data, got {args!r}")
    data = args[0]
    if isinstance(data, _Tensor):
        return data.to(dtype)
    if isinstance(data, numbers.Number):
        raise TypeError(f"{name}(): new() received an invalid combination of arguments: a {type(data).__name__} "
                        "is neither a size nor data; use torch.tensor(value)")
    return factory.tensor(np.asarray(data).astype(dtype) if not isinstance(data, np.ndarray) or data.dtype != dtype
                          else data, dtype=dtype)


class _TensorType(type):
    """``isinstance`` by dtype, and calling the class builds a relulab tensor (by sizes or from data)."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, _Tensor) and (cls._dtype is None or obj.dtype == cls._dtype)

    def __subclasscheck__(cls, sub):
        if cls._dtype is None:
            return issubclass(sub, _Tensor)
        return type.__subclasscheck__(cls, sub)

    def __call__(cls, *args, **kwargs):
        if cls.__dict__.get("_legacy"):
            return _construct(cls._dtype, cls.__name__, args, dict(kwargs))
        return type.__call__(cls, *args, **kwargs)  # a user's subclass builds normally


class Tensor(_Tensor, metaclass=_TensorType):
    """PyTorch's ``torch.Tensor``: the class for ``isinstance`` and the legacy constructor ``Tensor(*sizes|data)``."""

    _dtype = None
    _legacy = True


def _typed(name, dtype):
    return _TensorType(name, (Tensor,), {"_dtype": np.dtype(dtype), "_legacy": True, "__module__": "torch",
                                          "__doc__": f"``torch.{name}``: {np.dtype(dtype)} tensors."})


FloatTensor = _typed("FloatTensor", DTYPES_BY_NAME["FloatTensor"])
DoubleTensor = _typed("DoubleTensor", DTYPES_BY_NAME["DoubleTensor"])
HalfTensor = _typed("HalfTensor", DTYPES_BY_NAME["HalfTensor"])
LongTensor = _typed("LongTensor", DTYPES_BY_NAME["LongTensor"])
IntTensor = _typed("IntTensor", DTYPES_BY_NAME["IntTensor"])
ShortTensor = _typed("ShortTensor", DTYPES_BY_NAME["ShortTensor"])
CharTensor = _typed("CharTensor", DTYPES_BY_NAME["CharTensor"])
ByteTensor = _typed("ByteTensor", DTYPES_BY_NAME["ByteTensor"])
BoolTensor = _typed("BoolTensor", DTYPES_BY_NAME["BoolTensor"])
