"""The one training loop that the command line, the labs and users' scripts share.

An epoch is one pass over all mini-batches; each batch makes one update (lecture 2: batch, epoch, shuffle).
Validation runs after every epoch.  Everything needed to continue a run exactly — weights, optimizer,
scheduler, early-stopping state and every random generator — is checkpointed, so 5 epochs + resume + 5 epochs
gives the same bits as 10 epochs in one go.
"""
import math
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .. import random as rl_random
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..nn.loss import BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss
from ..nn.utils import clip_grad_norm_, clip_grad_value_
from ..optim.lr_scheduler import ReduceLROnPlateau


@dataclass
class EarlyStopping:
    """Stop when the monitored value has not improved by more than ``min_delta`` for ``patience`` epochs.

    With ``restore_best`` the model ends with the weights of its best epoch (lecture 2: early stopping is one of
    the remedies for overfitting; the validation loss picks the epoch).
    """

    patience: int = 10
    min_delta: float = 0.0
    restore_best: bool = True
    monitor: str = "valid_loss"
    mode: str = "min"
    best: float = math.inf
    best_epoch: int = -1
    bad_epochs: int = 0

    def __post_init__(self):
        if self.patience < 0 or self.min_delta < 0:
            raise ValueError(f"EarlyStopping: patience ({self.patience}) and min_delta ({self.min_delta}) must be >= 0")
        if self.mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {self.mode!r}")
        if self.mode == "max" and self.best == math.inf:
            self.best = -math.inf

    def update(self, value, epoch):
        """Record this epoch's value; return True when it is a new best."""
        gain = (self.best - value) if self.mode == "min" else (value - self.best)
        if gain > self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = float(value), epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self):
        return self.bad_epochs > self.patience

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state):
        self.best, self.best_epoch, self.bad_epochs = float(state["best"]), int(state["best_epoch"]), int(state["bad_epochs"])


class Callback:
    """Hooks called by ``fit``; override the ones you need.  ``on_epoch_end`` may return True to stop."""

    def on_train_begin(self, state):
        pass

    def on_epoch_end(self, state, record):
        return False

    def on_train_end(self, state):
        pass


@dataclass
class TrainState:
    """What ``fit`` carries between epochs.  The history lives in memory and in the run's metrics files; the
    rest is in every checkpoint."""

    epoch: int = 0  # completed epochs
    history: list = field(default_factory=list)
    stopped_early: bool = False
    best_value: float = math.nan  # the monitored value of the best epoch so far (NaN before the first)
    best_epoch: int = 0           # 0: no epoch has been best yet


def task_of(loss_fn):
    """'classification' for losses over class scores, else 'regression'."""
    return "classification" if isinstance(loss_fn, (CrossEntropyLoss, NLLLoss, BCEWithLogitsLoss)) else "regression"


def evaluate(model, loader, loss_fn, task=None):
    """Average loss over all samples (``eval()`` mode, no graph) plus accuracy or MSE/MAE."""
    task = task or task_of(loss_fn)
    was_training = model.training
    model.eval()
    total, count, correct, sq_err, abs_err = 0.0, 0, 0, 0.0, 0.0
    try:
        with no_grad():
            for inputs, targets in loader:
                out = model(inputs)
                n = int(targets.shape[0]) if targets.ndim else 1
                total += loss_fn(out, targets).item() * n
                count += n
                if task == "classification":
                    if isinstance(loss_fn, BCEWithLogitsLoss):
                        pred = (out.numpy() > 0).astype(targets.dtype)
                    else:
                        pred = out.numpy().argmax(axis=1)
                    correct += int((pred.reshape(targets.shape) == targets.numpy()).sum())
                else:
                    diff = out.numpy().reshape(targets.shape) - targets.numpy()
                    sq_err += float((diff.astype(np.float64) ** 2).sum())
                    abs_err += float(np.abs(diff).sum())
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the loader produced no samples")
    metrics = {"loss": total / count}
    if task == "classification":
        metrics["accuracy"] = correct / count
    else:
        width = max(int(np.prod(out.shape[1:])), 1) if out.ndim > 1 else 1
        metrics["mse"] = sq_err / (count * width)
        metrics["mae"] = abs_err / (count * width)
    return metrics


def rng_state(loaders):
    """Every random stream a run draws from: the default generator and each loader's own."""
    state = {"default": rl_random.get_rng_state()}
    for name, loader in loaders.items():
        gen = getattr(loader, "generator", None)
        if gen is not None:
            state[name] = gen.get_state()
    return state


def set_rng_state(state, loaders):
    rl_random.set_rng_state(_plain(state["default"]))
    for name, loader in loaders.items():
        gen = getattr(loader, "generator", None)
        if gen is not None and name in state:
            gen.set_state(_plain(state[name]))


def _plain(obj):
    """Checkpoint dicts come back as OrderedDicts; NumPy's bit-generator state wants plain dicts."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def _progress(iterable, enabled, **kwargs):
    if enabled is None:
        enabled = sys.stdout.isatty()  # quiet in logs, CI and pipes
    if not enabled:
        return iterable
    from tqdm.auto import tqdm
    return tqdm(iterable, **kwargs)


def _better(value, best, mode):
    if math.isnan(value):
        return False
    if math.isnan(best):
        return True
    return value < best if mode == "min" else value > best


def _snapshot(model):
    return {k: Tensor._make(v._data.copy()) for k, v in model.state_dict().items()}


class _DeferredInterrupt:
    """While ``fit`` writes a run: a Ctrl-C that arrives when finished epochs are not yet committed (short
    epochs are committed in groups, see ``RunDirectory.wants_commit``) lets the current epoch end, commits it,
    and then stops with KeyboardInterrupt, so nothing that was trained is lost.  Otherwise, or at a second
    Ctrl-C, it stops at once.  Only in the main thread, and only over Python's default handler."""

    def __init__(self, active):
        self.active = active
        self.pending = False
        self.uncommitted = False
        self._previous = None

    def __enter__(self):
        if self.active and threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.uncommitted and not self.pending:
            self.pending = True
            return
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def _train_epoch(model, loss_fn, optimizer, train_loader, scheduler, per_batch, clip_grad_norm, clip_grad_value,
                 penalized, l1):
    """One pass over the training batches, one update each; returns (summed loss, samples)."""
    total, count = 0.0, 0
    for inputs, targets in train_loader:
        loss = loss_fn(model(inputs), targets)
        objective = loss
        if penalized:
            objective = loss + l1 * sum(p.abs().sum() for p in penalized)
        optimizer.zero_grad()
        objective.backward()
        if clip_grad_norm:
            clip_grad_norm_(model.parameters(), clip_grad_norm)
        if clip_grad_value:
            clip_grad_value_(model.parameters(), clip_grad_value)
        optimizer.step()
        if per_batch:
            scheduler.step()
        n = int(targets.shape[0]) if targets.ndim else 1
        total += loss.item() * n
        count += n
    if count == 0:
        raise ValueError("fit: the training loader produced no batches (is the dataset empty, or drop_last "
                         "dropping everything?)")
    return total, count


def fit(model, loss_fn, optimizer, train_loader, epochs, *, valid_loader=None, scheduler=None,
        scheduler_interval="epoch", early_stopping=None, clip_grad_norm=None, clip_grad_value=None, l1=0.0,
        callbacks=(), run=None, progress=None, state=None, verbose=False, monitor=None, log_every=0,
        best_weights=None):
    """Train ``model`` for ``epochs`` epochs (counting any already in ``state``) and return the ``TrainState``.

    - ``scheduler_interval``: 'epoch' or 'batch' (``ReduceLROnPlateau`` always steps per epoch on the
      monitored value).
    - ``l1``: adds l1·Σ|w| over weight matrices (the lecture's regularisation); L2 lives in the optimizer's
      ``weight_decay``.
    - ``monitor``: the record key that picks the best epoch (default: ``valid_loss`` when there is a
      validation loader, else ``train_loss``); an ``early_stopping`` brings its own.
    - ``run``: a ``RunDirectory``: epochs end with one atomic commit of the last state and the best weights
      (after appending their records to the metrics files); when epochs are much shorter than a commit,
      several share one, so that commits take at most ``run.commit_budget`` of the time.
    - ``state`` / ``best_weights``: where to continue from (see ``resume``).
    - ``verbose``: print one line every ``log_every`` epochs (0: about ten lines per run).
    """
    if scheduler_interval not in ("epoch", "batch"):
        raise ValueError(f"fit: scheduler_interval must be 'epoch' or 'batch', got {scheduler_interval!r}")
    if epochs < 0:
        raise ValueError(f"fit: epochs must be >= 0, got {epochs}")
    state = state or TrainState()
    loaders = {"train": train_loader}
    task = task_of(loss_fn)
    if early_stopping is not None:
        monitor, mode = early_stopping.monitor, early_stopping.mode
    else:
        monitor = monitor or ("valid_loss" if valid_loader is not None else "train_loss")
        mode = "max" if monitor.endswith("accuracy") else "min"
    penalized = [p for name, p in model.named_parameters() if name.endswith("weight")] if l1 else []
    per_batch = scheduler is not None and scheduler_interval == "batch" and not isinstance(scheduler, ReduceLROnPlateau)
    every = log_every or max(1, math.ceil(epochs / 10))
    for cb in callbacks:
        cb.on_train_begin(state)

    epoch_bar = _progress(range(state.epoch, epochs), progress, desc="epochs", unit="epoch")
    say = epoch_bar.write if hasattr(epoch_bar, "write") else (lambda line: print(line, flush=True))
    if run is not None:
        run.begin(state.epoch)
    pending, epoch_end = [], time.perf_counter()  # records not yet committed; when the last epoch ended
    interrupt = _DeferredInterrupt(active=run is not None)
    try:
        with interrupt:
            for epoch in epoch_bar:
                model.train()
                started = time.perf_counter()
                total, count = _train_epoch(model, loss_fn, optimizer, train_loader, scheduler, per_batch,
                                            clip_grad_norm, clip_grad_value, penalized, l1)
                record = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"], "train_loss": total / count}
                if valid_loader is not None:
                    for key, value in evaluate(model, valid_loader, loss_fn, task).items():
                        record[f"valid_{key}"] = value
                if monitor not in record:
                    raise ValueError(f"fit: the monitored value {monitor!r} is not among this run's records "
                                     f"({', '.join(k for k in record if k != 'epoch')})"
                                     + ("; pass a valid_loader" if monitor.startswith("valid_") else ""))
                monitored = record[monitor]
                if scheduler is not None:
                    if isinstance(scheduler, ReduceLROnPlateau):
                        scheduler.step(monitored)
                    elif scheduler_interval == "epoch":
                        scheduler.step()
                record["seconds"] = time.perf_counter() - started
                state.epoch = epoch + 1
                state.history.append(record)

                if early_stopping is not None:
                    improved = early_stopping.update(monitored, epoch + 1)
                else:
                    improved = _better(monitored, state.best_value, mode)
                if improved:
                    state.best_value, state.best_epoch = float(monitored), epoch + 1
                    best_weights = _snapshot(model)
                stop = early_stopping is not None and early_stopping.should_stop
                for cb in callbacks:
                    stop = bool(cb.on_epoch_end(state, record)) or stop
                state.stopped_early = stop
                if run is not None:
                    pending.append(record)
                    now = time.perf_counter()
                    if stop or state.epoch == epochs or interrupt.pending or run.wants_commit(now - epoch_end):
                        run.save(pending, lambda: make_checkpoint(model, optimizer, scheduler, early_stopping,
                                                                  state, loaders, best_weights))
                        pending = []
                        now = time.perf_counter()
                    interrupt.uncommitted = bool(pending)
                    epoch_end = now
                if verbose and (state.epoch == 1 or state.epoch % every == 0 or state.epoch == epochs or stop):
                    say(format_record(record))
                if stop:
                    break
                if interrupt.pending:  # a Ctrl-C waited for this epoch to end and be committed
                    raise KeyboardInterrupt
    finally:
        if run is not None:
            run.close()

    if early_stopping is not None and early_stopping.restore_best and best_weights is not None:
        model.load_state_dict(best_weights)
    for cb in callbacks:
        cb.on_train_end(state)
    return state


def format_record(record):
    parts = [f"epoch {record['epoch']:>4}"]
    for key, value in record.items():
        if key not in ("epoch", "seconds") and isinstance(value, float):
            parts.append(f"{key} {value:.5g}")
    return "  ".join(parts)


def make_checkpoint(model, optimizer, scheduler, early_stopping, state, loaders, best_weights=None):
    """One epoch's commit: everything needed to continue exactly, and the best epoch's weights (stored once:
    when the best epoch is this one, they are the model's own)."""
    separate_best = state.best_epoch not in (0, state.epoch)
    return {
        "epoch": state.epoch,
        "stopped_early": state.stopped_early,
        "best_value": state.best_value,
        "best_epoch": state.best_epoch,
        "model": model.state_dict(),
        "best_model": best_weights if separate_best else None,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "early_stopping": early_stopping.state_dict() if early_stopping is not None else None,
        "rng": rng_state(loaders),
    }


_CHECKPOINT_SCHEMA = {"epoch": int, "stopped_early": bool, "best_value": (int, float), "best_epoch": int,
                      "model": dict, "best_model": (dict, type(None)), "optimizer": dict,
                      "scheduler": (dict, type(None)), "early_stopping": (dict, type(None)), "rng": dict}


def check_checkpoint(checkpoint, path):
    """A commit read back must have every part ``make_checkpoint`` writes, with the right types, and
    tensors for weights; anything else is a ``CheckpointError`` naming the file and the part."""
    from ..serialization import CheckpointError
    for key, kind in _CHECKPOINT_SCHEMA.items():
        if key not in checkpoint:
            raise CheckpointError(f"{path}: not a training checkpoint: it has no '{key}'")
        value = checkpoint[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            expected = " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__
            raise CheckpointError(f"{path}: its '{key}' is {type(value).__name__} {value!r:.60}, not {expected}")
    for key in ("model", "best_model"):
        weights = checkpoint[key] or {}
        bad = next((name for name, v in weights.items() if not isinstance(v, Tensor)), None)
        if bad is not None:
            raise CheckpointError(f"{path}: '{key}.{bad}' is not a tensor")
    if not 0 <= checkpoint["best_epoch"] <= checkpoint["epoch"]:
        raise CheckpointError(f"{path}: its best epoch {checkpoint['best_epoch']} is not between 0 and its "
                              f"epoch {checkpoint['epoch']}")


def best_of(checkpoint):
    """The best epoch's weights in a checkpoint, or None when no epoch has been best (a NaN loss, say)."""
    if not checkpoint.get("best_epoch"):
        return None
    if checkpoint.get("best_model") is not None:
        return checkpoint["best_model"]
    return checkpoint["model"]


def restore_checkpoint(checkpoint, model, optimizer, scheduler, early_stopping, loaders, history=()):
    """Put every piece of a checkpoint back; returns the ``TrainState`` and the best weights to pass to ``fit``.
    ``history`` is the run's metrics records up to the checkpoint's epoch."""
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None and checkpoint.get("scheduler") is not None:
        scheduler.load_state_dict(dict(checkpoint["scheduler"]))
    if early_stopping is not None and checkpoint.get("early_stopping") is not None:
        early_stopping.load_state_dict(checkpoint["early_stopping"])
    set_rng_state(checkpoint["rng"], loaders)
    best = best_of(checkpoint)
    best = None if best is None else {k: Tensor._make(v._data.copy()) for k, v in best.items()}
    state = TrainState(epoch=int(checkpoint["epoch"]), history=[dict(r) for r in history],
                       stopped_early=bool(checkpoint["stopped_early"]),
                       best_value=float(checkpoint["best_value"]), best_epoch=int(checkpoint["best_epoch"]))
    return state, best
