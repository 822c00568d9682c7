"""torchvision subset and SummaryWriter of the facade (issue 13).  torchvision cannot be installed beside
torch 2.13 here, so the transforms are tested against properties and Pillow's own operations."""
import csv
import struct

import numpy as np
import pytest
from PIL import Image, ImageEnhance

import relulab
import relulab.torch as rt
from relulab.torch.vision import datasets, transforms as T


def _image(h=6, w=9, seed=0):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, size=(h, w, 3)).astype(np.uint8))


def test_to_pil_inverts_to_tensor_for_uint8_images():
    img = _image()
    back = T.ToPILImage()(T.ToTensor()(img))
    np.testing.assert_array_equal(np.asarray(back), np.asarray(img))
    assert T.ToPILImage()(relulab.zeros(1, 4, 5)).mode == "L"


def test_rotation_by_zero_is_identity_and_by_90_with_expand_swaps_sides():
    img = _image()
    np.testing.assert_array_equal(np.asarray(T.RandomRotation((0, 0))(img)), np.asarray(img))
    turned = T.RandomRotation((90, 90), expand=True)(img)
    assert turned.size == (img.height, img.width)
    np.testing.assert_array_equal(np.asarray(turned), np.asarray(img.transpose(Image.Transpose.ROTATE_90)))
    x = T.ToTensor()(img)
    assert tuple(T.RandomRotation(15)(x).shape) == tuple(x.shape)


def test_color_jitter_with_fixed_factors_matches_pillow():
    img = _image()
    got = T.ColorJitter(brightness=(1.3, 1.3))(img)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(ImageEnhance.Brightness(img).enhance(1.3)))
    gray = T.ColorJitter(saturation=(0.0, 0.0))(T.ToTensor()(img)).numpy()
    np.testing.assert_allclose(gray[0], gray[1], atol=1e-6)
    x = T.ToTensor()(img)
    np.testing.assert_allclose(T.ColorJitter(hue=(0.0, 0.0))(x).numpy(), x.numpy())
    twice = T.ColorJitter(hue=(0.25, 0.25))(T.ColorJitter(hue=(0.25, 0.25))(x))
    four = T.ColorJitter(hue=(0.5, 0.5))(twice)
    np.testing.assert_allclose(four.numpy(), x.numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="hue values should be between"):
        T.ColorJitter(hue=0.7)


def test_grayscale_and_compose_pipeline():
    img = _image()
    pipe = T.Compose([T.Resize((8, 8), interpolation=T.InterpolationMode.BILINEAR), T.RandomHorizontalFlip(),
                      T.Grayscale(3), T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3), T.Lambda(lambda t: t * 2)])
    out = pipe(img)
    assert tuple(out.shape) == (3, 8, 8)
    np.testing.assert_array_equal(out.numpy()[0], out.numpy()[2])


def test_image_folder_and_dataset_folder(tmp_path):
    for cls, n in (("dog", 2), ("cat", 3)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            _image(seed=i).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    ds = datasets.ImageFolder(tmp_path, transform=T.ToTensor())
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert ds.targets == [0, 0, 0, 1, 1] and len(ds) == 5 and ds.imgs == ds.samples
    x, y = ds[4]
    assert tuple(x.shape) == (3, 6, 9) and y == 1
    assert isinstance(datasets.ImageFolder(tmp_path)[0][0], Image.Image)  # no transform: a Pillow image
    txt = datasets.DatasetFolder(tmp_path, loader=lambda p: open(p).read(), extensions=(".txt",), allow_empty=True)
    assert len(txt) == 1 and txt[0] == ("not an image", 0)
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes dog"):
        datasets.DatasetFolder(tmp_path, loader=open, extensions=(".txt",))
    loader = rt.utils.data.DataLoader(ds, batch_size=2)
    assert tuple(next(iter(loader))[0].shape) == (2, 3, 6, 9)


def _events(folder):
    """(tag, value) pairs of the scalar summaries in a TensorBoard event file (TFRecord framing)."""
    from tensorboardX.proto import event_pb2
    out = []
    for path in folder.rglob("events.out.tfevents.*"):
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            event = event_pb2.Event.FromString(data[pos + 12:pos + 12 + length])
            pos += 12 + length + 4
            for v in event.summary.value:
                out.append((v.tag, v.simple_value if v.HasField("simple_value") else None, event.step))
    return out


def test_summary_writer_event_files(tmp_path):
    pytest.importorskip("tensorboardX")
    with rt.utils.tensorboard.SummaryWriter(tmp_path / "run") as w:
        w.add_scalar("Loss/train", rt.tensor(0.5), 3)
        w.add_scalars("acc", {"train": 0.9, "valid": rt.tensor(0.8)}, 3)
        w.add_histogram("weights", rt.randn(100), 3)
        w.flush()
    scalars = _events(tmp_path / "run")
    assert ("Loss/train", 0.5, 3) in scalars
    assert any(tag == "acc" and abs(v - 0.8) < 1e-6 for tag, v, _ in scalars)
    assert any(tag == "weights" for tag, _, _ in scalars)


def test_summary_writer_csv_without_tensorboardx(tmp_path, monkeypatch, capsys):
    from relulab.torch.utils.tensorboard import writer
    monkeypatch.setenv("RELULAB_TENSORBOARD", "csv")
    monkeypatch.setattr(writer, "_told", False)
    w = writer.SummaryWriter(tmp_path / "a")
    w.add_scalar("loss", rt.tensor(1.25), 1)
    w.add_scalars("acc", {"train": 0.5}, 2)
    w.add_histogram("w", [1.0, 2.0, 4.0], 2)
    w.close()
    writer.SummaryWriter(tmp_path / "b").close()
    assert capsys.readouterr().err.count("writes CSV files") == 1
    rows = list(csv.DictReader(open(tmp_path / "a" / "scalars.csv")))
    assert [(r["tag"], float(r["value"]), r["step"]) for r in rows] == [("loss", 1.25, "1"), ("acc/train", 0.5, "2")]
    hist = list(csv.DictReader(open(tmp_path / "a" / "histograms.csv")))
    assert hist[0]["tag"] == "w" and int(hist[0]["count"]) == 3 and float(hist[0]["max"]) == 4.0
