"""The lab framework: an experiment tests one lecture claim and returns its numbers, table, figures and a
verdict computed from those numbers (never written by hand).

An experiment is a function ``run(ctx) -> Result`` registered with ``@experiment(registry, key, title, claim)``.
The method every experiment follows:

1. a pure criterion ``_judge(per_seed_rows) -> (verdict, because)``, written before the run is looked at;
2. the real comparison measured once per seed of ``ctx.seeds()``, and judged;
3. one or more negative controls (identical arms, swapped arms, shuffled labels ...) measured the same way and
   passed through the SAME judge, which must answer "not reproduced";
4. ``Result(..., verdict, because, table=per-seed rows + spread, seeds, settings, controls)``, where ``settings``
   says how each setting (lr, epochs, sizes) was chosen.

``ctx`` gives the seeds, the quick flag (smaller sizes for the CI smoke run), progress bars, NumPy generators for
data (``ctx.rng``) and ``ctx.figure(fig, name)``, which saves a matplotlib figure into the report's folder.  Model-side
draws (weights, batch orders, dropout) go through PyTorch's generator instead: see ``draws``.
"""
import os
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

VERDICTS = ("reproduced", "partly reproduced", "not reproduced")

# Seeds per experiment: the method asks for at least 5 in full mode and 2-3 in --quick.
FULL_SEEDS, QUICK_SEEDS = 5, 3
_MIN_FULL_SEEDS, _MIN_QUICK_SEEDS = 5, 2


def _check_verdict(verdict, where):
    if verdict not in VERDICTS:
        raise ValueError(f"{where}: verdict must be one of {', '.join(map(repr, VERDICTS))}, got {verdict!r}")
    return verdict


@dataclass
class Control:
    """A negative control: the experiment's criterion on data or arms where the claim must NOT hold."""

    name: str                 # e.g. "identical arms", "swapped arms", "shuffled labels"
    description: str          # what was changed
    verdict: str              # what the same judge said; a sound criterion says "not reproduced"
    because: str
    numbers: dict = field(default_factory=dict)

    def __post_init__(self):
        _check_verdict(self.verdict, f"Control {self.name!r}")

    @property
    def passed(self):
        """True when the control came out as it must: the claim is not found where it cannot hold."""
        return self.verdict == "not reproduced"


@dataclass(init=False)
class Result:
    """What an experiment found.  ``verdict`` must be computed from the per-seed numbers by the experiment's
    criterion, and ``because`` says how (for "partly reproduced": which part failed).

    For experiments not yet ported, ``Result(method, numbers, reproduced, because, ...)`` with a bool (positional
    or ``reproduced=``) still works and maps to "reproduced" / "not reproduced"."""

    method: str
    numbers: dict
    verdict: str
    because: str
    table: list        # rows: dicts with the same keys; per-seed rows, then summary rows (mean ± std)
    figures: list      # file names inside the report's figures/ folder
    seeds: list        # the seeds actually run
    settings: str      # how each setting was chosen: validation search, fixed a priori ...
    controls: list     # [Control]

    def __init__(self, method, numbers, verdict=None, because="", table=None, figures=None, seeds=None,
                 settings="", controls=None, *, reproduced=None):
        if reproduced is not None:
            if verdict is not None:
                raise ValueError("Result: give either verdict or the old reproduced=bool, not both")
            verdict = reproduced
        if isinstance(verdict, (bool, np.bool_)):
            verdict = "reproduced" if verdict else "not reproduced"
        if verdict is None:
            raise ValueError("Result: a verdict is required (one of " + ", ".join(VERDICTS) + ")")
        self.method, self.numbers = method, dict(numbers)
        self.verdict = _check_verdict(verdict, "Result")
        self.because = because
        self.table = list(table or [])
        self.figures = list(figures or [])
        self.seeds = [int(s) for s in (seeds or [])]
        self.settings = settings
        self.controls = list(controls or [])
        for control in self.controls:
            if not isinstance(control, Control):
                raise ValueError(f"Result: controls must be Control objects, got {type(control).__name__}")

    @property
    def reproduced(self):
        return self.verdict == "reproduced"


@dataclass
class Experiment:
    key: str
    title: str
    claim: str
    run: callable


def _progress_enabled():
    """Bars only for a person watching: stderr is a terminal and the lab is not running under pytest."""
    if "PYTEST_CURRENT_TEST" in os.environ:
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stderr
        return False


class Context:
    """Per-experiment settings and helpers."""

    def __init__(self, out_dir, quick, seed, key):
        self.out_dir = Path(out_dir)
        self.figures_dir = self.out_dir / "figures"
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        self.quick = quick
        self.key = key
        self.lab_seed = int(seed)
        # A stable per-experiment seed: experiments stay reproducible alone and in any order.
        self.seed = (int(seed) * 1_000_003 + zlib.crc32(key.encode())) % (2 ** 31)

    def pick(self, quick, full):
        """``quick`` in --quick mode, else ``full``."""
        return quick if self.quick else full

    def rng(self, offset=0):
        return np.random.default_rng(self.seed + offset)

    def section_seed(self, section):
        """A seed shared by every experiment of one section of a lab (one data set per section): derived from
        the lab seed and the section's name, not from the experiment's key."""
        return (self.lab_seed * 1_000_003 + zlib.crc32(f"section:{section}".encode())) % (2 ** 31)

    def seeds(self, quick=QUICK_SEEDS, full=FULL_SEEDS, section=None):
        """The seeds to repeat the experiment over: ``quick`` of them in --quick mode (>= 2), ``full`` (>= 5)
        otherwise.  Derived from the lab seed and the key (or, with ``section``, the section's name, so that the
        experiments of a section share seeds and the same model gives the same numbers in each of their tables);
        stable, and the quick seeds are the first of the full ones."""
        if quick < _MIN_QUICK_SEEDS or full < _MIN_FULL_SEEDS:
            raise ValueError(f"ctx.seeds in {self.key!r}: the method needs >= {_MIN_QUICK_SEEDS} seeds in --quick "
                             f"and >= {_MIN_FULL_SEEDS} in full mode, got quick={quick}, full={full}")
        count = quick if self.quick else full
        base = self.seed if section is None else self.section_seed(section)
        # A large odd stride keeps these seeds clear of the small offsets used with ctx.rng(offset).
        return [int((base + 7_919_017 * (i + 1)) % (2 ** 31)) for i in range(count)]

    def progress(self, iterable, desc=None, total=None):
        """``iterable`` wrapped in a tqdm bar (per seed or per arm); silent when stderr is not a terminal or
        under pytest, so logs and tests stay clean."""
        from tqdm.auto import tqdm
        label = f"{self.key}: {desc}" if desc else self.key
        return tqdm(iterable, desc=label, total=total, leave=False, disable=not _progress_enabled(),
                    dynamic_ncols=True)

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
        if any(e.key == key for e in registry):
            raise ValueError(f"experiment key {key!r} is registered twice")
        registry.append(Experiment(key, title, claim, run))
        return run
    return decorate


def run_experiments(experiments, out_dir, quick, seed, progress=None):
    """Run each experiment; a crash becomes a 'not reproduced' entry with the error, so one failure does not
    hide the other results.  Returns a list of (Experiment, Result, seconds)."""
    import matplotlib
    from threadpoolctl import threadpool_limits
    matplotlib.use("Agg")
    from ..report.fonts import use_cjk_font
    use_cjk_font()
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
        if not isinstance(result, Result):
            raise TypeError(f"experiment {exp.key!r} returned {type(result).__name__}, not a Result")
    except Exception as e:  # noqa: BLE001 - reported in the lab's own output
        result = Result(method="(the experiment raised an error)", numbers={"error": f"{type(e).__name__}: {e}"},
                        verdict="not reproduced", because=f"the experiment failed: {type(e).__name__}: {e}")
    return exp, result, time.perf_counter() - started
