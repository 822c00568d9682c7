"""Lecture 2's training guide as a tool: ``diagnose`` a trained model and name what to fix.

The guide, as the code follows it:

1. Is the training loss large?  Train simple reference models on the same data with the same budget
   (epochs, optimizer family, learning rate): a linear model and a 1-hidden-layer net.
   - If the model loses to a reference it contains (a deeper net could copy a shallower one, the 56- vs
     20-layer argument), the model is there but was not found: **optimization**.
   - Otherwise, if the loss is large relative to a trivial scale (predicting the mean for regression,
     uniform guessing for classification): **model bias** (the needle is not in the haystack).
2. Is the training loss small but the validation loss much larger?  **overfitting**, or **mismatch** when
   the validation data come from a different distribution (``valid_is_shifted=True``).
3. Otherwise: **healthy**.

Along the way it collects evidence: the final gradient norm, the Hessian's type at the end (for small
models), the loss curve's shape (diverging, oscillating, plateau) and the learning rate.  Every threshold
is a field of ``Thresholds``, with the reason for its value.
"""
import inspect
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .. import nn, optim
from .. import random as rl_random
from ..autograd.tensor import Tensor
from ..nn.loss import BCEWithLogitsLoss, L1Loss
from ..utils.data import DataLoader, TensorDataset
from .critical import classify
from .objective import Objective, batches

VERDICTS = ("model bias", "optimization", "overfitting", "mismatch", "healthy")


@dataclass(frozen=True)
class Thresholds:
    """The numbers behind every judgement.  Losses are compared on the *reference scale*: the variance of the
    targets for MSE (the loss of predicting their mean), their mean absolute deviation from the median for L1,
    ln C for C-class cross-entropy and ln 2 for binary cross-entropy (the loss of guessing uniformly)."""

    # Training loss above this fraction of the scale is "large": the model explains less than 80 % of what a
    # constant predictor leaves unexplained.
    high_loss: float = 0.2
    # A reference "beats" the model when its training loss is lower by this fraction of the model's loss ...
    beaten_margin: float = 0.2
    # ... and by at least this fraction of the scale, so two near-zero losses never count as a defeat.
    beaten_absolute: float = 0.02
    # Validation loss more than this many times the training loss is "much larger" ...
    overfit_ratio: float = 2.0
    # ... provided the gap is also at least this fraction of the scale (tiny losses make ratios meaningless).
    overfit_gap: float = 0.05
    # ‖∇L‖ below this fraction of the scale: the end point counts as a critical point.
    critical_gradient: float = 1e-3
    # The exact Hessian costs one backward pass per parameter: only for models this small.
    hessian_max_parameters: int = 2000
    # Diverging: the final loss is this many times the curve's minimum (and gave back half of the descent).
    divergence_factor: float = 3.0
    # Oscillating: at least this share of consecutive differences change sign ...
    oscillation_sign_changes: float = 0.5
    # ... with a mean swing of at least this fraction of the loss level.
    oscillation_amplitude: float = 0.1
    # Plateau: over the last third of the curve the loss fell by less than this fraction ...
    plateau_change: float = 0.01
    # ... while still "large" (``high_loss``), or above this fraction of its first value when no scale is known.
    plateau_unscaled_level: float = 0.5
    # Still falling: the loss fell by more than this fraction over the last third: the budget ended mid-descent.
    still_falling: float = 0.1


THRESHOLDS = Thresholds()

REMEDIES = {
    "model bias": [
        "Give the model more flexibility: more input features (e.g. more days of history).",
        "A bigger model: more neurons per layer or more layers.",
    ],
    "optimization": [
        "Momentum: it rolls past plateaus and saddle points (SGD(momentum=0.9)).",
        "An adaptive learning rate per parameter: Adagrad / RMSProp / Adam.",
        "Learning-rate scheduling: warmup, then decay (e.g. lr_scheduler.warmup_cosine).",
        "Check the learning rate itself: too large diverges or oscillates, too small crawls.",
    ],
    "overfitting": [
        "More training data, or data augmentation (flips and crops that keep the label true).",
        "A more constrained model: fewer parameters, shared parameters (e.g. a CNN), fewer features.",
        "Early stopping on the validation loss.",
        "Regularization (weight_decay, train.l1) and dropout.",
        "Don't over-constrain, or the model bias comes back; choose by validation loss or k-fold CV.",
    ],
    "mismatch": [
        "The training data do not describe the test distribution: more of the same data will not help.",
        "Collect training data that look like the test data, or adapt the model to the new domain.",
    ],
    "healthy": [
        "Nothing to fix: choose among models by validation loss or k-fold CV, never by the public test score.",
    ],
}


# ------------------------------------------------------------------------------------------------- budget
@dataclass
class Budget:
    """How the reference models are trained: the run's epochs, optimizer family and settings, batch size.

    ``batch_size=None`` takes the training DataLoader's batch size, or the full batch for an (x, y) pair.
    The default (Adam, lr 1e-2, 200 epochs) lets a small reference converge when the run's settings are unknown.
    """

    epochs: int = 200
    optimizer: str = "Adam"
    lr: float = 1e-2
    batch_size: int = None
    options: dict = field(default_factory=dict)  # the optimizer's other keyword arguments (momentum, betas ...)

    @classmethod
    def from_config(cls, config, epochs=None):
        """The budget of a config-driven run (its scheduler is not copied: references train at a fixed lr)."""
        section = dict(config["optimizer"])
        name = section.pop("name")
        lr = section.pop("lr", None)
        return cls(int(epochs or config["epochs"]), name, lr, int(config["batch_size"]), section)

    @classmethod
    def from_optimizer(cls, optimizer, epochs, batch_size=None):
        """The budget of a live optimizer: its class, its first group's initial lr and its other settings."""
        group = optimizer.param_groups[0]
        accepted = inspect.signature(type(optimizer)).parameters
        options = {k: group.get(k, v) for k, v in optimizer.defaults.items()
                   if k in accepted and k not in ("lr", "foreach", "maximize", "capturable", "differentiable",
                                                  "fused")}
        lr = group.get("initial_lr", group["lr"])  # a scheduler may have moved "lr"; "initial_lr" is where it began
        return cls(int(epochs), type(optimizer).__name__, float(lr), batch_size, options)

    def make_optimizer(self, parameters):
        cls = getattr(optim, self.optimizer)
        options = dict(self.options)
        if "betas" in options:
            options["betas"] = tuple(options["betas"])
        if self.lr is not None:
            options["lr"] = self.lr
        return cls(parameters, **options)

    def describe(self):
        lr = "default lr" if self.lr is None else f"lr={self.lr:g}"
        batch = "full batch" if self.batch_size is None else f"batch {self.batch_size}"
        return f"{self.optimizer}({lr}), {self.epochs} epochs, {batch}"


# -------------------------------------------------------------------------------------------- curve shape
@dataclass
class CurveShape:
    """What a loss curve looks like: the three shapes the lecture warns about, with the numbers behind them."""

    diverging: bool
    oscillating: bool
    plateau: bool
    still_falling: bool
    final: float
    minimum: float
    sign_change_rate: float
    swing: float          # mean |Δloss| between epochs over the last half, relative to the loss level there
    tail_change: float    # relative fall of the loss over the last third (first half's mean vs second half's)

    def notes(self, lr=None):
        lr_text = "" if lr is None else f" (lr={lr:g})"
        out = []
        if self.diverging:
            out.append(f"The loss curve diverges (final {self.final:.4g} vs minimum {self.minimum:.4g}): the learning "
                       f"rate{lr_text} is too large; lower it or add warmup.")
        if self.oscillating:
            out.append(f"The loss curve oscillates ({self.sign_change_rate:.0%} of steps change direction, swings of "
                       f"{self.swing:.0%}): the learning rate{lr_text} is likely too large for this curvature; lower "
                       "it, decay it, or use momentum/Adam to damp the zigzag.")
        if self.plateau:
            out.append(f"The loss curve is on a plateau (it fell {self.tail_change:.2%} over the last third) while "
                       "the loss is still high: either the model can do no better (model bias), or the optimizer is "
                       f"stuck (learning rate{lr_text} too small, a saddle, a flat region); the references tell which.")
        if self.still_falling:
            out.append(f"The training loss was still falling when training stopped ({self.tail_change:.0%} over the "
                       "last third): more epochs would lower it further.")
        return out


def curve_shape(losses, scale=None, thresholds=THRESHOLDS):
    """Classify a loss curve (one value per epoch).  ``scale`` is the reference scale of the loss, if known."""
    t = thresholds
    losses = np.asarray([float(v) if v is not None else math.nan for v in losses], dtype=np.float64)
    if losses.size == 0:
        return CurveShape(False, False, False, False, math.nan, math.nan, 0.0, 0.0, 0.0)
    if not np.isfinite(losses).all():
        finite = losses[np.isfinite(losses)]
        minimum = float(finite.min()) if finite.size else math.nan
        return CurveShape(True, False, False, False, float(losses[-1]), minimum, 0.0, 0.0, 0.0)
    first, last, minimum = float(losses[0]), float(losses[-1]), float(losses.min())
    # Diverging: ended far above its best *and* gave back much of the descent (noise at a tiny floor is not it).
    diverging = last > t.divergence_factor * minimum and last - minimum > 0.5 * (first - minimum)

    half = losses[len(losses) // 2:]
    steps = np.diff(half)
    signs = np.sign(steps[steps != 0])
    sign_change_rate = float((signs[1:] != signs[:-1]).mean()) if signs.size > 2 else 0.0
    level = max(float(np.abs(half).mean()), 1e-300)
    swing = float(np.abs(steps).mean() / level) if steps.size else 0.0
    big_enough = scale is None or swing * level >= 0.01 * scale  # zigzags at 1e-6 are harmless
    oscillating = (len(losses) >= 6 and sign_change_rate >= t.oscillation_sign_changes
                   and swing >= t.oscillation_amplitude and big_enough and not diverging)

    tail = losses[-max(len(losses) // 3, 5):]  # the last third, or the last 5 epochs of a short run
    # Compare the means of the tail's halves rather than its end points, so a zigzag does not read as a fall.
    early, late = tail[:max(len(tail) // 2, 1)].mean(), tail[len(tail) // 2:].mean()
    tail_change = float((early - late) / max(abs(early), 1e-300))
    still_high = last > t.high_loss * scale if scale else last > t.plateau_unscaled_level * first
    plateau = (len(losses) >= 8 and abs(tail_change) < t.plateau_change and still_high
               and not oscillating and not diverging)
    still_falling = tail_change > t.still_falling and not diverging and not oscillating
    return CurveShape(bool(diverging), bool(oscillating), bool(plateau), bool(still_falling), last, minimum,
                      sign_change_rate, swing, tail_change)


# ------------------------------------------------------------------------------------------------ diagnosis
@dataclass
class Reference:
    kind: str             # "linear" | "shallow"
    name: str
    train_loss: float
    contained: bool       # the diagnosed model could represent this reference exactly
    parameters: int


@dataclass
class Diagnosis:
    verdict: str          # one of VERDICTS
    reason: str           # one sentence: why this verdict
    evidence: dict        # the numbers behind it
    notes: list           # findings about the curve, the learning rate and the curvature
    remedies: list        # the lecture's remedies for the verdict
    references: list = field(default_factory=list)
    history: list = field(default_factory=list, repr=False)
    budget: Budget = None
    title: str = "model"
    thresholds: Thresholds = THRESHOLDS

    def report(self):
        e = self.evidence
        lines = [f"relulab diagnose: {self.title}", f"verdict: {self.verdict.upper()}", f"  {self.reason}", "",
                 "evidence:"]
        scale_text = f"  ({e['relative_train_loss']:.3g} x the reference scale {e['loss_scale']:.4g})"
        lines.append(f"  training loss           {e['train_loss']:.5g}{scale_text}")
        if "valid_loss" in e:
            lines.append(f"  validation loss         {e['valid_loss']:.5g}  ({e['valid_train_ratio']:.3g} x training)")
        if self.references:
            lines.append(f"  references, trained on the same data with {self.budget.describe()}:")
            for ref in self.references:
                tag = "contained in the model" if ref.contained else "not contained"
                lines.append(f"    {ref.name:<30} {ref.train_loss:.5g}  ({ref.parameters} parameters, {tag})")
        for key in ("parameters", "epochs", "lr", "gradient_norm", "hessian_minimum_ratio",
                    "hessian_min_eigenvalue", "hessian_max_eigenvalue"):
            if key in e:
                lines.append(f"  {key.replace('_', ' '):<23} {e[key]:.5g}")
        if self.notes:
            lines += ["", "notes:"] + [f"  - {n}" for n in self.notes]
        lines += ["", f"remedies ({self.verdict}):"] + [f"  - {r}" for r in self.remedies]
        return "\n".join(lines)

    def __str__(self):
        return self.report()

    def plot(self, path):
        """Loss curves (left) and training losses of the model and its references (right); returns the path."""
        import matplotlib
        matplotlib.use("Agg")  # files, never windows: works on machines without a display
        import matplotlib.pyplot as plt
        fig, (curves, bars) = plt.subplots(1, 2, figsize=(11, 4))
        _plot_curves(curves, self.history)
        _plot_bars(bars, self)
        fig.suptitle(f"{self.title}: {self.verdict}", fontsize=11)
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


def _plot_curves(ax, history):
    epochs = [r.get("epoch", i + 1) for i, r in enumerate(history)]
    for key, label in (("train_loss", "training"), ("valid_loss", "validation")):
        values = [r.get(key) for r in history]
        if any(v is not None for v in values):
            ax.plot(epochs, [math.nan if v is None else v for v in values], label=label)
    if not history:
        ax.text(0.5, 0.5, "no training history", ha="center", va="center", transform=ax.transAxes)
    else:
        values = [r.get(k) for r in history for k in ("train_loss", "valid_loss") if r.get(k) is not None]
        if values and all(np.isfinite(v) and v > 0 for v in values):
            ax.set_yscale("log")
        ax.legend()
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("loss curves")


def _plot_bars(ax, diagnosis):
    e = diagnosis.evidence
    names = ["model (train)"] + [r.name for r in diagnosis.references]
    values = [e["train_loss"]] + [r.train_loss for r in diagnosis.references]
    colors = ["tab:blue"] + ["tab:gray" if r.contained else "tab:olive" for r in diagnosis.references]
    if "valid_loss" in e:
        names.insert(1, "model (valid)")
        values.insert(1, e["valid_loss"])
        colors.insert(1, "tab:orange")
    shown = [v if np.isfinite(v) else 0.0 for v in values]
    ax.bar(range(len(names)), shown, color=colors)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=20, ha="right", fontsize=8)
    ax.axhline(e["loss_scale"], color="k", linestyle="--", linewidth=1, label="reference scale")
    ax.axhline(diagnosis.thresholds.high_loss * e["loss_scale"], color="r", linestyle=":", linewidth=1,
               label="'large' threshold")
    ax.set_ylabel("loss")
    ax.set_title("model vs reference models (same data and budget)")
    ax.legend(fontsize=8)


# ------------------------------------------------------------------------------------------------ the tool
def diagnose(model, loss_fn, train_data, valid_data=None, history=None, *, budget=None, seed=0,
             valid_is_shifted=False, references=True, thresholds=THRESHOLDS, title="model"):
    """Follow lecture 2's guide for a trained ``model``; returns a ``Diagnosis``.

    - ``train_data`` / ``valid_data``: a DataLoader, a Dataset or an (x, y) pair.  The validation data should
      come from the training distribution; if they do not, pass ``valid_is_shifted=True`` (a large gap then
      means mismatch rather than overfitting).
    - ``history``: the run's per-epoch records (dicts with ``train_loss``, optionally ``valid_loss`` and ``lr``,
      as ``fit`` returns in ``TrainState.history``) or a plain list of training losses.
    - ``budget``: how the references are trained: a ``Budget`` (see ``Budget.from_optimizer`` /
      ``Budget.from_config``), a number of epochs, or None (``Budget()`` with the history's length as epochs).
    - ``references=False`` skips training them (then "optimization" can only come from a diverging curve).
    The model is not modified; the global random state is restored afterwards.
    """
    t = thresholds
    history = _records(history)
    budget = _budget(budget, history, train_data)
    train_batches = batches(train_data)
    valid_batches = batches(valid_data) if valid_data is not None else None
    saved_rng = rl_random.get_rng_state()
    try:
        return _diagnose(model, loss_fn, train_batches, valid_batches, history, budget, seed, valid_is_shifted,
                         references, t, title)
    finally:
        rl_random.set_rng_state(saved_rng)


def _diagnose(model, loss_fn, train_batches, valid_batches, history, budget, seed, valid_is_shifted,
              with_references, t, title):
    from ..train.loop import evaluate
    x, y = _arrays(train_batches)
    output_shape = _output_shape(model, x)
    scale = loss_scale(loss_fn, y, output_shape)
    train_loss = _finite_or_inf(evaluate(model, train_batches, loss_fn)["loss"])
    evidence = {"train_loss": train_loss, "loss_scale": scale, "relative_train_loss": train_loss / scale,
                "parameters": float(sum(p.numel() for p in model.parameters())), "epochs": float(budget.epochs)}
    if valid_batches is not None:
        valid_loss = _finite_or_inf(evaluate(model, valid_batches, loss_fn)["loss"])
        evidence["valid_loss"] = valid_loss
        evidence["valid_train_ratio"] = valid_loss / max(train_loss, 1e-12)
    lr = _learning_rate(history, budget)
    if lr is not None:
        evidence["lr"] = lr

    refs = _train_references(model, loss_fn, x, y, output_shape, budget, seed) if with_references else []
    for ref in refs:
        evidence[f"{ref.kind}_reference_loss"] = ref.train_loss
    shape = curve_shape([r.get("train_loss") for r in history], scale, t) if history else None
    notes = shape.notes(lr) if shape else []
    notes += _validation_curve_notes(history)
    notes += _curvature_notes(model, loss_fn, x, y, scale, evidence, t)

    verdict, reason = _decide(evidence, refs, shape, valid_is_shifted, t)
    notes += _reference_notes(verdict, evidence, refs, t)
    return Diagnosis(verdict, reason, evidence, notes, list(REMEDIES[verdict]), refs, history, budget, title, t)


def _decide(evidence, refs, shape, valid_is_shifted, t):
    """The guide's flowchart on the collected evidence: training loss first, then the validation gap."""
    train, scale = evidence["train_loss"], evidence["loss_scale"]
    if not math.isfinite(train) or (shape is not None and shape.diverging):
        # A loss that blows up is never a capacity problem: the optimizer is at fault.
        return "optimization", "The training loss diverged: the optimizer made it worse, whatever the model's capacity."
    beaten_by = [r for r in refs if r.contained and _beats(r.train_loss, train, scale, t)]
    if beaten_by:
        best = min(beaten_by, key=lambda r: r.train_loss)
        return "optimization", (f"The model's training loss {train:.4g} is higher than the {best.name}'s "
                                f"{best.train_loss:.4g}, a model it contains: it could have copied it, so the "
                                "optimization failed (lecture 2: the 56-layer vs the 20-layer net).")
    if train > t.high_loss * scale:
        compared = ("no simpler model it contains does better" if refs
                    else "no reference models were trained to rule out an optimization failure")
        caveat = (" (But the loss was still falling at the end: train longer to be sure.)"
                  if shape is not None and shape.still_falling else "")
        return "model bias", (f"The training loss {train:.4g} is large ({train / scale:.0%} of the reference scale "
                              f"{scale:.4g}) and {compared}: the model is too inflexible for the data." + caveat)
    if "valid_loss" in evidence:
        valid = evidence["valid_loss"]
        if valid > t.overfit_ratio * max(train, 1e-12) and valid - train > t.overfit_gap * scale:
            if valid_is_shifted:
                return "mismatch", (f"The training loss {train:.4g} is small but the loss on the shifted data is "
                                    f"{valid:.4g}: training and test distributions differ.")
            return "overfitting", (f"The training loss {train:.4g} is small but the validation loss {valid:.4g} is "
                                   f"{valid / max(train, 1e-12):.3g} x larger, with validation data from the same "
                                   "distribution (if they came from a different one, this would be mismatch).")
    if "valid_loss" not in evidence:
        return "healthy", (f"The training loss {train:.4g} is small ({train / scale:.0%} of the reference scale "
                           f"{scale:.4g}); no validation data were given to check generalization.")
    return "healthy", (f"The training loss {train:.4g} is small ({train / scale:.0%} of the reference scale "
                       f"{scale:.4g}) and the validation loss {evidence['valid_loss']:.4g} is not much larger "
                       f"(overfitting needs over {t.overfit_ratio:g} x the training loss and a gap above "
                       f"{t.overfit_gap * scale:.3g}).")


def _beats(reference_loss, model_loss, scale, t):
    return (reference_loss < (1 - t.beaten_margin) * model_loss
            and model_loss - reference_loss > t.beaten_absolute * scale)


def diagnose_run(run_dir, which=None, *, seed=0, references=True, thresholds=THRESHOLDS):
    """Diagnose a run directory made by ``relulab train``: rebuild its data split and model, load its checkpoint
    (``which``: 'best' or 'last'; by default the weights the run ended with: 'best' under early stopping with
    restore_best, else 'last') and its metrics.jsonl history, and train references on the same budget."""
    from ..train.run import RunDirectory
    from ..train.session import rebuild_job
    run = RunDirectory.open(run_dir)
    config = run.config
    which = which or _final_checkpoint(config)
    if which == "best" and not run.has_checkpoint("best"):
        which = "last"
    job = rebuild_job(config)
    job.model.load_state_dict(run.load_checkpoint(which)["model"])
    history = run.history()
    budget = Budget.from_config(config, epochs=len(history) or None)
    return diagnose(job.model, job.loss_fn, job.loaders["train"], job.loaders.get("valid"), history, budget=budget,
                    seed=seed, references=references, thresholds=thresholds, title=f"{run.path} ({which} checkpoint)")


def _final_checkpoint(config):
    stopping = config["train"]["early_stopping"]
    return "best" if stopping["patience"] > 0 and stopping["restore_best"] else "last"


# ------------------------------------------------------------------------------------------ the reference scale
def loss_scale(loss_fn, targets, output_shape=None):
    """The loss of a trivial predictor: what "large" is measured against (see ``Thresholds``)."""
    from ..train.loop import task_of
    y = np.asarray(targets)
    if task_of(loss_fn) == "classification":
        if isinstance(loss_fn, BCEWithLogitsLoss):
            return math.log(2.0)
        classes = int(np.prod(output_shape[:1])) if output_shape else int(y.max()) + 1
        return math.log(max(classes, 2))
    y = y.astype(np.float64).reshape(len(y), -1)
    if isinstance(loss_fn, L1Loss):
        scale = float(np.abs(y - np.median(y, axis=0)).mean())
    else:
        scale = float(((y - y.mean(axis=0)) ** 2).mean())
    return max(scale, 1e-12)  # constant targets: any loss above ~0 is "large"


# ------------------------------------------------------------------------------------------ reference models
@dataclass
class _Architecture:
    depth: int            # layers with weights
    hidden_widths: list   # out_features of every Linear but the last
    plain_mlp: bool       # only Linear layers carry parameters: the containment arguments hold
    activation: type
    dropout: float


def _architecture(model):
    weighted = [m for m in model.modules() if m._parameters and any(p is not None for p in m._parameters.values())]
    linears = [m for m in weighted if isinstance(m, nn.Linear)]
    activation = next((type(m) for m in model.modules()
                       if isinstance(m, (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.Softplus, nn.Hardsigmoid))),
                      nn.ReLU)
    dropout = next((m.p for m in model.modules() if isinstance(m, nn.Dropout)), 0.0)
    return _Architecture(len(weighted), [m.out_features for m in linears[:-1]], len(linears) == len(weighted),
                         activation, dropout)


DEFAULT_HIDDEN_WIDTH = 32


def _reference_models(model, in_features, output_shape):
    """[(kind, name, layers, contained)]: a linear model and a 1-hidden-layer net with the model's activation,
    dropout and narrowest hidden width."""
    arch = _architecture(model)
    out_features = int(np.prod(output_shape)) if output_shape else 1
    # A linear map of rank <= min(d, k) factors through any hidden width at least that large.
    narrowest = min(arch.hidden_widths) if arch.hidden_widths else None
    linear_contained = arch.plain_mlp and (narrowest is None or narrowest >= min(in_features, out_features))
    width = narrowest or DEFAULT_HIDDEN_WIDTH
    shallow_layers = [nn.Linear(in_features, width), arch.activation()]
    if arch.dropout:
        shallow_layers.append(nn.Dropout(arch.dropout))  # same regularization, or the reference fits unfairly well
    shallow_layers.append(nn.Linear(width, out_features))
    # A deeper plain MLP whose layers are all at least this wide can copy a 1-hidden-layer net: its extra layers
    # pass values through (exactly for ReLU on bounded data, approximately for smooth activations).
    shallow_contained = arch.plain_mlp and arch.depth >= 2
    return [("linear", "linear model", [nn.Linear(in_features, out_features)], linear_contained),
            ("shallow", f"shallow net (1x{width} {arch.activation.__name__})", shallow_layers, shallow_contained)]


class _ToShape(nn.Module):
    """Reshape a reference's (n, k) output to the diagnosed model's output shape, so the same loss applies."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


def _train_references(model, loss_fn, x, y, output_shape, budget, seed):
    from ..train.loop import evaluate, fit
    dtype = next(iter(model.parameters())).dtype if list(model.parameters()) else x.dtype
    in_features = int(np.prod(x.shape[1:]))
    out = []
    for kind, name, layers, contained in _reference_models(model, in_features, output_shape):
        rl_random.manual_seed(seed)  # every reference starts from the same seeded draw
        layers = [nn.Flatten()] + layers
        if tuple(output_shape) != (int(np.prod(output_shape)),):
            layers.append(_ToShape(output_shape))
        reference = nn.Sequential(*layers).to(dtype)
        loader = _loader(x, y, budget.batch_size or len(x), seed)
        fit(reference, loss_fn, budget.make_optimizer(reference.parameters()), loader, budget.epochs, progress=False)
        loss = evaluate(reference, _loader(x, y, 1024), loss_fn)["loss"]
        size = sum(p.numel() for p in reference.parameters())
        out.append(Reference(kind, name, _finite_or_inf(loss), contained, size))
    return out


# ------------------------------------------------------------------------------------------------ notes
def _curvature_notes(model, loss_fn, x, y, scale, evidence, t):
    """Final gradient norm always; the Hessian's type when the model is small enough for the exact Hessian."""
    objective = Objective.from_model(model, loss_fn, _loader(x, y, 1024))
    if not np.isfinite(objective.point).all():
        return ["The parameters themselves are no longer finite (inf/NaN): no gradient or curvature to report."]
    notes = []
    if objective.size <= t.hessian_max_parameters:
        point = classify(objective)
        gradient_norm = point.gradient_norm
        evidence.update(hessian_minimum_ratio=point.minimum_ratio,
                        hessian_min_eigenvalue=float(point.eigenvalues[0]),
                        hessian_max_eigenvalue=float(point.eigenvalues[-1]))
    else:
        point, gradient_norm = None, float(np.linalg.norm(objective.gradient()))
        notes.append(f"The Hessian was not computed: {objective.size} parameters is more than "
                     f"{t.hessian_max_parameters} (one backward pass each).")
    evidence["gradient_norm"] = gradient_norm
    critical = gradient_norm <= t.critical_gradient * scale
    if not critical:
        notes.append(f"The final gradient norm is {gradient_norm:.3g}: training stopped at a point that is not "
                     "critical (the loss could still fall along the gradient).")
    if point is not None:
        notes.append(_hessian_note(point, critical))
    return notes


def _hessian_note(point, critical):
    ratio = f"minimum ratio {point.minimum_ratio:.2f}"
    if point.kind == "saddle" and critical:
        return (f"The end point is a saddle point ({ratio}): the gradient vanished but some curvature is negative; "
                "step along its eigenvector (analysis.escape_saddle) or use momentum to leave it.")
    if point.kind == "saddle":
        return (f"The Hessian has both signs ({ratio}; trained nets typically sit near 0.5-0.6): the loss surface "
                "still curves down in some directions.")
    if point.kind == "local minimum":
        where = "a local minimum" if critical else "a locally convex region"
        return f"The end point is {where} (all Hessian eigenvalues positive, {ratio})."
    if point.kind == "degenerate":
        return (f"The Hessian is degenerate ({ratio}): some directions are flat (zero eigenvalues), so second order "
                "cannot tell a minimum from a saddle.")
    return f"The Hessian says {point.kind} ({ratio})."


def _validation_curve_notes(history):
    valid = [r.get("valid_loss") for r in history]
    if len(valid) < 3 or any(v is None or not math.isfinite(v) for v in valid):
        return []
    best = int(np.argmin(valid))
    if best < len(valid) - 1 and valid[-1] > 1.1 * valid[best]:
        return [f"The validation loss bottomed at epoch {history[best].get('epoch', best + 1)} ({valid[best]:.4g}) "
                f"and ended {valid[-1] / valid[best] - 1:.0%} higher: early stopping would keep the better epoch."]
    return []


def _reference_notes(verdict, evidence, refs, t):
    """What the references not contained in the model say: more capacity lowers the training loss, or not."""
    bigger = [r for r in refs if not r.contained]
    best = min(bigger, key=lambda r: r.train_loss) if bigger else None
    if best is not None and best.train_loss < (1 - t.beaten_margin) * evidence["train_loss"]:
        return [f"The {best.name}, a model with more capacity, reaches {best.train_loss:.4g} on the same budget "
                f"({1 - best.train_loss / evidence['train_loss']:.0%} lower): capacity helps the training loss"
                + (" (watch the validation loss)." if verdict != "model bias" else ".")]
    if verdict == "model bias" and refs:
        return ["No reference does much better either: consider new features, not only a bigger model."]
    return []


# ------------------------------------------------------------------------------------------------ helpers
def _records(history):
    """A list of dicts, from records or from a plain list of training losses."""
    if history is None:
        return []
    records = list(history)
    if records and not isinstance(records[0], dict):
        return [{"epoch": i + 1, "train_loss": float(v)} for i, v in enumerate(records)]
    return [dict(r) for r in records]


def _budget(budget, history, train_data):
    if budget is None:
        budget = Budget(epochs=len(history) or Budget.epochs)
    elif isinstance(budget, (int, np.integer)):
        budget = Budget(epochs=int(budget))
    if budget.batch_size is None and getattr(train_data, "batch_size", None):
        budget = replace(budget, batch_size=int(train_data.batch_size))
    return budget


def _learning_rate(history, budget):
    if budget.lr is not None:
        return float(budget.lr)
    lrs = [r["lr"] for r in history if isinstance(r.get("lr"), (int, float))]
    return float(lrs[0]) if lrs else None  # the optimizer's default lr, as the history recorded it


def _arrays(batch_list):
    x = np.concatenate([b[0].numpy() for b in batch_list])
    y = np.concatenate([b[1].numpy().reshape(b[1].shape) for b in batch_list])
    return x, y


def _loader(x, y, batch_size, seed=None):
    """A DataLoader over arrays: shuffled with a seeded generator when ``seed`` is given."""
    data = TensorDataset(Tensor._make(x), Tensor._make(y))
    if seed is None:
        return DataLoader(data, batch_size=batch_size)
    return DataLoader(data, batch_size=batch_size, shuffle=True, generator=rl_random.Generator().manual_seed(seed))


def _output_shape(model, x):
    from ..autograd.grad_mode import no_grad
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return tuple(model(Tensor._make(x[:2])).shape[1:])
    finally:
        model.train(was_training)


def _finite_or_inf(value):
    value = float(value)
    return value if math.isfinite(value) else math.inf
