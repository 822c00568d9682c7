"""torch.load / torch.save of real PyTorch files (issue 13).  Real torch writes the files here (zip and legacy
formats; tensors, state_dicts, views, nested containers) and reads what relulab writes with weights_only=True.
Pickles that try to run code are refused with an error naming the file and the global, and run nothing."""
import collections
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

import relulab
import relulab.torch as rt


def _same(got, want):
    """relulab value vs the torch value it was loaded from (recursively)."""
    import torch
    if isinstance(want, torch.Tensor):
        assert isinstance(got, relulab.Tensor), type(got)
        w = want.detach().float() if want.dtype == torch.bfloat16 else want.detach()
        assert tuple(got.shape) == tuple(w.shape)
        np.testing.assert_array_equal(got.numpy() if not got.requires_grad else got.detach().numpy(), w.numpy())
        assert got.requires_grad == want.requires_grad
    elif isinstance(want, dict):
        assert type(got) is type(want) and list(got) == list(want)
        for k in want:
            _same(got[k], want[k])
    elif isinstance(want, (list, tuple)) and not isinstance(want, torch.Size):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w)
    elif isinstance(want, torch.dtype):
        assert got == np.dtype(str(want).split(".")[1])
    else:
        assert got == want and type(got) is type(want) or tuple(got) == tuple(want)


def _checkpoint(torch):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(5, 3)).sum().backward()
    opt.step()
    base = torch.arange(24.0).reshape(4, 6)
    return {
        "model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 7, "best": 0.125, "name": "hw3",
        "flags": [True, False, None], "shape": torch.Size([2, 3]), "dtype": torch.float64, "big": 2 ** 40,
        "views": (base[1:3, 2:5], base.t(), base[:, 1]), "scalar": torch.tensor(3.5), "ints": torch.arange(5),
        "half": torch.ones(3, dtype=torch.float16), "bf16": torch.tensor([1.5, -2.0], dtype=torch.bfloat16),
        "bools": torch.tensor([True, False]), "empty": torch.zeros(0, 3), "grad": torch.ones(2, requires_grad=True),
        "nested": {"a": [{"b": torch.eye(2)}], 3: "int key"},
    }


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
@pytest.mark.parametrize("suffix", [".pt", ".pth", ".ckpt"])
def test_load_files_written_by_torch(torch, tmp_path, zip_format, suffix):
    torch.manual_seed(0)
    obj = _checkpoint(torch)
    path = tmp_path / f"checkpoint{suffix}"
    torch.save(obj, path, _use_new_zipfile_serialization=zip_format)
    got = rt.load(path, map_location="cpu")
    _same(got, obj)
    with open(path, "rb") as handle:  # a file object works too
        _same(rt.load(handle), obj)


def test_a_loaded_state_dict_drives_the_same_model(torch, tmp_path):
    torch.manual_seed(1)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    torch.save(tm.state_dict(), tmp_path / "m.pth")
    rm = rt.nn.Sequential(rt.nn.Linear(3, 5), rt.nn.ReLU(), rt.nn.Linear(5, 2))
    rm.load_state_dict(rt.load(tmp_path / "m.pth"))
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(rm(rt.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-7)


def test_torch_loads_what_relulab_saves_with_weights_only(torch, tmp_path):
    rl_model = rt.nn.Sequential(rt.nn.Linear(3, 4), rt.nn.BatchNorm1d(4))
    obj = {"model": rl_model.state_dict(), "epoch": 2, "loss": 0.5, "tags": ("a", None, True), "big": -2 ** 70,
           "t": rt.arange(6.0).reshape(2, 3).t(), "zero_d": rt.tensor(7), "f64": rt.ones(2, dtype=rt.float64),
           "u8": rt.tensor([1, 255], dtype=rt.uint8), "dtype": rt.int64, "size": rt.Size([3]), "empty": rt.zeros(0)}
    rt.save(obj, tmp_path / "out.pt")
    back = torch.load(tmp_path / "out.pt", weights_only=True)
    assert list(back) == list(obj) and back["epoch"] == 2 and back["tags"] == ("a", None, True)
    assert back["big"] == -2 ** 70 and back["dtype"] == torch.int64 and back["size"] == torch.Size([3])
    assert isinstance(back["model"], collections.OrderedDict)
    for key, value in obj["model"].items():
        np.testing.assert_array_equal(back["model"][key].numpy(), value.numpy())
    np.testing.assert_array_equal(back["t"].numpy(), obj["t"].numpy())
    assert back["zero_d"].shape == () and back["zero_d"].item() == 7 and back["u8"].dtype == torch.uint8
    assert back["f64"].dtype == torch.float64 and back["empty"].shape == (0,)
    buffer = io.BytesIO()
    rt.save([rt.ones(2)], buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True)[0].tolist() == [1.0, 1.0]
    again = rt.load(tmp_path / "out.pt")  # and relulab reads its own files back
    np.testing.assert_array_equal(again["t"].numpy(), obj["t"].numpy())


def test_storages_are_aligned_and_the_file_is_written_atomically(tmp_path):
    rt.save({"w": rt.ones(5)}, tmp_path / "a.pt")
    with zipfile.ZipFile(tmp_path / "a.pt") as archive:
        info = archive.getinfo("a/data/0")
        with open(tmp_path / "a.pt", "rb") as f:
            f.seek(info.header_offset + 26)
            name_len, extra_len = np.frombuffer(f.read(4), dtype="<u2")
        assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0
    assert sorted(os.listdir(tmp_path)) == ["a.pt"]


def test_save_refuses_what_is_not_data(tmp_path):
    with pytest.raises(TypeError, match="whole Linear module"):
        rt.save(rt.nn.Linear(2, 2), tmp_path / "m.pt")
    with pytest.raises(TypeError, match="cannot store a object at 'x'"):
        rt.save({"x": object()}, tmp_path / "o.pt")
    assert not (tmp_path / "m.pt").exists() and not (tmp_path / "o.pt").exists()


def test_relulab_save_stays_safetensors(tmp_path):
    relulab.save({"w": relulab.ones(2)}, tmp_path / "w.safetensors")
    assert not zipfile.is_zipfile(tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match="not a PyTorch checkpoint"):
        rt.load(tmp_path / "w.safetensors")


# ---------------------------------------------------------------------------------------------- hostile files
class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _zip_with_pickle(path, payload):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
        archive.writestr("archive/byteorder", "little")


def test_a_pickle_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    _zip_with_pickle(evil, pickle.dumps({"w": _RunsCode(marker)}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=r"evil\.pt asks to load the global posix\.system"):
        rt.load(evil)
    assert not marker.exists()


def test_a_legacy_pickle_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "legacy.pth"
    with open(evil, "wb") as f:
        for part in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}, _RunsCode(marker)):
            pickle.dump(part, f, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match=r"legacy\.pth asks to load the global posix\.system"):
        rt.load(evil)
    assert not marker.exists()


def test_a_whole_pickled_module_is_refused_with_its_class(torch, tmp_path):
    torch.save(torch.nn.Linear(2, 2), tmp_path / "model.pt")
    with pytest.raises(pickle.UnpicklingError, match=r"model\.pt asks to load the global torch\.nn\.modules"):
        rt.load(tmp_path / "model.pt")


def test_out_of_bounds_strides_are_refused(torch, tmp_path):
    torch.save({"w": torch.zeros(4)}, tmp_path / "w.pt")
    with zipfile.ZipFile(tmp_path / "w.pt") as archive:
        records = {n: archive.read(n) for n in archive.namelist()}
    name = next(n for n in records if n.endswith("data.pkl"))
    records[name] = records[name].replace(b"K\x04\x85", b"K\x40\x85", 1)  # size (4,) -> (64,)
    with zipfile.ZipFile(tmp_path / "bad.pt", "w") as archive:
        for n, data in records.items():
            archive.writestr(n, data)
    with pytest.raises(ValueError, match="past the end of its storage"):
        rt.load(tmp_path / "bad.pt")


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "t.txt").write_text("hello")
    with pytest.raises(ValueError, match="not a PyTorch checkpoint"):
        rt.load(tmp_path / "t.txt")
    with pytest.raises(FileNotFoundError, match="no file at"):
        rt.load(tmp_path / "missing.pt")
