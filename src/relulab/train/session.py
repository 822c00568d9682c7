"""Config-driven runs: train, resume, evaluate, predict and k-fold cross-validation.

This is what ``relulab train/resume/evaluate/predict/cv`` call; scripts can call it too.  Nothing is written
until the whole config has been checked and everything built in memory: the data loaded and cast, the model,
loss, optimizer and scheduler built and tried once (``preflight``).  A bad config or bad data leaves no
half-made run directory, and a bad ``resume`` leaves the run as it was.
"""
import copy
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import random as rl_random
from ..autograd.tensor import Tensor
from ..data.csv import TRAINING_DTYPE, Standardizer
from ..nn.loss import CrossEntropyLoss, NLLLoss
from ..serialization import CheckpointError, dumps, load, write_atomic
from ..utils.data import DataLoader, TensorDataset
from .builders import build_loss, build_model, build_optimizer, build_scheduler
from .config import MONITORS, ConfigError, load_config, resolve, run_name  # noqa: F401 (load_config: re-export)
from .loop import EarlyStopping, TrainState, evaluate, fit, restore_checkpoint, task_of
from .preflight import check_optimizer_and_schedule, check_output
from .run import RunDirectory

PREPROCESS = "preprocess.safetensors"


# ---------------------------------------------------------------------------------------------------- data
@dataclass
class DataBundle:
    """The labelled pool (to split into train/valid or folds), an optional fixed test split, and metadata."""

    x: np.ndarray
    y: np.ndarray
    test_x: np.ndarray = None
    test_y: np.ndarray = None
    feature_names: list = None
    source: str = "data"   # what error messages call the pool: the CSV path or the data kind
    lines: np.ndarray = None  # csv: the file line of each pool row


def load_data(data):
    kind = data["kind"]
    if kind == "csv":
        from ..data.csv import CSVDataset
        if not data["path"]:
            raise ConfigError("data.path is required for data.kind = 'csv'")
        ds = CSVDataset(data["path"], target=data["target"], columns=_columns(data["columns"]))
        return DataBundle(ds.raw_features(), ds._parsed.targets[ds.rows], feature_names=list(ds.feature_names),
                          source=str(data["path"]), lines=ds._parsed.lines[ds.rows])
    if kind == "digits":
        from ..data.digits import digits
        train = digits("train", test_fraction=data["test_fraction"], flatten=data["flatten"])
        test = digits("test", test_fraction=data["test_fraction"], flatten=data["flatten"])
        if len(train) == 0 or len(test) == 0:
            raise ConfigError(f"config key 'data.test_fraction' = {data['test_fraction']} leaves {len(train)} of "
                              f"{len(train) + len(test)} digits for training and {len(test)} for testing")
        return DataBundle(train.features, train.targets, test.features, test.targets, source="digits")
    if kind == "views":
        from ..data.views import daily_views, window
        train, test = window(daily_views(), data["days"], data["test_year"] or None)
        return DataBundle(train.features, train.targets, test.features, test.targets, source="views")
    raise ConfigError(f"unknown data.kind '{kind}'; choose csv, digits or views")


def _columns(columns):
    return None if columns == "all" else columns


def _rows(x):
    return x.reshape(len(x), -1)


def holdout_split(y, fraction, seed, classification):
    """Indices (train, valid): stratified by class for classification, a seeded permutation otherwise."""
    n = len(y)
    if fraction == 0:
        return np.arange(n), np.arange(0)
    if classification:
        from ..data.splits import stratified_split
        return stratified_split(y, valid_fraction=fraction, seed=seed)
    order = np.random.default_rng(seed).permutation(n)
    n_valid = max(1, int(round(n * fraction)))
    return np.sort(order[n_valid:]), np.sort(order[:n_valid])


def _training_array(x, standardizer, bundle, rows, split):
    """Standardized (in float64) and cast to the training dtype; then every value must still be finite."""
    if standardizer is not None:
        x = standardizer.transform(_rows(x).astype(np.float64)).reshape(x.shape)
    if np.issubdtype(x.dtype, np.floating):
        with np.errstate(over="ignore", invalid="ignore"):
            x = x.astype(TRAINING_DTYPE)
        bad = np.argwhere(~np.isfinite(_rows(x)))
        if len(bad):
            r, c = bad[0]
            where = f"line {bundle.lines[rows[r]]}" if bundle.lines is not None and rows is not None else f"row {r}"
            column = bundle.feature_names[c] if bundle.feature_names and split != "targets" else c
            raise ValueError(f"{bundle.source}, {where}, column {column!r} ({split}): the value is not finite in "
                             f"{np.dtype(TRAINING_DTYPE).name}, the training dtype")
    return x


# ---------------------------------------------------------------------------------------------------- jobs
@dataclass
class Job:
    """Everything one training run needs, built from a config."""

    config: dict
    model: object
    loss_fn: object
    optimizer: object
    scheduler: object
    early_stopping: object
    loaders: dict
    standardizer: object
    monitor: str = "valid_loss"   # what picks the best epoch
    feature_names: list = None


def build_job(config, bundle, train_idx, valid_idx):
    """Model, optimizer, scheduler and loaders for one split of the pool, each tried once (``preflight``).
    Seeds everything from the config."""
    seed = config["seed"]
    rl_random.manual_seed(seed)
    data = config["data"]
    x_train = bundle.x[train_idx]
    standardizer = Standardizer().fit(_rows(x_train)) if data["standardize"] else None

    def dataset(x, y, rows, split):
        x = _training_array(x, standardizer, bundle, rows, split)
        y = _training_array(y, None, bundle, rows, "targets")
        return TensorDataset(Tensor._make(x), Tensor._make(y))

    generator = rl_random.Generator().manual_seed(seed)
    train_set = dataset(x_train, bundle.y[train_idx], train_idx, "train")
    loaders = {"train": DataLoader(train_set, batch_size=config["batch_size"], shuffle=data["shuffle"],
                                   generator=generator)}
    if len(valid_idx):
        loaders["valid"] = DataLoader(dataset(bundle.x[valid_idx], bundle.y[valid_idx], valid_idx, "valid"),
                                      batch_size=1024)
    if bundle.test_x is not None:
        loaders["test"] = DataLoader(dataset(bundle.test_x, bundle.test_y, None, "test"), batch_size=1024)

    layers = config["model"]["layers"]
    model = build_model(layers, bundle.x.shape[1:])
    loss_fn = build_loss(config["loss"])
    optimizer = build_optimizer(config["optimizer"], model.parameters())
    scheduler = build_scheduler(config["scheduler"], optimizer, len(loaders["train"]), config["epochs"])

    all_y = [bundle.y] + ([bundle.test_y] if bundle.test_y is not None else [])
    n_classes = int(max(y.max() for y in all_y)) + 1 if np.issubdtype(bundle.y.dtype, np.integer) else 0
    sample = slice(0, min(config["batch_size"], 256))
    x_sample, y_sample = train_set.tensors[0].numpy()[sample], train_set.tensors[1].numpy()[sample]
    check_output(model, loss_fn, x_sample, y_sample, n_classes, layers)
    check_optimizer_and_schedule(config, len(loaders["train"]))

    monitor = _monitor(config, task_of(loss_fn), "valid" in loaders)
    es = config["train"]["early_stopping"]
    early = None
    if es["patience"] > 0:
        mode = "max" if monitor.endswith("accuracy") else "min"
        early = EarlyStopping(es["patience"], es["min_delta"], es["restore_best"], monitor, mode)
    return Job(config, model, loss_fn, optimizer, scheduler, early, loaders, standardizer, monitor,
               bundle.feature_names)


def _monitor(config, task, has_valid):
    """The record key that picks the best epoch (and drives early stopping), checked against the task."""
    es = config["train"]["early_stopping"]
    monitor = es["monitor"]
    if monitor not in MONITORS[task]:
        other = "regression" if task == "classification" else "classification"
        raise ConfigError(f"config key 'train.early_stopping.monitor' = {monitor!r} is a {other} metric; this "
                          f"{task} run records {', '.join(MONITORS[task])}")
    if monitor.startswith("valid_") and not has_valid:
        if es["patience"] > 0 or monitor != "valid_loss":
            raise ConfigError(f"config key 'train.early_stopping.monitor' = {monitor!r} needs a validation split, "
                              "but data.valid_fraction = 0; hold out some data or monitor 'train_loss'")
        return "train_loss"  # the default, with nothing held out: the best epoch is the lowest training loss
    return monitor


def run_job(job, run=None, state=None, best_weights=None, verbose=False, progress=None, callbacks=()):
    train = job.config["train"]
    return fit(job.model, job.loss_fn, job.optimizer, job.loaders["train"], job.config["epochs"],
               valid_loader=job.loaders.get("valid"), scheduler=job.scheduler,
               scheduler_interval=job.config["scheduler"]["interval"], early_stopping=job.early_stopping,
               clip_grad_norm=train["clip_grad_norm"] or None, clip_grad_value=train["clip_grad_value"] or None,
               l1=train["l1"], callbacks=callbacks, run=run, state=state, verbose=verbose, progress=progress,
               monitor=job.monitor, log_every=train["log_every"], best_weights=best_weights)


def _check_targets(loss_fn, bundle):
    name = type(loss_fn).__name__
    if isinstance(loss_fn, (CrossEntropyLoss, NLLLoss)) and not np.issubdtype(bundle.y.dtype, np.integer) \
            and bundle.y.shape[1:] in ((), (1,)):
        raise ConfigError(f"loss {name} needs integer class labels, but {bundle.source} gives one float target "
                          "per row; use a regression loss (MSELoss, L1Loss), or BCEWithLogitsLoss for a 0/1 target")


def _class_labels(bundle):
    """What stratified splits balance: the class of each row (a (n, 1) 0/1 column for BCE, flattened)."""
    return bundle.y[:, 0] if bundle.y.ndim == 2 and bundle.y.shape[1] == 1 else bundle.y


def pool_split(config, bundle):
    """The run's (train, valid) indices: the same for train, resume, evaluate and diagnose."""
    loss_fn = build_loss(config["loss"])
    _check_targets(loss_fn, bundle)
    classification = task_of(loss_fn) == "classification"
    fraction = config["data"]["valid_fraction"]
    labels = _class_labels(bundle) if classification else bundle.y
    try:
        train_idx, valid_idx = holdout_split(labels, fraction, config["seed"], classification)
    except ValueError as e:
        raise ConfigError(f"config key 'data.valid_fraction' = {fraction}: {e}") from None
    if len(train_idx) == 0 or (fraction > 0 and len(valid_idx) == 0):
        raise ConfigError(f"config key 'data.valid_fraction' = {fraction} leaves {len(train_idx)} of "
                          f"{len(bundle.y)} rows for training and {len(valid_idx)} for validation")
    return train_idx, valid_idx


def rebuild_job(config):
    """Load the config's data and build its job on the holdout split, exactly as ``train`` does."""
    config = resolve(config)
    bundle = load_data(config["data"])
    return build_job(config, bundle, *pool_split(config, bundle))


def _preprocess_bytes(job):
    """What ``predict`` needs to feed new rows to the model as in training: feature names and standardizer."""
    content = {"feature_names": list(job.feature_names) if job.feature_names else None,
               "standardizer": job.standardizer.state_dict() if job.standardizer is not None else None}
    return dumps(content)


def _identity(config):
    """What a run is trained on, as digests: its config (but for epochs, which ``resume`` may raise, and the
    name, output folder, log cadence and data path, which change nothing trained) and its data file's bytes."""
    fixed = copy.deepcopy(config)
    for key in ("epochs", "name", "out_dir"):
        fixed.pop(key)
    fixed["data"]["path"], fixed["train"]["log_every"] = "", 0
    identity = {"config": hashlib.sha256(json.dumps(fixed, sort_keys=True).encode()).hexdigest()[:16], "data": ""}
    if config["data"]["kind"] == "csv":
        identity["data"] = hashlib.sha256(Path(config["data"]["path"]).read_bytes()).hexdigest()[:16]
    return identity


def _check_identity(run, commit, identity):
    stored = commit.get("identity")
    if not isinstance(stored, dict):  # a commit from before identities were recorded
        return
    if stored.get("config") != identity["config"]:
        raise ConfigError(f"{run.path / 'config.json'} was edited after training began (its checkpoint was trained "
                          "with other settings); only the number of epochs may change, with resume --epochs")
    if stored.get("data") != identity["data"]:
        raise ConfigError(f"{run.config['data']['path']} has changed since {run.path} was trained on it: resuming "
                          "would continue on other data")


def _warn_if_diverged(state):
    bad = next((r for r in state.history if not math.isfinite(r["train_loss"])), None)
    if bad is not None:
        print(f"warning: the training loss is {bad['train_loss']} from epoch {bad['epoch']}: the run diverged "
              "(try a lower optimizer.lr)", file=sys.stderr, flush=True)


def train(config, out_dir=None, name=None, verbose=True, progress=None, callbacks=()):
    """Train from a config; returns the ``RunDirectory``.  The directory appears only once the config, data
    and model have all been built and tried.  ``callbacks``: ``fit`` callbacks (e.g. a sweep's reporter)."""
    config = resolve(config)
    name = run_name("name", name) if name is not None else config["name"]
    if config["data"]["path"]:  # the run must find its data again from any working directory
        config["data"]["path"] = os.path.abspath(config["data"]["path"])
    job = rebuild_job(config)
    files = {PREPROCESS: _preprocess_bytes(job)} if job.standardizer is not None or job.feature_names else {}
    identity = _identity(config)
    run = RunDirectory.create(out_dir or config["out_dir"], name, config, files)
    run.identity = identity
    if verbose:
        print(f"run directory: {run.path}", flush=True)
    state = run_job(job, run, verbose=verbose, progress=progress, callbacks=callbacks)
    if verbose:
        _warn_if_diverged(state)
    return run


def _restore(run, commit, job):
    """The job's objects put back to the commit's state: (TrainState, best weights)."""
    try:
        return restore_checkpoint(commit, job.model, job.optimizer, job.scheduler, job.early_stopping,
                                  {"train": job.loaders["train"]}, run.history())
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as e:
        raise CheckpointError(f"{commit.path}: does not fit this run's config ({type(e).__name__}: {e})") from None


def resume(run_dir, epochs=None, verbose=True, progress=None):
    """Continue a run from its last commit, bit for bit as if it had never stopped.  ``epochs``: train up to
    this many epochs in total.  Everything is checked (config, arguments, checkpoint) before anything is
    written; then leftovers of an interrupted write are cleaned up and training continues."""
    run = RunDirectory.open(run_dir)
    config = run.config
    stored_epochs = config["epochs"]
    if epochs is not None:
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ConfigError(f"resume: --epochs must be a positive integer (the total to train to), got {epochs!r}")
        config["epochs"] = int(epochs)
    job = rebuild_job(config)
    identity = _identity(config)
    commit = run.latest()
    if commit is not None:
        _check_identity(run, commit, identity)
        state, best = _restore(run, commit, job)
    else:  # interrupted before the first epoch ended: the seeded job is exactly the run's start
        state, best = TrainState(), None
    if state.epoch > config["epochs"]:
        raise ConfigError(f"resume: --epochs {config['epochs']} is the total to train to, but {run.path} has "
                          f"already done {state.epoch} epochs; give at least {state.epoch}")
    total_steps = getattr(job.scheduler, "total_steps", None)
    if isinstance(total_steps, int):
        per_batch = config["scheduler"]["interval"] == "batch"
        needed = config["epochs"] * (len(job.loaders["train"]) if per_batch else 1)
        if needed > total_steps:
            raise ConfigError(f"resume: {config['epochs']} epochs need {needed} scheduler steps, but the run's "
                              f"{type(job.scheduler).__name__} was built for {total_steps}")
    if state.stopped_early and epochs is None:
        if verbose:
            print(f"{run.path}: the run already stopped early at epoch {state.epoch}", flush=True)
        return run
    run.lock()
    try:
        run.recover()
        if config["epochs"] != stored_epochs:
            run.write_config(config)
    except BaseException:
        run.close()  # releases the lock
        raise
    if state.epoch == config["epochs"]:
        run.close()
        if verbose:
            print(f"{run.path}: already at epoch {state.epoch} of {config['epochs']}; nothing to train", flush=True)
        return run
    state.history = [dict(r) for r in run.history()]
    state.stopped_early = False
    if verbose:
        print(f"resuming {run.path} at epoch {state.epoch} of {config['epochs']}", flush=True)
    run.identity = identity
    state = run_job(job, run, state=state, best_weights=best, verbose=verbose, progress=progress)
    if verbose:
        _warn_if_diverged(state)
    return run


def _load_weights(model, checkpoint, run, which):
    try:
        model.load_state_dict(checkpoint["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{run.path}: the {which} checkpoint does not fit the model of its config "
                              f"({type(e).__name__}: {e})") from None


def evaluate_run(run_dir, which="best"):
    """Metrics of a run's checkpoint on its train, validation and (if any) test splits."""
    run = RunDirectory.open(run_dir)
    config = run.config
    job = rebuild_job(config)
    checkpoint = run.load_checkpoint(which)
    _check_identity(run, run.latest(), _identity(config))
    _load_weights(job.model, checkpoint, run, which)
    return {split: evaluate(job.model, loader, job.loss_fn) for split, loader in job.loaders.items()}


def _read_preprocess(run, config):
    """The run's feature names and standardizer, checked; predicting without them would give wrong numbers."""
    path = run.path / PREPROCESS
    standardized = config["data"]["standardize"]
    if not path.is_file():
        raise ValueError(f"{path} is missing: predict needs the run's preprocessing (its feature columns"
                         f"{' and the standardizer fitted on its training rows' if standardized else ''}); "
                         "without it the predictions would be wrong. Retrain the run to recreate it")
    content = load(path)
    names = content.get("feature_names") if isinstance(content, dict) else None
    state = content.get("standardizer") if isinstance(content, dict) else None
    if names is not None and not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
        raise CheckpointError(f"{path}: 'feature_names' must be a list of column names")
    standardizer = None
    if standardized:
        if not isinstance(state, dict):
            raise CheckpointError(f"{path} holds no standardizer, but the run standardized its inputs")
        try:
            standardizer = Standardizer().load_state_dict({k: v.numpy() for k, v in state.items()})
        except (KeyError, AttributeError) as e:
            raise CheckpointError(f"{path}: damaged standardizer ({e})") from None
        width = len(names) if names else len(standardizer.mean)
        if standardizer.mean.shape != (width,) or standardizer.std.shape != (width,) or \
                not (np.isfinite(standardizer.mean).all() and np.isfinite(standardizer.std).all()
                     and (standardizer.std > 0).all()):
            raise CheckpointError(f"{path}: damaged standardizer: mean and std must be {width} finite values "
                                  "(std > 0)")
    return names, standardizer


def predict(run_dir, data_path, out_path, which="best", target_name="tested_positive"):
    """Write ``id,<target>`` predictions for a CSV without targets (the course's HW1 submission format)."""
    from ..autograd.grad_mode import no_grad
    from ..data.csv import CSVDataset
    run = RunDirectory.open(run_dir)
    config = run.config
    if config["data"]["kind"] != "csv":
        raise ConfigError(f"predict: runs on csv data only; {run.path} used data.kind = '{config['data']['kind']}'")
    names, standardizer = _read_preprocess(run, config)
    # The training columns by name, so a file with its columns in another order (or extra ones) still works.
    ds = CSVDataset(data_path, target=None, columns=names if names else _columns(config["data"]["columns"]))
    x = ds.raw_features()
    if standardizer is not None:
        x = standardizer.transform(x)
    x = x.astype(TRAINING_DTYPE)
    if not np.isfinite(x).all():
        r, c = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(f"{data_path}, line {ds._parsed.lines[r]}, column {ds.feature_names[c]!r}: not finite "
                         "after standardization")
    rl_random.manual_seed(config["seed"])
    model = build_model(config["model"]["layers"], x.shape[1:])
    _load_weights(model, run.load_checkpoint(which), run, which)
    model.eval()
    with no_grad():
        pred = model(Tensor._make(x)).numpy().reshape(len(x), -1)[:, 0]
    ids = ds.ids if ds.ids is not None else np.arange(len(x))
    lines = [f"id,{target_name}"] + [f"{i},{p:.6f}" for i, p in zip(ids, pred)]
    write_atomic(out_path, "\n".join(lines) + "\n")
    return pred


def _fold(job):
    """Train one CV fold: (validation metric of the final weights, its epoch, epochs run, seconds)."""
    config, bundle, train_idx, valid_idx, metric = job
    started = time.perf_counter()
    built = build_job(config, bundle, train_idx, valid_idx)
    state = run_job(built, progress=False)
    final = state.history[-1]
    if built.early_stopping is not None and built.early_stopping.restore_best and state.best_epoch:
        final = state.history[state.best_epoch - 1]
    return final[metric], final["epoch"], len(state.history), time.perf_counter() - started


def cross_validate(config, folds=5, verbose=True, workers=1, ray=None):
    """k-fold CV (shuffled by the config's seed): per fold, standardise on its training part, train, and take
    the validation metric of the weights the run ends with (the best epoch under early stopping with
    ``restore_best``, else the last epoch).  Returns (mean, std, per-fold values).  The folds run on ``workers``
    local processes or a Ray cluster (``relulab.parallel``), with the same values whatever the worker count."""
    from ..data.splits import KFold, StratifiedKFold
    from ..parallel import map_unordered
    config = resolve(config)
    bundle = load_data(config["data"])
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or not 2 <= folds <= len(bundle.y):
        raise ConfigError(f"cv: --folds must be an integer from 2 to the {len(bundle.y)} rows, got {folds!r}")
    loss_fn = build_loss(config["loss"])
    _check_targets(loss_fn, bundle)
    classification = task_of(loss_fn) == "classification"
    metric = "valid_accuracy" if classification else "valid_loss"
    splitter = (StratifiedKFold if classification else KFold)(folds, shuffle=True, seed=config["seed"])
    try:
        splits = list(splitter.split(_class_labels(bundle) if classification else len(bundle.y)))
    except ValueError as e:
        raise ConfigError(f"cv: cannot make {folds} folds: {e}") from None
    jobs = [(config, bundle, train_idx, valid_idx, metric) for train_idx, valid_idx in splits]
    scores = [None] * folds
    for k, (score, epoch, epochs, seconds) in map_unordered(_fold, jobs, workers=workers, ray=ray):
        scores[k] = score
        if verbose:
            print(f"fold {k + 1}/{folds}: {metric} {score:.5f} at epoch {epoch} ({epochs} epochs, {seconds:.1f}s)",
                  flush=True)
    mean, std = float(np.mean(scores)), float(np.std(scores))
    if verbose:
        print(f"{folds}-fold CV {metric}: {mean:.5f} ± {std:.5f}")
    return mean, std, scores
