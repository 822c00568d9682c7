"""The one training loop that the command line, the labs and users' scripts share.

An epoch is one pass over all mini-batches; each batch makes one update (lecture 2: batch, epoch, shuffle).
Validation runs after every epoch.  Everything needed to continue a run exactly — weights, optimizer,
scheduler, early-stopping state and every random generator — is checkpointed, so 5 epochs + resume + 5 epochs
gives the same bits as 10 epochs in one go.
"""
import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from .. import random as rl_random
from ..autograd.grad_mode import no_grad
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
    """What ``fit`` carries between epochs; saved whole in every checkpoint."""

    epoch: int = 0  # completed epochs
    history: list = field(default_factory=list)
    stopped_early: bool = False
    best_value: float = math.inf  # lowest monitored value so far: picks the "best" checkpoint


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


def fit(model, loss_fn, optimizer, train_loader, epochs, *, valid_loader=None, scheduler=None,
        scheduler_interval="epoch", early_stopping=None, clip_grad_norm=None, clip_grad_value=None, l1=0.0,
        callbacks=(), run=None, progress=None, state=None, verbose=False):
    """Train ``model`` for ``epochs`` epochs (counting any already in ``state``) and return the ``TrainState``.

    - ``scheduler_interval``: 'epoch' or 'batch' (``ReduceLROnPlateau`` always steps per epoch on the
      monitored validation value).
    - ``l1``: adds l1·Σ|w| over weight matrices (the lecture's regularisation); L2 lives in the optimizer's
      ``weight_decay``.
    - ``run``: a ``RunDirectory``: metrics and checkpoints are written there after every epoch.
    - ``state``: a ``TrainState`` to continue from (see ``resume``).
    """
    if scheduler_interval not in ("epoch", "batch"):
        raise ValueError(f"fit: scheduler_interval must be 'epoch' or 'batch', got {scheduler_interval!r}")
    if epochs < 0:
        raise ValueError(f"fit: epochs must be >= 0, got {epochs}")
    state = state or TrainState()
    loaders = {"train": train_loader}
    task = task_of(loss_fn)
    penalized = [p for name, p in model.named_parameters() if name.endswith("weight")] if l1 else []
    best_weights = None
    if early_stopping is not None and early_stopping.restore_best and run is not None and run.has_checkpoint("best"):
        best_weights = run.load_checkpoint("best")["model"]
    for cb in callbacks:
        cb.on_train_begin(state)

    epoch_bar = _progress(range(state.epoch, epochs), progress, desc="epochs", unit="epoch")
    for epoch in epoch_bar:
        model.train()
        started = time.perf_counter()
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
            if scheduler is not None and scheduler_interval == "batch" and not isinstance(scheduler, ReduceLROnPlateau):
                scheduler.step()
            n = int(targets.shape[0]) if targets.ndim else 1
            total += loss.item() * n
            count += n
        if count == 0:
            raise ValueError("fit: the training loader produced no batches (is the dataset empty, or drop_last "
                             "dropping everything?)")
        record = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"], "train_loss": total / count}
        if valid_loader is not None:
            for key, value in evaluate(model, valid_loader, loss_fn, task).items():
                record[f"valid_{key}"] = value
        monitored = record.get(early_stopping.monitor if early_stopping else "valid_loss", record["train_loss"])
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
            improved = monitored < state.best_value
            state.best_value = min(state.best_value, monitored)
        if improved and early_stopping is not None and early_stopping.restore_best:
            best_weights = {k: v.clone() for k, v in model.state_dict().items()}
        stop = early_stopping is not None and early_stopping.should_stop
        for cb in callbacks:
            stop = bool(cb.on_epoch_end(state, record)) or stop
        state.stopped_early = stop
        if run is not None:
            checkpoint = make_checkpoint(model, optimizer, scheduler, early_stopping, state, loaders)
            run.log(record)
            run.save_checkpoint("last", checkpoint)
            if improved:
                run.save_checkpoint("best", checkpoint)
        if verbose:
            print(format_record(record), flush=True)
        if stop:
            break

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


def make_checkpoint(model, optimizer, scheduler, early_stopping, state, loaders):
    return {
        "epoch": state.epoch,
        "stopped_early": state.stopped_early,
        "best_value": state.best_value,
        "history": state.history,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "early_stopping": early_stopping.state_dict() if early_stopping is not None else None,
        "rng": rng_state(loaders),
    }


def restore_checkpoint(checkpoint, model, optimizer, scheduler, early_stopping, loaders):
    """Put every piece of a checkpoint back; returns the ``TrainState`` to pass to ``fit``."""
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None and checkpoint.get("scheduler") is not None:
        scheduler.load_state_dict(dict(checkpoint["scheduler"]))
    if early_stopping is not None and checkpoint.get("early_stopping") is not None:
        early_stopping.load_state_dict(checkpoint["early_stopping"])
    set_rng_state(checkpoint["rng"], loaders)
    return TrainState(epoch=int(checkpoint["epoch"]), history=[dict(r) for r in checkpoint["history"]],
                      stopped_early=bool(checkpoint.get("stopped_early", False)),
                      best_value=float(checkpoint.get("best_value", math.inf)))
