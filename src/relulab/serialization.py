"""Checkpoints: ``save(obj, path)`` / ``load(path)`` in the safetensors format.  Loading never runs code.

Tensors go into the safetensors body.  Everything else (nesting in dicts, lists and tuples, integer keys,
Python numbers, strings, None) is described by a JSON tree in the file's metadata, so an optimizer's nested
``state_dict`` round-trips.  A flat model ``state_dict`` is stored under its own key names, which makes the file
loadable in PyTorch as it is::

    from safetensors.torch import load_file
    torch_model.load_state_dict(load_file("model.safetensors"))

The file also carries a CRC-32 of all its bytes, so a file that was cut short or damaged is refused with a
clear error instead of being read as garbage.  Files are written to a temporary name in the target folder and
renamed into place, so an interrupted save never leaves a truncated checkpoint behind.

Reading validates everything before use: the header's size, its JSON, every tensor's dtype, shape and byte
range (contiguous, inside the file), and the structure tree.  Every failure is a ``CheckpointError`` naming the
file.
"""
import json
import operator
import os
import struct
import tempfile
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .autograd.tensor import Tensor

_TREE_KEY = "relulab.tree"
_FORMAT_KEY = "relulab.format"  # "2": the tagged tree of ``_encode``; absent: the older all-tagged tree
_CRC_KEY = "relulab.crc32"
_CRC_PLACEHOLDER = "00000000"
_MAX_HEADER = 100_000_000  # the safetensors format's own limit on the JSON header
_MAX_DEPTH = 64            # nesting of the structure tree (an optimizer state_dict needs 5)

_NAME_OF = {np.dtype(t): name for t, name in [
    (np.bool_, "BOOL"), (np.uint8, "U8"), (np.int8, "I8"), (np.uint16, "U16"), (np.int16, "I16"),
    (np.float16, "F16"), (np.uint32, "U32"), (np.int32, "I32"), (np.float32, "F32"), (np.uint64, "U64"),
    (np.int64, "I64"), (np.float64, "F64")]}
_DTYPE_OF = {name: dtype.newbyteorder("<") for dtype, name in _NAME_OF.items()}
# Valid safetensors dtypes that NumPy has no type for.
_NO_NUMPY_TYPE = {"BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"}


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read: the message names the file and what is wrong with it."""


# ------------------------------------------------------------------------------------------ the tree
_SCALAR_TYPES = {type(None), bool, int, float, str}
_TAGGED = operator.methodcaller("startswith", "@")


def _plain_keys(mapping):
    """Whether a dict can be a plain JSON object: string keys, none of them starting with '@' (checked in C)."""
    try:
        return not any(map(_TAGGED, mapping))
    except (AttributeError, TypeError):  # a key without .startswith: an int, say
        return False


def _encode(obj, where, tensors):
    """The JSON tree for ``obj``; tensors are collected into ``tensors`` under their dotted path.

    Plain values stand for themselves (None, booleans, numbers, strings, lists, string-keyed dicts); three
    tagged forms cover the rest: ``{"@tensor": name}``, ``{"@tuple": [...]}`` and ``{"@dict": [[key, node]...]}``
    for dicts with int keys (or keys that start with '@').  A training state is saved every epoch, so plain
    values take a fast path by exact type."""
    kind = type(obj)
    if kind in _SCALAR_TYPES:
        return obj
    if isinstance(obj, dict):
        if _plain_keys(obj):
            return {k: v if type(v) in _SCALAR_TYPES else _encode(v, f"{where}.{k}" if where else k, tensors)
                    for k, v in obj.items()}
        items = []
        for key, value in obj.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"save: dict key {key!r} at '{where}' must be a str or an int")
            key = int(key) if isinstance(key, int) else str(key)
            items.append([key, _encode(value, f"{where}.{key}" if where else str(key), tensors)])
        return {"@dict": items}
    if isinstance(obj, (list, tuple)):
        nodes = [v if type(v) in _SCALAR_TYPES else _encode(v, f"{where}.{i}" if where else str(i), tensors)
                 for i, v in enumerate(obj)]
        return nodes if isinstance(obj, list) else {"@tuple": nodes}
    if isinstance(obj, (Tensor, np.ndarray)):
        array = obj._data if isinstance(obj, Tensor) else obj
        if array.dtype.newbyteorder("=") not in _NAME_OF:
            raise TypeError(f"save: the array at '{where or '<root>'}' has dtype {array.dtype}, which a "
                            f"checkpoint cannot hold (supported: {', '.join(str(d) for d in _NAME_OF)})")
        name = where or "tensor"
        while name in tensors:
            name += "_"
        tensors[name] = array
        return {"@tensor": name}
    if isinstance(obj, np.generic):
        return _encode(obj.item(), where, tensors)
    if isinstance(obj, (bool, int, float, str)):  # subclasses of the plain types
        return _encode((bool if isinstance(obj, bool) else int if isinstance(obj, int) else
                        float if isinstance(obj, float) else str)(obj), where, tensors)
    raise TypeError(f"save: cannot store a {type(obj).__name__} at '{where or '<root>'}'; "
                    "checkpoints hold tensors, arrays, numbers, strings, None, and dicts/lists/tuples of them")


def _decode(node, tensors, path, depth=0):
    """The inverse of ``_encode``, checking every node."""
    if depth > _MAX_DEPTH:
        raise CheckpointError(f"load: {path} is corrupt: its structure tree is nested deeper than {_MAX_DEPTH}")
    kind = type(node)
    if kind in _SCALAR_TYPES:
        return node
    if kind is list:
        return [_decode(v, tensors, path, depth + 1) for v in node]
    if kind is not dict:
        raise CheckpointError(f"load: {path} is corrupt: unexpected node {_short(node)}")
    tags = [k for k in node if k.startswith("@")]
    if not tags:
        return OrderedDict((k, _decode(v, tensors, path, depth + 1)) for k, v in node.items())
    if len(node) != 1:
        raise CheckpointError(f"load: {path} is corrupt: a tagged node {_short(node)} has more than one key")
    (tag, payload), = node.items()
    if tag == "@tensor":
        return _tensor_node(payload, tensors, path)
    if tag == "@tuple":
        if not isinstance(payload, list):
            raise CheckpointError(f"load: {path} is corrupt: a tuple node holds {_short(payload)}, not a list")
        return tuple(_decode(v, tensors, path, depth + 1) for v in payload)
    if tag == "@dict":
        if not isinstance(payload, list):
            raise CheckpointError(f"load: {path} is corrupt: a dict node holds {_short(payload)}, not a list")
        out = OrderedDict()
        for item in payload:
            _check_dict_entry(item, path)
            out[item[0]] = _decode(item[1], tensors, path, depth + 1)
        return out
    raise CheckpointError(f"load: {path} is corrupt: unknown tag {_short(tag)}")


def _tensor_node(name, tensors, path):
    if not isinstance(name, str) or name not in tensors:
        raise CheckpointError(f"load: {path} is corrupt: its tree names tensor {_short(name)}, which it does not hold")
    return Tensor._make(tensors[name])


def _check_dict_entry(item, path):
    if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))
            and not isinstance(item[0], bool)):
        raise CheckpointError(f"load: {path} is corrupt: a dict entry is {_short(item)}, "
                              "not a [key, node] pair with a str or int key")


def _decode_v1(node, tensors, path, depth=0):
    """Trees written before the tagged format: every node a one-key object (tensor/dict/list/tuple/value)."""
    if depth > _MAX_DEPTH:
        raise CheckpointError(f"load: {path} is corrupt: its structure tree is nested deeper than {_MAX_DEPTH}")
    if not isinstance(node, dict) or len(node) != 1:
        raise CheckpointError(f"load: {path} is corrupt: a node of its structure tree is {_short(node)}, "
                              "not a one-key object")
    (kind, payload), = node.items()
    if kind == "tensor":
        return _tensor_node(payload, tensors, path)
    if kind == "dict":
        if not isinstance(payload, list):
            raise CheckpointError(f"load: {path} is corrupt: a dict node holds {_short(payload)}, not a list")
        out = OrderedDict()
        for item in payload:
            _check_dict_entry(item, path)
            out[item[0]] = _decode_v1(item[1], tensors, path, depth + 1)
        return out
    if kind in ("list", "tuple"):
        if not isinstance(payload, list):
            raise CheckpointError(f"load: {path} is corrupt: a {kind} node holds {_short(payload)}, not a list")
        items = [_decode_v1(v, tensors, path, depth + 1) for v in payload]
        return items if kind == "list" else tuple(items)
    if kind == "value":
        if payload is not None and not isinstance(payload, (bool, int, float, str)):
            raise CheckpointError(f"load: {path} is corrupt: a value node holds {_short(payload)}")
        return payload
    raise CheckpointError(f"load: {path} is corrupt: unknown node kind {_short(kind)}")


def _short(obj, limit=60):
    text = repr(obj)
    return text if len(text) <= limit else text[:limit] + "..."


# ------------------------------------------------------------------------------------------ the format
def dumps(obj, metadata=None, pad_to=0):
    """``obj`` as the bytes of a complete safetensors file (with the tree, the CRC and any extra metadata).

    ``pad_to``: pad the header with spaces (which the format allows) so that the file is exactly this long,
    when it would be a little shorter; rewriting a file in place then needs no truncation."""
    tensors = {}
    tree = _encode(obj, "", tensors)
    meta = {_TREE_KEY: json.dumps(tree, separators=(",", ":")), _FORMAT_KEY: "2"}
    meta.update(metadata or {})
    meta[_CRC_KEY] = _CRC_PLACEHOLDER
    header, chunks, offset = {"__metadata__": meta}, [], 0
    for name, array in tensors.items():
        dtype = _NAME_OF.get(array.dtype)  # None for a big-endian array
        if dtype is None or not array.flags.c_contiguous:
            array = np.array(array, dtype=array.dtype.newbyteorder("<"), order="C")
            dtype = _NAME_OF[array.dtype.newbyteorder("=")]
        chunk = array.tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(chunk)]}
        chunks.append(chunk)
        offset += len(chunk)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)  # the format's alignment of the data section
    data = b"".join(chunks)
    slack = pad_to - (8 + len(head) + len(data))
    if 0 < slack <= 65536 and slack % 8 == 0:
        head += b" " * slack
    crc = zlib.crc32(data, zlib.crc32(head))
    head = head.replace(_crc_field(_CRC_PLACEHOLDER), _crc_field(f"{crc:08x}"), 1)
    return struct.pack("<Q", len(head)) + head + data


def _crc_field(value):
    return f'"{_CRC_KEY}":"{value}"'.encode()


def loads(data, path="<bytes>"):
    """(object, metadata) from the bytes of a safetensors file, every part validated first."""
    tensors, metadata = _read_tensors(memoryview(data), path)
    if _TREE_KEY not in metadata:  # a plain safetensors file, e.g. written by PyTorch
        return OrderedDict((name, Tensor._make(array)) for name, array in tensors.items()), metadata
    try:
        tree = json.loads(metadata[_TREE_KEY])
    except (ValueError, RecursionError) as e:
        raise CheckpointError(f"load: {path} is corrupt: its structure metadata is not valid JSON "
                              f"({type(e).__name__}: {e})") from None
    decode = _decode if metadata.get(_FORMAT_KEY) == "2" else _decode_v1
    return decode(tree, tensors, path), metadata


def _read_tensors(view, path):
    if len(view) < 8:
        raise CheckpointError(f"load: {path} is not a safetensors file: {len(view)} bytes, too short for a header")
    (n,) = struct.unpack("<Q", view[:8])
    if n > min(_MAX_HEADER, len(view) - 8):
        raise CheckpointError(f"load: {path} is not a safetensors file (or was cut short): its header claims "
                              f"{n} bytes, the file has {len(view) - 8} after the size field")
    head = bytes(view[8:8 + n])
    try:
        header = json.loads(head.decode("utf-8"))
    except UnicodeDecodeError:
        raise CheckpointError(f"load: {path} is not a safetensors file: its header is not UTF-8 text") from None
    except (ValueError, RecursionError) as e:
        raise CheckpointError(f"load: {path} is not a safetensors file: its header is not valid JSON "
                              f"({type(e).__name__}: {e})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"load: {path} is corrupt: its header is a JSON {type(header).__name__}, not an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in metadata.items()):
        raise CheckpointError(f"load: {path} is corrupt: its __metadata__ must map strings to strings")
    body = view[8 + n:]
    if _CRC_KEY in metadata:
        expected = metadata[_CRC_KEY]
        unset = head.replace(_crc_field(expected), _crc_field(_CRC_PLACEHOLDER), 1)
        actual = f"{zlib.crc32(body, zlib.crc32(unset)):08x}"
        if unset == head or actual != expected:
            raise CheckpointError(f"load: {path} is corrupt or was cut short: its CRC-32 is {actual}, "
                                  f"the file says {expected}")
    spans, tensors = [], {}
    for name, entry in header.items():
        dtype, shape, (begin, end) = _check_entry(name, entry, path)
        count = int(np.prod(shape, dtype=object)) if shape else 1
        if end - begin != count * dtype.itemsize:
            raise CheckpointError(f"load: {path} is corrupt: tensor {name!r} of shape {tuple(shape)} "
                                  f"({dtype.name}) needs {count * dtype.itemsize} bytes, its range has {end - begin}")
        spans.append((begin, end, name))
        tensors[name] = (dtype, shape, begin, count)
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            problem = "overlaps another" if begin < position else f"leaves a gap before it at byte {position}"
            raise CheckpointError(f"load: {path} is corrupt: the byte range of tensor {name!r} {problem}")
        position = end
    if position != len(body):
        raise CheckpointError(f"load: {path} is corrupt or was cut short: its tensors cover {position} bytes of "
                              f"data, the file holds {len(body)}")
    arrays = {}
    for name, (dtype, shape, begin, count) in tensors.items():
        array = np.frombuffer(body, dtype=dtype, count=count, offset=begin).reshape(shape)
        arrays[name] = array.astype(dtype.newbyteorder("="))  # native order, writable, not tied to the file
    return arrays, metadata


def _check_entry(name, entry, path):
    where = f"load: {path}: tensor {name!r}"
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"{where} is corrupt: expected an object with dtype, shape and data_offsets, "
                              f"got {_short(entry)}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype in _NO_NUMPY_TYPE:
        raise CheckpointError(f"{where} has dtype {dtype}, which NumPy (and so relulab) cannot hold; convert it "
                              "to float32 before saving (in PyTorch: tensor.float())")
    if dtype not in _DTYPE_OF:
        raise CheckpointError(f"{where} has unknown dtype {_short(dtype)} (supported: {', '.join(_DTYPE_OF)})")
    if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                              for s in shape):
        raise CheckpointError(f"{where} is corrupt: its shape {_short(shape)} is not a list of sizes >= 0")
    if not (isinstance(offsets, list) and len(offsets) == 2 and
            all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
            and offsets[0] <= offsets[1]):
        raise CheckpointError(f"{where} is corrupt: its data_offsets {_short(offsets)} are not [begin, end] "
                              "with 0 <= begin <= end")
    return _DTYPE_OF[dtype], shape, offsets


def read_file(path):
    """The bytes of a checkpoint file, with a ``CheckpointError`` for anything that is not a regular file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"load: no checkpoint at {path}")
    if path.is_dir():
        raise CheckpointError(f"load: {path} is a folder, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"load: {path} is not a regular file (a device, pipe or socket), not a checkpoint")
    try:
        return path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"load: cannot read {path}: {e.strerror or e}") from None


# ------------------------------------------------------------------------------------------ files
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
    write_atomic(f, dumps(obj))


def load(f, map_location=None, weights_only=True, mmap=None):
    """Read a checkpoint written by ``save`` (or any safetensors file: then a flat dict of tensors)."""
    path = Path(f)
    return loads(read_file(path), path)[0]
