"""``diagnose``: collect the evidence (the run's losses, curve, lr, curvature; the doctor's own reference models
and lr scan; the noise estimate) and apply the guide's flowchart (``verdict.decide``)."""
import math
from dataclasses import replace

import numpy as np

from ... import random as rl_random
from ...autograd.tensor import Tensor
from ..critical import classify
from ..objective import Objective, batches
from .budget import Budget, default_lr
from .curve import curve_shape
from .lr_search import ADAM_GRID, KEEP, DoctorData, epochs_for, lr_scan, lr_search
from .references import (Reference, architecture, build_reference, parameter_count, reference_plans,
                         reinitialised)
from .report import Diagnosis, containment_notes
from .scale import loss_scale, nearest_neighbour_noise
from .thresholds import THRESHOLDS
from .verdict import beats, decide, learning_rate_finding, remedies

# Optimizer updates per lr candidate in the doctor's own training (``relulab diagnose --budget``): enough for
# Adam at a good lr to bring the small reference nets near their floor, while a HW1-size diagnosis (2,700 rows)
# stays well under a minute on two cores.
DEFAULT_UPDATES = 400


def diagnose(model, loss_fn, train_data, valid_data=None, history=None, *, budget=None, optimizer=None,
             budget_updates=DEFAULT_UPDATES, seed=0, valid_is_shifted=False, references=True,
             thresholds=THRESHOLDS, title="model"):
    """Follow lecture 2's guide for a trained ``model``; returns a ``Diagnosis``.

    - ``train_data`` / ``valid_data``: a DataLoader, a Dataset or an (x, y) pair.  The validation data should
      come from the training distribution; if they do not, pass ``valid_is_shifted=True`` (a large gap then
      means mismatch rather than overfitting).
    - ``history``: the run's per-epoch records (dicts with ``train_loss``, optionally ``valid_loss`` and ``lr``,
      as ``fit`` returns in ``TrainState.history``) or a plain list of training losses.
    - How the run was trained: ``budget`` (a ``Budget``, see ``Budget.from_optimizer`` / ``Budget.from_config``,
      or a number of epochs) and/or ``optimizer`` (the run's live optimizer, read for its class, lr and
      settings).  Without either, the lr comes from the history's records, or is reported as unknown.
    - ``budget_updates``: the doctor's own training, in optimizer updates per learning-rate candidate (rounded to
      whole epochs of the doctor's batches); every reference model and the lr scan use it.  0 trains nothing.
    - ``references=False`` also trains nothing (then "optimization" can only come from the loss curve).
    The model is not modified; the global random state is restored afterwards.
    """
    if isinstance(budget_updates, bool) or not isinstance(budget_updates, (int, np.integer)) or budget_updates < 0:
        raise ValueError(f"diagnose: budget_updates must be a whole number of updates >= 0, got {budget_updates!r}")
    history = _records(history)
    run = _run_settings(budget, optimizer, history, train_data)
    train_batches = batches(train_data)
    valid_batches = batches(valid_data) if valid_data is not None else None
    saved_rng = rl_random.get_rng_state()
    from threadpoolctl import threadpool_limits
    try:
        # The doctor's models are small: extra BLAS threads cost more in synchronisation than they gain.
        with threadpool_limits(limits=1, user_api="blas"):
                return _diagnose(model, loss_fn, train_batches, valid_batches, history, run, int(budget_updates), seed,
                             valid_is_shifted, references and budget_updates > 0, thresholds, title)
    finally:
        rl_random.set_rng_state(saved_rng)


def _diagnose(model, loss_fn, train_batches, valid_batches, history, run, updates, seed, valid_is_shifted,
              with_references, t, title):
    x, y, scale, evidence, data = _measure_run(model, loss_fn, train_batches, valid_batches, run, seed, t)
    shape = curve_shape([r.get("train_loss") for r in history], scale, t) if history else None
    doctor = _doctor_settings(data, updates, seed, with_references)
    trainer = _Trainer(model, loss_fn, x, data, updates, seed)
    notes, refs, scan = [], [], None
    if with_references:
        if trainer.can_retrain:
            refs.append(trainer.retrained())
        else:
            notes.append("The model has a layer the doctor cannot re-initialise, so it was not retrained: only the "
                         "reference models speak to optimization.")
        refs += [trainer.reference(kind) for kind in ("linear", "shallow") if kind in trainer.plans]

    finite = math.isfinite(evidence["train_loss"])
    finding = learning_rate_finding(run, shape, finite, None, scale, t)
    verdict, reason = decide(evidence, refs, shape, finding, valid_is_shifted, t)
    if verdict == "optimization":
        if with_references and trainer.can_retrain and run.known:
            # The scan names the lr as the cause, or clears it: it matters only once the verdict is optimization.
            scan = trainer.scan(run, settled=lambda best, own: beats(best, own, scale, t))
            finding = learning_rate_finding(run, shape, finite, scan, scale, t)
            verdict, reason = decide(evidence, refs, shape, finding, valid_is_shifted, t)
        if with_references:
            doctor["skipped_bigger"] = ("The bigger model was not trained: the model's own architecture (or a model "
                                        "it contains) already does better, so capacity is not the question.")
    else:
        finding = None  # the lr is not in question; the curve notes still say what the curve looks like
        if with_references and evidence["fit_loss"] > t.beaten_absolute * scale:
            # The bigger model tells model bias from a noise floor: needed only once optimization is ruled out, and
            # only if the loss is high enough for a clear defeat to be possible at all.
            refs.append(trainer.reference("bigger"))
            verdict, reason = decide(evidence, refs, shape, finding, valid_is_shifted, t)
        elif with_references:
            doctor["skipped_bigger"] = (f"The bigger model was not trained: the model's training loss is below "
                                        f"{t.beaten_absolute:g} x the scale, so no model could beat it clearly.")
    for ref in refs:
        evidence[f"{ref.kind}_reference_loss"] = ref.train_loss
        evidence[f"{ref.kind}_reference_lr"] = ref.lr
        if data.holdout_rows:
            evidence[f"{ref.kind}_reference_holdout_loss"] = ref.holdout_loss

    notes = (shape.notes(run.lr) if shape else []) + _validation_curve_notes(history) + notes
    notes += _curvature_notes(model, loss_fn, x, y, scale, evidence, t)
    notes += _reference_notes(verdict, evidence, refs, t)
    if run.scheduler and scan is not None:
        notes.append(f"The run used the {run.scheduler} scheduler; the doctor's lr scan uses constant learning rates "
                     "starting from the run's initial lr.")
    activations = [trainer.arch.activation_name] + [p[3].__name__ for p in trainer.plans.values()]
    return Diagnosis(verdict, reason, evidence, notes, remedies(verdict, finding), refs, history, run, title, t,
                     finding, scan, doctor, containment_notes(activations) if refs else [])


def _measure_run(model, loss_fn, train_batches, valid_batches, run, seed, t):
    """The run's own numbers: losses (all rows, the doctor's fit and held-out rows, validation), the scale, the
    noise estimate.  Returns (x, y, scale, evidence, DoctorData)."""
    from ...train.loop import evaluate
    x, y = _arrays(train_batches)
    if len(x) == 0:
        raise ValueError("diagnose: the training data are empty")
    scale = loss_scale(loss_fn, y, _output_shape(model, x))
    train_loss = _finite_or_inf(evaluate(model, train_batches, loss_fn)["loss"])
    evidence = {"train_loss": train_loss, "loss_scale": scale, "relative_train_loss": train_loss / scale,
                "parameters": float(parameter_count(model))}
    if run.epochs is not None:
        evidence["epochs"] = float(run.epochs)
    if run.lr is not None:
        evidence["lr"] = float(run.lr)
    if valid_batches is not None:
        valid_loss = _finite_or_inf(evaluate(model, valid_batches, loss_fn)["loss"])
        evidence["valid_loss"] = valid_loss
        evidence["valid_train_ratio"] = valid_loss / max(train_loss, 1e-12)
    noise = nearest_neighbour_noise(loss_fn, x, y, t.noise_max_rows, seed)
    if noise is not None:
        evidence["noise_variance_nn"] = noise
    data = _doctor_data(x, y, run.batch_size, seed, t)
    evidence["holdout_rows"] = float(data.holdout_rows)
    evidence["fit_loss"] = data.fit_loss(model, loss_fn)
    if data.holdout_rows:
        evidence["holdout_loss"] = data.holdout_loss(model, loss_fn)
    return x, y, scale, evidence, data


def _doctor_settings(data, updates, seed, with_references):
    """What the report says about the doctor's own training."""
    rung_epochs, full_epochs = epochs_for(updates, data.batches_per_epoch)
    doctor = {"updates": updates, "batch_size": data.batch_size, "seed": seed, "fit_rows": len(data.fit_xy[0]),
              "holdout_rows": data.holdout_rows, "grid": f"{ADAM_GRID[0]:g}..{ADAM_GRID[-1]:g} (half decades)",
              "keep": KEEP, "rung": rung_epochs * data.batches_per_epoch,
              "trained": full_epochs * data.batches_per_epoch}
    if not with_references:
        doctor["skipped"] = "references=False or --budget 0"
    return doctor


class _Trainer:
    """The doctor's own training: the retrained twin, the reference models and the lr scan, all on ``data``."""

    def __init__(self, model, loss_fn, x, data, updates, seed):
        self.model, self.loss_fn, self.data, self.updates, self.seed = model, loss_fn, data, updates, seed
        self.output_shape = _output_shape(model, x)
        self.in_features = int(np.prod(x.shape[1:]))
        self.arch = architecture(model)
        self.plans = {p[0]: p for p in reference_plans(model, self.in_features, self.output_shape)}
        self.dtype = next(iter(model.parameters())).dtype if list(model.parameters()) else x.dtype
        self.can_retrain = self._twin() is not None

    def _twin(self):
        return reinitialised(self.model, self.seed)

    def retrained(self):
        search = lr_search(self._twin, self.loss_fn, self.data, ADAM_GRID, updates=self.updates, seed=self.seed)
        return _reference("retrained", "same architecture, retrained", True, "same architecture",
                          "a fresh seeded initialisation of the run's own model", search)

    def reference(self, kind):
        _, name, widths, activation, relation, why = self.plans[kind]

        def build():
            return build_reference(widths, activation, self.in_features, self.output_shape, self.arch.dropout,
                                   self.dtype)
        search = lr_search(build, self.loss_fn, self.data, ADAM_GRID, updates=self.updates, seed=self.seed)
        return _reference(kind, name, relation.startswith("contained"), relation, why, search)

    def scan(self, run, settled):
        return lr_scan(self._twin, self.loss_fn, self.data, run.lr, optimizer=run.optimizer, options=run.options,
                       updates=self.updates, seed=self.seed, settled=settled)


def _reference(kind, name, contained, relation, why, search):
    best = search.best
    return Reference(kind, name, best.train_loss, contained, parameter_count(best.model), relation, why,
                     best.holdout_loss, search)


def _doctor_data(x, y, batch_size, seed, t):
    """Split the training rows into the doctor's fit and held-out rows (a seeded permutation).

    A quarter is held out, but at least ``holdout_min_rows`` (taking up to half the rows to get them); with
    fewer than twice that many rows nothing is held out and the references fit all rows."""
    n = len(x)
    holdout = max(int(round(n * t.holdout_fraction)), t.holdout_min_rows)
    if holdout > n // 2:
        holdout = 0
    order = np.random.default_rng(seed).permutation(n)
    fit, held = np.sort(order[holdout:]), np.sort(order[:holdout])
    held_xy = (x[held], y[held]) if holdout else None
    return DoctorData((x[fit], y[fit]), held_xy, batch_size)


# ----------------------------------------------------------------------------------------------- run settings
def _run_settings(budget, optimizer, history, train_data):
    """The run's settings, from the most direct source given: optimizer state, budget, history."""
    if budget is None:
        run = Budget(source="unknown")
    elif isinstance(budget, Budget):
        run = replace(budget, options=dict(budget.options))
    elif isinstance(budget, (int, np.integer)) and not isinstance(budget, bool):
        run = Budget(epochs=int(budget))
    else:
        raise ValueError(f"diagnose: budget must be a Budget or a number of epochs, got {budget!r}")
    if optimizer is not None:
        live = Budget.from_optimizer(optimizer, epochs=run.epochs, batch_size=run.batch_size, scheduler=run.scheduler)
        run = live
    if run.optimizer is not None and run.lr is None:
        run = replace(run, lr=default_lr(run.optimizer), source=f"{run.source}; lr = {run.optimizer}'s default")
    if run.lr is None:
        lrs = [r["lr"] for r in history if isinstance(r.get("lr"), (int, float))]
        if lrs:
            run = replace(run, lr=float(lrs[0]), source="the run's history (epoch 1)")
    if run.epochs is None and history:
        run = replace(run, epochs=len(history))
    if run.batch_size is None and getattr(train_data, "batch_size", None):
        run = replace(run, batch_size=int(train_data.batch_size))
    return run


def diagnose_run(run_dir, which=None, *, seed=0, references=True, budget_updates=DEFAULT_UPDATES,
                 thresholds=THRESHOLDS):
    """Diagnose a run directory made by ``relulab train``: rebuild its data split and model, load its checkpoint
    (``which``: 'best' or 'last'; by default the weights the run ended with: 'best' under early stopping with
    restore_best, else 'last') and its metrics.jsonl history.  The run's optimizer and lr are read from its
    config as built (the optimizer class's default where the config leaves the lr out)."""
    from ...train.run import RunDirectory
    from ...train.session import rebuild_job
    run = RunDirectory.open(run_dir)
    config = run.config
    which = which or _final_checkpoint(config)
    if which == "best" and not run.has_checkpoint("best"):
        which = "last"
    job = rebuild_job(config)
    job.model.load_state_dict(run.load_checkpoint(which)["model"])
    history = run.history()
    settings = Budget.from_optimizer(job.optimizer, epochs=len(history) or config["epochs"],
                                     batch_size=int(config["batch_size"]), scheduler=job.scheduler)
    settings = replace(settings, source="the run's config")
    return diagnose(job.model, job.loss_fn, job.loaders["train"], job.loaders.get("valid"), history, budget=settings,
                    budget_updates=budget_updates, seed=seed, references=references, thresholds=thresholds,
                    title=f"{run.path} ({which} checkpoint)")


def _final_checkpoint(config):
    stopping = config["train"]["early_stopping"]
    return "best" if stopping["patience"] > 0 and stopping["restore_best"] else "last"


# ------------------------------------------------------------------------------------------------ notes
def _curvature_notes(model, loss_fn, x, y, scale, evidence, t):
    """Final gradient norm always; the Hessian's type when the model is small enough for the exact Hessian."""
    objective = Objective.from_model(model, loss_fn, (Tensor._make(x), Tensor._make(y)))
    if not np.isfinite(objective.point).all():
        return ["The parameters themselves are no longer finite (inf/NaN): no gradient or curvature to report."]
    notes = []
    if objective.size <= t.hessian_max_parameters:
        with np.errstate(all="ignore"):
            point = classify(objective)
        gradient_norm = point.gradient_norm
        evidence.update(hessian_minimum_ratio=point.minimum_ratio,
                        hessian_min_eigenvalue=float(point.eigenvalues[0]),
                        hessian_max_eigenvalue=float(point.eigenvalues[-1]))
        if getattr(point, "near_zero", None) is not None:
            evidence["hessian_near_zero"] = float(point.near_zero)
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
    near_zero = getattr(point, "near_zero", None)
    if near_zero:
        ratio += (f", {near_zero} of {len(point.eigenvalues)} eigenvalues near zero (|λ| ≤ "
                  f"{getattr(point, 'tolerance', float('nan')):g}·max|λ|)")
    if point.kind == "saddle" and critical:
        return (f"The end point is a saddle point ({ratio}): the gradient vanished but some curvature is negative; "
                "step along its eigenvector (analysis.escape_saddle) or use momentum to leave it.")
    if point.kind == "saddle":
        return (f"The Hessian has both signs ({ratio}): the loss surface still curves down in some directions; "
                "with a gradient this large the point is not a critical point, so this is not a saddle point yet.")
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
    """What the bigger models say when they are not the verdict: capacity lowers the training loss, or not."""
    bigger = [r for r in refs if r.contains_model or r.relation.startswith("more flexible")]
    best = min(bigger, key=lambda r: r.train_loss) if bigger else None
    fit, scale = evidence.get("fit_loss", evidence["train_loss"]), evidence["loss_scale"]
    if verdict == "model bias" or best is None or not beats(best.train_loss, fit, scale, t):
        return []
    note = f"The {best.name} fits the training rows clearly better ({best.train_loss:.4g} vs {fit:.4g})"
    retrained_holdout = evidence.get("retrained_reference_holdout_loss")
    if evidence.get("holdout_rows") and retrained_holdout is not None:
        if beats(best.holdout_loss, retrained_holdout, scale, t):
            note += f" and held-out rows too ({best.holdout_loss:.4g} vs {retrained_holdout:.4g})"
        else:
            note += (f" but not held-out rows ({best.holdout_loss:.4g} vs the retrained model's "
                     f"{retrained_holdout:.4g}): it memorises, it does not generalize better")
    return [note + "."]


# ------------------------------------------------------------------------------------------------ helpers
def _records(history):
    """A list of dicts, from records or from a plain list of training losses."""
    if history is None:
        return []
    records = list(history)
    if records and not isinstance(records[0], dict):
        return [{"epoch": i + 1, "train_loss": float(v)} for i, v in enumerate(records)]
    return [dict(r) for r in records]


def _arrays(batch_list):
    if not batch_list:
        return np.zeros((0,)), np.zeros((0,))
    x = np.concatenate([b[0].numpy() for b in batch_list])
    y = np.concatenate([b[1].numpy().reshape(b[1].shape) for b in batch_list])
    return x, y


def _output_shape(model, x):
    from ...autograd.grad_mode import no_grad
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
