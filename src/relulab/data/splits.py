"""Train/validation splits for model selection: ``KFold``, ``StratifiedKFold`` and ``stratified_split``.

Indices are NumPy int64 arrays, ready for ``relulab.utils.data.Subset``.  ``KFold`` and ``StratifiedKFold`` give
the same folds as scikit-learn's classes when ``shuffle=False``; shuffling uses ``numpy.random.default_rng(seed)``,
so the shuffled folds are reproducible but differ from scikit-learn's.
"""
import numbers
import warnings

import numpy as np


def _num_samples(dataset_or_n, where):
    if isinstance(dataset_or_n, numbers.Integral) and not isinstance(dataset_or_n, bool):
        n = int(dataset_or_n)
    else:
        try:
            n = len(dataset_or_n)
        except TypeError:
            raise TypeError(f"{where}: expected a sample count or a sized dataset, got "
                            f"{type(dataset_or_n).__name__}") from None
    if n < 0:
        raise ValueError(f"{where}: the number of samples must be non-negative, got {n}")
    return n


def _check_folds(cls, n_splits, shuffle, seed):
    if not isinstance(n_splits, numbers.Integral) or isinstance(n_splits, bool) or n_splits < 2:
        raise ValueError(f"{cls}: k-fold cross-validation needs n_splits >= 2 (an integer), got n_splits={n_splits!r}")
    if not isinstance(shuffle, bool):
        raise TypeError(f"{cls}: shuffle must be True or False, got {shuffle!r}")
    if not shuffle and seed is not None:
        # as scikit-learn: a seed without shuffling is almost always a forgotten shuffle=True
        raise ValueError(f"{cls}: seed={seed!r} has no effect since shuffle is False; pass shuffle=True or drop "
                         f"the seed")


def _labels_array(labels, where):
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{where}: labels must be 1-D (one class per sample), got shape {labels.shape}")
    return labels


class KFold:
    """K folds of consecutive (or, with ``shuffle=True``, permuted) indices; each fold is the validation set once.

    The first ``n % n_splits`` folds get one extra sample, as in scikit-learn.  Training indices come sorted;
    validation indices come in fold order.
    """

    def __init__(self, n_splits=5, shuffle=False, seed=None):
        _check_folds("KFold", n_splits, shuffle, seed)
        self.n_splits = int(n_splits)
        self.shuffle = shuffle
        self.seed = seed

    def get_n_splits(self, dataset_or_n=None):
        return self.n_splits

    def split(self, dataset_or_n):
        """Yield ``(train_indices, valid_indices)`` for each fold; accepts a sample count or anything with a len."""
        n = _num_samples(dataset_or_n, "KFold.split")
        if self.n_splits > n:
            raise ValueError(f"KFold.split: cannot have n_splits={self.n_splits} greater than the number of samples "
                             f"n={n}")
        order = np.random.default_rng(self.seed).permutation(n) if self.shuffle else np.arange(n)
        fold_sizes = np.full(self.n_splits, n // self.n_splits, dtype=np.int64)
        fold_sizes[:n % self.n_splits] += 1
        start = 0
        for size in fold_sizes:
            valid = order[start:start + size]
            in_valid = np.zeros(n, dtype=bool)
            in_valid[valid] = True
            yield np.flatnonzero(~in_valid), valid.astype(np.int64)
            start += size

    def subsets(self, dataset):
        """Yield ``(train Subset, valid Subset)`` of ``dataset`` for each fold."""
        from ..utils.data import Subset
        for train, valid in self.split(dataset):
            yield Subset(dataset, train), Subset(dataset, valid)

    def __repr__(self):
        return f"KFold(n_splits={self.n_splits}, shuffle={self.shuffle}, seed={self.seed})"


class StratifiedKFold:
    """K folds that keep each class's share in every fold (scikit-learn's allocation, so equal folds when unshuffled).

    ``split(labels)`` yields ``(train_indices, valid_indices)``, both sorted.
    """

    def __init__(self, n_splits=5, shuffle=False, seed=None):
        _check_folds("StratifiedKFold", n_splits, shuffle, seed)
        self.n_splits = int(n_splits)
        self.shuffle = shuffle
        self.seed = seed

    def get_n_splits(self, labels=None):
        return self.n_splits

    def split(self, labels):
        labels = _labels_array(labels, "StratifiedKFold.split")
        n, k = len(labels), self.n_splits
        if k > n:
            raise ValueError(f"StratifiedKFold.split: cannot have n_splits={k} greater than the number of samples "
                             f"n={n}")
        # classes numbered in order of first appearance, as scikit-learn does
        _, first_index, inverse = np.unique(labels, return_index=True, return_inverse=True)
        _, class_rank = np.unique(first_index, return_inverse=True)
        encoded = class_rank[inverse.reshape(-1)]
        n_classes = len(first_index)
        counts = np.bincount(encoded, minlength=n_classes)
        if np.all(counts < k):
            raise ValueError(f"StratifiedKFold.split: n_splits={k} cannot be greater than the number of members in "
                             f"each class (largest class has {counts.max()})")
        if counts.min() < k:
            warnings.warn(f"StratifiedKFold.split: the least populated class has only {counts.min()} members, "
                          f"fewer than n_splits={k}; some folds will lack it")
        # Deal the label-sorted samples round-robin to folds: fold i gets samples i, i+k, ... of the sorted order,
        # which fixes how many of each class every fold receives.
        sorted_classes = np.sort(encoded)
        allocation = np.asarray([np.bincount(sorted_classes[i::k], minlength=n_classes) for i in range(k)])
        rng = np.random.default_rng(self.seed) if self.shuffle else None
        fold_of = np.empty(n, dtype=np.int64)
        for c in range(n_classes):
            folds_for_class = np.arange(k).repeat(allocation[:, c])
            if rng is not None:
                folds_for_class = rng.permutation(folds_for_class)
            fold_of[encoded == c] = folds_for_class
        for i in range(k):
            yield np.flatnonzero(fold_of != i), np.flatnonzero(fold_of == i)

    def __repr__(self):
        return f"StratifiedKFold(n_splits={self.n_splits}, shuffle={self.shuffle}, seed={self.seed})"


def _split_counts(count, fractions):
    """Largest-remainder rounding: every split is within one sample of ``count * fraction``."""
    exact = count * fractions
    counts = np.floor(exact).astype(np.int64)
    short = count - counts.sum()
    order = np.argsort(-(exact - counts), kind="stable")  # largest fractional parts first, ties by split order
    counts[order[:short]] += 1
    return counts


def stratified_split(labels, fractions=None, seed=None, *, valid_fraction=None):
    """Split sample indices so every class keeps its proportion in each part.

    Pass either ``valid_fraction`` (or a single float as ``fractions``), which returns ``(train, valid)``, or a
    sequence of ``fractions`` summing to 1, which returns one index array per fraction.  Each class is shuffled
    with ``numpy.random.default_rng(seed)`` and divided on its own, so each part holds within one sample of its
    share of every class.  The returned index arrays are sorted.
    """
    labels = _labels_array(labels, "stratified_split")
    if fractions is not None and valid_fraction is not None:
        raise ValueError("stratified_split: pass fractions or valid_fraction, not both")
    if fractions is None:
        fractions = 0.2 if valid_fraction is None else valid_fraction
    if isinstance(fractions, numbers.Real):
        if not 0 < fractions < 1:
            raise ValueError(f"stratified_split: valid_fraction must be between 0 and 1, got {fractions}")
        fractions = [1 - fractions, fractions]
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.ndim != 1 or len(fractions) < 2 or np.any(fractions < 0) or not np.isclose(fractions.sum(), 1):
        raise ValueError(f"stratified_split: fractions must be two or more non-negative numbers summing to 1, "
                         f"got {fractions.tolist()}")
    rng = np.random.default_rng(seed)
    parts = [[] for _ in fractions]
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        bounds = np.cumsum(_split_counts(len(members), fractions))[:-1]
        for part, chunk in zip(parts, np.split(members, bounds)):
            part.append(chunk)
    return tuple(np.sort(np.concatenate(p)).astype(np.int64) for p in parts)
