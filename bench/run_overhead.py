"""What writing a run directory costs per epoch, on the HW1 config (issue 14: at most 10 % of an epoch's
compute; 1,000 epochs at most 4.5x the time of 250).

    python bench/run_overhead.py [--epochs 400] [--repeats 5] [--cli]

Per-epoch time of ``fit`` without a run directory (the compute) against ``fit`` writing one: with the
default commit cadence, and with a commit forced after every epoch.  The three are interleaved and each
repeated, and the medians are compared, so a busy machine slows them alike.  ``--cli`` also times
``relulab train examples/hw1_covid.toml --set epochs=250`` and ``=1000`` end to end (needs ../shared/data/hw1).
"""
import argparse
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "examples" / "hw1_covid.toml"


def _fit_seconds(config, mode, root):
    from relulab.train import session
    from relulab.train.run import RunDirectory
    job = session.rebuild_job(config)
    run = None
    if mode != "no run directory":
        run = RunDirectory.create(root, "bench", config)
        if mode == "commit every epoch":
            run.commit_budget = math.inf
    started = time.perf_counter()
    state = session.run_job(job, run, progress=False)
    seconds = time.perf_counter() - started
    commits = None
    if run is not None:
        commits = run.latest().seq + 1  # slots count commits from 0
        shutil.rmtree(run.path)
    return seconds / len(state.history), commits


def overhead(epochs, repeats):
    from relulab.train import load_config
    config = load_config(CONFIG, [f"epochs={epochs}"])
    modes = ("no run directory", "default cadence", "commit every epoch")
    times, commits = {m: [] for m in modes}, {}
    with tempfile.TemporaryDirectory() as root:
        for _ in range(repeats):
            for mode in modes:
                per_epoch, n = _fit_seconds(config, mode, root)
                times[mode].append(per_epoch)
                commits[mode] = n
    base = statistics.median(times["no run directory"])
    print(f"HW1 config, {epochs} epochs, median of {repeats} interleaved runs")
    for mode in modes:
        median = statistics.median(times[mode])
        extra = "" if mode == modes[0] else \
            f"  overhead {100 * (median / base - 1):+.1f} %  ({commits[mode]} commits for {epochs} epochs)"
        print(f"  {mode:20s} {1e3 * median:7.3f} ms/epoch{extra}")


def cli_times():
    data = ROOT.parent / "shared" / "data" / "hw1" / "covid.train.csv"
    if not data.exists():
        print(f"(skipping the CLI timings: {data} is absent)")
        return
    seconds = {}
    for epochs in (250, 1000):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "relulab.cli", "train", str(CONFIG), "--set", f"epochs={epochs}",
                            "--out", out], check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
            seconds[epochs] = time.perf_counter() - started
        print(f"  relulab train examples/hw1_covid.toml --set epochs={epochs}: {seconds[epochs]:.2f} s")
    print(f"  1000 / 250 epochs: {seconds[1000] / seconds[250]:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cli", action="store_true")
    args = parser.parse_args()
    overhead(args.epochs, args.repeats)
    if args.cli:
        cli_times()
