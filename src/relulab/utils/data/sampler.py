"""Samplers: the order in which a DataLoader visits dataset indices, and how it groups them into batches."""
import numbers

import numpy as np

from ...random import Generator, _generator, default_generator


class Sampler:
    """Iterates over dataset indices.  Subclasses implement ``__iter__`` (and ``__len__`` when it is known)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Sampler should implement __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _parts(self):
        yield np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order: a fresh permutation each time it is iterated (each epoch), or draws with replacement.

    ``num_samples`` (default ``len(data_source)``) may exceed the dataset length; without replacement the extra
    indices come from further permutations.  Draws come from ``generator`` (default: the global generator).
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        n = self.num_samples
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n <= 0:
            raise ValueError(f"RandomSampler: num_samples should be a positive integer value, but got "
                             f"num_samples={n!r}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _parts(self):
        """The epoch's indices, a block at a time, drawn when and as PyTorch draws them.

        Without a generator, PyTorch seeds a private one from the default generator at the epoch's first index.
        Without replacement it draws one permutation per ``len(data_source)`` indices, and then one more for the
        remainder, even when the remainder is empty; with replacement, blocks of 32 indices.
        """
        n, k = len(self.data_source), self.num_samples
        gen = self.generator
        if gen is None:
            gen = Generator().manual_seed(int(default_generator.random(())))
        if self.replacement:
            for _ in range(k // 32):
                yield gen.randint(0, n, (32,))
            yield gen.randint(0, n, (k % 32,))
            return
        for _ in range(k // n):
            yield gen.randperm(n)
        yield gen.randperm(n)[:k % n]

    def __iter__(self):
        for part in self._parts():
            yield from part.tolist()

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (a new one each epoch), without replacement."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def _parts(self):
        perm = _generator(self.generator).randperm(len(self.indices))
        yield np.asarray(self.indices, dtype=np.int64)[perm] if len(self.indices) else np.zeros(0, dtype=np.int64)

    def __iter__(self):
        for part in self._parts():
            yield from part.tolist()

    def __len__(self):
        return len(self.indices)


class BatchSampler(Sampler):
    """Groups the indices from ``sampler`` into lists of ``batch_size``; ``drop_last`` drops a short final batch."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def _index_batches(self):
        """Batches as array slices of the sampler's whole-epoch order; None for samplers we cannot see through."""
        if type(self.sampler) not in (SequentialSampler, RandomSampler, SubsetRandomSampler):
            return None  # a subclass may override __iter__, so only the built-in orders are trusted
        return self._batches_of(self.sampler._parts())

    def _batches_of(self, parts):
        """Slices of the sampler's blocks, pulled lazily so that each draw happens when PyTorch's would."""
        pending = np.zeros(0, dtype=np.int64)
        for part in parts:
            pending = np.concatenate([pending, part]) if pending.size else part
            stop = pending.size - pending.size % self.batch_size
            for i in range(0, stop, self.batch_size):
                yield pending[i:i + self.batch_size]
            pending = pending[stop:]
        if pending.size and not self.drop_last:
            yield pending

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


class WeightedRandomSampler(Sampler):
    """Indices 0..len(weights)-1 drawn with probability proportional to ``weights`` (``torch.multinomial``)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, numbers.Integral) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples!r}")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, but got "
                             f"replacement={replacement!r}")
        weights = np.asarray(getattr(weights, "_data", weights), dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1-D sequence, got shape {weights.shape}")
        self.weights = weights
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        from ...factory import multinomial
        yield from multinomial(self.weights, self.num_samples, self.replacement, generator=self.generator).tolist()

    def __len__(self):
        return self.num_samples
