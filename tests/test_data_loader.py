"""relulab.utils.data: datasets, random_split, samplers, default_collate and DataLoader (torch as the oracle)."""
import collections

import numpy as np
import pytest

import relulab
from relulab.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset, RandomSampler,
                                Sampler, SequentialSampler, Subset, SubsetRandomSampler, TensorDataset,
                                default_collate, get_worker_info, random_split)


def _range_dataset(n, features=3):
    x = relulab.tensor(np.arange(n * features, dtype=np.float32).reshape(n, features))
    y = relulab.arange(n)
    return TensorDataset(x, y)


def _seeded(seed):
    return relulab.Generator().manual_seed(seed)


class _Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i, float(i * i)

    def __len__(self):
        return self.n


# ------------------------------------------------------------------------------------------- datasets
def test_tensor_dataset_rows_and_len():
    ds = _range_dataset(5)
    assert len(ds) == 5
    x, y = ds[2]
    assert isinstance(x, relulab.Tensor) and isinstance(y, relulab.Tensor)
    np.testing.assert_array_equal(x.numpy(), [6, 7, 8])
    assert y.item() == 2 and y.shape == ()


def test_tensor_dataset_size_mismatch_names_sizes():
    with pytest.raises(ValueError, match=r"\[3, 4\]"):
        TensorDataset(relulab.zeros(3, 2), relulab.zeros(4))


def test_tensor_dataset_rejects_non_tensors():
    with pytest.raises(TypeError, match="TensorDataset"):
        TensorDataset([1, 2, 3])


def test_subset_and_concat():
    ds = _Squares(6)
    sub = Subset(ds, [4, 1])
    assert len(sub) == 2 and sub[0] == (4, 16.0) and sub[1] == (1, 1.0)
    both = ConcatDataset([_Squares(2), _Squares(3)])
    assert len(both) == 5
    assert [both[i][0] for i in range(5)] == [0, 1, 0, 1, 2]
    assert both[-1] == (2, 4.0)
    with pytest.raises(IndexError):
        both[5]
    added = _Squares(2) + _Squares(1)
    assert isinstance(added, ConcatDataset) and len(added) == 3


def test_concat_rejects_empty_list():
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])


def test_dataset_base_is_abstract():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]


# ------------------------------------------------------------------------------------------- random_split
@pytest.mark.parametrize("n, lengths", [
    (10, [0.5, 0.5]), (10, [0.3, 0.7]), (11, [0.8, 0.2]), (7, [1 / 3, 1 / 3, 1 / 3]), (2699, [0.8, 0.2]),
    (13, [0.1, 0.2, 0.3, 0.4]), (5, [3, 2]), (100, [0.25, 0.25, 0.25, 0.25]), (9, [0.9, 0.1]),
])
@pytest.mark.filterwarnings("ignore:.*split at index")  # (9, [0.9, 0.1]) really gives [9, 0] in PyTorch
def test_random_split_sizes_match_torch(torch, n, lengths):
    ours = random_split(_Squares(n), lengths, generator=_seeded(0))
    theirs = torch.utils.data.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]


def test_random_split_is_a_partition_and_reproducible():
    splits = random_split(_Squares(50), [0.6, 0.2, 0.2], generator=_seeded(3))
    indices = sorted(i for s in splits for i in s.indices)
    assert indices == list(range(50))
    again = random_split(_Squares(50), [0.6, 0.2, 0.2], generator=_seeded(3))
    assert [s.indices for s in splits] == [s.indices for s in again]
    other = random_split(_Squares(50), [0.6, 0.2, 0.2], generator=_seeded(4))
    assert [s.indices for s in splits] != [s.indices for s in other]


def test_random_split_global_seed_reproducible():
    relulab.manual_seed(11)
    first = random_split(_Squares(20), [15, 5])
    relulab.manual_seed(11)
    second = random_split(_Squares(20), [15, 5])
    assert first[0].indices == second[0].indices


def test_random_split_bad_lengths():
    with pytest.raises(ValueError, match="does not equal"):
        random_split(_Squares(10), [3, 3])
    with pytest.raises(ValueError, match="between 0 and 1"):
        random_split(_Squares(10), [1.5, -0.5])


# ------------------------------------------------------------------------------------------- samplers
def test_sequential_and_random_sampler():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    rs = RandomSampler(range(10), generator=_seeded(0))
    first, second = list(rs), list(rs)
    assert sorted(first) == list(range(10)) and first != second
    assert len(RandomSampler(range(10), num_samples=25)) == 25
    long = list(RandomSampler(range(10), num_samples=25, generator=_seeded(0)))
    assert len(long) == 25 and collections.Counter(long[:20]) == collections.Counter(list(range(10)) * 2)
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=_seeded(0)))
    assert len(drawn) == 50 and set(drawn) <= {0, 1, 2}


def test_random_sampler_errors():
    with pytest.raises(ValueError, match="num_samples=0"):
        RandomSampler([])
    with pytest.raises(TypeError, match="replacement"):
        RandomSampler(range(3), replacement=1)


def test_subset_random_sampler():
    order = list(SubsetRandomSampler([7, 3, 9], generator=_seeded(0)))
    assert sorted(order) == [3, 7, 9]


def test_batch_sampler():
    assert list(BatchSampler(range(7), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3 and len(BatchSampler(range(7), 3, True)) == 2
    with pytest.raises(ValueError, match="batch_size=0"):
        BatchSampler(range(7), 0, False)


# ------------------------------------------------------------------------------------------- default_collate
_COLLATE_CASES = {
    "ints": [1, 2, 3],
    "floats": [1.0, 2.5],
    "bools": [True, False],
    "np_float32_scalars": [np.float32(1), np.float32(2)],
    "np_int32_scalars": [np.int32(1), np.int32(2)],
    "arrays_int16": [np.array([1, 2], dtype=np.int16), np.array([3, 4], dtype=np.int16)],
    "arrays_float64": [np.ones((2, 3)), np.zeros((2, 3))],
    "0d_arrays": [np.array(3.0), np.array(4.0)],
    "tuples": [(1, 2.0), (3, 4.0)],
    "lists": [[1, 2.0], [3, 4.0]],
    "dicts": [{"a": 1, "b": np.zeros(2, dtype=np.float32)}, {"a": 2, "b": np.ones(2, dtype=np.float32)}],
    "nested": [(np.zeros(3, dtype=np.uint8), {"y": 1.5}), (np.ones(3, dtype=np.uint8), {"y": 2.5})],
}


def _flatten(batch):
    if isinstance(batch, dict):
        return [leaf for key in sorted(batch) for leaf in _flatten(batch[key])]
    if isinstance(batch, (list, tuple)) and batch and not isinstance(batch[0], str):
        return [leaf for item in batch for leaf in _flatten(item)]
    return [batch]


@pytest.mark.parametrize("name", sorted(_COLLATE_CASES))
def test_default_collate_matches_torch(torch, name):
    samples = _COLLATE_CASES[name]
    ours = default_collate(samples)
    theirs = torch.utils.data.default_collate(samples)
    assert type(ours) is type(theirs) or (isinstance(ours, relulab.Tensor) and isinstance(theirs, torch.Tensor))
    ours_leaves, theirs_leaves = _flatten(ours), _flatten(theirs)
    assert len(ours_leaves) == len(theirs_leaves)
    for a, b in zip(ours_leaves, theirs_leaves):
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype) == str(b.dtype).replace("torch.", "")
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_default_collate_tensors_strings_namedtuples():
    batch = default_collate([relulab.ones(2), relulab.zeros(2)])
    assert batch.shape == (2, 2)
    assert default_collate(["a", "b"]) == ["a", "b"]
    Point = collections.namedtuple("Point", "x y")
    p = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(p, Point) and p.x.tolist() == [1, 3]


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([object()])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([relulab.ones(2), relulab.ones(3)])


# ------------------------------------------------------------------------------------------- DataLoader
def _epoch_indices(loader):
    return [int(i) for _, y in loader for i in y.numpy()]


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("batch_size", [1, 4, 7, 64])
def test_loader_covers_every_index_once(shuffle, batch_size):
    loader = DataLoader(_range_dataset(23), batch_size=batch_size, shuffle=shuffle, generator=_seeded(0))
    seen = _epoch_indices(loader)
    assert sorted(seen) == list(range(23))
    assert len(loader) == -(-23 // batch_size)
    if not shuffle:
        assert seen == list(range(23))


def test_loader_batch_contents_and_types():
    ds = _range_dataset(10)
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    assert x.shape == (4, 3) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(x.numpy(), ds.tensors[0].numpy()[:4])


def test_loader_shuffle_changes_order_but_is_reproducible():
    loader = DataLoader(_range_dataset(40), batch_size=8, shuffle=True, generator=_seeded(5))
    first, second = _epoch_indices(loader), _epoch_indices(loader)
    assert first != second and sorted(first) == sorted(second)
    again = DataLoader(_range_dataset(40), batch_size=8, shuffle=True, generator=_seeded(5))
    assert _epoch_indices(again) == first and _epoch_indices(again) == second


def test_loader_shuffle_follows_global_seed():
    relulab.manual_seed(1)
    a = _epoch_indices(DataLoader(_range_dataset(30), batch_size=4, shuffle=True))
    relulab.manual_seed(1)
    b = _epoch_indices(DataLoader(_range_dataset(30), batch_size=4, shuffle=True))
    assert a == b


def test_fast_path_equals_generic_path():
    """TensorDataset batches gathered at once must equal per-sample collation, including through Subsets."""
    ds = _range_dataset(37)
    train, _ = random_split(ds, [0.7, 0.3], generator=_seeded(0))
    nested = Subset(train, list(range(len(train) - 1, -1, -1)))
    for data in (ds, train, nested):
        for shuffle in (False, True):
            fast = list(DataLoader(data, batch_size=5, shuffle=shuffle, generator=_seeded(2)))
            slow = list(DataLoader(data, batch_size=5, shuffle=shuffle, generator=_seeded(2),
                                   collate_fn=lambda b: default_collate(b)))
            assert len(fast) == len(slow)
            for f, s in zip(fast, slow):
                assert isinstance(f, list) and isinstance(s, list)
                for a, b in zip(f, s):
                    assert a.dtype == b.dtype
                    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_fast_path_gathers_whole_batches(monkeypatch):
    """TensorDataset and array-backed datasets are batched by one gather per batch, never item by item
    (the speed itself is measured in bench/, not asserted here)."""
    rng = np.random.default_rng(0)
    ds = TensorDataset(relulab.tensor(rng.normal(size=(2699, 117)).astype(np.float32)),
                       relulab.tensor(rng.normal(size=2699).astype(np.float32)))

    def no_items(self, index):
        raise AssertionError("the fast path must not index samples one by one")

    monkeypatch.setattr(TensorDataset, "__getitem__", no_items)
    assert sum(x.shape[0] for x, _ in DataLoader(ds, batch_size=64, shuffle=True)) == 2699

    class Bulk(relulab.utils.data.Dataset):
        _bulk_gather = True
        calls = 0

        def __len__(self):
            return 10

        def __getitem__(self, index):
            raise AssertionError("the fast path must not index samples one by one")

        def _gather(self, indices):
            Bulk.calls += 1
            return [relulab.tensor(np.asarray(indices))]

    batches = list(DataLoader(Bulk(), batch_size=4))
    assert Bulk.calls == 3 and [b[0].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_loader_drop_last():
    loader = DataLoader(_range_dataset(10), batch_size=4, drop_last=True)
    sizes = [x.shape[0] for x, _ in loader]
    assert sizes == [4, 4] and len(loader) == 2
    shuffled = DataLoader(_range_dataset(10), batch_size=4, drop_last=True, shuffle=True, generator=_seeded(0))
    assert [x.shape[0] for x, _ in shuffled] == [4, 4]


def test_loader_len_matches_torch(torch):
    for n, bs, drop in [(10, 3, False), (10, 3, True), (9, 3, True), (1, 5, False), (2699, 64, False)]:
        ours = DataLoader(_Squares(n), batch_size=bs, drop_last=drop)
        theirs = torch.utils.data.DataLoader(range(n), batch_size=bs, drop_last=drop)
        assert len(ours) == len(theirs)


def test_loader_generic_dataset_and_collate():
    loader = DataLoader(_Squares(5), batch_size=2)
    batches = list(loader)
    assert len(batches) == 3
    i, sq = batches[0]
    assert i.dtype == np.int64 and sq.dtype == np.float64
    assert i.tolist() == [0, 1] and sq.tolist() == [0.0, 1.0]
    custom = DataLoader(_Squares(4), batch_size=2, collate_fn=lambda b: [s[0] for s in b])
    assert list(custom) == [[0, 1], [2, 3]]


def test_loader_with_sampler_and_batch_sampler():
    ds = _range_dataset(8)
    by_sampler = DataLoader(ds, batch_size=3, sampler=[7, 6, 5, 4])
    assert _epoch_indices(by_sampler) == [7, 6, 5, 4]
    by_batches = DataLoader(ds, batch_sampler=[[1, 2], [0], [7, 3, 5]])
    assert [y.tolist() for _, y in by_batches] == [[1, 2], [0], [7, 3, 5]] and len(by_batches) == 3
    subset_sampler = DataLoader(ds, batch_size=2, sampler=SubsetRandomSampler([1, 3, 5], generator=_seeded(0)))
    assert sorted(_epoch_indices(subset_sampler)) == [1, 3, 5]


def test_loader_without_batching():
    loader = DataLoader(_range_dataset(3), batch_size=None)
    items = list(loader)
    assert len(items) == 3 and items[1][0].shape == (3,) and len(loader) == 3


def test_loader_iterable_dataset():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))

    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(), shuffle=True)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_loader_rejects_bad_batch_size(bad):
    with pytest.raises(ValueError, match=f"batch_size={bad!r}"):
        DataLoader(_range_dataset(4), batch_size=bad)


def test_loader_rejects_empty_dataset():
    with pytest.raises(ValueError, match="TensorDataset.*empty"):
        DataLoader(TensorDataset(relulab.zeros(0, 2)), batch_size=2)


@pytest.mark.parametrize("kwargs, message", [
    (dict(sampler=[0, 1], shuffle=True), "sampler option is mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], shuffle=True), "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], sampler=[0]), "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), "mutually exclusive with drop_last"),
    (dict(num_workers=-1), "num_workers"),
    (dict(persistent_workers=True), "persistent_workers"),
    (dict(prefetch_factor=2), "prefetch_factor"),
    (dict(timeout=-1), "timeout"),
])
def test_loader_conflicting_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(_range_dataset(4), **kwargs)


def test_loader_num_workers_runs_in_process():
    loader = DataLoader(_range_dataset(9), batch_size=4, num_workers=2, pin_memory=True, persistent_workers=True)
    assert _epoch_indices(loader) == list(range(9))
    assert get_worker_info() is None


def test_loader_iterator_has_len():
    it = iter(DataLoader(_range_dataset(9), batch_size=4))
    assert len(it) == 3
    assert len(list(it)) == 3


def test_custom_sampler_subclass_is_respected():
    class Reverse(Sampler):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n - 1, -1, -1))

        def __len__(self):
            return self.n

    loader = DataLoader(_range_dataset(5), batch_size=2, sampler=Reverse(5))
    assert _epoch_indices(loader) == [4, 3, 2, 1, 0]
