"""Lecture 3's tools: receptive fields, parameter sharing, plots, the model zoo and CNN configs."""
import numpy as np
import pytest

import relulab as rl
from relulab import models, nn
from relulab.nn.plot import feature_maps, plot_feature_maps, plot_filters
from relulab.train import load_config
from relulab.train.builders import build_model


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch):
    from pathlib import Path
    monkeypatch.chdir(Path(__file__).resolve().parents[1])


def test_receptive_field_of_lenet():
    fields = nn.receptive_field(models.lenet("mnist"), (1, 28, 28))
    by_layer = [(f.layer, f.rf, f.jump, f.output_shape) for f in fields]
    assert by_layer[0] == ("Conv2d", (5, 5), (1, 1), (6, 28, 28))
    assert by_layer[2] == ("MaxPool2d", (6, 6), (2, 2), (6, 14, 14))
    assert by_layer[3] == ("Conv2d", (14, 14), (2, 2), (16, 10, 10))
    assert by_layer[5] == ("MaxPool2d", (16, 16), (4, 4), (16, 5, 5))
    assert fields[-1].rf == (28, 28)  # after the dense layers every output sees the whole image


def test_receptive_field_with_stride_and_dilation():
    m = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.Conv2d(2, 2, 3, dilation=2))
    fields = nn.receptive_field(m, (1, 20, 20))
    assert fields[0].rf == (3, 3) and fields[0].jump == (2, 2)
    assert fields[1].rf == (3 + 2 * 2 * 2, 3 + 2 * 2 * 2)  # rf += (k-1)·d·jump


def test_parameter_sharing_savings():
    conv = nn.Conv2d(3, 16, 3, padding=1)
    s = nn.parameter_count(conv, (3, 32, 32))
    assert s.conv_params == 16 * 3 * 9 + 16
    assert s.dense_params == (3 * 32 * 32) * (16 * 32 * 32) + 16 * 32 * 32
    assert s.locally_connected_params == (16 * 32 * 32) * (3 * 9) + 16 * 32 * 32
    assert s.conv_params < s.locally_connected_params < s.dense_params and s.ratio > 1e4
    assert nn.parameter_count(models.lenet("digits")) == 6090


@pytest.mark.parametrize("kind", ["digits", "mnist", "cifar"])
def test_zoo_shapes_and_cnn_has_fewer_parameters(kind):
    c, side = models.INPUTS[kind]
    x = rl.randn(2, c, side, side)
    assert models.lenet(kind)(x).shape == (2, 10)
    assert models.mlp(kind, hidden=(64,))(x).shape == (2, 10)
    assert nn.parameter_count(models.lenet(kind)) < nn.parameter_count(models.mlp(kind))
    with pytest.raises(ValueError, match="unknown input kind"):
        models.lenet("imagenet")


def test_plots_write_files(tmp_path):
    m = models.lenet("digits")
    plot_filters(m[0], tmp_path / "filters.png")
    plot_feature_maps(m, rl.randn(1, 8, 8), tmp_path / "maps.png")
    assert (tmp_path / "filters.png").stat().st_size > 1000 and (tmp_path / "maps.png").stat().st_size > 1000
    maps = feature_maps(m, rl.randn(1, 8, 8))
    assert maps["0"].shape == (16, 8, 8) and maps["2"].shape == (16, 4, 4)


def test_config_infers_conv_sizes_without_side_effects():
    layers = ["Conv2d(8, 3, padding=1)", "BatchNorm2d", "ReLU", "Dropout(0.5)", "MaxPool2d(2)", "Flatten",
              "Linear(10)"]
    rl.manual_seed(0)
    m = build_model(layers, (1, 8, 8))
    after_with_dropout = rl.rand(3).numpy()
    rl.manual_seed(0)
    build_model([l for l in layers if not l.startswith("Dropout")], (1, 8, 8))
    after_without = rl.rand(3).numpy()
    assert m[0].in_channels == 1 and m[1].num_features == 8 and m[-1].in_features == 8 * 4 * 4
    assert all(mod.training for mod in m.modules())
    np.testing.assert_array_equal(after_with_dropout, after_without)  # the shape probe drew no dropout noise
    assert int(m[1].num_batches_tracked.item()) == 0  # ... and left batch statistics alone


def test_digits_cnn_example_config_builds():
    config = load_config("examples/digits_cnn.toml")
    model = build_model(config["model"]["layers"], (1, 8, 8))
    assert nn.parameter_count(model) == 6090
