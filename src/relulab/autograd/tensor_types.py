"""PyTorch's legacy type names (``'torch.FloatTensor'``), one per dtype: what ``Tensor.type()`` answers."""
import numpy as np

from .. import backend

TYPE_NAMES = {
    backend.float32: "FloatTensor", backend.float64: "DoubleTensor", backend.float16: "HalfTensor",
    backend.int64: "LongTensor", backend.int32: "IntTensor", np.dtype("int16"): "ShortTensor",
    backend.int8: "CharTensor", backend.uint8: "ByteTensor", backend.bool_: "BoolTensor",
}
DTYPES_BY_NAME = {name: dtype for dtype, name in TYPE_NAMES.items()}


def type_name(dtype):
    name = TYPE_NAMES.get(np.dtype(dtype))
    if name is None:
        raise TypeError(f"type: relulab has no PyTorch type name for dtype {np.dtype(dtype)}")
    return "torch." + name


def dtype_of_type_name(name):
    """``'torch.LongTensor'`` (or ``'LongTensor'``) -> int64."""
    short = name[len("torch."):] if name.startswith("torch.") else name
    if short not in DTYPES_BY_NAME:
        raise ValueError(f"type: invalid type {name!r}; expected one of "
                         + ", ".join(f"'torch.{n}'" for n in DTYPES_BY_NAME))
    return DTYPES_BY_NAME[short]
