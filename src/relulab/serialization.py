"""Checkpoints: ``save(obj, path)`` / ``load(path)`` in the safetensors format.  Loading never runs code.

Tensors go into the safetensors body.  Everything else (nesting in dicts, lists and tuples, integer keys,
Python numbers, strings, None) is described by a JSON tree in the file's metadata, so an optimizer's nested
``state_dict`` round-trips.  A flat model ``state_dict`` is stored under its own key names, which makes the file
loadable in PyTorch as it is::

    from safetensors.torch import load_file
    torch_model.load_state_dict(load_file("model.safetensors"))

Files are written to a temporary name in the target folder and renamed into place, so an interrupted save
never leaves a truncated checkpoint behind.
"""
import json
import os
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .autograd.tensor import Tensor

_TREE_KEY = "relulab.tree"


def _encode(obj, where, tensors):
    if isinstance(obj, (Tensor, np.ndarray)):
        array = obj._data if isinstance(obj, Tensor) else obj
        name = where or "tensor"
        while name in tensors:
            name += "_"
        tensors[name] = array if array.flags.c_contiguous else array.copy(order="C")  # keeps 0-d shapes
        return {"tensor": name}
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"save: dict key {key!r} at '{where}' must be a str or an int")
            child = str(key) if not where else f"{where}.{key}"
            items.append([key, _encode(value, child, tensors)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(v, f"{where}.{i}" if where else str(i), tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    raise TypeError(f"save: cannot store a {type(obj).__name__} at '{where or '<root>'}'; "
                    "checkpoints hold tensors, arrays, numbers, strings, None, and dicts/lists/tuples of them")


def _decode(node, tensors, path):
    (kind, payload), = node.items()
    if kind == "tensor":
        if payload not in tensors:
            raise ValueError(f"load: {path} is corrupt: its tree names tensor '{payload}', which it does not hold")
        return Tensor._make(tensors[payload])
    if kind == "dict":
        return OrderedDict((key, _decode(value, tensors, path)) for key, value in payload)
    if kind == "list":
        return [_decode(v, tensors, path) for v in payload]
    if kind == "tuple":
        return tuple(_decode(v, tensors, path) for v in payload)
    if kind == "value":
        return payload
    raise ValueError(f"load: {path} is corrupt: unknown node kind '{kind}'")


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path, data):
    """Write bytes (or text, as UTF-8) to a temporary file beside ``path``, fsync, then rename it into place:
    readers see the old file or the new one, never a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save(obj, f):
    """Write ``obj`` (a state_dict or any nesting of tensors and plain values) atomically to path ``f``."""
    from safetensors.numpy import save as to_bytes
    tensors = {}
    tree = _encode(obj, "", tensors)
    write_atomic(f, to_bytes(tensors, metadata={_TREE_KEY: json.dumps(tree)}))


def load(f, map_location=None, weights_only=True, mmap=None):
    """Read a checkpoint written by ``save`` (or any safetensors file: then a flat dict of tensors)."""
    from safetensors import SafetensorError, safe_open
    path = Path(f)
    if not path.exists():
        raise FileNotFoundError(f"load: no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="np") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except SafetensorError as e:
        raise ValueError(f"load: {path} is not a readable safetensors checkpoint ({e})") from None
    if _TREE_KEY not in metadata:
        return OrderedDict((name, Tensor._make(array)) for name, array in tensors.items())
    try:
        tree = json.loads(metadata[_TREE_KEY])
    except json.JSONDecodeError as e:
        raise ValueError(f"load: {path} is corrupt: its structure metadata is not valid JSON ({e})") from None
    return _decode(tree, tensors, path)
