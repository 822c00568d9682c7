"""Run directories survive interruption: one atomic commit per epoch, fault injection at every write point,
a real kill -9, Ctrl-C, cleanup on resume, and the cost of checkpointing staying flat as a run grows."""
import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import relulab.train.commit as commit_module
import relulab.train.run as run_module
from relulab.train import Callback, RunDirectory, evaluate_run, resume, train
from runcheck import assert_same_run, config, write_csv


class Killed(BaseException):
    """Stands for kill -9: nothing in relulab catches it, and the writes are unbuffered, so what is on disk
    when it is raised is what a killed process leaves."""


@pytest.fixture
def data(tmp_path):
    return write_csv(tmp_path)


@pytest.fixture
def every_epoch(monkeypatch):
    """Commit after every epoch, however cheap the epochs (the default groups HW1-sized epochs)."""
    monkeypatch.setattr(RunDirectory, "commit_budget", math.inf)


def _kill_at(monkeypatch, n, mode):
    """Raise Killed at the n-th write of the run (metrics appends and commit writes, in order): before it,
    after it, or after writing only its first half (a torn write)."""
    count = {"n": 0}

    def wrap(real):
        def write(fd, data, *rest):
            count["n"] += 1
            if count["n"] == n:
                if mode == "torn":
                    real(fd, data[: len(data) // 2], *rest)
                elif mode == "after":
                    real(fd, data, *rest)
                raise Killed
            return real(fd, data, *rest)
        return write
    monkeypatch.setattr(run_module, "_append", wrap(run_module._append))
    monkeypatch.setattr(commit_module, "_write_at", wrap(commit_module._write_at))


# Writes per epoch with a commit every epoch: epoch 1 = CSV header, JSONL record, CSV row, commit; later epochs
# = record, row, commit.  Epoch 3's writes are calls 8, 9 and 10.
EPOCH3 = {"record": 8, "row": 9, "commit": 10}
CASES = [("record", "before", 2), ("record", "torn", 2), ("record", "after", 2), ("row", "torn", 2),
         ("row", "after", 2), ("commit", "torn", 2), ("commit", "after", 3)]


@pytest.mark.parametrize("write, mode, committed", CASES, ids=[f"{w}-{m}" for w, m, _ in CASES])
def test_interrupting_any_write_then_resuming_equals_an_uninterrupted_run(tmp_path, data, monkeypatch, every_epoch,
                                                                          write, mode, committed):
    cfg = config(data, train={"early_stopping": {"patience": 3}})
    whole = train(cfg, out_dir=tmp_path / "whole", verbose=False)
    with monkeypatch.context() as patch:
        _kill_at(patch, EPOCH3[write], mode)
        with pytest.raises(Killed):
            train(cfg, out_dir=tmp_path / "cut", verbose=False)
    run = RunDirectory.open(tmp_path / "cut" / "tiny")
    last, best = run.load_checkpoint("last"), run.load_checkpoint("best")
    assert last.epoch == committed
    history = run.history()  # never past the commit, even when the metrics files are ahead of it
    assert [r["epoch"] for r in history] == list(range(1, committed + 1))
    # last and best agree: the best is the lowest validation loss among the committed epochs
    assert best["epoch"] == min(history, key=lambda r: r["valid_loss"])["epoch"] == last["best_epoch"]
    assert evaluate_run(run.path)["valid"]["loss"] == pytest.approx(best["value"], rel=1e-6)
    resume(run.path, verbose=False)
    assert_same_run(whole, run)
    assert not list(run.path.rglob("*.tmp"))


@pytest.mark.parametrize("n, mode", [(1, "before"), (4, "torn")], ids=["header", "first-commit"])
def test_killed_before_the_first_commit_resumes_from_the_start(tmp_path, data, monkeypatch, every_epoch, n, mode):
    cfg = config(data)
    whole = train(cfg, out_dir=tmp_path / "whole", verbose=False)
    with monkeypatch.context() as patch:
        _kill_at(patch, n, mode)
        with pytest.raises(Killed):
            train(cfg, out_dir=tmp_path / "cut", verbose=False)
    run = RunDirectory.open(tmp_path / "cut" / "tiny")
    assert run.latest() is None and run.history() == [] and not run.has_checkpoint("last")
    with pytest.raises(FileNotFoundError, match="no checkpoint yet"):
        evaluate_run(run.path)
    resume(run.path, verbose=False)  # the seeded start is the run's state before its first epoch
    assert_same_run(whole, run)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_diverging_run_says_so(tmp_path, data, capsys):
    train(config(data, epochs=3, optimizer={"name": "SGD", "lr": 1e30}, model={"layers": ["Linear(1)"]}),
          out_dir=tmp_path)
    assert "warning: the training loss is" in capsys.readouterr().err


def test_resume_removes_leftovers_and_truncates_metrics(tmp_path, data, every_epoch):
    cfg = config(data)
    whole = train(cfg, out_dir=tmp_path / "whole", verbose=False)
    run = train(config(data, epochs=3), out_dir=tmp_path / "cut", verbose=False)
    # What a kill can leave: temporaries of atomic writes, a half-written record, a record past the commit.
    (run.path / ".config.json.x1y2.tmp").write_text("{")
    (run.path / "checkpoints" / ".commit.z.tmp").write_bytes(b"\0" * 10)
    with open(run.path / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 4, "lr": 0.1, "train_loss": 1.0}\n{"epoch": 5, "lr"')
    assert [r["epoch"] for r in run.history()] == [1, 2, 3]
    resume(run.path, epochs=6, verbose=False)
    assert not list(run.path.rglob("*.tmp"))
    assert_same_run(whole, run)


def test_a_resume_killed_while_it_cleans_up_can_be_resumed_again(tmp_path, data, monkeypatch, every_epoch):
    whole = train(config(data), out_dir=tmp_path / "whole", verbose=False)
    run = train(config(data, epochs=3), out_dir=tmp_path / "cut", verbose=False)
    with open(run.path / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 4, "lr"')  # a torn record, so that recover rewrites the metrics

    def killed_mid_write(path, data_):
        (path.parent / f".{path.name}.zz.tmp").write_bytes(b"half")  # what the kill leaves
        raise Killed
    with monkeypatch.context() as patch:
        patch.setattr(run_module, "write_atomic", killed_mid_write)
        with pytest.raises(Killed):
            resume(run.path, epochs=6, verbose=False)
    assert json.loads((run.path / "config.json").read_text())["epochs"] == 3
    resume(run.path, epochs=6, verbose=False)
    assert_same_run(whole, run)


def test_one_damaged_slot_falls_back_to_the_previous_commit(tmp_path, data, every_epoch):
    run = train(config(data, epochs=4), out_dir=tmp_path, verbose=False)
    newest = run.latest()
    assert newest.epoch == 4
    raw = bytearray(newest.path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    newest.path.write_bytes(bytes(raw))
    assert run.latest().epoch == 3  # the CRC catches the damage; the older slot is intact
    for slot in run.commits.paths:
        slot.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"no complete checkpoint.*commit-0.safetensors.*commit-1.safetensors"):
        run.latest()


def test_a_real_kill_9_resumes_bit_for_bit(tmp_path, data):
    cfg_path = tmp_path / "tiny.toml"
    cfg_path.write_text(f'name = "tiny"\nseed = 3\nepochs = 150\nbatch_size = 16\n[data]\nkind = "csv"\n'
                        f'path = "{data}"\nvalid_fraction = 0.25\n[model]\nlayers = ["Linear(8)", "ReLU", '
                        f'"Linear(1)"]\n[optimizer]\nname = "Adam"\nlr = 0.01\n')
    out = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-m", "relulab.cli", "train", str(cfg_path), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    metrics = out / "tiny" / "metrics.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and metrics.read_bytes().count(b"\n") >= 20:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.returncode != -signal.SIGKILL:
        pytest.skip(f"the run ended before the kill (exit {proc.returncode}: {proc.stderr.read()[-300:]!r})")
    from relulab.train import load_config
    whole = train(load_config(cfg_path), out_dir=tmp_path / "whole", verbose=False)
    run = RunDirectory.open(out / "tiny")
    assert 1 <= run.latest().epoch < 150
    resume(run.path, verbose=False)
    assert_same_run(whole, run)


def test_ctrl_c_commits_the_epoch_it_interrupts(tmp_path, data, monkeypatch):
    monkeypatch.setattr(RunDirectory, "commit_budget", 0.0)  # commit only the first and the final epoch ...
    signal.signal(signal.SIGINT, signal.default_int_handler)

    class CtrlC(Callback):
        def __init__(self, times):
            self.times = times

        def on_epoch_end(self, state, record):
            if state.epoch == 4:
                for _ in range(self.times):
                    os.kill(os.getpid(), signal.SIGINT)

    cfg = config(data)
    whole = train(cfg, out_dir=tmp_path / "whole", verbose=False)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, out_dir=tmp_path / "cut", verbose=False, callbacks=[CtrlC(1)])
    run = RunDirectory.open(tmp_path / "cut" / "tiny")
    assert run.latest().epoch == 4  # ... but a Ctrl-C lets the epoch end and commits it: nothing trained is lost
    resume(run.path, verbose=False)
    assert_same_run(whole, run)
    with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C stops at once
        train(cfg, out_dir=tmp_path / "twice", verbose=False, callbacks=[CtrlC(2)])
    assert RunDirectory.open(tmp_path / "twice" / "tiny").latest().epoch == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_cheap_epochs_share_commits_and_the_final_epoch_is_always_committed(tmp_path, data, monkeypatch):
    writes = []
    real = commit_module.CommitSlots.write
    monkeypatch.setattr(commit_module.CommitSlots, "write",
                        lambda self, content, epoch: writes.append(epoch) or real(self, content, epoch))
    monkeypatch.setattr(RunDirectory, "commit_budget", 0.0)
    run = train(config(data, epochs=12), out_dir=tmp_path, verbose=False)
    assert writes == [1, 12] and run.latest().epoch == 12 and len(run.history()) == 12


def test_checkpoint_cost_does_not_grow_with_the_run(tmp_path, data, monkeypatch, every_epoch):
    """The history lives in the metrics files: every commit has the same size, and each epoch appends one
    record, so n epochs write O(n) bytes (the old layout rewrote the whole history every epoch: O(n²))."""
    written = {}

    def count(real, kind):
        def write(fd, data, *rest):
            written[kind] = written.get(kind, 0) + len(data)
            return real(fd, data, *rest)
        return write
    monkeypatch.setattr(run_module, "_append", count(run_module._append, "metrics"))
    monkeypatch.setattr(commit_module, "_write_at", count(commit_module._write_at, "commit"))
    sizes = {}
    for epochs in (5, 40):
        written.clear()
        run = train(config(data, epochs=epochs, scheduler={"name": "none"}), out_dir=tmp_path / str(epochs),
                    verbose=False)
        sizes[epochs] = dict(written, file=run.latest().path.stat().st_size)
        assert "history" not in run.load_checkpoint("last")
    assert abs(sizes[40]["file"] - sizes[5]["file"]) <= 64
    assert sizes[40]["commit"] / 40 == pytest.approx(sizes[5]["commit"] / 5, rel=0.05)
    assert sizes[40]["metrics"] / 40 == pytest.approx(sizes[5]["metrics"] / 5, rel=0.1)


def test_logging_prints_about_ten_lines(tmp_path, data, capsys):
    train(config(data, epochs=95), out_dir=tmp_path / "a")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert 9 <= len(lines) <= 12 and lines[0].startswith("epoch    1") and lines[-1].startswith("epoch   95")
    train(config(data, epochs=20, train={"log_every": 5}), out_dir=tmp_path / "b")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert [int(line.split()[1]) for line in lines] == [1, 5, 10, 15, 20]


def test_a_fresh_fit_into_a_used_run_directory_is_refused(tmp_path, data):
    from relulab.train import session
    cfg = config(data, epochs=2)
    run = train(cfg, out_dir=tmp_path, verbose=False)
    job = session.rebuild_job(cfg)
    with pytest.raises(ValueError, match="holds a checkpoint at epoch 2"):
        session.run_job(job, run)


def test_run_directory_appears_whole(tmp_path, data, monkeypatch):
    """The directory is built under a hidden name and renamed into place: a failure leaves nothing."""
    from relulab import serialization
    calls = {"n": 0}
    real = serialization.write_atomic

    def failing(path, data_):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(path, data_)
    monkeypatch.setattr(run_module, "write_atomic", failing)
    with pytest.raises(OSError, match="disk full"):
        train(config(data), out_dir=tmp_path / "out", verbose=False)
    assert list((tmp_path / "out").iterdir()) == []
    monkeypatch.undo()
    first = train(config(data, epochs=1), out_dir=tmp_path / "out", verbose=False)
    second = train(config(data, epochs=1), out_dir=tmp_path / "out", verbose=False)
    assert (first.path.name, second.path.name) == ("tiny", "tiny-2")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["tiny", "tiny-2"]
    assert np.isfinite(first.load_checkpoint("best")["value"])


def test_the_interface_the_training_doctor_uses(tmp_path, data):
    """``rebuild_job(config)`` and ``RunDirectory.open(path).config / history() / has_checkpoint() /
    load_checkpoint(which)``: what analysis/doctor reads a run through."""
    from relulab.train.session import rebuild_job
    run = train(config(data, epochs=3), out_dir=tmp_path, verbose=False)
    opened = RunDirectory.open(run.path)
    cfg = opened.config
    assert cfg["epochs"] == 3 and cfg["train"]["early_stopping"]["patience"] == 0
    assert [r["epoch"] for r in opened.history()] == [1, 2, 3]
    assert opened.has_checkpoint("best") and opened.has_checkpoint("last")
    job = rebuild_job(cfg)
    for which in ("best", "last"):
        job.model.load_state_dict(opened.load_checkpoint(which)["model"])
    last = opened.load_checkpoint("last")
    for key, value in job.model.state_dict().items():
        assert np.array_equal(value.numpy(), last["model"][key].numpy())
