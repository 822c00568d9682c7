"""``relulab sweep``: the search space, local sweeps (grid × folds × seeds), resume after an interruption, a failing
trial, the same numbers for any worker count, and the same trials on a real local Ray cluster."""
import csv
import json
import os
import shutil
import socket
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

from relulab.cli import main
from relulab.sweep import run_sweep
from relulab.sweep.space import override, parse_distribution, parse_grid, parse_random, trials
from relulab.sweep.trial import TrialRecord
from relulab.train.config import ConfigError, parse_override

CONFIG = """name = "tiny"
seed = 0
epochs = 3
batch_size = 16

[data]
kind = "csv"
path = "data.csv"
valid_fraction = 0.25

[model]
layers = ["Linear(8)", "ReLU", "Linear(1)"]

[optimizer]
name = "SGD"
lr = 0.01
"""


@pytest.fixture
def config(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3))
    y = x @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=64)
    lines = ["id,a,b,c,target"] + [f"{i},{a:.6f},{b:.6f},{c:.6f},{t:.6f}" for i, (a, b, c), t in zip(range(64), x, y)]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    path = tmp_path / "tiny.toml"
    path.write_text(CONFIG)
    return path


# --------------------------------------------------------------------------------------------- the space
def test_grid_and_random_space():
    axes = parse_grid(["optimizer.lr=1e-3,1e-2", 'model.layers=["Linear(1)"],["Linear(4)","ReLU","Linear(1)"]'])
    assert axes[0] == ("optimizer.lr", [1e-3, 1e-2])
    assert axes[1][1] == [["Linear(1)"], ["Linear(4)", "ReLU", "Linear(1)"]]
    assert len(trials(axes)) == 4
    count, keys = parse_random(["3", "optimizer.lr=loguniform(1e-4,1e-1)", "batch_size=choice(8,16)"])
    drawn = trials(axes[1:], count, keys, seed=0)  # 2 grid points × 3 draws
    assert len(drawn) == 6 and drawn == trials(axes[1:], count, keys, seed=0)  # seeded: a re-run lists the same
    assert all(1e-4 <= t["optimizer.lr"] <= 1e-1 and t["batch_size"] in (8, 16) for t in drawn)
    assert len({t["optimizer.lr"] for t in drawn}) == 6


@pytest.mark.parametrize("bad,match", [
    (lambda: parse_grid(["optimizer.lr"]), "key=v1"),
    (lambda: parse_grid(["a=1", "a=2"]), "twice"),
    (lambda: parse_random(["x", "a=uniform(0,1)"]), "N first"),
    (lambda: parse_random(["0", "a=uniform(0,1)"]), "positive"),
    (lambda: parse_random(["2"]), "at least one"),
    (lambda: parse_distribution("a", "normal(0,1)"), "loguniform"),
    (lambda: parse_distribution("a", "loguniform(0,1)"), "0 < low"),
    (lambda: parse_distribution("a", "uniform(2,1)"), "low < high"),
    (lambda: trials([("a", [1])], 1, [("a", parse_distribution("a", "uniform(0,1)"))]), "both"),
])
def test_bad_space_is_a_clear_error(bad, match):
    with pytest.raises(ConfigError, match=match):
        bad()


@given(st.one_of(st.integers(-10 ** 6, 10 ** 6), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                 st.text(alphabet="abcxyz_()0123456789 .", max_size=12),
                 st.lists(st.text(alphabet="abcLinear()0123456789", max_size=10), max_size=3)))
def test_override_round_trips_through_set(value):
    _, back = parse_override(override("k", value))
    assert back == value and type(back) is type(value)


# ------------------------------------------------------------------------------------------- local sweeps
def _rows(directory):
    with open(directory / "results.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_grid_with_folds_and_seeds(config, tmp_path, capsys):
    result = run_sweep(str(config), grid=["optimizer.lr=0.001,0.05"], folds=2, seeds=2, workers=1,
                       out=str(tmp_path / "sweeps"), progress=None)
    assert [r.status for r in result.records] == ["ok", "ok"]
    assert all(len(r.scores) == 4 for r in result.records)  # 2 folds × 2 seeds
    assert result.mode == "min" and result.best.mean == min(r.mean for r in result.records)
    rows = _rows(result.directory)
    assert [row["optimizer.lr"] for row in rows] == ["0.001", "0.05"]
    assert {"mean", "std", "seconds", "status", "error"} <= set(rows[0])
    text = (result.directory / "results.md").read_text()
    assert "best trial: " + result.best.trial in text and "never on the test set" in text
    assert (result.directory / "metric-vs-keys.png").read_bytes()[:4] == b"\x89PNG"
    # each seed's run is a normal run directory: evaluate works on it
    run_dir = result.directory / "trial-001" / "seed-1"
    assert main(["evaluate", str(run_dir), "--checkpoint", "last"]) == 0
    assert "valid: loss" in capsys.readouterr().out


def test_same_numbers_whatever_the_worker_count(config, tmp_path):
    kwargs = dict(grid=["optimizer.lr=0.001,0.01,0.05"], progress=None)
    one = run_sweep(str(config), workers=1, out=str(tmp_path / "one"), **kwargs)
    two = run_sweep(str(config), workers=2, out=str(tmp_path / "two"), **kwargs)
    assert [r.scores for r in one.records] == [r.scores for r in two.records]


def test_failing_trial_is_recorded_and_the_sweep_goes_on(config, tmp_path, monkeypatch):
    import relulab.train as train_module
    real = train_module.train

    def flaky(config, **kwargs):
        if config["optimizer"]["lr"] == 0.02:
            raise RuntimeError("disk on fire")
        return real(config, **kwargs)

    monkeypatch.setattr(train_module, "train", flaky)
    result = run_sweep(str(config), grid=["optimizer.lr=0.01,0.02,0.03"], workers=1, out=str(tmp_path / "s"),
                       progress=None)
    assert [r.status for r in result.records] == ["ok", "failed", "ok"]
    assert "disk on fire" in result.records[1].error
    assert "disk on fire" in (result.directory / "results.md").read_text()
    assert result.best.trial != "trial-001"


def test_rerun_skips_finished_trials_and_reruns_interrupted_ones(config, tmp_path, monkeypatch):
    import relulab.sweep as sweep_module
    out = str(tmp_path / "s")
    grid = ["optimizer.lr=0.01,0.02,0.03"]
    real = sweep_module.run_trial
    calls = []

    def interrupt_second(spec, report=None):
        calls.append(spec.index)
        if spec.index == 1:
            (tmp_path / "s" / "tiny" / "trial-001").mkdir(parents=True, exist_ok=True)
            TrialRecord("trial-001", 1, spec.params, "running", spec.metric).save(spec.directory)
            raise KeyboardInterrupt
        return real(spec, report)

    monkeypatch.setattr(sweep_module, "run_trial", interrupt_second)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(str(config), grid=grid, workers=1, out=out, progress=None)
    rows = _rows(tmp_path / "s" / "tiny")
    assert [row["status"] for row in rows] == ["ok"]  # the finished trial is kept

    monkeypatch.setattr(sweep_module, "run_trial", real)
    finished_before = (tmp_path / "s" / "tiny" / "trial-000" / "trial.json").read_text()
    result = run_sweep(str(config), grid=grid, workers=1, out=out, progress=None)
    assert result.ran == 2 and [r.status for r in result.records] == ["ok", "ok", "ok"]
    assert (tmp_path / "s" / "tiny" / "trial-000" / "trial.json").read_text() == finished_before
    with pytest.raises(ConfigError, match="different sweep"):
        run_sweep(str(config), grid=["optimizer.lr=0.5"], workers=1, out=out, progress=None)


def test_killed_sweep_resumes(config, tmp_path):
    """A real kill -9 in the middle of a sweep: the finished trials stay finished, the rest run on re-run."""
    out = tmp_path / "s"
    args = [sys.executable, "-m", "relulab.cli", "sweep", str(config), "--grid", "optimizer.lr=0.01,0.02,0.03,0.04",
            "--set", "epochs=40", "--workers", "1", "--out", str(out)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        if "trial-000 ok" in line:
            process.kill()
            break
    process.wait()
    done = [TrialRecord.load(d) for d in sorted((out / "tiny").glob("trial-*"))]
    assert done[0].status == "ok" and all(r.status == "running" for r in done[1:])
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "1 already finished, 3 to run" in rerun.stdout
    assert [row["status"] for row in _rows(out / "tiny")] == ["ok"] * 4


def test_cli_errors_are_one_line(config, tmp_path, capsys):
    assert main(["sweep", str(config), "--grid", "optimizer.lr", "--out", str(tmp_path)]) != 0
    assert "key=v1" in capsys.readouterr().err
    assert main(["sweep", str(config), "--grid", "optimizer.lrr=0.1", "--out", str(tmp_path)]) != 0
    assert "did you mean" in capsys.readouterr().err
    assert not any(tmp_path.glob("*/sweep.json"))  # nothing written before everything was checked
    assert main(["sweep", str(config), "--grid", "optimizer.lr=0.1", "--scheduler", "asha",
                 "--out", str(tmp_path)]) != 0
    assert "needs --ray" in capsys.readouterr().err


def test_ray_missing_says_how_to_install(config, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as without the extra
    assert main(["sweep", str(config), "--grid", "optimizer.lr=0.1", "--ray", "auto", "--out", str(tmp_path)]) != 0
    assert 'pip install -e ".[ray]"' in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------- Ray
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A real Ray head on 127.0.0.1 only (Ray otherwise advertises the machine's network address)."""
    import importlib.util
    if importlib.util.find_spec("ray") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail('the Ray test needs the ray extra under CI=true: pip install -e ".[ray]"')
        pytest.skip("ray is not installed")
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
    port = _free_port()
    temp = tmp_path_factory.mktemp("ray")
    ray_bin = shutil.which("ray") or os.path.join(os.path.dirname(sys.executable), "ray")
    start = subprocess.run([ray_bin, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
                            "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
                            f"--temp-dir={temp}"], env=env, capture_output=True, text=True, timeout=180)
    assert start.returncode == 0, start.stdout + start.stderr
    old = {k: os.environ.get(k) for k in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_USAGE_STATS_ENABLED")}
    os.environ.update({"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"})
    try:
        yield f"127.0.0.1:{port}"
    finally:
        import ray
        ray.shutdown()
        subprocess.run([ray_bin, "stop", "--force"], env=env, capture_output=True, timeout=120)
        for key, value in old.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)


def test_ray_tune_runs_the_same_trials_as_the_local_pool(config, tmp_path, ray_cluster):
    kwargs = dict(grid=["optimizer.lr=0.001,0.05"], folds=2, progress=None)
    local = run_sweep(str(config), workers=2, out=str(tmp_path / "local"), **kwargs)
    remote = run_sweep(str(config), workers=2, out=str(tmp_path / "ray"), ray=ray_cluster, **kwargs)
    assert [r.status for r in remote.records] == ["ok", "ok"]
    assert [r.scores for r in remote.records] == [r.scores for r in local.records]
    assert _rows(tmp_path / "ray" / "tiny")[0]["mean"] == _rows(tmp_path / "local" / "tiny")[0]["mean"]
    asha = run_sweep(str(config), grid=["optimizer.lr=0.0001,0.01,0.05"], workers=2, out=str(tmp_path / "asha"),
                     ray=ray_cluster, scheduler="asha", progress=None, overrides=["epochs=5"])
    assert {r.status for r in asha.records} <= {"ok", "stopped"} and asha.best is not None


def test_study_on_ray_equals_local(ray_cluster):
    from relulab.analysis import minimum_ratio_study
    local = minimum_ratio_study(nets=2, train_steps=100, polish_steps=5, newton_steps=2)
    remote = minimum_ratio_study(nets=2, train_steps=100, polish_steps=5, newton_steps=2, ray=ray_cluster)
    assert [p.search.gradient_norm for p in local.points] == [p.search.gradient_norm for p in remote.points]


def test_cv_folds_in_parallel_equal_serial(config, capsys):
    from relulab.train import cross_validate, load_config
    cfg = load_config(str(config))
    serial = cross_validate(cfg, folds=3, verbose=False, workers=1)
    parallel = cross_validate(cfg, folds=3, verbose=False, workers=2)
    assert serial == parallel
    assert main(["cv", str(config), "--folds", "3", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert all(f"fold {k}/3" in out for k in (1, 2, 3)) and "3-fold CV valid_loss" in out
