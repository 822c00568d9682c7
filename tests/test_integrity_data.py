"""Data checks: values checked after the cast to the training dtype, errors that name file, line and column,
``predict`` only with the run's preprocessing, and file loaders (CIFAR pickles, IDX) that accept every valid
file and name the file on every error."""
import pickle

import numpy as np
import pytest

from relulab.data import CSVDataset, Standardizer, cifar10, load_idx
from relulab.train import predict, train
from runcheck import config, write_csv


def _csv(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize("cell, what", [("1e39", "overflows float32"), ("-1e308", "overflows float32"),
                                        ("nan", "is not a finite number"), ("-inf", "is not a finite number")])
def test_values_must_survive_the_cast_to_float32(tmp_path, cell, what):
    path = _csv(tmp_path, f"id,a,b,y\n0,1,2,3\n1,4,{cell},6\n2,7,8,9\n")
    with pytest.raises(ValueError, match=rf"d.csv, line 3, column 'b' \(field 3\): .*{what}"):
        CSVDataset(path)
    target = _csv(tmp_path, f"id,a,y\n0,1,2\n1,4,{cell}\n", name="t.csv")
    with pytest.raises(ValueError, match=rf"t.csv, line 3, column 'y'"):
        CSVDataset(target)


def test_largest_float32_values_are_accepted_and_standardize_finely(tmp_path):
    path = _csv(tmp_path, "id,a,y\n0,3e38,1\n1,-3e38,2\n2,0,3\n")
    ds = CSVDataset(path, standardize=Standardizer())
    assert np.isfinite(ds.features).all() and ds.features.std() > 0.5  # not silently squashed to zeros


def test_standardizer_refuses_columns_it_cannot_scale():
    with pytest.raises(ValueError, match=r"column 0 has values too large"):
        Standardizer().fit(np.array([[1e308, 1.0], [-1e308, 2.0]]))


def test_text_problems_name_the_file_and_line(tmp_path):
    with pytest.raises(ValueError, match=r"d.csv, line 3: byte 0xff is not UTF-8"):
        CSVDataset(_csv(tmp_path, b"id,a,y\n0,1,2\n1,\xff,3\n"))
    with pytest.raises(ValueError, match=r"d.csv, line 3: not a readable CSV row \(field larger than field limit"):
        CSVDataset(_csv(tmp_path, "id,a,y\n0,1,2\n1," + "9" * 200_000 + ",3\n"))
    with pytest.raises(ValueError, match=r"d.csv, line 2, column 'a' \(field 2\): '\\x001' is not a number"):
        CSVDataset(_csv(tmp_path, b"id,a,y\n0,\x001,2\n"))
    assert CSVDataset(_csv(tmp_path, b"\xef\xbb\xbfid,a,y\n0,1,2\n")).feature_names == ["a"]  # a BOM is fine
    with pytest.raises(ValueError, match=r"is a folder, not a CSV file"):
        CSVDataset(tmp_path)


def test_predict_needs_the_runs_preprocessing(tmp_path):
    data = write_csv(tmp_path)
    run = train(config(data, epochs=3), out_dir=tmp_path / "runs", verbose=False)
    features = data.read_text().splitlines()
    header = features[0].split(",")[:-1]
    test_rows = [",".join(line.split(",")[:-1]) for line in features[1:21]]
    test_csv = _csv(tmp_path, "\n".join([",".join(header)] + test_rows) + "\n", name="test.csv")
    expected = predict(run.path, test_csv, tmp_path / "pred.csv")
    # The same rows with the columns in another order give the same predictions: columns are matched by name.
    order = [0, 3, 1, 4, 2]
    shuffled = [",".join(header[i] for i in order)] + [",".join(r.split(",")[i] for i in order) for r in test_rows]
    again = predict(run.path, _csv(tmp_path, "\n".join(shuffled) + "\n", name="shuffled.csv"), tmp_path / "p2.csv")
    assert np.array_equal(expected, again)
    # Raw inputs would be far off (HW1: 68.9 instead of 4.26); without the statistics predict refuses.
    (run.path / "preprocess.safetensors").unlink()
    with pytest.raises(ValueError, match=r"preprocess.safetensors is missing: predict needs the run's preprocessing"):
        predict(run.path, test_csv, tmp_path / "pred3.csv")
    assert not (tmp_path / "pred3.csv").exists()


def test_predict_refuses_a_file_without_a_training_column(tmp_path):
    data = write_csv(tmp_path)
    run = train(config(data, epochs=2), out_dir=tmp_path / "runs", verbose=False)
    with pytest.raises(ValueError, match=r"unknown feature column 'f3'"):
        predict(run.path, _csv(tmp_path, "id,f0,f1,f2\n0,1,2,3\n", name="t.csv"), tmp_path / "p.csv")


# ----------------------------------------------------------------------------------------------- CIFAR
def _batch(folder, name, n, labels=None, protocol=2, **extra):
    rng = np.random.default_rng(0)
    content = {b"batch_label": b"", b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
               b"labels": list(rng.integers(0, 10, n).tolist()) if labels is None else labels, **extra}
    (folder / name).write_bytes(pickle.dumps(content, protocol=protocol))


@pytest.mark.parametrize("protocol", [2, 5])
def test_cifar_accepts_empty_bytes_and_empty_batches(tmp_path, protocol):
    _batch(tmp_path, "test_batch", 0, labels=[], protocol=protocol)
    test = cifar10(tmp_path, train=False)
    assert len(test) == 0 and test.features.shape == (0, 3, 32, 32)
    for i in range(1, 6):
        _batch(tmp_path, f"data_batch_{i}", 0 if i == 3 else 4, protocol=protocol)
    train_set = cifar10(tmp_path, train=True)
    assert len(train_set) == 16 and train_set.targets.dtype == np.int64


@pytest.mark.parametrize("labels, message", [([0.7, 1, 2], r"label 0 is 0\.7 \(float\)"),
                                             ([1, 8.9, 2], r"label 1 is 8\.9"),
                                             ([True, 1, 2], r"label 0 is True \(bool\)"),
                                             (np.array([0.0, 1.0, 2.0]), r"got a float64 array"),
                                             ([1, 2], r"3 images but 2 labels"),
                                             ([1, 2, 10], r"labels must be in 0-9"),
                                             ("012", r"'labels' must be a list or an array")])
def test_cifar_refuses_labels_that_are_not_class_indices(tmp_path, labels, message):
    _batch(tmp_path, "test_batch", 3, labels=labels)
    with pytest.raises(ValueError, match=rf"test_batch: .*{message}"):
        cifar10(tmp_path, train=False)


MALFORMED_PICKLES = {
    "truncated": pickle.dumps({b"data": b"x" * 50}, protocol=2)[:20],
    "unquoted STRING": b"S'abc\n.",
    "bad UTF-8": b"\x80\x02X\x02\x00\x00\x00\xff\xfe.",
    "other codec": b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R.",
    "bytes with a size": b"\x80\x02c__builtin__\nbytes\nJ\x00\xca\x9a;\x85R.",
    "a global": b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R.",
    "bad dtype": b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00zzK\x00K\x01\x87R.",
    "huge LONG4": b"\x80\x02\x8b\xff\xff\xff\x7f",
    "not a dict": pickle.dumps([1, 2, 3], protocol=2),
    "empty": b"",
}


@pytest.mark.parametrize("case", list(MALFORMED_PICKLES))
def test_malformed_pickles_name_the_file(tmp_path, case):
    (tmp_path / "test_batch").write_bytes(MALFORMED_PICKLES[case])
    with pytest.raises(ValueError, match=r"test_batch: ") as info:
        cifar10(tmp_path, train=False)
    assert str(tmp_path / "test_batch") in str(info.value)


def test_cifar_meta_is_checked(tmp_path):
    _batch(tmp_path, "test_batch", 2)
    (tmp_path / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"a"] * 3}, protocol=2))
    with pytest.raises(ValueError, match=r"batches.meta: 'label_names' must be a list of 10 names"):
        cifar10(tmp_path, train=False)
    (tmp_path / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"c%d" % i for i in range(10)]}, protocol=2))
    assert cifar10(tmp_path, train=False).classes[3] == "c3"


# ----------------------------------------------------------------------------------------------- IDX
def test_idx_dimensions_whose_product_wraps_int64_are_refused(tmp_path):
    path = tmp_path / "images-idx3-ubyte"
    dims = [2 ** 32 - 1] * 3  # 7.9e28 elements: the product wraps around in int64
    path.write_bytes(bytes([0, 0, 0x08, 3]) + b"".join(d.to_bytes(4, "big") for d in dims) + b"\0" * 64)
    with pytest.raises(ValueError, match=rf"{path}: IDX header says shape \(4294967295, 4294967295, 4294967295\)"):
        load_idx(path)
