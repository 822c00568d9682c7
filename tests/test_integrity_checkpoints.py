"""Checkpoint files: save/load round trips, and every malformed file is a clear error naming the file
(never a raw AttributeError, TypeError, RecursionError or unpacking error)."""
import json
import struct
from collections import OrderedDict

import numpy as np
import pytest

import relulab
from relulab.cli import main
from relulab.serialization import CheckpointError, dumps, load, loads, save
from relulab.train import ConfigError, RunDirectory, evaluate_run, train
from runcheck import config, write_csv


def _file(header, data=b""):
    """Raw safetensors bytes from a header (a dict, or the header text itself) and a data section."""
    text = header if isinstance(header, (str, bytes)) else json.dumps(header)
    head = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(head)) + head + data


def _tree_file(tree, tensors=None):
    """A file whose structure metadata is ``tree`` (format 2), without a CRC, as another writer might make."""
    header = {"__metadata__": {"relulab.tree": tree if isinstance(tree, str) else json.dumps(tree),
                               "relulab.format": "2"}}
    data, offset = b"", 0
    for name, array in (tensors or {}).items():
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + array.nbytes]}
        data += array.astype("<f4").tobytes()
        offset += array.nbytes
    return _file(header, data)


def test_round_trip_of_nested_state(tmp_path):
    state = OrderedDict([
        ("weights", relulab.tensor([[1.0, 2.0]])), ("step", 3), ("nan", float("nan")), ("inf", -float("inf")),
        ("big", 2 ** 127 + 1), ("tuple", (0.9, 0.999)), ("ints", {0: {"m": np.zeros(2)}, 1: None}),
        ("at keys", {"@tensor": "not a tag", "plain": [1, "two", True, None]}), ("empty", np.zeros((0, 3))),
        ("scalar", np.float64(2.5)), ("zero-d", np.array(7, dtype=np.int64)),
        ("big-endian", np.arange(3, dtype=">f8")), ("strided", np.arange(12.0).reshape(3, 4)[:, ::2]),
    ])
    path = tmp_path / "state.safetensors"
    save(state, path)
    back = load(path)
    assert list(back) == list(state)
    assert np.array_equal(back["weights"].numpy(), [[1.0, 2.0]]) and back["step"] == 3
    assert np.isnan(back["nan"]) and back["inf"] == -np.inf and back["big"] == 2 ** 127 + 1
    assert back["tuple"] == (0.9, 0.999) and isinstance(back["tuple"], tuple)
    assert list(back["ints"]) == [0, 1] and back["ints"][1] is None and back["ints"][0]["m"].shape == (2,)
    assert back["at keys"] == {"@tensor": "not a tag", "plain": [1, "two", True, None]}
    assert back["empty"].shape == (0, 3) and back["scalar"] == 2.5 and back["zero-d"].shape == ()
    assert np.array_equal(back["big-endian"].numpy(), [0.0, 1.0, 2.0])
    assert np.array_equal(back["strided"].numpy(), np.arange(12.0).reshape(3, 4)[:, ::2])


def test_model_files_stay_loadable_by_safetensors_and_torch(tmp_path, torch):
    from safetensors.torch import load_file
    model = relulab.nn.Linear(3, 2)
    save(model.state_dict(), tmp_path / "m.safetensors")
    loaded = load_file(str(tmp_path / "m.safetensors"))
    assert set(loaded) == {"weight", "bias"}
    assert np.array_equal(loaded["weight"].numpy(), model.weight.detach().numpy())
    # and relulab reads PyTorch's files (a flat dict of tensors)
    from safetensors.torch import save_file
    save_file({"w": torch.arange(4.0)}, str(tmp_path / "t.safetensors"))
    assert np.array_equal(load(tmp_path / "t.safetensors")["w"].numpy(), np.arange(4.0, dtype=np.float32))


def test_files_of_the_older_tree_format_still_load(tmp_path):
    old = {"dict": [["a", {"value": 1}], ["t", {"tensor": "t"}], ["p", {"tuple": [{"value": 0.5}]}]]}
    header = {"__metadata__": {"relulab.tree": json.dumps(old)},
              "t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    (tmp_path / "old.safetensors").write_bytes(_file(header, np.ones(2, "<f4").tobytes()))
    back = load(tmp_path / "old.safetensors")
    assert back["a"] == 1 and back["p"] == (0.5,) and np.array_equal(back["t"].numpy(), [1.0, 1.0])


DTYPE_CASES = ["BF16", "F8_E4M3", "F8_E5M2", "F4"]


@pytest.mark.parametrize("dtype", DTYPE_CASES)
def test_dtypes_numpy_cannot_hold_are_named(tmp_path, dtype):
    path = tmp_path / "low.safetensors"
    path.write_bytes(_file({"w": {"dtype": dtype, "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4))
    with pytest.raises(CheckpointError, match=rf"{path}: tensor 'w' has dtype {dtype}, which NumPy .* cannot hold"):
        load(path)


def test_torch_bfloat16_file_is_refused_clearly(tmp_path, torch):
    from safetensors.torch import save_file
    save_file({"w": torch.ones(3, dtype=torch.bfloat16)}, str(tmp_path / "bf16.safetensors"))
    with pytest.raises(CheckpointError, match=r"bf16.safetensors: tensor 'w' has dtype BF16"):
        load(tmp_path / "bf16.safetensors")


MALFORMED = {
    "empty": (b"", r"0 bytes, too short"),
    "short size": (b"\x01\x02", r"too short for a header"),
    "header past the end": (struct.pack("<Q", 10 ** 9) + b"{}", r"its header claims 1000000000 bytes"),
    "binary header": (_file(b"\xff\xfe{"), r"header is not UTF-8"),
    "not JSON": (_file("{not json"), r"header is not valid JSON"),
    "JSON list": (_file("[1, 2]"), r"header is a JSON list, not an object"),
    "deep JSON": (_file("[" * 100000 + "]" * 100000), r"(not valid JSON|RecursionError)"),
    "metadata list": (_file({"__metadata__": [1]}), r"__metadata__ must map strings to strings"),
    "metadata number": (_file({"__metadata__": {"k": 1}}), r"__metadata__ must map strings to strings"),
    "entry not object": (_file({"w": [1]}), r"tensor 'w' is corrupt: expected an object"),
    "entry missing keys": (_file({"w": {"dtype": "F32"}}), r"expected an object with dtype, shape and data_offsets"),
    "unknown dtype": (_file({"w": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
                      r"unknown dtype 'Q7'"),
    "negative shape": (_file({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4),
                       r"shape \[-1\] is not a list of sizes"),
    "bool shape": (_file({"w": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, b"\0" * 4),
                   r"shape \[True\]"),
    "offsets reversed": (_file({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, b"\0" * 4),
                         r"data_offsets \[4, 0\]"),
    "size mismatch": (_file({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4),
                      r"needs 8 bytes, its range has 4"),
    "past the data": (_file({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4),
                      r"tensors cover 8 bytes of data, the file holds 4"),
    "huge shape": (_file({"w": {"dtype": "F64", "shape": [2 ** 62, 2 ** 62], "data_offsets": [0, 8]}}, b"\0" * 8),
                   r"needs \d+ bytes"),
    "overlap": (_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                       "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 8), r"overlaps another"),
    "gap": (_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8), r"leaves a gap"),
    "tree not JSON": (_tree_file("{oops"), r"structure metadata is not valid JSON"),
    "tree deep": (_tree_file("[" * 50000 + "]" * 50000), r"(nested deeper than 64|not valid JSON)"),
    "tree two tags": (_tree_file({"@tensor": "w", "@tuple": []}), r"a tagged node .* has more than one key"),
    "tree unknown tag": (_tree_file({"@set": [1]}), r"unknown tag '@set'"),
    "tree missing tensor": (_tree_file({"@tensor": "nope"}), r"names tensor 'nope', which it does not hold"),
    "tree tensor not str": (_tree_file({"@tensor": 3}), r"names tensor 3"),
    "tree dict not pairs": (_tree_file({"@dict": [[1, 2, 3]]}), r"not a \[key, node\] pair"),
    "tree dict not list": (_tree_file({"@dict": 5}), r"a dict node holds 5, not a list"),
    "tree tuple not list": (_tree_file({"@tuple": {"a": 1}}), r"a tuple node holds"),
    "old tree bad node": (_file({"__metadata__": {"relulab.tree": json.dumps({"dict": 1, "list": 2})}}),
                          r"not a one-key object"),
    "old tree no pairs": (_file({"__metadata__": {"relulab.tree": json.dumps({"dict": [[1]]})}}),
                          r"not a \[key, node\] pair"),
    "old tree bad value": (_file({"__metadata__": {"relulab.tree": json.dumps({"value": {"x": 1}})}}),
                           r"a value node holds"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_files_are_clear_errors_naming_the_file(tmp_path, case):
    raw, pattern = MALFORMED[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(raw)
    with pytest.raises(CheckpointError, match=pattern) as info:
        load(path)
    assert str(path) in str(info.value)


def test_damage_is_caught_by_the_crc(tmp_path):
    path = tmp_path / "m.safetensors"
    save({"w": np.arange(64.0), "note": "x"}, path)
    raw = path.read_bytes()
    for position in (12, len(raw) // 2, len(raw) - 1):  # the header, the tree, the data
        damaged = bytearray(raw)
        damaged[position] ^= 0x01
        path.write_bytes(bytes(damaged))
        with pytest.raises(CheckpointError, match=str(path)):
            load(path)
    path.write_bytes(raw[:-8])  # cut short
    with pytest.raises(CheckpointError, match=r"corrupt or was cut short"):
        load(path)
    assert loads(raw)[0]["note"] == "x"


def test_things_that_are_not_files(tmp_path):
    with pytest.raises(CheckpointError, match=rf"{tmp_path} is a folder, not a checkpoint file"):
        load(tmp_path)
    with pytest.raises(CheckpointError, match=r"/dev/null is not a regular file"):
        load("/dev/null")
    with pytest.raises(FileNotFoundError, match=r"no checkpoint at"):
        load(tmp_path / "missing.safetensors")


def test_save_refuses_what_it_cannot_store(tmp_path):
    with pytest.raises(TypeError, match=r"cannot store a set at 'a'"):
        save({"a": {1, 2}}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match=r"has dtype complex128, which a checkpoint cannot hold"):
        save({"c": np.zeros(2, dtype=complex)}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match=r"dict key \(1, 2\)"):
        save({(1, 2): 3}, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_padding_keeps_a_valid_file():
    small = dumps({"w": np.arange(3.0)})
    padded = dumps({"w": np.arange(3.0)}, pad_to=len(small) + 64)
    assert len(padded) == len(small) + 64 and np.array_equal(loads(padded)[0]["w"].numpy(), np.arange(3.0))
    from safetensors.numpy import load as safetensors_load
    assert np.array_equal(safetensors_load(padded)["w"], np.arange(3.0))


def test_run_commands_report_damaged_checkpoints_in_one_line(tmp_path, capsys):
    data = write_csv(tmp_path)
    run = train(config(data, epochs=2), out_dir=tmp_path / "runs", verbose=False)
    for slot in run.commits.paths:
        slot.write_bytes(b"\0" * 40)
    for command in (["evaluate", str(run.path)], ["resume", str(run.path)]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "no complete checkpoint" in err and "commit-0.safetensors" in err and "Traceback" not in err


def test_a_checkpoint_that_does_not_fit_the_config_names_the_file(tmp_path):
    data = write_csv(tmp_path)
    run = train(config(data, epochs=2), out_dir=tmp_path / "runs", verbose=False)
    config_path = run.path / "config.json"
    stored = json.loads(config_path.read_text())
    stored["model"]["layers"] = ["Linear(5)", "ReLU", "Linear(1)"]
    config_path.write_text(json.dumps(stored))
    for action in (lambda: relulab.train.resume(run.path, epochs=3, verbose=False), lambda: evaluate_run(run.path)):
        with pytest.raises(ConfigError, match=r"config.json was edited after training began"):
            action()
    # A commit without the record of what it was trained on (an older relulab's) fails when restored, clearly.
    commit = run.latest()
    run.commits.write({k: v for k, v in commit.items() if k != "identity"}, commit.epoch)
    run.commits.close()
    with pytest.raises(CheckpointError, match=r"commit-\d.safetensors: does not fit this run's config"):
        relulab.train.resume(run.path, epochs=3, verbose=False)
    with pytest.raises(CheckpointError, match=r"the best checkpoint does not fit the model of its config"):
        evaluate_run(run.path)
    assert RunDirectory.open(run.path).latest().epoch == 2


def test_resume_refuses_changed_data(tmp_path):
    data = write_csv(tmp_path)
    run = train(config(data, epochs=2), out_dir=tmp_path / "runs", verbose=False)
    write_csv(tmp_path, seed=1)  # same file, other rows
    with pytest.raises(ConfigError, match=r"data.csv has changed since .* was trained on it"):
        relulab.train.resume(run.path, epochs=3, verbose=False)
    assert json.loads((run.path / "config.json").read_text())["epochs"] == 2


def test_one_process_at_a_time_trains_a_run(tmp_path):
    data = write_csv(tmp_path)
    run = train(config(data, epochs=2), out_dir=tmp_path / "runs", verbose=False)
    holder = RunDirectory.open(run.path)
    holder.lock()
    try:
        with pytest.raises(OSError, match=r"is being trained by another process"):
            relulab.train.resume(run.path, epochs=3, verbose=False)
    finally:
        holder.close()
    relulab.train.resume(run.path, epochs=3, verbose=False)
    assert run.latest().epoch == 3


@pytest.mark.parametrize("change, message", [
    (lambda c: c.pop("optimizer"), r"not a training checkpoint: it has no 'optimizer'"),
    (lambda c: c.update(epoch="7"), r"its 'epoch' is str '7', not int"),
    (lambda c: c.update(best_epoch=99), r"its best epoch 99 is not between 0 and its epoch 2"),
    (lambda c: c.update(model={"0.weight": 3.0}), r"'model.0.weight' is not a tensor"),
    (lambda c: c.update(rng=None), r"its 'rng' is NoneType"),
])
def test_commits_are_checked_against_the_checkpoint_schema(tmp_path, capsys, change, message):
    data = write_csv(tmp_path)
    run = train(config(data, epochs=2), out_dir=tmp_path / "runs", verbose=False)
    commit = dict(run.latest())
    change(commit)
    run.commits.write(commit, 2)
    run.commits.close()
    with pytest.raises(CheckpointError, match=message):
        run.load_checkpoint("best")
    assert main(["evaluate", str(run.path)]) == 2
    err = capsys.readouterr().err
    assert "commit-" in err and "Traceback" not in err
