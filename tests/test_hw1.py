"""HW1 end to end on the course's data (skipped when ../shared is absent): CV target, training, predictions."""
import csv

import numpy as np
import pytest

from relulab.cli import main
from relulab.data import CSVDataset
from relulab.train import cross_validate, load_config

CONFIG = "examples/hw1_covid.toml"


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch):
    from pathlib import Path
    monkeypatch.chdir(Path(__file__).resolve().parents[1])


def test_example_cv_beats_the_target(hw1_train):
    mean, std, scores = cross_validate(load_config(CONFIG), folds=5, verbose=False)
    assert len(scores) == 5
    assert mean <= 1.10, f"5-fold CV MSE {mean:.4f} misses the issue's 1.10 target"


def test_ridge_like_baseline_is_worse(hw1_train):
    ridge = load_config(CONFIG, ["data.columns='all'", "optimizer.weight_decay=1e-3"])
    base_mean, _, _ = cross_validate(ridge, folds=5, verbose=False)
    mean, _, _ = cross_validate(load_config(CONFIG), folds=5, verbose=False)
    assert mean < base_mean


def test_train_then_predict_writes_submission(hw1_train, tmp_path, capsys):
    assert main(["train", CONFIG, "--out", str(tmp_path), "--set", "epochs=50", "--set", "scheduler.T_max=50"]) == 0
    run_dir = next(tmp_path.iterdir())
    test_csv = hw1_train.parent / "covid.test.csv"
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run_dir), "--data", str(test_csv), "--out", str(out)]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["id", "tested_positive"]
    ids = CSVDataset(test_csv, target=None).ids
    assert [int(r[0]) for r in rows[1:]] == list(ids)
    values = np.array([float(r[1]) for r in rows[1:]])
    assert np.all(np.isfinite(values)) and 0 < values.mean() < 40  # tested_positive is a percentage


def test_cv_command_prints_mean_and_std(hw1_train, capsys):
    assert main(["cv", CONFIG, "--folds", "3", "--set", "epochs=100", "--set", "scheduler.T_max=100"]) == 0
    assert "3-fold CV valid_loss:" in capsys.readouterr().out
