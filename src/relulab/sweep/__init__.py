"""``relulab sweep``: many configurations of one config file, scored on validation data (or k-fold CV), locally
in a process pool or on a Ray cluster through Ray Tune.

    sweeps/NAME/
      sweep.json            what was asked: config, overrides, trials, folds, seeds (a re-run must match it)
      trial-000/trial.json  the trial's parameters, status, scores, time and error
      trial-000/seed-0/     a normal run directory (evaluate, diagnose and resume work on it)
      results.csv, results.md, metric-vs-keys.png

The lecture's rule for choosing: by validation (or k-fold) score, never by the public test score.  A re-run
with the same name skips the finished trials and reruns the interrupted ones; a failing trial is recorded with
its error and the others go on; Ctrl-C stops and keeps every finished trial.
"""
import json
from dataclasses import dataclass
from pathlib import Path

from ..serialization import write_atomic
from ..train.config import ConfigError
from ..parallel import check_workers, map_unordered
from .results import describe_best, write_results
from .space import parse_grid, parse_random, trials
from .trial import TrialRecord, TrialSpec, run_trial

__all__ = ["SweepResult", "map_unordered", "run_sweep"]


@dataclass
class SweepResult:
    directory: Path
    records: list
    best: TrialRecord
    mode: str
    ran: int          # trials run this time (the others were already finished)


def _metric_of(config):
    from ..train.builders import build_loss
    from ..train.loop import task_of
    classification = task_of(build_loss(config["loss"])) == "classification"
    return ("valid_accuracy", "max") if classification else ("valid_loss", "min")


def plan(config_path, overrides=(), grid=(), random=(), folds=1, seeds=1, out="sweeps", name=None, sample_seed=0):
    """Check everything and list the trials, writing nothing: (directory, specs, keys, mode, spec dict)."""
    from ..train import load_config
    from ..train.session import rebuild_job
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 1:
        raise ConfigError(f"--folds must be a positive integer, got {folds!r}")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"--seeds must be a positive integer, got {seeds!r}")
    base = load_config(config_path, list(overrides))
    axes = parse_grid(grid)
    count, random_keys = parse_random(random)
    points = trials(axes, count, random_keys, seed=sample_seed)
    keys = [k for k, _ in axes] + [k for k, _ in random_keys]
    first_seed = base["seed"]
    seed_list = [first_seed + i for i in range(seeds)]
    metric, mode = _metric_of(base)
    name = name or Path(config_path).stem
    if not name or Path(name).name != name or name in (".", ".."):
        raise ConfigError(f"--name must be a plain folder name, got {name!r}")
    directory = Path(out) / name
    specs = []
    for i, params in enumerate(points):
        spec = TrialSpec(i, str(Path(config_path).resolve()), list(overrides), params, seed_list, folds,
                         str(directory / f"trial-{i:03d}"), metric)
        config = load_config(config_path, spec.overrides(first_seed))
        rebuild_job(config)  # data, model, optimizer, scheduler built in memory: a bad value fails here, unwritten
        if folds <= 1 and config["data"]["valid_fraction"] == 0:
            raise ConfigError("the sweep scores trials on validation data: set data.valid_fraction > 0 "
                              "or use --folds K")
        specs.append(spec)
    description = {"config": str(Path(config_path).resolve()), "overrides": list(overrides), "keys": keys,
                   "trials": [s.params for s in specs], "folds": folds, "seeds": seed_list, "metric": metric}
    return directory, specs, keys, mode, description


def run_sweep(config_path, overrides=(), grid=(), random=(), folds=1, seeds=1, workers=None, out="sweeps",
              name=None, ray=None, scheduler=None, sample_seed=0, progress=print, command=""):
    """Plan, then run the unfinished trials; returns a ``SweepResult``."""
    workers = check_workers(workers)
    if scheduler not in (None, "asha"):
        raise ConfigError(f"--scheduler must be asha, got {scheduler!r}")
    if scheduler and not ray:
        raise ConfigError("--scheduler asha needs --ray (ASHA runs inside Ray Tune)")
    directory, specs, keys, mode, description = plan(config_path, overrides, grid, random, folds, seeds, out, name,
                                                     sample_seed)
    _claim(directory, description)
    records = {}
    pending = []
    for spec in specs:
        record = TrialRecord.load(spec.directory)
        if record is not None and record.status == "ok" and record.params == spec.params:
            records[spec.index] = record
        else:
            pending.append(spec)
    if progress:
        progress(f"sweep {directory}: {len(specs)} trials, {len(specs) - len(pending)} already finished, "
                 f"{len(pending)} to run on {'Ray' if ray else f'{min(workers, max(len(pending), 1))} worker(s)'}")
    interrupted = False
    try:
        if ray:
            from .tune import run_tune
            finished = run_tune(pending, ray, workers, scheduler, mode, directory)
        else:
            finished = (record for _, record in map_unordered(run_trial, pending, workers=workers))
        for record in finished:
            records[record.index] = record
            if progress:
                score = f"{record.metric} {record.mean:.5g}" if record.scores else record.error
                progress(f"  {record.trial} {record.status}: {score} ({record.seconds:.1f}s)")
            write_results(directory, list(records.values()), keys, mode, command)
    except KeyboardInterrupt:
        interrupted = True
    all_records = list(records.values())
    best = write_results(directory, all_records, keys, mode, command)
    if progress:
        progress(describe_best(best, mode))
        if interrupted:
            progress(f"interrupted: {len(all_records)} finished trial(s) are kept; run the same command again "
                     "to finish the rest")
    if interrupted:
        raise KeyboardInterrupt
    return SweepResult(directory, sorted(all_records, key=lambda r: r.index), best, mode, len(pending))


def _claim(directory, description):
    """Write sweep.json, or check that an existing sweep of this name asked for the same thing."""
    path = directory / "sweep.json"
    if path.exists():
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            existing = None
        if existing != json.loads(json.dumps(description)):
            raise ConfigError(f"{directory} holds a different sweep (other config, trials, folds or seeds); "
                              "choose another --name, or delete that folder to start over")
        return
    write_atomic(path, json.dumps(description, indent=2, sort_keys=True) + "\n")
