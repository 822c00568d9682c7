"""Checks that need the built objects, run before any file is written.

A config can be well-typed and still fail an hour in: the last layer gives 3 numbers per sample for a
1-column target, a scheduler's lr turns negative at step 500, a loss rejects its targets.  These checks run
the pieces once on the real data, or on throwaway copies, and turn any failure into a ``ConfigError`` naming
the config section:

- the model's output on a real batch against the targets, and the loss on it (finite at the initial weights);
- one optimizer step on a throwaway parameter with the config's arguments;
- the whole learning-rate schedule, stepped on that throwaway optimizer: every lr finite and >= 0.
"""
import math
import warnings

import numpy as np

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..nn.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss
from ..optim.lr_scheduler import ReduceLROnPlateau
from .builders import _BAD_ARGUMENT, build_optimizer, build_scheduler
from .config import ConfigError

MAX_SCHEDULE_STEPS = 100_000  # longer schedules are checked over their first 100,000 steps


def check_output(model, loss_fn, x, y, n_classes, layers):
    """The model's output for a batch ``x`` must fit the targets ``y`` for this loss; the loss must be finite."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            out = model(Tensor._make(x))
    except _BAD_ARGUMENT as e:
        raise ConfigError(f"model.layers {layers} fail on a batch of shape {tuple(x.shape)}: {e}") from None
    finally:
        model.train(was_training)
    per_sample, target = tuple(out.shape[1:]), tuple(y.shape[1:])
    name = type(loss_fn).__name__
    if isinstance(loss_fn, (CrossEntropyLoss, NLLLoss)) and np.issubdtype(y.dtype, np.integer):
        if len(per_sample) != 1 or per_sample[0] < n_classes:
            raise ConfigError(f"model.layers end with {per_sample} numbers per sample, but {name} needs one score "
                              f"per class: the labels go from 0 to {n_classes - 1}, so end with Linear({n_classes})")
    elif per_sample != target:
        hint = f" (end with Linear({target[0]}))" if len(target) == 1 else ""
        raise ConfigError(f"model.layers end with output shape {per_sample} per sample, but the targets have "
                          f"shape {target} per sample; {name} needs them equal{hint}")
    if isinstance(loss_fn, (BCELoss, BCEWithLogitsLoss)) and y.size and (y.min() < 0 or y.max() > 1):
        raise ConfigError(f"loss {name} needs targets in [0, 1], the data has {y.min()}..{y.max()}")
    try:
        with no_grad():
            value = loss_fn(out, Tensor._make(y)).item()
    except _BAD_ARGUMENT as e:
        raise ConfigError(f"loss {name} on the model's output {tuple(out.shape)} and targets {tuple(y.shape)}: "
                          f"{e}") from None
    if not math.isfinite(value):
        raise ValueError(f"the loss at the initial weights is {value} on the first {len(x)} training rows: "
                         "training would run on NaN; check the data for huge values and the model")


def check_optimizer_and_schedule(config, steps_per_epoch):
    """One step of the config's optimizer, and its whole lr schedule, on a throwaway parameter."""
    from ..factory import zeros
    param = zeros(1, requires_grad=True)
    optimizer = build_optimizer(config["optimizer"], [param])
    name = config["optimizer"]["name"]
    try:
        (param * 0.0).sum().backward()
        optimizer.step()
    except _BAD_ARGUMENT as e:
        raise ConfigError(f"optimizer {name}: its first step fails: {e}") from None
    section = config["scheduler"]
    scheduler = build_scheduler(section, optimizer, steps_per_epoch, config["epochs"])
    if scheduler is None:
        return
    per_batch = section["interval"] == "batch" and not isinstance(scheduler, ReduceLROnPlateau)
    total = config["epochs"] * (steps_per_epoch if per_batch else 1)
    step = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for step in range(1, min(total, MAX_SCHEDULE_STEPS) + 1):
                scheduler.step(0.0) if isinstance(scheduler, ReduceLROnPlateau) else scheduler.step()
                for group in optimizer.param_groups:
                    lr = group["lr"]
                    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr >= 0):
                        raise ValueError(f"the learning rate becomes {lr!r}")
    except _BAD_ARGUMENT as e:
        raise ConfigError(f"scheduler {section['name']}: step {step} of the run's {total} fails: {e}") from None
