"""What writing a run directory costs per epoch, on the HW1 config (issue 14: at most 10 % of an epoch's
compute; 1,000 epochs at most 4.5x the time of 250).

    python bench/run_overhead.py [--epochs 400] [--repeats 5] [--cli]

Per-epoch time of ``fit`` without a run directory (the compute) against ``fit`` writing one: with the
default commit cadence, and with a commit forced after every epoch.  The three are interleaved and each
repeated, so a busy machine slows them alike; the fastest runs (min) are the least disturbed.  ``--cli`` also times
``relulab train examples/hw1_covid.toml --set epochs=250`` and ``=1000`` end to end (needs ../shared/data/hw1).
``--cpu`` times by this process's CPU time (user + system, so the writes count), for a shared machine.
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
CPU = False  # --cpu: count this process's CPU time (user + system), which other processes disturb less


def _fit_seconds(config, mode, root):
    from relulab.train import session
    from relulab.train.run import RunDirectory
    job = session.rebuild_job(config)
    run = None
    if mode != "no run directory":
        run = RunDirectory.create(root, "bench", config)
        if mode == "commit every epoch":
            run.commit_budget = math.inf
    clock = time.process_time if CPU else time.perf_counter
    started = clock()
    state = session.run_job(job, run, progress=False)
    seconds = clock() - started
    commits = None
    if run is not None:
        commits = run.latest().seq + 1  # slots count commits from 0
        shutil.rmtree(run.path)
    return seconds / len(state.history), commits


def own_time(epochs):
    """The time spent inside the run directory's own code (commits, metrics writes, the final fsync) against
    the epochs' compute (their ``seconds`` records): a measure that other processes on the machine barely touch."""
    from relulab.train import load_config, session
    from relulab.train.run import RunDirectory
    config = load_config(CONFIG, [f"epochs={epochs}"])
    with tempfile.TemporaryDirectory() as root:
        job = session.rebuild_job(config)
        run = RunDirectory.create(root, "bench", config)
        spent = {}
        for name in ("begin", "wants_commit", "save", "close"):
            method = getattr(run, name)

            def timed(*args, _method=method, _name=name, **kwargs):
                started = time.perf_counter()
                try:
                    return _method(*args, **kwargs)
                finally:
                    spent[_name] = spent.get(_name, 0.0) + time.perf_counter() - started
            setattr(run, name, timed)
        state = session.run_job(job, run, progress=False)
        compute = sum(r["seconds"] for r in state.history)
        commits = run.latest().seq + 1
    parts = ", ".join(f"{name} {1e3 * seconds:.1f} ms" for name, seconds in spent.items())
    print(f"HW1 config, {epochs} epochs: compute {compute:.3f} s; run-directory code {1e3 * sum(spent.values()):.1f} ms "
          f"= {100 * sum(spent.values()) / compute:.1f} % of it ({parts}; {commits} commits)")


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
    print(f"HW1 config, {epochs} epochs, {repeats} interleaved runs each (min = the least disturbed run), "
          f"{'process CPU' if CPU else 'wall'} time")
    base_min, base_median = min(times[modes[0]]), statistics.median(times[modes[0]])
    for mode in modes:
        low, median = min(times[mode]), statistics.median(times[mode])
        line = f"  {mode:20s} min {1e3 * low:6.3f} ms/epoch, median {1e3 * median:6.3f}"
        if mode != modes[0]:
            line += (f"  overhead {100 * (low / base_min - 1):+.1f} % (min), {100 * (median / base_median - 1):+.1f} %"
                     f" (median); {commits[mode]} commits for {epochs} epochs")
        print(line)


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
    parser.add_argument("--cpu", action="store_true", help="time by process CPU time instead of wall time")
    args = parser.parse_args()
    CPU = args.cpu
    own_time(args.epochs)
    overhead(args.epochs, args.repeats)
    if args.cli:
        cli_times()
