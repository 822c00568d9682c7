"""relulab.data's datasets: the synthetic view series, digits, CSV (HW1), IDX, CIFAR batches, image folders, download.

Every file format is exercised on tiny files the tests write themselves; nothing touches the network.
"""
import gzip
import hashlib
import os
import pickle
import struct

import numpy as np
import pytest

from relulab.autograd.tensor import Tensor
from relulab.data.csv import CSVDataset, Standardizer
from relulab.data.digits import digits
from relulab.data.files import ArrayDataset, ImageFolder, cifar10, download, load_idx, mnist
from relulab.data.views import daily_views, window
from relulab.utils.data import DataLoader


# ----------------------------------------------------------------------------------------------- daily views
def test_daily_views_is_deterministic_by_seed():
    a, b, c = daily_views(seed=0), daily_views(seed=0), daily_views(seed=1)
    np.testing.assert_array_equal(a.views, b.views)
    np.testing.assert_array_equal(a.dates, b.dates)
    assert not np.allclose(a.views, c.views)


def test_daily_views_layout():
    s = daily_views()
    assert s.dates.dtype == np.dtype("datetime64[D]") and s.views.dtype == np.float64
    assert len(s) == 1461 and s.years == (2017, 2018, 2019, 2020)  # 2020 is a leap year
    assert s.dates[0] == np.datetime64("2017-01-01") and s.dates[-1] == np.datetime64("2020-12-31")
    assert np.all(np.diff(s.dates) == np.timedelta64(1, "D"))
    assert np.all(s.views > 0) and 1.0 < s.views.mean() < 10.0  # thousands of views a day
    mid = daily_views(years=2, start="2019-07-01")
    assert mid.years == (2019, 2020, 2021) and mid.dates[-1] == np.datetime64("2021-06-30")


def test_daily_views_weekly_cycle_trend_and_holidays():
    s = daily_views()
    weekday = (s.dates.astype(np.int64) + 3) % 7  # 0 = Monday
    by_day = np.array([s.views[weekday == d].mean() for d in range(7)])
    assert by_day[4] < by_day[:4].min() and by_day[5] < by_day[:4].min()  # Fridays and Saturdays are low
    assert by_day.max() / by_day.min() > 1.3
    yearly = [s.views[s.year_of() == y].mean() for y in s.years]
    assert np.all(np.diff(yearly) > 0)  # the channel grows every year
    for holiday in ("2018-02-16", "2019-12-25", "2020-01-01"):  # Lunar New Year, Christmas, New Year
        i = int(np.flatnonzero(s.dates == np.datetime64(holiday))[0])
        assert s.views[i] < 0.85 * np.median(s.views[i - 21:i - 7])


def test_daily_views_rejects_bad_arguments():
    with pytest.raises(ValueError, match="years"):
        daily_views(years=0)
    with pytest.raises(ValueError, match="ISO date"):
        daily_views(start="01/01/2017")


def test_window_shapes_and_split_years():
    s = daily_views()
    train, test = window(s, 7)
    assert train.features.shape == (1461 - 366 - 7, 7) and train.targets.shape == (1461 - 366 - 7, 1)
    assert test.features.shape == (366, 7) and test.targets.shape == (366, 1)
    assert train.features.dtype == train.targets.dtype == np.float32
    assert train.years == (2017, 2018, 2019) and test.years == (2020,)
    assert "2017-2019" in train.describe() and "2020" in test.describe()
    # Row k: the 7 days before the target day, oldest first; test windows reach back into 2019.
    np.testing.assert_allclose(train.features[0], s.views[:7], rtol=1e-6)
    np.testing.assert_allclose(train.targets[0, 0], s.views[7], rtol=1e-6)
    np.testing.assert_allclose(test.features[0], s.views[1095 - 7:1095], rtol=1e-6)
    assert test.dates[0] == np.datetime64("2020-01-01")
    x, y = test[3]
    assert isinstance(x, Tensor) and x.shape == (7,) and y.shape == (1,)

    train, test = window(s, 1, test_year=2019)
    assert train.years == (2017, 2018) and test.years == (2019,) and len(test) == 365
    with pytest.raises(ValueError, match="test_year 2016"):
        window(s, 7, test_year=2016)
    with pytest.raises(ValueError, match="no training days"):
        window(s, 7, test_year=2017)


def _least_squares_mae(series, days):
    train, test = window(series, days)
    design = lambda ds: np.c_[np.ones(len(ds)), ds.features.astype(np.float64)]
    w = np.linalg.lstsq(design(train), train.targets[:, 0].astype(np.float64), rcond=None)[0]
    return [float(np.abs(design(ds) @ w - ds.targets[:, 0]).mean()) for ds in (train, test)]


def test_window_linear_model_reproduces_the_lecture_pattern():
    """Lecture 1: 1/7/28/56 days → train 0.48/0.38/0.33/0.32k, test 0.58/0.49/0.46/0.46k (MAE)."""
    table = np.array([_least_squares_mae(daily_views(seed=0), d) for d in (1, 7, 28, 56)])
    train, test = table[:, 0], table[:, 1]
    assert np.all(np.diff(train) < 0)               # more history always fits the training years better
    assert np.all(test > train)                     # the test year is harder (the channel has grown)
    assert test[1] < test[0] - 0.05 and test[2] < test[1] - 0.03  # the week, then a month, help a lot
    assert abs(test[3] - test[2]) < 0.03            # ...but two months predict no better than one
    assert test[0] - test[1] > test[2] - test[3]    # diminishing returns
    assert 0.35 < train[0] < 0.6 and 0.35 < test[2] < 0.6  # the lecture's scale: about half a thousand views


# ----------------------------------------------------------------------------------------------- digits
def test_digits_shapes_ranges_and_stratified_split():
    train, test, full = digits("train"), digits("test"), digits(None)
    assert len(full) == 1797 and len(train) + len(test) == 1797
    assert not set(train.indices) & set(test.indices)
    assert train.features.shape == (len(train), 64) and train.features.dtype == np.float32
    assert train.targets.dtype == np.int64 and train.classes == list(range(10))
    assert full.features.min() == 0.0 and full.features.max() == 1.0
    full_counts = np.bincount(full.targets, minlength=10)
    np.testing.assert_array_equal(np.bincount(test.targets, minlength=10), np.round(full_counts * 0.2))
    np.testing.assert_array_equal(digits("test").indices, test.indices)  # deterministic
    assert not np.array_equal(digits("test", seed=1).indices, test.indices)
    images = digits("train", flatten=False)
    assert images.features.shape == (len(train), 1, 8, 8)
    np.testing.assert_array_equal(images.features.reshape(len(train), 64), train.features)
    x, y = train[0]
    assert x.shape == (64,) and y.shape == () and y.dtype == np.int64
    with pytest.raises(ValueError, match="split"):
        digits("valid")
    with pytest.raises(ValueError, match="test_fraction"):
        digits(test_fraction=1.0)


def test_array_datasets_feed_the_dataloader():
    data = digits("test")
    x, y = next(iter(DataLoader(data, batch_size=16)))
    assert x.shape == (16, 64) and y.shape == (16,)
    np.testing.assert_array_equal(x.numpy(), data.features[:16])
    batch = data._gather([3, 1])
    np.testing.assert_array_equal(batch[1].numpy(), data.targets[[3, 1]])


# ----------------------------------------------------------------------------------------------- CSV
TINY_CSV = "id,a,b,c,target\n0,1,10,0,5\n1,2,20,0,6\n2,3,30,1,7\n3,4,40,1,8\n"


def _write(tmp_path, text, name="tiny.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_dataset_basics(tmp_path):
    path = _write(tmp_path, TINY_CSV + "\n")  # a trailing blank line is fine
    ds = CSVDataset(path)
    assert len(ds) == 4 and ds.feature_names == ["a", "b", "c"] and ds.target_name == "target"
    assert ds.features.dtype == np.float32 and ds.targets.dtype == np.float32 and ds.targets.shape == (4, 1)
    np.testing.assert_array_equal(ds.ids, [0, 1, 2, 3])
    np.testing.assert_array_equal(ds.features[2], [3, 30, 1])
    x, y = ds[1]
    assert x.shape == (3,) and float(y.numpy()[0]) == 6.0

    picked = CSVDataset(path, columns=["c", 0], indices=[1, 3])
    assert picked.feature_names == ["c", "a"]
    np.testing.assert_array_equal(picked.features, [[0, 2], [1, 4]])
    np.testing.assert_array_equal(picked.ids, [1, 3])
    by_name = CSVDataset(path, target="b")
    assert by_name.feature_names == ["a", "c", "target"] and by_name.targets[1, 0] == 20
    unlabeled = CSVDataset(path, target=None)
    assert unlabeled.targets is None and unlabeled.feature_names == ["a", "b", "c", "target"]
    assert isinstance(unlabeled[0], Tensor) and unlabeled[0].shape == (4,)


def test_csv_repeated_headers_are_renamed_like_pandas(tmp_path):
    ds = CSVDataset(_write(tmp_path, "id,cli,ili,cli,ili,cli\n0,1,2,3,4,5\n"))
    assert ds.feature_names == ["cli", "ili", "cli.1", "ili.1"] and ds.target_name == "cli.2"


def test_standardizer_is_fitted_on_the_training_rows_only(tmp_path):
    path = _write(tmp_path, TINY_CSV)
    train = CSVDataset(path, indices=[0, 1], standardize=Standardizer())
    np.testing.assert_allclose(train.standardizer.mean, [1.5, 15, 0])
    np.testing.assert_allclose(train.standardizer.std, [0.5, 5, 1])  # constant column c: std 1, no division by 0
    np.testing.assert_allclose(train.features, [[-1, -1, 0], [1, 1, 0]])
    valid = CSVDataset(path, indices=[2, 3], standardize=train.standardizer)
    np.testing.assert_allclose(valid.features, [[3, 3, 1], [5, 5, 1]])
    np.testing.assert_array_equal(valid.targets[:, 0], [7, 8])  # targets are never standardized

    state = train.standardizer.state_dict()
    restored = Standardizer().load_state_dict(state)
    np.testing.assert_array_equal(restored.transform(valid.raw_features()), valid.features)
    np.testing.assert_allclose(restored.inverse_transform(valid.features), valid.raw_features())
    with pytest.raises(RuntimeError, match="fit"):
        Standardizer().transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="3 columns"):
        restored.transform(np.zeros((2, 4)))

    full = CSVDataset(path)
    tr, va = full.split(valid_fraction=0.5, seed=0)
    assert len(tr) == len(va) == 2 and tr.standardizer is va.standardizer
    np.testing.assert_allclose(tr.standardizer.mean, full.raw_features()[tr.rows].mean(axis=0))
    np.testing.assert_allclose(full.fit_standardizer(tr.rows).mean, tr.standardizer.mean)


@pytest.mark.parametrize("body, line, column, what", [
    ("0,1,10,0,5\n1,2,20,6\n", 3, "'c'", "4 fields"),                  # a field missing
    ("0,1,10,0,5,9\n", 2, "'target'", "extra field"),                   # one too many
    ("0,1,10,0,5\n1,2,20,0,6\n2,x3,30,1,7\n", 4, "'a'", "'x3' is not a number"),
    ("0,1,10,0,5\n1,2,,0,6\n", 3, "'b'", "'' is not a number"),
    ("0,1,10,0,5\n1,2,20,nan,6\n", 3, "'c'", "not a finite number"),
    ("0,1,10,0,5\n1,2,20,0,-inf\n", 3, "'target'", "not a finite number"),
])
def test_csv_errors_name_file_line_and_column(tmp_path, body, line, column, what):
    path = _write(tmp_path, "id,a,b,c,target\n" + body, name="bad.csv")
    with pytest.raises(ValueError) as err:
        CSVDataset(path)
    message = str(err.value)
    assert "bad.csv" in message and f"line {line}" in message and column in message and what in message


def test_csv_unknown_columns_suggest_the_closest(tmp_path):
    path = _write(tmp_path, "id,cli,ili,tested_positive\n0,1,2,3\n")
    with pytest.raises(ValueError, match="unknown feature column 'clli'; did you mean 'cli'"):
        CSVDataset(path, columns=["clli"])
    with pytest.raises(ValueError, match="did you mean 'tested_positive'"):
        CSVDataset(path, target="tested_postive")
    with pytest.raises(ValueError, match="id_column=None"):
        CSVDataset(path, id_column="ID")
    with pytest.raises(ValueError, match="'tested_positive' is the target column"):
        CSVDataset(path, columns=["cli", "tested_positive"])
    with pytest.raises(IndexError, match="2 feature columns"):
        CSVDataset(path, columns=[5])
    with pytest.raises(ValueError, match="empty file"):
        CSVDataset(_write(tmp_path, "", name="empty.csv"))
    with pytest.raises(ValueError, match="no data rows"):
        CSVDataset(_write(tmp_path, "id,a,b\n", name="header_only.csv"))
    with pytest.raises(ValueError, match="no feature columns"):
        CSVDataset(_write(tmp_path, "id,a\n0,1\n", name="target_only.csv"))


def test_csv_on_hw1_train(hw1_train):
    full = CSVDataset(hw1_train)
    # 118 columns = id + 37 states + 16 features × 5 days, the last of which (day 5's tested_positive) is the target
    assert full.features.shape == (2699, 116) and full.targets.shape == (2699, 1)
    assert full.target_name == "tested_positive.4" and full.feature_names[:2] == ["AL", "AK"]
    assert full.feature_names.count("tested_positive") == 1 and "tested_positive.3" in full.feature_names
    assert full.ids.dtype == np.int64 and full.ids[0] == 0 and np.all(np.diff(full.ids) > 0)  # (id 2239 is absent)

    train, valid = full.split(valid_fraction=0.2, seed=0)
    assert len(train) == 2159 and len(valid) == 540 and not set(train.rows) & set(valid.rows)
    raw = full.raw_features()
    np.testing.assert_allclose(train.standardizer.mean, raw[train.rows].mean(axis=0))
    assert not np.allclose(train.standardizer.mean, raw.mean(axis=0))  # the validation rows were left out
    varying = raw[train.rows].std(axis=0) > 0
    np.testing.assert_allclose(train.features.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(train.features.std(axis=0)[varying], 1, atol=1e-4)

    test_path = hw1_train.with_name("covid.test.csv")
    if test_path.exists():
        test = CSVDataset(test_path, target=None, standardize=train.standardizer)
        assert test.targets is None and test.feature_names == full.feature_names and len(test) == 1078


# ----------------------------------------------------------------------------------------------- IDX (MNIST)
def _idx_bytes(array, type_code=0x08):
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_load_idx_raw_and_gzipped(tmp_path, rng):
    images = rng.integers(0, 256, (5, 4, 3)).astype(np.uint8)
    (tmp_path / "x.idx").write_bytes(_idx_bytes(images))
    (tmp_path / "x.idx.gz").write_bytes(gzip.compress(_idx_bytes(images)))
    np.testing.assert_array_equal(load_idx(tmp_path / "x.idx"), images)
    np.testing.assert_array_equal(load_idx(tmp_path / "x.idx.gz"), images)
    floats = rng.normal(size=(2, 3)).astype(np.float32)
    (tmp_path / "f.idx").write_bytes(_idx_bytes(floats, 0x0D))
    loaded = load_idx(tmp_path / "f.idx")
    assert loaded.dtype == np.float32 and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, floats)


@pytest.mark.parametrize("data, message", [
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x07", "must start with 0000"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x07", "unknown IDX data type code 0x07"),
    (b"\x00\x00\x08\x02\x00\x00\x00\x02", "truncated IDX header"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02", r"shape \(3,\).*file has 10 bytes"),
    (b"\x00\x00", "not an IDX file"),
])
def test_load_idx_errors(tmp_path, data, message):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as err:
        load_idx(path)
    assert "bad-idx1-ubyte" in str(err.value)


def test_mnist_reads_the_standard_file_names(tmp_path, rng):
    images = rng.integers(0, 256, (6, 28, 28)).astype(np.uint8)
    labels = np.array([0, 1, 2, 9, 4, 5], dtype=np.uint8)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(images)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(labels))
    data = mnist(tmp_path, train=True)
    assert data.features.shape == (6, 1, 28, 28) and data.features.dtype == np.float32
    np.testing.assert_allclose(data.features[:, 0] * 255, images)
    np.testing.assert_array_equal(data.targets, labels)
    assert data.targets.dtype == np.int64
    assert data.classes[0] == "0 - zero"
    assert mnist(tmp_path, kind="fashion", flatten=True).features.shape == (6, 784)
    assert mnist(tmp_path, kind="fashion").classes[-1] == "Ankle boot"
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        mnist(tmp_path, train=False)

    raw = tmp_path / "tv" / "FashionMNIST" / "raw"  # torchvision's layout
    raw.mkdir(parents=True)
    (raw / "t10k-images-idx3-ubyte").write_bytes(_idx_bytes(images[:2]))
    (raw / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(labels[:3]))
    with pytest.raises(ValueError, match="2 images but .* 3 labels"):
        mnist(tmp_path / "tv", train=False, kind="fashion")


# ----------------------------------------------------------------------------------------------- CIFAR-10
def _cifar_batch(rng, n, rename_numpy_core=False):
    batch = {b"batch_label": b"training batch", b"labels": [int(v) for v in rng.integers(0, 10, n)],
             b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
             b"filenames": [f"img_{i}.png".encode() for i in range(n)]}
    blob = pickle.dumps(batch, protocol=2)  # bytes keys and protocol 2, as in the Python 2 originals
    if rename_numpy_core:  # the original files name NumPy's pre-2.0 module path
        blob = blob.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    return batch, blob


def test_cifar10_batches(tmp_path, rng):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batches = []
    for i in range(1, 6):
        batch, blob = _cifar_batch(rng, 3, rename_numpy_core=i % 2 == 0)
        (folder / f"data_batch_{i}").write_bytes(blob)
        batches.append(batch)
    test_batch = {"data": rng.integers(0, 256, (2, 3072)).astype(np.uint8), "labels": [3, 7]}
    (folder / "test_batch").write_bytes(pickle.dumps(test_batch, protocol=5))  # Python 3 pickles load too
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"plane"] + [b"x"] * 9}, protocol=2))

    train = cifar10(tmp_path)  # the parent folder works, and so does the batches folder itself
    assert train.features.shape == (15, 3, 32, 32) and train.features.dtype == np.float32
    np.testing.assert_array_equal(train.targets, np.concatenate([b[b"labels"] for b in batches]))
    first = batches[0][b"data"][0]
    np.testing.assert_allclose(train.features[0, 1] * 255, first[1024:2048].reshape(32, 32), rtol=1e-6)
    assert train.classes[0] == "plane"
    test = cifar10(folder, train=False)
    assert len(test) == 2 and test.targets.tolist() == [3, 7]


class _Exploit:
    def __reduce__(self):
        return (os.getcwd, ())  # harmless here, but proves that a named callable is refused


def test_cifar10_refuses_pickles_that_call_anything_else(tmp_path):
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": _Exploit(), b"labels": []}, protocol=2))
    with pytest.raises(ValueError, match="refusing to load posix.getcwd|refusing to load nt.getcwd"):
        cifar10(tmp_path, train=False)
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        cifar10(tmp_path, train=True)


def test_cifar10_validates_the_batch_layout(tmp_path):
    bad = {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}
    (tmp_path / "test_batch").write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(ValueError, match=r"test_batch: 'data' must be a uint8 array of shape \(n, 3072\)"):
        cifar10(tmp_path, train=False)


# ----------------------------------------------------------------------------------------------- image folders
def test_image_folder(tmp_path):
    from PIL import Image

    for name, colour in (("dog", (200, 10, 10)), ("cat", (10, 200, 10))):
        (tmp_path / name).mkdir()
        for i in range(2):
            Image.new("RGB", (5, 4), colour).save(tmp_path / name / f"{i}.png")
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    Image.new("L", (5, 4), 128).save(tmp_path / "cat" / "grey.png")

    folder = ImageFolder(tmp_path)
    assert folder.classes == ["cat", "dog"] and folder.class_to_idx == {"cat": 0, "dog": 1}
    assert len(folder) == 5 and [t for _, t in folder.samples] == [0, 0, 0, 1, 1]
    image, label = folder[4]
    assert label == 1 and image.shape == (3, 4, 5) and image.dtype == np.float32
    np.testing.assert_allclose(image.numpy()[:, 0, 0], np.array([200, 10, 10]) / 255, rtol=1e-6)
    grey, _ = folder[2]
    assert grey.shape == (3, 4, 5)  # greyscale is converted to RGB

    sizes = ImageFolder(tmp_path, transform=lambda im: im.size, target_transform=str)
    assert sizes[0] == ((5, 4), "0")  # the transform receives the PIL image

    (tmp_path / "dog" / "broken.png").write_bytes(b"not a png")
    broken = ImageFolder(tmp_path)
    with pytest.raises(OSError, match="broken.png"):
        broken[[p for p, _ in broken.samples].index(str(tmp_path / "dog" / "broken.png"))]


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no class subfolders"):
        ImageFolder(tmp_path)
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(FileNotFoundError, match="no images"):
        ImageFolder(tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        ImageFolder(tmp_path / "missing")


# ----------------------------------------------------------------------------------------------- download
def test_download_verifies_and_writes_atomically(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"relulab" * 1000)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    target = tmp_path / "out" / "data.bin"

    assert download(source.as_uri(), target, digest.upper()) == target
    assert target.read_bytes() == source.read_bytes()
    source.unlink()  # a second call finds the verified file and fetches nothing
    assert download(source.as_uri(), target, digest) == target
    assert os.listdir(target.parent) == ["data.bin"]  # no temporary file left behind


def test_download_checksum_mismatch_leaves_no_file(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"tampered")
    target = tmp_path / "out" / "data.bin"
    with pytest.raises(ValueError, match="checksum mismatch"):
        download(source.as_uri(), target, "0" * 64)
    assert not target.exists() and os.listdir(target.parent) == []
    with pytest.raises(ValueError, match="64 hex digits"):
        download(source.as_uri(), target, "abc")


def test_array_dataset_checks_lengths():
    with pytest.raises(ValueError, match="3 feature rows but 2 targets"):
        ArrayDataset(np.zeros((3, 2), np.float32), np.zeros(2, np.int64))
