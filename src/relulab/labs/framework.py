"""The lab framework: an experiment tests one lecture claim and returns its numbers, table, figures and a
verdict computed from those numbers (never written by hand).

An experiment is a function ``run(ctx) -> Result`` registered with ``@experiment(key, title, claim)``.
``ctx`` gives the seed, the quick flag (smaller sizes for the CI smoke run), and ``ctx.figure(fig, name)``
which saves a matplotlib figure into the report's folder.
"""
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Result:
    """What an experiment found.  ``reproduced`` must be computed from ``numbers``, and ``because`` says how."""

    method: str
    numbers: dict
    reproduced: bool
    because: str
    table: list = field(default_factory=list)     # rows: dicts with the same keys
    figures: list = field(default_factory=list)   # file names inside the report's figures/ folder

    @property
    def verdict(self):
        return "reproduced" if self.reproduced else "not reproduced"


@dataclass
class Experiment:
    key: str
    title: str
    claim: str
    run: callable


class Context:
    """Per-experiment settings and helpers."""

    def __init__(self, out_dir, quick, seed, key):
        self.out_dir = Path(out_dir)
        self.figures_dir = self.out_dir / "figures"
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        self.quick = quick
        self.key = key
        # A stable per-experiment seed: experiments stay reproducible alone and in any order.
        self.seed = (int(seed) * 1_000_003 + zlib.crc32(key.encode())) % (2 ** 31)

    def pick(self, quick, full):
        """``quick`` in --quick mode, else ``full``."""
        return quick if self.quick else full

    def rng(self, offset=0):
        return np.random.default_rng(self.seed + offset)

    def figure(self, fig, name):
        """Save a matplotlib figure as figures/<key>-<name>.png and return its file name."""
        import matplotlib.pyplot as plt
        filename = f"{self.key}-{name}.png"
        fig.savefig(self.figures_dir / filename, dpi=110, metadata={"Software": None})
        plt.close(fig)
        return filename


def experiment(registry, key, title, claim):
    """Register ``run(ctx) -> Result`` in ``registry`` (a list) under ``key``."""
    def decorate(run):
        registry.append(Experiment(key, title, claim, run))
        return run
    return decorate


def run_experiments(experiments, out_dir, quick, seed, progress=None):
    """Run each experiment; a crash becomes a 'not reproduced' entry with the error, so one failure does not
    hide the other results.  Returns a list of (Experiment, Result, seconds)."""
    import matplotlib
    from threadpoolctl import threadpool_limits
    matplotlib.use("Agg")
    outcomes = []
    # One BLAS thread: the labs' matrices are small, where a second thread costs more than it gives, and
    # timings stay steady when another process shares the cores.
    with threadpool_limits(limits=1, user_api="blas"):
        for i, exp in enumerate(experiments):
            outcomes.append(_run_one(exp, i, len(experiments), out_dir, quick, seed, progress))
    return outcomes


def _run_one(exp, i, count, out_dir, quick, seed, progress):
    if progress:
        progress(f"[{i + 1}/{count}] {exp.title}")
    started = time.perf_counter()
    ctx = Context(out_dir, quick, seed, exp.key)
    try:
        result = exp.run(ctx)
    except Exception as e:  # noqa: BLE001 - reported in the lab's own output
        result = Result(method="(the experiment raised an error)", numbers={"error": f"{type(e).__name__}: {e}"},
                        reproduced=False, because=f"the experiment failed: {type(e).__name__}: {e}")
    return exp, result, time.perf_counter() - started
