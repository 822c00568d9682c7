"""One trial of a sweep: a config with the trial's overrides, trained once per seed.

Each seed trains a normal run directory (``trial-007/seed-0/``) on the config's holdout split, so ``relulab
evaluate``, ``diagnose`` and ``resume`` work on it.  The trial's score is the validation metric of the weights
each run ends with, or, with ``folds`` > 1, the k-fold CV metric of each fold (those fold models are not kept:
with folds a trial costs folds + 1 trainings per seed).  ``run_trial`` is the one trial function that the
local pool and Ray Tune both call, so both give the same numbers for the same seeds.
"""
import json
import shutil
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..serialization import write_atomic

TRIAL_FILE = "trial.json"


@dataclass
class TrialSpec:
    index: int
    config_path: str
    base_overrides: list          # the sweep's own --set values
    params: dict                  # this trial's values, applied after base_overrides
    seeds: list
    folds: int
    directory: str                # sweeps/NAME/trial-007
    metric: str = "valid_loss"    # valid_loss (lower is better) or valid_accuracy (higher)

    @property
    def name(self):
        return Path(self.directory).name

    def overrides(self, seed):
        from .space import override
        return list(self.base_overrides) + [override(k, v) for k, v in self.params.items()] + [f"seed={seed}"]


@dataclass
class TrialRecord:
    trial: str
    index: int
    params: dict
    status: str                   # running | ok | failed | stopped
    metric: str
    scores: list = field(default_factory=list)    # one per (seed, fold)
    seconds: float = 0.0
    error: str = ""
    runs: list = field(default_factory=list)      # run directories, relative to the trial's folder

    @property
    def mean(self):
        return float(np.mean(self.scores)) if self.scores else float("nan")

    @property
    def std(self):
        return float(np.std(self.scores, ddof=1)) if len(self.scores) > 1 else 0.0 if self.scores else float("nan")

    def save(self, directory):
        write_atomic(Path(directory) / TRIAL_FILE, json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, directory):
        path = Path(directory) / TRIAL_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as e:  # a torn or foreign file: the trial runs again
            return cls(Path(directory).name, -1, {}, f"unreadable ({e})", "")


def run_trial(spec, report=None):
    """Train the trial's runs; returns its ``TrialRecord`` (also written to trial.json).  Never raises for a
    failing config or run: the error is recorded and the sweep goes on.  ``report(epoch, value)``, if given, is
    called with the first seed's validation metric after every epoch (for ASHA); returning True stops the trial."""
    from threadpoolctl import threadpool_limits
    directory = Path(spec.directory)
    if directory.exists():  # an interrupted earlier attempt: start the trial afresh
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    record = TrialRecord(spec.name, spec.index, dict(spec.params), "running", spec.metric)
    record.save(directory)
    started = time.perf_counter()
    try:
        # One BLAS thread per trial: the course's models gain nothing from more, workers never oversubscribe
        # the cores, and results do not depend on how many trials run at once.
        with threadpool_limits(limits=1, user_api="blas"):
            stopped = _train_seeds(spec, record, directory, report)
        record.status = "stopped" if stopped else "ok"
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001 - recorded in the trial's row; the sweep goes on
        record.status, record.error = "failed", f"{type(e).__name__}: {e}"
        (directory / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
    record.seconds = time.perf_counter() - started
    record.save(directory)
    return record


def _train_seeds(spec, record, directory, report):
    from ..train import cross_validate, load_config, train
    for i, seed in enumerate(spec.seeds):
        config = load_config(spec.config_path, spec.overrides(seed))
        callbacks = ()
        if report is not None and i == 0:
            callbacks = (_reporter(report, spec.metric),)
        if spec.folds > 1:
            _, _, scores = cross_validate(config, folds=spec.folds, verbose=False)
            record.scores.extend(float(s) for s in scores)
        run = train(config, out_dir=str(directory), name=f"seed-{seed}", verbose=False, progress=False,
                    callbacks=callbacks)
        record.runs.append(run.path.name)
        if callbacks and callbacks[0].stopped:
            record.scores.append(callbacks[0].last)
            return True
        if spec.folds <= 1:
            record.scores.append(_final_metric(run.path, spec.metric))
    return False


def _reporter(report, metric):
    from ..train.loop import Callback

    class Reporter(Callback):
        """Passes each epoch's validation metric to ``report``; stops training when it says so."""

        stopped, last = False, float("nan")

        def on_epoch_end(self, state, record):
            self.last = float(record.get(metric, float("nan")))
            self.stopped = bool(report(record.get("epoch", state.epoch), self.last))
            return self.stopped

    return Reporter()


def _final_metric(run_dir, metric):
    """The validation metric of the weights the run ended with (its "best" checkpoint under early stopping with
    restore_best, else "last"), evaluated afresh on its validation split."""
    from ..train import RunDirectory, evaluate_run
    stopping = RunDirectory.open(run_dir).config["train"]["early_stopping"]
    which = "best" if stopping["patience"] > 0 and stopping["restore_best"] else "last"
    metrics = evaluate_run(run_dir, which=which)
    if "valid" not in metrics:
        raise ValueError(f"{run_dir}: the run has no validation split; the sweep needs data.valid_fraction > 0 "
                         "or --folds K")
    return float(metrics["valid"][metric.removeprefix("valid_")])
