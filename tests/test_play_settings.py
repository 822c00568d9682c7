"""relulab play without a server: settings validation, the data sets, and the export that `relulab train` runs."""
import math

import numpy as np
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from relulab.cli import build_parser, main
from relulab.data import CSVDataset
from relulab.play import datasets, export
from relulab.play.engine import Playground
from relulab.play.settings import (CLASSIFICATION_SETS, DATASETS, OPTIMIZERS, SCHEDULES, Limits, SettingsError,
                                   defaults, parameter_count, validate)
from relulab.train import RunDirectory, load_config, resolve


# ------------------------------------------------------------------------------------------------ settings
def test_defaults_are_valid_and_missing_keys_take_them():
    assert validate({}) == defaults()
    assert validate({"data": "xor"})["lr"] == defaults()["lr"]


def test_url_strings_are_coerced_and_checked():
    s = validate({"points": "300", "lr": "0.1", "layers": "3", "data": "spirals"})
    assert (s["points"], s["lr"], s["layers"]) == (300, 0.1, 3)
    assert isinstance(s["points"], int) and isinstance(s["lr"], float)


@pytest.mark.parametrize("given, words", [
    ({"lerning_rate": 0.1}, ["unknown setting 'lerning_rate'"]),
    ({"lrr": 0.1}, ["did you mean 'lr'"]),
    ({"optimizer": "adma"}, ["'optimizer'", "did you mean 'adam'"]),
    ({"lr": 0.0}, ["'lr'", "from 1e-06 to 10"]),
    ({"lr": float("nan")}, ["'lr'"]),
    ({"lr": "1e400"}, ["'lr'"]),
    ({"points": True}, ["'points'", "whole number"]),
    ({"points": 2.5}, ["'points'"]),
    ({"points": "12; import os"}, ["'points'", "whole number"]),
    ({"width": 33}, ["'width'", "from 1 to 32"]),
    ({"data": "__import__('os')"}, ["'data'", "must be one of"]),
    ({"data": "sin", "loss": "cross_entropy"}, ["cross_entropy", "regression"]),
    ({"schedule": "warmup", "warmup": 500, "horizon": 500}, ["'warmup'", "horizon"]),
])
def test_bad_settings_name_the_key(given, words):
    with pytest.raises(SettingsError) as info:
        validate(given)
    for word in words:
        assert word in str(info.value)


def test_settings_must_be_an_object():
    with pytest.raises(SettingsError, match="object"):
        validate(["lr", 0.1])


def test_model_size_limit_counts_every_parameter():
    s = validate({"data": "spirals", "layers": 2, "width": 8})
    assert parameter_count(s) == (2 * 8 + 8) + (8 * 8 + 8) + (8 + 1)
    small = Limits(max_parameters=100)
    with pytest.raises(SettingsError, match="105 parameters.*at most 100"):
        validate({"data": "spirals", "layers": 2, "width": 8}, small)
    assert validate({"data": "spirals", "layers": 2, "width": 7}, small)["width"] == 7  # 2*7+7+56+7+8 = 92


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="max_sessions"):
        Limits(max_sessions=0)
    with pytest.raises(ValueError, match="memory_mb must be at least 64"):
        Limits(memory_mb=10)


def test_play_binds_loopback_by_default():
    args = build_parser().parse_args(["play"])
    assert args.host == "127.0.0.1" and not args.open


# ------------------------------------------------------------------------------------------------ data sets
@pytest.mark.parametrize("kind", CLASSIFICATION_SETS)
def test_classification_sets_are_balanced_seeded_and_2d(kind):
    x, y = datasets.generate(kind, 101, 0.1, seed=3)
    assert x.shape == (101, 2) and y.shape == (101, 1) and x.dtype == np.float64
    assert set(np.unique(y)) == {0.0, 1.0} and int(y.sum()) == 50
    again, _ = datasets.generate(kind, 101, 0.1, seed=3)
    other, _ = datasets.generate(kind, 101, 0.1, seed=4)
    assert np.array_equal(x, again) and not np.array_equal(x, other)


def test_noise_free_sets_follow_their_rule():
    x, y = datasets.generate("xor", 400, 0.0, 0)
    assert np.array_equal(y[:, 0] == 1, x[:, 0] * x[:, 1] > 0)
    assert np.abs(x).min() >= datasets.XOR_MARGIN
    x, y = datasets.generate("circles", 400, 0.0, 0)
    r = np.hypot(x[:, 0], x[:, 1])
    assert r[y[:, 0] == 1].max() <= 0.5 < 0.7 <= r[y[:, 0] == 0].min()
    x, y = datasets.generate("gaussians", 400, 0.0, 0)
    assert x[y[:, 0] == 1].mean(axis=0) @ np.ones(2) > 0.5 > -0.5 > x[y[:, 0] == 0].mean(axis=0) @ np.ones(2)


def test_regression_sets():
    x, y = datasets.generate("sin", 50, 0.0, 0)
    assert np.allclose(y, np.sin(x)) and x.min() == -math.pi and x.max() == math.pi
    _, noisy = datasets.generate("sin", 50, 0.3, 0)
    assert 0.15 < np.std(noisy - np.sin(x)) < 0.45
    x, y = datasets.generate("red_curve", 50, 0.0, 0)
    assert x.shape == y.shape == (50, 1) and y.min() == pytest.approx(0.2)


@pytest.mark.parametrize("kind", ["spirals", "sin"])
def test_csv_reads_back_to_the_same_bits(tmp_path, kind):
    s = validate({"data": kind, "points": 60, "noise": 0.13, "seed": 7, "loss": "mse"})
    path = tmp_path / "d.csv"
    path.write_text(datasets.csv_text(s))
    ds = CSVDataset(path, target=datasets.target_name(kind))
    x, y = datasets.generate(kind, 60, 0.13, 7)
    assert np.array_equal(ds.raw_features(), x)
    assert np.array_equal(ds._parsed.targets, y)
    assert ds.feature_names == datasets.feature_names(kind)


def test_views_needs_no_csv():
    with pytest.raises(ValueError, match="views"):
        datasets.csv_text(validate({"data": "views", "loss": "mse"}))


# ------------------------------------------------------------------------------------------------ export
def test_layers_follow_the_settings():
    s = validate({"data": "xor", "layers": 2, "width": 5, "activation": "relu", "dropout": 0.25, "loss": "mse"})
    assert export.layers(s) == ["Linear(5)", "ReLU", "Dropout(0.25)", "Linear(5)", "ReLU", "Dropout(0.25)",
                                "Linear(1)", "Sigmoid"]
    s = validate({"data": "xor", "layers": 0})
    assert export.layers(s) == ["Linear(1)"] and export.loss_section(s)["name"] == "BCEWithLogitsLoss"


@pytest.mark.parametrize("data", DATASETS)
def test_every_combination_exports_a_config_resolve_accepts(data):
    loss = "cross_entropy" if data in CLASSIFICATION_SETS else "mse"
    for optimizer in OPTIMIZERS:
        for schedule in SCHEDULES:
            s = validate({"data": data, "loss": loss, "optimizer": optimizer, "schedule": schedule,
                          "points": 40, "l2": 1e-4})
            text = export.toml_text(s, steps=25)
            raw = tomllib.loads(text)
            config = resolve(raw)
            assert config["optimizer"]["name"] == export.OPTIMIZER_CLASSES[optimizer]
            assert config["scheduler"]["name"] == ("none" if schedule == "constant" else "warmup_cosine")
            assert config["model"]["layers"] == export.layers(s)


def test_export_epochs_cover_the_steps():
    s = validate({"data": "circles", "points": 100, "valid": 0.2, "batch": 32})  # 80 rows → 3 updates per epoch
    assert tomllib.loads(export.toml_text(s, steps=0))["epochs"] == 1
    assert tomllib.loads(export.toml_text(s, steps=7))["epochs"] == 3
    assert "relulab train play-circles.toml" in export.toml_text(s)


def _write_export(folder, settings, steps):
    toml = folder / f"{export.name(settings)}.toml"
    toml.write_text(export.toml_text(settings, steps=steps))
    if settings["data"] != "views":
        (folder / f"{export.name(settings)}.csv").write_text(datasets.csv_text(settings))
    return toml


@pytest.mark.parametrize("given", [
    {"data": "spirals", "points": 120, "layers": 2, "width": 5, "optimizer": "momentum", "schedule": "warmup",
     "warmup": 5, "horizon": 40, "dropout": 0.1, "l2": 1e-3, "batch": 16, "seed": 4},
    {"data": "views", "layers": 1, "width": 4, "loss": "mse", "optimizer": "rmsprop", "lr": 0.01, "batch": 64},
])
def test_relulab_train_repeats_the_pages_updates(tmp_path, given):
    """The exported config, run by `relulab train`, ends two epochs with the page's weights, bit for bit."""
    s = validate(given)
    page = Playground(s, Limits())
    two_epochs = 2 * len(page.job.loaders["train"])
    page.step(two_epochs)
    assert page.epoch == 2
    toml = _write_export(tmp_path, s, page.steps)
    assert main(["train", str(toml), "--out", str(tmp_path / "runs")]) == 0
    run = RunDirectory.open(tmp_path / "runs" / export.name(s))
    trained = run.load_checkpoint("last")["model"]
    mine = page.job.model.state_dict()
    assert trained.keys() == mine.keys()
    for key in mine:
        assert np.array_equal(trained[key].numpy(), mine[key].numpy()), key
    # the page's epoch records are fit's: the same training and validation losses
    for theirs, ours in zip(run.history(), page.epochs):
        assert theirs["train_loss"] == ours["train_loss"] and theirs["valid_loss"] == ours["valid_loss"]
    assert load_config(toml)["data"]["valid_fraction"] == s["valid"]
