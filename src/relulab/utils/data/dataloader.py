"""``DataLoader``: batches of a dataset, in order or shuffled afresh each epoch.

Everything runs in the calling process.  ``num_workers > 0`` is accepted so PyTorch code runs unchanged, but no
worker processes are started (NumPy batches of the course's data sets are cheap to build), so
``get_worker_info()`` is always None and ``worker_init_fn`` is never called; ``pin_memory`` is a no-op.

Fast path: a ``TensorDataset`` or an array-backed relulab dataset (``_bulk_gather = True``), or a ``Subset`` of one
at any depth, with the default collate gathers each batch with one NumPy fancy-index per array instead of
indexing and stacking sample by sample.
"""
import numbers

import numpy as np

from .collate import default_collate, default_convert
from .dataset import IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler
from ...random import _generator


def get_worker_info():
    """Always None: relulab loads data in the calling process, which PyTorch reports as None too."""
    return None


class DataLoader:
    """Iterate over ``dataset`` in batches.  The signature and the option checks follow PyTorch's."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be a non-negative integer, got {num_workers!r}")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in multiprocessing; "
                             "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if batch_size is not None and (not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool)
                                       or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle!r}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler!r}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
                                 f"got batch_sampler={batch_sampler!r}")
        elif sampler is None and batch_sampler is None and len(dataset) == 0:
            # PyTorch fails later (or silently yields nothing); an empty training set is almost always a bug.
            raise ValueError(f"DataLoader: dataset {type(dataset).__name__} is empty (len 0); nothing to load")

        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")

        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._default_collate = collate_fn is None
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    def __iter__(self):
        return _DataLoaderIter(self)

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)  # a TypeError here means the stream's length is unknown, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler) if self.batch_sampler is not None else len(self.sampler)

    # ------------------------------------------------------------------ producing batches
    def _batches(self):
        if self._iterable:
            return self._iterable_batches()
        if self.batch_sampler is None:
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        fast = self._fast_batches()
        if fast is not None:
            return fast
        return (self.collate_fn(self._fetch(indices)) for indices in self.batch_sampler)

    def _fetch(self, indices):
        getitems = getattr(self.dataset, "__getitems__", None)
        return getitems(indices) if getitems is not None else [self.dataset[i] for i in indices]

    def _iterable_batches(self):
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def _fast_batches(self):
        """One fancy-index per tensor per batch, when the dataset is (a Subset of) a TensorDataset."""
        if not self._default_collate or self.collate_fn is not default_collate:
            return None
        source, index_map = _tensor_source(self.dataset)
        if source is None:
            return None
        index_batches = self.batch_sampler._index_batches() if type(self.batch_sampler) is BatchSampler else None

        def gather(indices):
            indices = np.asarray(indices, dtype=np.int64)
            if index_map is not None:
                indices = index_map[indices]
            return source._gather(indices)

        if index_batches is not None:
            return (gather(b) for b in index_batches)
        return (gather(b) for b in self.batch_sampler)


def _tensor_source(dataset):
    """(dataset with a bulk ``_gather``, index array or None) behind ``dataset``, or (None, None) otherwise.

    TensorDataset and relulab's array-backed datasets gather a whole batch with one fancy-index per array.
    """
    index_map = None
    while type(dataset) is Subset:
        indices = np.asarray(dataset.indices, dtype=np.int64)
        index_map = indices if index_map is None else indices[index_map]
        dataset = dataset.dataset
    if type(dataset) is TensorDataset:
        if any(t.requires_grad for t in dataset.tensors):
            return None, None
    elif not getattr(type(dataset), "_bulk_gather", False):
        return None, None
    n = len(dataset)
    if index_map is not None and index_map.size and (index_map.min() < -n or index_map.max() >= n):
        return None, None  # let the slow path raise its usual IndexError
    return dataset, index_map


class _DataLoaderIter:
    """What ``iter(loader)`` returns: the batches of one epoch, with ``len()`` like PyTorch's iterator.

    Like PyTorch's, it draws a 64-bit base seed (for worker processes) from the loader's generator, or the default
    one, as the epoch starts, and the sampler draws nothing before the first batch is asked for; so the same seed
    gives the same epochs, and the same later draws, as PyTorch.
    """

    def __init__(self, loader):
        self._loader = loader
        self._base_seed = int(_generator(loader.generator).random(()))
        self._batches = None

    def __iter__(self):
        return self

    def __next__(self):
        if self._batches is None:
            self._batches = iter(self._loader._batches())
        return next(self._batches)

    def __len__(self):
        return len(self._loader)
