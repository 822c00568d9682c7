"""Config-driven runs: train, resume, evaluate, predict and k-fold cross-validation.

This is what ``relulab train/resume/evaluate/predict/cv`` call; scripts can call it too.  Nothing is written
until the whole config has been checked and the data loaded, so a bad config leaves no half-made run directory.
"""
import json
import time
from dataclasses import dataclass

import numpy as np

from .. import random as rl_random
from ..autograd.tensor import Tensor
from ..data.csv import Standardizer
from ..utils.data import DataLoader, TensorDataset
from .builders import build_loss, build_model, build_optimizer, build_scheduler
from .config import ConfigError, load_config, resolve
from .loop import EarlyStopping, TrainState, evaluate, fit, restore_checkpoint, task_of
from ..serialization import write_atomic
from .run import RunDirectory


# ---------------------------------------------------------------------------------------------------- data
@dataclass
class DataBundle:
    """The labelled pool (to split into train/valid or folds), an optional fixed test split, and metadata."""

    x: np.ndarray
    y: np.ndarray
    test_x: np.ndarray = None
    test_y: np.ndarray = None
    feature_names: list = None


def load_data(data):
    kind = data["kind"]
    if kind == "csv":
        from ..data.csv import CSVDataset
        if not data["path"]:
            raise ConfigError("data.path is required for data.kind = 'csv'")
        ds = CSVDataset(data["path"], target=data["target"], columns=_columns(data["columns"]))
        return DataBundle(ds.features, ds.targets, feature_names=list(ds.feature_names))
    if kind == "digits":
        from ..data.digits import digits
        train = digits("train", test_fraction=data["test_fraction"], flatten=data["flatten"])
        test = digits("test", test_fraction=data["test_fraction"], flatten=data["flatten"])
        return DataBundle(train.features, train.targets, test.features, test.targets)
    if kind == "views":
        from ..data.views import daily_views, window
        train, test = window(daily_views(), data["days"], data["test_year"] or None)
        return DataBundle(train.features, train.targets, test.features, test.targets)
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


def build_job(config, bundle, train_idx, valid_idx):
    """Model, optimizer, scheduler and loaders for one split of the pool.  Seeds everything from the config."""
    seed = config["seed"]
    rl_random.manual_seed(seed)
    data = config["data"]
    x_train = bundle.x[train_idx]
    standardizer = Standardizer().fit(_rows(x_train)) if data["standardize"] else None

    def dataset(x, y):
        if standardizer is not None:
            x = standardizer.transform(_rows(x)).reshape(x.shape).astype(np.float32)
        return TensorDataset(Tensor._make(x), Tensor._make(y))

    generator = rl_random.Generator().manual_seed(seed)
    loaders = {"train": DataLoader(dataset(x_train, bundle.y[train_idx]), batch_size=config["batch_size"],
                                   shuffle=data["shuffle"], generator=generator)}
    if len(valid_idx):
        loaders["valid"] = DataLoader(dataset(bundle.x[valid_idx], bundle.y[valid_idx]), batch_size=1024)
    if bundle.test_x is not None:
        loaders["test"] = DataLoader(dataset(bundle.test_x, bundle.test_y), batch_size=1024)

    model = build_model(config["model"]["layers"], bundle.x.shape[1:])
    loss_fn = build_loss(config["loss"])
    optimizer = build_optimizer(config["optimizer"], model.parameters())
    scheduler = build_scheduler(config["scheduler"], optimizer, len(loaders["train"]), config["epochs"])
    es = config["train"]["early_stopping"]
    early = None
    if es["patience"] > 0:
        monitor = es["monitor"] if "valid" in loaders else "train_loss"
        mode = "max" if monitor.endswith("accuracy") else "min"
        early = EarlyStopping(es["patience"], es["min_delta"], es["restore_best"], monitor, mode)
    return Job(config, model, loss_fn, optimizer, scheduler, early, loaders, standardizer)


def run_job(job, run=None, state=None, verbose=False, progress=None, callbacks=()):
    train = job.config["train"]
    return fit(job.model, job.loss_fn, job.optimizer, job.loaders["train"], job.config["epochs"],
               valid_loader=job.loaders.get("valid"), scheduler=job.scheduler,
               scheduler_interval=job.config["scheduler"]["interval"], early_stopping=job.early_stopping,
               clip_grad_norm=train["clip_grad_norm"] or None, clip_grad_value=train["clip_grad_value"] or None,
               l1=train["l1"], callbacks=callbacks, run=run, state=state, verbose=verbose, progress=progress)


def pool_split(config, bundle):
    """The run's (train, valid) indices: the same for train, resume, evaluate and diagnose."""
    classification = task_of(build_loss(config["loss"])) == "classification"
    return holdout_split(bundle.y, config["data"]["valid_fraction"], config["seed"], classification)


def rebuild_job(config):
    """Load the config's data and build its job on the holdout split, exactly as ``train`` does."""
    bundle = load_data(config["data"])
    return build_job(config, bundle, *pool_split(config, bundle))


def train(config, out_dir=None, name=None, verbose=True, progress=None, callbacks=()):
    """Train from a resolved config; returns the ``RunDirectory``.  The directory appears only once the
    config, data and model have all been built.  ``callbacks``: ``fit`` callbacks (e.g. a sweep's reporter)."""
    job = rebuild_job(config)
    run = RunDirectory.create(out_dir or config["out_dir"], name or config["name"], config)
    if job.standardizer is not None:
        from ..serialization import save
        save({"standardizer": job.standardizer.state_dict()}, run.path / "preprocess.safetensors")
    if verbose:
        print(f"run directory: {run.path}", flush=True)
    run_job(job, run, verbose=verbose, progress=progress, callbacks=callbacks)
    return run


def resume(run_dir, epochs=None, verbose=True, progress=None):
    """Continue a run from its last checkpoint, bit for bit as if it had never stopped."""
    run = RunDirectory.open(run_dir)
    config = run.config
    if epochs is not None:
        config["epochs"] = int(epochs)
        write_atomic(run.path / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
    job = rebuild_job(config)
    checkpoint = run.load_checkpoint("last")
    state = restore_checkpoint(checkpoint, job.model, job.optimizer, job.scheduler, job.early_stopping,
                               {"train": job.loaders["train"]})
    if state.stopped_early and epochs is None:
        if verbose:
            print(f"{run.path}: the run already stopped early at epoch {state.epoch}", flush=True)
        return run
    state.stopped_early = False
    if verbose:
        print(f"resuming {run.path} at epoch {state.epoch} of {config['epochs']}", flush=True)
    run_job(job, run, state=state, verbose=verbose, progress=progress)
    return run


def evaluate_run(run_dir, which="best"):
    """Metrics of a run's checkpoint on its train, validation and (if any) test splits."""
    run = RunDirectory.open(run_dir)
    config = run.config
    job = rebuild_job(config)
    job.model.load_state_dict(run.load_checkpoint(which)["model"])
    return {split: evaluate(job.model, loader, job.loss_fn) for split, loader in job.loaders.items()}


def predict(run_dir, data_path, out_path, which="best", target_name="tested_positive"):
    """Write ``id,<target>`` predictions for a CSV without targets (the course's HW1 submission format)."""
    from ..autograd.grad_mode import no_grad
    from ..data.csv import CSVDataset
    from ..serialization import load
    run = RunDirectory.open(run_dir)
    config = run.config
    if config["data"]["kind"] != "csv":
        raise ConfigError(f"predict: runs on csv data only; {run.path} used data.kind = '{config['data']['kind']}'")
    ds = CSVDataset(data_path, target=None, columns=_columns(config["data"]["columns"]))
    x = ds.features
    prep_path = run.path / "preprocess.safetensors"
    if prep_path.exists():
        standardizer = Standardizer().load_state_dict(load(prep_path)["standardizer"])
        x = standardizer.transform(x).astype(np.float32)
    rl_random.manual_seed(config["seed"])
    model = build_model(config["model"]["layers"], x.shape[1:])
    model.load_state_dict(run.load_checkpoint(which)["model"])
    model.eval()
    with no_grad():
        pred = model(Tensor._make(x)).numpy().reshape(len(x), -1)[:, 0]
    ids = ds.ids if ds.ids is not None else np.arange(len(x))
    lines = [f"id,{target_name}"] + [f"{i},{p:.6f}" for i, p in zip(ids, pred)]
    write_atomic(out_path, "\n".join(lines) + "\n")
    return pred


def cross_validate(config, folds=5, verbose=True):
    """k-fold CV (shuffled by the config's seed): per fold, standardise on its training part, train, and take
    the validation metric of the weights the run ends with (the best epoch under early stopping with
    ``restore_best``, else the last epoch).  Returns (mean, std, per-fold values)."""
    from ..data.splits import KFold, StratifiedKFold
    bundle = load_data(config["data"])
    classification = task_of(build_loss(config["loss"])) == "classification"
    metric = "valid_accuracy" if classification else "valid_loss"
    splitter = (StratifiedKFold if classification else KFold)(folds, shuffle=True, seed=config["seed"])
    splits = splitter.split(bundle.y if classification else len(bundle.y))
    scores = []
    for k, (train_idx, valid_idx) in enumerate(splits):
        started = time.perf_counter()
        job = build_job(config, bundle, train_idx, valid_idx)
        state = run_job(job, progress=False)
        final = state.history[-1]
        if job.early_stopping is not None and job.early_stopping.restore_best:
            final = state.history[job.early_stopping.best_epoch - 1]
        scores.append(final[metric])
        if verbose:
            print(f"fold {k + 1}/{folds}: {metric} {final[metric]:.5f} at epoch {final['epoch']} "
                  f"({len(state.history)} epochs, "
                  f"{time.perf_counter() - started:.1f}s)", flush=True)
    mean, std = float(np.mean(scores)), float(np.std(scores))
    if verbose:
        print(f"{folds}-fold CV {metric}: {mean:.5f} ± {std:.5f}")
    return mean, std, scores
