"""``torch.load`` of real PyTorch files, zip or legacy format, through a restricted unpickler.

Loading never executes code.  Unpickling can call only what ``find_class`` hands out, and here that is a short
list of data builders: relulab's own tensor rebuilders, the storage-type markers, dtypes, ``torch.Size``,
``torch.device``, ``collections.OrderedDict``, a few builtins containers and NumPy's array reconstruction, the
same set PyTorch admits with ``weights_only=True``.  Any other global (a model class, ``os.system`` ...) is
refused with an error naming the file and the global.
"""
import codecs
import collections
import io
import os
import pickle
import tarfile
import zipfile

import numpy as np

from ..autograd.tensor import Tensor
from ..autograd.tensor_meta import Size, device
from ..nn.parameter import Parameter
from .pt_format import DTYPE_NAMES, LEGACY_MAGIC, STORAGE_DTYPES, StorageType


class RefusedGlobal(pickle.UnpicklingError):
    """A checkpoint asked to import something that is not plain data."""


class _Storage:
    """One storage's elements as a flat NumPy array, filled at once (zip) or after the pickle (legacy)."""

    def __init__(self, kind, numel):
        self.kind, self.numel, self.array = kind, int(numel), None

    def fill(self, raw, where):
        dtype = self.kind.dtype.newbyteorder("<")
        need = self.numel * dtype.itemsize
        if len(raw) < need:
            raise ValueError(f"torch.load: {where}: storage of {self.numel} {self.kind.name} elements needs {need} "
                             f"bytes, the file holds {len(raw)}")
        array = np.frombuffer(raw, dtype=dtype, count=self.numel)
        if self.kind.bfloat16:  # the top 16 bits of a float32
            array = (array.astype(np.uint32) << 16).view(np.float32)
        self.array = array.astype(array.dtype.newbyteorder("="), copy=False)


class _Pending:
    """A tensor whose storage bytes are read after the pickle (the legacy format)."""

    def __init__(self, tensor, storage, offset, size, stride, requires_grad):
        self.tensor, self.storage, self.args = tensor, storage, (offset, size, stride, requires_grad)


def _view(storage, offset, size, stride, where):
    """The (copied) array ``as_strided(storage, size, stride, offset)``, after checking it stays in bounds."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or any(s < 0 for s in size) or any(s < 0 for s in stride) or offset < 0:
        raise ValueError(f"torch.load: {where}: invalid tensor layout (size {size}, stride {stride}, "
                         f"offset {offset})")
    flat = storage.array
    if 0 in size:
        return np.zeros(size, dtype=flat.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= flat.size:
        raise ValueError(f"torch.load: {where}: a tensor of size {size} and stride {stride} at offset {offset} "
                         f"reaches element {last}, past the end of its storage of {flat.size}")
    view = np.lib.stride_tricks.as_strided(flat[offset:], shape=size,
                                           strides=tuple(s * flat.itemsize for s in stride), writeable=False)
    return np.array(view, copy=True)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, where, storages):
        super().__init__(file, encoding="utf-8")
        self.where = where
        self.storages = storages          # key -> _Storage; a callable fills it for the zip format
        self.pending = []

    # ------------------------------------------------------------------ the only callables a checkpoint gets
    def find_class(self, module, name):
        allowed = _allowed_globals(self)
        module = "builtins" if module == "__builtin__" else module  # protocol 2 keeps Python 2's name
        key = (module, name)
        if key in allowed:
            return allowed[key]
        if module == "torch" and name in STORAGE_DTYPES:
            return StorageType(name)
        if module == "torch" and name in DTYPE_NAMES:
            return np.dtype(DTYPE_NAMES[name])
        if module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy", "numpy.core.numeric",
                      "numpy._core.numeric", "_codecs"):
            from ..data.files import _numpy_array_builders
            builders = _numpy_array_builders()
            if key in builders:
                return builders[key]
            if name == "scalar" and module.endswith("multiarray"):
                return _numpy_scalar
        raise RefusedGlobal(f"torch.load: {self.where} asks to load the global {module}.{name}, which is not a "
                            "tensor, storage or plain container; relulab never runs code from a checkpoint "
                            "(like torch.load(weights_only=True)). Save a state_dict instead of a whole object.")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], StorageType)):
            raise pickle.UnpicklingError(f"torch.load: {self.where}: unsupported persistent id {pid!r}")
        kind, key, numel = pid[1], str(pid[2]), pid[4]
        view = pid[5] if len(pid) > 5 else None
        if view is not None:  # legacy storage views: (root key, byte offset, byte size)
            raise pickle.UnpicklingError(f"torch.load: {self.where}: storage views of the pre-1.0 format are not "
                                         "supported")
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = _Storage(kind, numel)
            if callable(getattr(self.storages, "read", None)):
                storage.fill(self.storages.read(key), self.where)
        return storage

    # ------------------------------------------------------------------ tensor rebuilders
    def rebuild_tensor(self, storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
        if not isinstance(storage, _Storage):
            raise pickle.UnpicklingError(f"torch.load: {self.where}: a tensor must be rebuilt from a storage")
        if storage.array is None:
            tensor = Tensor._make(np.zeros(0, dtype=storage.kind.dtype))
            self.pending.append(_Pending(tensor, storage, storage_offset, size, stride, requires_grad))
            return tensor
        return _finish(Tensor._make(_view(storage, storage_offset, size, stride, self.where)), requires_grad)

    def fill_pending(self):
        for p in self.pending:
            offset, size, stride, requires_grad = p.args
            p.tensor._data = _view(p.storage, offset, size, stride, self.where)
            _finish(p.tensor, requires_grad)


def _finish(tensor, requires_grad):
    if requires_grad and tensor.dtype.kind == "f":
        tensor.requires_grad_(True)
    return tensor


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise pickle.UnpicklingError("torch.load: a NumPy scalar must have a plain dtype")
    if isinstance(data, str):
        data = data.encode("latin1")
    return np.frombuffer(data, dtype=dtype, count=1)[0]


def _rebuild_parameter(data, requires_grad, backward_hooks, *state):
    return Parameter(data, requires_grad=requires_grad and data.dtype.kind == "f")


def _rebuild_from_type_v2(func, new_type, args, state):
    """PyTorch rebuilds tensor subclasses as func(*args) then retypes; only Tensor and Parameter are admitted."""
    out = func(*args)
    if new_type is Parameter and not isinstance(out, Parameter):
        out = Parameter(out, requires_grad=out.requires_grad)
    return out


def _allowed_globals(unpickler):
    return {
        ("torch._utils", "_rebuild_tensor_v2"): unpickler.rebuild_tensor,
        ("torch._utils", "_rebuild_tensor"): unpickler.rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
        ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
        ("torch", "Tensor"): Tensor,
        ("torch.nn.parameter", "Parameter"): Parameter,
        ("torch", "Size"): Size,
        ("torch", "device"): device,
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("collections", "Counter"): collections.Counter,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("builtins", "bytearray"): bytearray,
        ("builtins", "complex"): complex,
        ("_codecs", "encode"): codecs.encode,  # bytes under pickle protocol 2
    }


class _ZipStorages(dict):
    def __init__(self, archive, prefix, where):
        super().__init__()
        self.archive, self.prefix, self.where = archive, prefix, where

    def read(self, key):
        name = f"{self.prefix}/data/{key}"
        try:
            return self.archive.read(name)
        except KeyError:
            raise ValueError(f"torch.load: {self.where} is corrupt: its pickle names storage {key}, but there is "
                             f"no record {name}") from None


def _load_zip(handle, where):
    with zipfile.ZipFile(handle) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if not pickles:
            raise ValueError(f"torch.load: {where} is a zip file but not a PyTorch checkpoint (no <name>/data.pkl)")
        prefix = pickles[0].split("/")[0]
        names = set(archive.namelist())
        byteorder = archive.read(f"{prefix}/byteorder").decode() if f"{prefix}/byteorder" in names else "little"
        if byteorder != "little":
            raise ValueError(f"torch.load: {where} was written big-endian, which relulab does not read")
        unpickler = _RestrictedUnpickler(io.BytesIO(archive.read(pickles[0])), where,
                                         _ZipStorages(archive, prefix, where))
        return unpickler.load()


def _load_legacy(handle, where):
    head = _RestrictedUnpickler(handle, where, {})
    magic = head.load()
    if magic != LEGACY_MAGIC:
        raise ValueError(f"torch.load: {where} is a pickle but not a PyTorch checkpoint (no magic number)")
    protocol = head.load()
    info = head.load()
    if not isinstance(info, dict) or not info.get("little_endian", True):
        raise ValueError(f"torch.load: {where} (legacy format {protocol}) was written big-endian or is corrupt")
    main = _RestrictedUnpickler(handle, where, {})
    obj = main.load()
    keys = _RestrictedUnpickler(handle, where, {}).load()
    for key in keys:
        storage = main.storages.get(str(key))
        count = np.frombuffer(handle.read(8), dtype="<i8", count=1)
        if storage is None or len(count) != 1:
            raise ValueError(f"torch.load: {where} is corrupt: storage {key} is not described by its pickle")
        storage.numel = int(count[0])
        storage.fill(handle.read(storage.numel * storage.kind.dtype.itemsize), where)
    main.fill_pending()
    return obj


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None, **pickle_load_args):
    """Read a PyTorch checkpoint: tensors come back as relulab tensors on the CPU (``map_location`` is accepted
    and has nothing else to map to).  Containers, numbers and strings come back as they were saved."""
    if isinstance(f, (str, os.PathLike)):
        where = os.fspath(f)
        if not os.path.exists(where):
            raise FileNotFoundError(f"torch.load: no file at {where}")
        with open(where, "rb") as handle:
            return _load_handle(handle, where)
    return _load_handle(f, getattr(f, "name", "<file object>"))


def _load_handle(handle, where):
    start = handle.tell()
    head = handle.read(4)
    handle.seek(start)
    if head[:2] == b"PK":
        return _load_zip(handle, where)
    if head[:1] == b"\x80":
        return _load_legacy(handle, where)
    handle.seek(start)
    try:
        if tarfile.is_tarfile(handle):
            raise ValueError(f"torch.load: {where} is in PyTorch's pre-0.4 tar format, which relulab does not read; "
                             "re-save it with a recent PyTorch")
    finally:
        handle.seek(start)
    raise ValueError(f"torch.load: {where} is not a PyTorch checkpoint (neither a zip archive nor a pickle); "
                     "for relulab's own safetensors checkpoints use relulab.load")
