"""``default_collate``: turn a list of samples into one batch, following PyTorch's rules.

* Tensors and numpy arrays are stacked along a new first dimension (arrays keep their dtype);
* Python floats become a float64 tensor, ints an int64 tensor, bools a bool tensor; numpy scalars keep their dtype;
* strings stay a list; dicts collate per key; namedtuples per field;
* tuples and lists collate per position and come back as a list (PyTorch returns a list for tuples too).
"""
import collections.abc
import copy
import numbers

import numpy as np

from ...autograd.tensor import Tensor

_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _stack(tensors):
    if any(t.requires_grad for t in tensors):
        from ...ops.shape import stack
        return stack(tensors, 0)  # keep the graph, as torch.stack would
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.shape != shape:
            raise RuntimeError(f"default_collate: stack expects each tensor to be equal size, but got {tuple(shape)} "
                               f"at entry 0 and {tuple(t.shape)} at entry {i}")
    return Tensor._make(np.stack([t._data for t in tensors]))


def _is_text_array(a):
    return a.dtype.kind in "SaUO"  # strings and objects have no tensor dtype


def default_collate(batch):
    """Collate a list of samples into a batch (see the module docstring for the rules)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if isinstance(elem, np.ndarray):
        if _is_text_array(elem):
            raise TypeError(_ERROR.format(elem.dtype))
        return _stack([Tensor._make(np.asarray(b)) for b in batch])
    if isinstance(elem, np.generic):
        if _is_text_array(np.asarray(elem)):
            raise TypeError(_ERROR.format(np.asarray(elem).dtype))
        return Tensor._make(np.array(batch))  # numpy scalars keep their dtype
    if isinstance(elem, bool):
        return Tensor._make(np.array(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return Tensor._make(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor._make(np.array(batch, dtype=np.float64))  # as PyTorch: Python floats collate to float64
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        if type(elem) is dict:
            return collated
        try:
            return type(elem)(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(b) != size for b in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of equal size")
        transposed = [list(samples) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return [default_collate(samples) for samples in transposed]
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, samples in enumerate(transposed):
                clone[i] = default_collate(samples)
            return clone
        try:
            return type(elem)([default_collate(samples) for samples in transposed])
        except TypeError:
            return [default_collate(samples) for samples in transposed]
    raise TypeError(_ERROR.format(type(elem)))


def default_convert(data):
    """What the DataLoader applies to single samples when batching is off: arrays become tensors, recursively."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
        return data if _is_text_array(array) else Tensor._make(array)
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        try:
            return converted if type(data) is dict else type(data)(converted)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
