"""scikit-learn's 8×8 handwritten digits (1797 images, bundled with sklearn, so nothing is downloaded).

A small stand-in for MNIST that trains in seconds: classification for lecture 2 and a tiny CNN for lecture 3.
"""
import numpy as np

from .files import ArrayDataset

DIGIT_CLASSES = list(range(10))
PIXEL_MAX = 16.0  # load_digits counts ink in 4×4 blocks of the original 32×32 bitmaps: values 0..16


def _stratified_split(labels, test_fraction, seed):
    """(train rows, test rows), sorted: every class contributes ``test_fraction`` of its rows to the test split."""
    rng = np.random.default_rng(seed)
    test_rows = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        n_test = int(round(len(rows) * test_fraction))
        test_rows.append(rng.permutation(rows)[:n_test])
    test_rows = np.sort(np.concatenate(test_rows))
    train_rows = np.setdiff1d(np.arange(len(labels)), test_rows)
    return train_rows, test_rows


def digits(split="train", test_fraction=0.2, seed=0, flatten=True):
    """The digits as an ``ArrayDataset``: features float32 in [0, 1], labels int64 (0-9).

    ``split`` is ``"train"``, ``"test"`` or ``None`` (all 1797).  The split is stratified by class and fixed by
    ``seed``, so ``digits("train")`` and ``digits("test")`` with the same arguments never overlap.  Features are
    (n, 64) with ``flatten``, else (n, 1, 8, 8) images for a CNN.  ``.indices`` are the rows in sklearn's order.
    """
    if split not in ("train", "test", None):
        raise ValueError(f"digits: split must be 'train', 'test' or None, got {split!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"digits: test_fraction must be between 0 and 1 (exclusive), got {test_fraction!r}")
    from sklearn.datasets import load_digits  # imported here: sklearn is slow to import and only needed now

    images, labels = load_digits(return_X_y=True)
    labels = labels.astype(np.int64)
    if split is None:
        rows = np.arange(len(labels))
    else:
        train_rows, test_rows = _stratified_split(labels, test_fraction, seed)
        rows = train_rows if split == "train" else test_rows
    features = (images[rows] / PIXEL_MAX).astype(np.float32)
    if not flatten:
        features = features.reshape(-1, 1, 8, 8)
    dataset = ArrayDataset(features, labels[rows], DIGIT_CLASSES)
    dataset.indices = rows
    return dataset
