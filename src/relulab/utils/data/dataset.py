"""Datasets: the ``Dataset`` protocol, ``TensorDataset``, ``Subset``, ``ConcatDataset`` and ``random_split``."""
import bisect
import itertools
import math
import numbers
import warnings

import numpy as np

from ...autograd.tensor import Tensor
from ...random import _generator


class Dataset:
    """A map-style dataset: ``dataset[i]`` is the i-th sample and ``len(dataset)`` counts them.

    Subclasses implement ``__getitem__`` and ``__len__``.  ``a + b`` chains two datasets (a ``ConcatDataset``).
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Dataset should implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Dataset should implement __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples (``__iter__``), for data that cannot be indexed; DataLoader batches it in order."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of IterableDataset should implement __iter__")

    def __add__(self, other):
        raise TypeError(f"{type(self).__name__}: IterableDataset does not support '+' (ConcatDataset needs indexing)")


def _as_data_tensor(t, i):
    if isinstance(t, Tensor):
        return t
    if isinstance(t, np.ndarray):
        return Tensor._make(t)  # an extension over PyTorch: arrays are wrapped without copying
    raise TypeError(f"TensorDataset: argument {i} must be a Tensor or numpy array, got {type(t).__name__}")


class TensorDataset(Dataset):
    """Rows of tensors that share their first dimension: ``dataset[i] == (t[i] for t in tensors)``."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        tensors = tuple(_as_data_tensor(t, i) for i, t in enumerate(tensors))
        for i, t in enumerate(tensors):
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {i} is 0-d; every tensor needs a first (sample) dimension")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) > 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors; first dimensions are {sizes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(_row(t, index) for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]

    def _gather(self, indices):
        """Whole batches at once: one fancy-index per tensor (the DataLoader's fast path)."""
        return [Tensor._make(t._data[indices]) for t in self.tensors]


def _row(t, index):
    if t.requires_grad:
        return t[index]  # keep the graph for the rare dataset of tensors that require grad
    return Tensor._make(t._data[index])


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return [self.dataset[self.indices[i]] for i in idx]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after another: indices past the first dataset's end continue into the next."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError(f"ConcatDataset: does not support IterableDataset ({type(d).__name__})")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        idx = int(idx)
        if idx < 0:
            if -idx > len(self):
                raise IndexError(f"ConcatDataset: index {idx} is out of range for a dataset of length {len(self)}")
            idx += len(self)
        if idx >= len(self):
            raise IndexError(f"ConcatDataset: index {idx} is out of range for a dataset of length {len(self)}")
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][idx - start]


def _lengths_from_fractions(n, fractions):
    """PyTorch's rule: floor(n * f) each, then the remainder one by one to the splits in order."""
    lengths = []
    for i, frac in enumerate(fractions):
        if frac < 0 or frac > 1:
            raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1, got {frac}")
        lengths.append(int(math.floor(n * frac)))
    for i in range(n - sum(lengths)):
        lengths[i % len(lengths)] += 1
    for i, length in enumerate(lengths):
        if length == 0:
            warnings.warn(f"random_split: length of split at index {i} is 0; this gives an empty dataset")
    return lengths


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    ``lengths`` are either counts that sum to ``len(dataset)`` or fractions that sum to 1 (then each split gets
    ``floor(len * fraction)`` samples and the remainder is dealt round-robin, as PyTorch does).
    """
    lengths = list(lengths)
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        lengths = _lengths_from_fractions(n, lengths)
    if any(not isinstance(x, numbers.Integral) or x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative integers or fractions summing to 1, "
                         f"got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths {lengths} ({sum(lengths)}) does not equal the length "
                         f"of the input dataset ({n})")
    indices = _generator(generator).randperm(n).tolist()  # PyTorch's draws: the same seed gives its split
    return [Subset(dataset, indices[end - length:end])
            for end, length in zip(itertools.accumulate(lengths), lengths)]
