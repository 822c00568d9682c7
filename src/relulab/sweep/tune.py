"""The sweep on a Ray cluster through Ray Tune: ``tune.Tuner`` over the same trial function as the local pool.

The trials are the sweep's own list (a grid search over trial indices), so Ray and the local pool run the same
configurations with the same seeds and get the same metrics.  ``scheduler="asha"`` adds Tune's ASHA early
stopping: each trial reports its first seed's validation metric after every epoch, and ASHA may end it early
(the trial is then recorded as "stopped" with its last reported value).  On a cluster of several machines the
sweep folder must be on a filesystem they share, since the run directories are written where the trial runs.
"""
import json
from dataclasses import asdict
from pathlib import Path

from ..parallel import connect_ray
from .trial import TrialRecord, TrialSpec, run_trial


def _trainable(config):
    from ray import tune
    spec = TrialSpec(**config["spec"])

    def report(epoch, value):
        tune.report({"value": value, "epoch": epoch})
        return False  # ASHA ends a trial by stopping its process, not by this return value

    record = run_trial(spec, report=report if config["asha"] else None)
    # The record travels as JSON text: Tune's loggers only take numbers and would warn about a nested dict.
    tune.report({"value": record.mean, "record": json.dumps(asdict(record)), "final": True})


def run_tune(specs, address, workers, scheduler, mode, directory):
    """Yield each trial's ``TrialRecord`` once Tune has finished them all."""
    if not specs:
        return
    connect_ray(address)
    from ray import tune
    asha = scheduler == "asha"
    options = {"metric": "value", "mode": mode, "max_concurrent_trials": workers}
    if asha:
        from ray.tune.schedulers import ASHAScheduler
        options["scheduler"] = ASHAScheduler(grace_period=1)
    tuner = tune.Tuner(
        _trainable,
        param_space={"spec": tune.grid_search([asdict(s) for s in specs]), "asha": asha},
        tune_config=tune.TuneConfig(**options),
        run_config=tune.RunConfig(name="tune", storage_path=str((Path(directory) / "ray").resolve()),
                                  verbose=0))
    grid = tuner.fit()
    by_index = {s.index: s for s in specs}
    for result in grid:
        spec = TrialSpec(**result.config["spec"])
        metrics = result.metrics or {}
        if "record" in metrics:
            record = TrialRecord(**json.loads(metrics["record"]))
        else:  # stopped by ASHA (or lost): keep the last value it reported
            record = TrialRecord.load(spec.directory) or TrialRecord(spec.name, spec.index, spec.params, "failed",
                                                                     spec.metric)
            value = metrics.get("value")
            if record.status == "running":
                record.status = "stopped" if value is not None else "failed"
                record.scores = [float(value)] if value is not None else []
                record.error = "" if value is not None else str(result.error or "the trial reported nothing")
        record.save(by_index[spec.index].directory)
        yield record
