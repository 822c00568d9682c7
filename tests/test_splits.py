"""relulab.data.splits: KFold / StratifiedKFold against scikit-learn, and stratified_split proportions."""
import numpy as np
import pytest
from sklearn.model_selection import KFold as SklearnKFold
from sklearn.model_selection import StratifiedKFold as SklearnStratifiedKFold

import relulab
from relulab.data.splits import KFold, StratifiedKFold, stratified_split
from relulab.utils.data import Subset, TensorDataset


@pytest.mark.parametrize("n, k", [(10, 2), (10, 3), (11, 5), (7, 7), (2699, 5), (100, 10)])
def test_kfold_equals_sklearn(n, k):
    ours = list(KFold(k).split(n))
    theirs = list(SklearnKFold(k).split(np.zeros(n)))
    assert len(ours) == len(theirs) == k
    for (train, valid), (sk_train, sk_valid) in zip(ours, theirs):
        np.testing.assert_array_equal(train, sk_train)
        np.testing.assert_array_equal(valid, sk_valid)
        assert train.dtype == np.int64 and valid.dtype == np.int64


@pytest.mark.parametrize("shuffle, seed", [(False, None), (True, 0), (True, 123)])
def test_kfold_each_index_validates_once(shuffle, seed):
    n, k = 23, 4
    folds = list(KFold(k, shuffle=shuffle, seed=seed).split(n))
    valid = np.concatenate([v for _, v in folds])
    assert sorted(valid.tolist()) == list(range(n))
    assert [len(v) for _, v in folds] == [6, 6, 6, 5]  # the first n % k folds get one extra
    for train, v in folds:
        assert len(np.intersect1d(train, v)) == 0 and len(train) + len(v) == n


def test_kfold_shuffle_is_seeded():
    a = [v.tolist() for _, v in KFold(3, shuffle=True, seed=7).split(20)]
    b = [v.tolist() for _, v in KFold(3, shuffle=True, seed=7).split(20)]
    c = [v.tolist() for _, v in KFold(3, shuffle=True, seed=8).split(20)]
    assert a == b and a != c
    assert a != [v.tolist() for _, v in KFold(3).split(20)]


def test_kfold_accepts_datasets_and_gives_subsets():
    ds = TensorDataset(relulab.arange(10))
    assert [len(v) for _, v in KFold(3).split(ds)] == [4, 3, 3]
    pairs = list(KFold(5).subsets(ds))
    assert len(pairs) == 5
    train, valid = pairs[0]
    assert isinstance(train, Subset) and isinstance(valid, Subset)
    assert [int(valid[i][0]) for i in range(len(valid))] == [0, 1] and len(train) == 8


def test_kfold_errors():
    with pytest.raises(ValueError, match="n_splits=1"):
        KFold(1)
    with pytest.raises(ValueError, match="greater than the number of samples"):
        list(KFold(5).split(3))
    with pytest.raises(ValueError, match="shuffle"):
        KFold(3, seed=0)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("k", [2, 3, 5])
def test_stratified_kfold_equals_sklearn_unshuffled(k, seed):
    labels = np.random.default_rng(seed).choice([0, 1, 1, 2, 2, 2], size=61)
    ours = list(StratifiedKFold(k).split(labels))
    theirs = list(SklearnStratifiedKFold(k).split(np.zeros(len(labels)), labels))
    for (train, valid), (sk_train, sk_valid) in zip(ours, theirs):
        np.testing.assert_array_equal(train, sk_train)
        np.testing.assert_array_equal(valid, sk_valid)


def test_stratified_kfold_shuffled_keeps_proportions():
    labels = np.repeat([0, 1, 2], [30, 20, 10])
    folds = list(StratifiedKFold(5, shuffle=True, seed=0).split(relulab.tensor(labels)))
    valid = np.concatenate([v for _, v in folds])
    assert sorted(valid.tolist()) == list(range(60))
    for _, v in folds:
        assert np.bincount(labels[v], minlength=3).tolist() == [6, 4, 2]


def test_stratified_kfold_errors():
    with pytest.raises(ValueError, match="number of members in each class"):
        list(StratifiedKFold(4).split([0, 0, 1, 1, 1, 2]))
    with pytest.raises(ValueError, match="1-D"):
        list(StratifiedKFold(2).split(np.zeros((4, 2))))


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.33])
def test_stratified_split_keeps_class_proportions(fraction):
    labels = np.random.default_rng(0).choice(5, size=503, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    train, valid = stratified_split(labels, valid_fraction=fraction, seed=0)
    assert sorted(np.concatenate([train, valid]).tolist()) == list(range(len(labels)))
    for cls in range(5):
        count = np.sum(labels == cls)
        assert abs(np.sum(labels[valid] == cls) - count * fraction) <= 1
        assert abs(np.sum(labels[train] == cls) - count * (1 - fraction)) <= 1


def test_stratified_split_many_fractions_and_seed():
    labels = np.repeat(["cat", "dog", "bird"], [40, 25, 11])
    parts = stratified_split(labels, [0.6, 0.2, 0.2], seed=1)
    assert len(parts) == 3
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(labels)))
    for part, frac in zip(parts, [0.6, 0.2, 0.2]):
        for cls in ("cat", "dog", "bird"):
            assert abs(np.sum(labels[part] == cls) - np.sum(labels == cls) * frac) <= 1
    again = stratified_split(labels, [0.6, 0.2, 0.2], seed=1)
    other = stratified_split(labels, [0.6, 0.2, 0.2], seed=2)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    assert not all(np.array_equal(a, b) for a, b in zip(parts, other))
    single = stratified_split(labels, 0.25, seed=1)
    assert len(single) == 2


def test_stratified_split_errors():
    with pytest.raises(ValueError, match="summing to 1"):
        stratified_split([0, 1, 0, 1], [0.5, 0.2])
    with pytest.raises(ValueError, match="between 0 and 1"):
        stratified_split([0, 1, 0, 1], valid_fraction=1.5)
    with pytest.raises(ValueError, match="not both"):
        stratified_split([0, 1], [0.5, 0.5], valid_fraction=0.5)
