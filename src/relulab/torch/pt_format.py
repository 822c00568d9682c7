"""What PyTorch's checkpoint files are made of, shared by the reader and the writer.

A ``.pt``/``.pth``/``.ckpt`` file is a pickle of the saved object in which every tensor is rebuilt by a call to
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)``, each storage being
a *persistent id* ``('storage', torch.FloatStorage, key, location, numel)`` that points at raw little-endian
bytes stored beside the pickle: as ``<archive>/data/<key>`` records of a zip file (PyTorch >= 1.6), or after
the pickle in the legacy stream format.
"""
import numpy as np

STORAGE_DTYPES = {
    "FloatStorage": np.dtype("float32"), "DoubleStorage": np.dtype("float64"), "HalfStorage": np.dtype("float16"),
    "LongStorage": np.dtype("int64"), "IntStorage": np.dtype("int32"), "ShortStorage": np.dtype("int16"),
    "CharStorage": np.dtype("int8"), "ByteStorage": np.dtype("uint8"), "BoolStorage": np.dtype("bool"),
    # bfloat16 has no NumPy dtype: its 16-bit patterns are widened to float32 on load.
    "BFloat16Storage": np.dtype("uint16"), "UntypedStorage": np.dtype("uint8"),
}
STORAGE_NAMES = {dtype: name for name, dtype in STORAGE_DTYPES.items()
                 if name not in ("BFloat16Storage", "UntypedStorage")}

# torch.float32 and friends pickle as globals of the torch module.
DTYPE_NAMES = {
    "float32": "float32", "float": "float32", "float64": "float64", "double": "float64", "float16": "float16",
    "half": "float16", "int64": "int64", "long": "int64", "int32": "int32", "int": "int32", "int16": "int16",
    "short": "int16", "int8": "int8", "uint8": "uint8", "bool": "bool",
}

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
STORAGE_ALIGNMENT = 64


class StorageType:
    """Stands for ``torch.FloatStorage`` & co. inside a pickle: the element dtype of a storage."""

    def __init__(self, name):
        self.name = name
        self.dtype = STORAGE_DTYPES[name]
        self.bfloat16 = name == "BFloat16Storage"

    def __repr__(self):
        return f"torch.{self.name}"
