"""The shipped example configs reach the accuracies the issues promise (trained end to end, ~15 s)."""
import pytest

from relulab import nn
from relulab.train import evaluate_run, load_config, train
from relulab.train.builders import build_model


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch):
    from pathlib import Path
    monkeypatch.chdir(Path(__file__).resolve().parents[1])


def _test_accuracy(config_path, tmp_path):
    run = train(load_config(config_path), out_dir=tmp_path, verbose=False)
    return evaluate_run(run.path)["test"]["accuracy"]


def test_digits_mlp_reaches_95_percent(tmp_path):
    assert _test_accuracy("examples/digits_mlp.toml", tmp_path) >= 0.95


def test_digits_cnn_reaches_97_percent_with_fewer_parameters(tmp_path):
    cnn = load_config("examples/digits_cnn.toml")
    assert _test_accuracy("examples/digits_cnn.toml", tmp_path) >= 0.97
    cnn_params = nn.parameter_count(build_model(cnn["model"]["layers"], (1, 8, 8)))
    mlp = load_config("examples/digits_mlp.toml")
    assert cnn_params < nn.parameter_count(build_model(mlp["model"]["layers"], 64))
