"""``torch.save`` in PyTorch's zip format, loadable by real PyTorch with ``torch.load(weights_only=True)``.

The pickle is emitted opcode by opcode (protocol 2, as PyTorch writes it) rather than by ``pickle.Pickler``:
the globals it must name (``torch._utils._rebuild_tensor_v2``, ``torch.FloatStorage`` ...) live in a torch that
relulab never imports, and a hand-written emitter also guarantees that only data types can get in.
"""
import collections
import io
import os
import struct
import zipfile

import numpy as np

from ..autograd.tensor import Tensor
from ..autograd.tensor_meta import Size, device
from ..nn.module import Module
from ..serialization import write_atomic
from .pt_format import DTYPE_NAMES, STORAGE_ALIGNMENT, STORAGE_NAMES

_TORCH_DTYPE_NAMES = {np.dtype(v): k for k, v in DTYPE_NAMES.items() if k == v}


class _Emitter:
    """Pickle opcodes for tensors, containers, numbers, strings, None, dtypes, Size and device."""

    def __init__(self):
        self.out = io.BytesIO()
        self.storages = []  # C-contiguous little-endian arrays, in key order
        self.out.write(b"\x80\x02")

    def global_(self, module, name):
        self.out.write(b"c" + f"{module}\n{name}\n".encode("ascii"))

    def emit(self, obj, where):
        w = self.out.write
        if obj is None:
            w(b"N")
        elif obj is True or obj is False:
            w(b"\x88" if obj else b"\x89")
        elif isinstance(obj, np.generic) and not isinstance(obj, np.ndarray):
            self.emit(obj.item(), where)
        elif isinstance(obj, int):
            self._int(obj)
        elif isinstance(obj, float):
            w(b"G" + struct.pack(">d", obj))
        elif isinstance(obj, str):
            data = obj.encode("utf-8", "surrogatepass")
            w(b"X" + struct.pack("<I", len(data)) + data)
        elif isinstance(obj, Tensor):
            self._tensor(obj, where)
        elif isinstance(obj, Size):
            self.global_("torch", "Size")
            self._tuple(tuple(obj), where)
            w(b"\x85R")
        elif isinstance(obj, device):
            self.global_("torch", "device")
            self._tuple((str(obj),), where)
            w(b"R")
        elif isinstance(obj, np.dtype):
            if obj not in _TORCH_DTYPE_NAMES:
                raise TypeError(f"torch.save: dtype {obj} at '{where}' has no PyTorch counterpart")
            self.global_("torch", _TORCH_DTYPE_NAMES[obj])
        elif isinstance(obj, dict):
            if isinstance(obj, collections.OrderedDict):
                self.global_("collections", "OrderedDict")
                w(b")R")
            else:
                w(b"}")
            if obj:
                w(b"(")
                for key, value in obj.items():
                    if not isinstance(key, (str, int, float, bool, type(None), tuple)):
                        raise TypeError(f"torch.save: dict key {key!r} at '{where}' must be a str, number or tuple")
                    self.emit(key, where)
                    self.emit(value, f"{where}.{key}" if where else str(key))
                w(b"u")
        elif isinstance(obj, list):
            w(b"]")
            if obj:
                w(b"(")
                for i, value in enumerate(obj):
                    self.emit(value, f"{where}.{i}" if where else str(i))
                w(b"e")
        elif isinstance(obj, tuple):
            self._tuple(obj, where)
        elif isinstance(obj, Module):
            raise TypeError(f"torch.save: '{where or '<root>'}' is a whole {type(obj).__name__} module; relulab saves "
                            "data only (PyTorch itself needs weights_only=False for modules): save "
                            "model.state_dict() and load it with model.load_state_dict(torch.load(path))")
        else:
            raise TypeError(f"torch.save: cannot store a {type(obj).__name__} at '{where or '<root>'}'; checkpoints "
                            "hold tensors, numbers, strings, None, dtypes and dicts/lists/tuples of them")

    def _int(self, v):
        w = self.out.write
        if 0 <= v < 256:
            w(b"K" + bytes([v]))
        elif 0 <= v < 65536:
            w(b"M" + struct.pack("<H", v))
        elif -2 ** 31 <= v < 2 ** 31:
            w(b"J" + struct.pack("<i", v))
        else:
            data = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
            w(b"\x8a" + bytes([len(data)]) + data)

    def _tuple(self, items, where):
        w = self.out.write
        if not items:
            w(b")")
            return
        if len(items) > 3:
            w(b"(")
        for i, value in enumerate(items):
            self.emit(value, f"{where}.{i}" if where else str(i))
        w({1: b"\x85", 2: b"\x86", 3: b"\x87"}.get(len(items), b"t"))

    def _tensor(self, t, where):
        array = t.detach()._data
        if array.dtype not in STORAGE_NAMES:
            raise TypeError(f"torch.save: tensor '{where}' has dtype {array.dtype}, which PyTorch storages do not hold")
        array = np.asarray(array, dtype=array.dtype.newbyteorder("<"), order="C")  # keeps 0-d shapes
        key = str(len(self.storages))
        self.storages.append(array)
        strides = tuple(s // array.itemsize for s in array.strides) if array.size else _contiguous(array.shape)
        self.global_("torch._utils", "_rebuild_tensor_v2")
        self.out.write(b"(")                                        # the arguments of _rebuild_tensor_v2
        self.out.write(b"(")                                        # the persistent id of the storage
        self.emit("storage", where)
        self.global_("torch", STORAGE_NAMES[array.dtype])
        self.emit(key, where)
        self.emit("cpu", where)
        self.emit(int(array.size), where)
        self.out.write(b"tQ")
        self.emit(0, where)
        self._tuple(tuple(int(s) for s in array.shape), where)
        self._tuple(strides, where)
        self.emit(bool(t.requires_grad), where)
        self.global_("collections", "OrderedDict")
        self.out.write(b")R")
        self.out.write(b"tR")

    def finish(self):
        self.out.write(b".")
        return self.out.getvalue()


def _contiguous(shape):
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def _aligned_record(archive, name, data, align):
    """Write ``data`` as a stored record whose bytes start at a multiple of ``align`` (as PyTorch aligns
    storages, for mmap), by padding the local header's extra field."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    if align:
        start = archive.fp.tell() + 30 + len(name.encode()) + 4
        info.extra = b"FB" + struct.pack("<H", (-start) % align) + b"Z" * ((-start) % align)
    archive.writestr(info, data)


def to_bytes(obj, archive_name="archive"):
    emitter = _Emitter()
    emitter.emit(obj, "")
    pickled = emitter.finish()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        _aligned_record(archive, f"{archive_name}/data.pkl", pickled, 0)
        _aligned_record(archive, f"{archive_name}/.format_version", b"1", 0)
        _aligned_record(archive, f"{archive_name}/.storage_alignment", str(STORAGE_ALIGNMENT).encode(), 0)
        _aligned_record(archive, f"{archive_name}/byteorder", b"little", 0)
        for key, array in enumerate(emitter.storages):
            _aligned_record(archive, f"{archive_name}/data/{key}", array.tobytes(), STORAGE_ALIGNMENT)
        _aligned_record(archive, f"{archive_name}/version", b"3\n", 0)
    return buffer.getvalue()


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Write ``obj`` (a state_dict, or any nesting of tensors and plain values) as a PyTorch zip checkpoint.
    A path is written atomically (a temporary file, then a rename); a file object is written in place."""
    if isinstance(f, (str, os.PathLike)):
        stem = os.path.splitext(os.path.basename(os.fspath(f)))[0] or "archive"
        name = stem if stem.isidentifier() else "archive"
        write_atomic(f, to_bytes(obj, name))
    else:
        f.write(to_bytes(obj))
