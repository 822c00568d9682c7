"""The training loop, run directories, exact resume, config checking and the train/evaluate/cv commands."""
import json

import numpy as np
import pytest

import relulab as rl
from relulab import nn
from relulab.cli import main
from relulab.train import (Callback, ConfigError, EarlyStopping, RunDirectory, cross_validate, evaluate, fit,
                           load_config, resolve, resume, train)
from relulab.utils.data import DataLoader, TensorDataset

DIGITS = "examples/digits_mlp.toml"


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch):
    from pathlib import Path
    monkeypatch.chdir(Path(__file__).resolve().parents[1])


def _small(*extra):
    return load_config(DIGITS, ["epochs=4", "scheduler.T_max=4", *extra])


def _weights(run, which="last"):
    return {k: v.numpy() for k, v in run.load_checkpoint(which)["model"].items()}


def test_resume_is_bit_identical(tmp_path):
    whole = train(_small(), out_dir=tmp_path, name="whole", verbose=False)
    half = train(_small("epochs=2"), out_dir=tmp_path, name="half", verbose=False)
    resume(half.path, epochs=4, verbose=False)
    a, b = _weights(whole), _weights(half)
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(whole.history()) == strip(half.history())


def test_run_directory_contents(tmp_path):
    run = train(_small(), out_dir=tmp_path, name="r", verbose=False)
    assert json.loads((run.path / "config.json").read_text())["epochs"] == 4
    assert run.has_checkpoint("best") and run.has_checkpoint("last")
    rows = (run.path / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,lr,train_loss,valid_loss,valid_accuracy") and len(rows) == 5
    assert len(run.history()) == 4
    ckpt = run.load_checkpoint("last")
    assert set(ckpt) >= {"model", "optimizer", "scheduler", "rng", "epoch", "best_epoch"}
    assert "history" not in ckpt  # the history lives in the metrics files, not in every checkpoint
    assert not list(run.path.rglob("*.tmp")) and not list(tmp_path.glob(".*"))  # no temporaries, no staging


def test_interrupted_run_resumes_from_last_complete_checkpoint(tmp_path):
    config = _small()
    whole = train(config, out_dir=tmp_path, name="whole", verbose=False)

    class Interrupt(Callback):
        def on_epoch_end(self, state, record):
            if state.epoch == 2:
                raise KeyboardInterrupt

    from relulab.train import session
    job = session.rebuild_job(config)
    run = RunDirectory.create(tmp_path, "cut", config)
    with pytest.raises(KeyboardInterrupt):
        fit(job.model, job.loss_fn, job.optimizer, job.loaders["train"], 4, valid_loader=job.loaders["valid"],
            scheduler=job.scheduler, run=run, callbacks=[Interrupt()])
    # Interrupted before epoch 2's checkpoint was written: epoch 1's is the last complete one.
    assert run.load_checkpoint("last")["epoch"] == 1
    resume(run.path, verbose=False)
    for key, value in _weights(whole).items():
        assert np.array_equal(value, _weights(run)[key])


def test_bad_config_creates_no_run_directory(tmp_path):
    for override, hint in [("optimizer.lrr=0.1", "did you mean 'lr'"), ("model.layers=['Linaer(3)']", "Linear")]:
        with pytest.raises(ConfigError, match=hint):
            train(load_config(DIGITS, [override]), out_dir=tmp_path, verbose=False)
    assert not any(tmp_path.iterdir())
    with pytest.raises(ConfigError, match=r"data.kindd.*did you mean 'kind'"):
        load_config(DIGITS, ["data.kindd=1"])
    with pytest.raises(ConfigError, match="batch_size"):
        load_config(DIGITS, ["batch_size=0"])
    with pytest.raises(ConfigError, match="unknown config key 'epohcs'; did you mean 'epochs'"):
        resolve({"epohcs": 3})


def test_cli_reports_errors_in_one_line(tmp_path, capsys):
    assert main(["train", DIGITS, "--out", str(tmp_path), "--set", "optimizer.momentun=0.9"]) == 2
    err = capsys.readouterr().err
    assert "optimizer.momentun" in err and "Traceback" not in err


def test_cli_train_and_evaluate(tmp_path, capsys):
    assert main(["train", DIGITS, "--out", str(tmp_path), "--set", "epochs=3", "--set", "scheduler.T_max=3"]) == 0
    run_dir = next(tmp_path.iterdir())
    assert main(["evaluate", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "test: loss" in out and "accuracy" in out


def test_early_stopping_restores_best_weights():
    rl.manual_seed(0)
    x = rl.randn(64, 3)
    y = (x[:, :1] * 2.0).detach()
    xv, yv = rl.randn(32, 3), rl.randn(32, 1) * 5  # unlearnable validation: it stops improving quickly
    model = nn.Linear(3, 1)
    es = EarlyStopping(patience=2)
    seen = {}

    class Keep(Callback):
        def on_epoch_end(self, state, record):
            seen[state.epoch] = {k: v.clone() for k, v in model.state_dict().items()}

    state = fit(model, nn.MSELoss(), rl.optim.SGD(model.parameters(), lr=0.1),
                DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True), 50,
                valid_loader=DataLoader(TensorDataset(xv, yv), batch_size=32), early_stopping=es,
                callbacks=[Keep()])
    assert state.stopped_early and len(state.history) == es.best_epoch + es.patience + 1
    best = seen[es.best_epoch]
    for k, v in model.state_dict().items():
        assert np.array_equal(v.numpy(), best[k].numpy())


def test_scheduler_per_batch_and_grad_clipping():
    rl.manual_seed(0)
    x, y = rl.randn(40, 2), rl.randn(40, 1)
    model = nn.Linear(2, 1)
    opt = rl.optim.SGD(model.parameters(), lr=1.0)
    sched = rl.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=4 * 5, cycle_momentum=False)
    state = fit(model, nn.MSELoss(), opt, DataLoader(TensorDataset(x, y), batch_size=8), 4, scheduler=sched,
                scheduler_interval="batch", clip_grad_norm=0.1)
    assert sched.last_epoch == 20 and len(state.history) == 4


def test_evaluate_metrics():
    model = nn.Linear(1, 1)
    with rl.no_grad():
        model.weight.fill_(2.0)
        model.bias.fill_(0.0)
    x = rl.tensor([[1.0], [2.0]])
    y = rl.tensor([[2.0], [5.0]])
    m = evaluate(model, DataLoader(TensorDataset(x, y), batch_size=1), nn.MSELoss())
    assert m["loss"] == pytest.approx(0.5) and m["mse"] == pytest.approx(0.5) and m["mae"] == pytest.approx(0.5)


def test_cross_validation_on_digits():
    mean, std, scores = cross_validate(_small("epochs=3"), folds=3, verbose=False)
    assert len(scores) == 3 and 0.85 < mean <= 1.0 and std >= 0
