"""The guide's flowchart on the collected evidence, the learning-rate finding, and the lecture's remedies.

1. The loss diverged, or the model's own architecture retrained well (or a simpler model it contains) fits
   clearly better: **optimization**, naming the learning rate when the lr scan or the curve shows it is the cause.
2. A bigger model that contains the model, trained well, fits clearly better on the training rows *and* on rows
   it never saw: **model bias**.  (Held-out rows keep memorised noise from passing for capacity.)
3. The training loss is large, yet a bigger model (trained at least as well) does no better on held-out rows and,
   for MSE, the loss is near the nearest-neighbour noise estimate: **noise floor**, the residual is noise as far
   as these inputs can tell.
4. Small training loss, much larger validation loss: **overfitting**, or **mismatch** for shifted validation data.
5. Otherwise **healthy**.  When the evidence cannot settle a large loss (no references, under-trained references,
   too few rows for a held-out check), the answer is **undetermined**, with what to do about it.

"Clearly better" is one rule everywhere (``beats``): lower by ``beaten_margin`` of the other loss and by
``beaten_absolute`` of the loss scale.
"""
import math
from dataclasses import dataclass

VERDICTS = ("optimization", "model bias", "noise floor", "overfitting", "mismatch", "healthy", "undetermined")

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
    "noise floor": [
        "No model of these inputs does better: the rest is noise as far as x can tell. A bigger model or longer "
        "training will only memorise it (overfitting).",
        "To go lower, change the data, not the model: new, informative features, or cleaner targets.",
        "Judge the model by validation loss or k-fold CV against this floor, not against zero.",
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
    "undetermined": [
        "Give the doctor more training of its own (relulab diagnose --budget N, more updates per lr candidate) "
        "so its reference models are trained well enough to compare.",
        "With few rows, collect more data or use k-fold CV: a held-out check needs rows to hold out.",
    ],
}


def beats(loss, other, scale, t):
    """True when ``loss`` is clearly lower than ``other`` (see the module docstring)."""
    if not math.isfinite(loss):
        return False
    if not math.isfinite(other):
        return True
    return loss < (1 - t.beaten_margin) * other and other - loss > t.beaten_absolute * scale


# ---------------------------------------------------------------------------------------------- learning rate
@dataclass
class LearningRateFinding:
    """Whether the run's learning rate explains its training loss, and the evidence."""

    cause: str            # "diverged" | "oscillating" | "too large" | "too small to move" | None
    run_lr: float         # the lr the run used (None: unknown)
    best_lr: float        # the best lr of the scan with the run's optimizer (None: no scan)
    text: str             # one or two sentences for the report

    @property
    def named(self):
        return self.cause is not None


def learning_rate_finding(run, shape, finite, scan, scale, t):
    """Name the lr as the cause from the run's curve and from the scan of the run's optimizer around its lr.

    The scan is the controlled experiment: the same architecture, optimizer and settings, initial weights, batches
    and number of updates, only the lr differs.  The lr is named when a smaller (larger) lr of the scan clearly
    beats the run's own lr, or the run's loss diverged.
    """
    lr = run.lr
    lr_text = f"lr={lr:g}" if lr is not None else "an unknown lr"
    optimizer = run.optimizer or "the optimizer"
    diverged = not finite or (shape is not None and shape.diverging)
    oscillating = shape is not None and shape.oscillating
    best = scan.best if scan is not None else None
    at_run = scan.candidate(lr) if scan is not None else None
    if best is None or at_run is None or best is at_run:
        if diverged:
            return LearningRateFinding("diverged", lr, None, f"The loss diverged with {optimizer} at {lr_text}: the "
                                       "learning rate is too large.")
        if oscillating:
            return LearningRateFinding("oscillating", lr, None, f"The loss oscillates with {optimizer} at {lr_text}: "
                                       "the learning rate is likely too large for this curvature.")
        if best is at_run and best is not None:
            return LearningRateFinding(None, lr, best.lr, f"{optimizer} at the run's own {lr_text} does best in the "
                                       f"doctor's scan ({scan.describe()}): the lr is not what is wrong.")
        return LearningRateFinding(None, lr, None, "The run's optimizer or lr is unknown, so its lr was not scanned.")
    # Compare after the same number of updates (the scan trains the run's lr and the best other to the full
    # budget), by the mean training loss over the last quarter of it (robust to where an oscillation stops).
    both_finished = best.finished and at_run.finished
    best_loss = scan.score(best) if both_finished else best.rung_loss
    run_loss = scan.score(at_run) if both_finished else at_run.rung_loss
    updates = best.updates if both_finished else best.rung_updates
    factor = best.lr / lr
    evidence = (f"the same architecture with {optimizer} at lr={best.lr:.2g} ({_times(factor)} the run's) keeps "
                f"the training loss at {best_loss:.4g} over the last quarter of {updates} updates, at the run's "
                f"{lr_text} {run_loss:.4g}")
    if beats(best_loss, run_loss, scale, t):
        if factor < 1:
            cause = "diverged" if diverged else "oscillating" if oscillating else "too large"
            what = {"diverged": "diverged", "oscillating": "oscillates", "too large": "is held back"}[cause]
            return LearningRateFinding(cause, lr, best.lr, f"The learning rate is too large: the loss {what} at "
                                       f"{lr_text}, and {evidence}.")
        return LearningRateFinding("too small to move", lr, best.lr, f"The learning rate is too small to move: "
                                   f"{evidence}.")
    if diverged:
        return LearningRateFinding("diverged", lr, best.lr, f"The loss diverged at {lr_text}: the learning rate is "
                                   f"too large (in the doctor's scan, {evidence}).")
    return LearningRateFinding(None, lr, best.lr, f"No lr of the doctor's scan clearly beats the run's own "
                               f"({scan.describe()}; best: {evidence}): the learning rate alone does not explain "
                               "the gap.")


def _times(factor):
    """3.2x, 100x, 1,000x; 1/10 of."""
    def number(v):
        return f"{v:,.0f}" if v >= 10 else f"{v:.2g}"
    return f"{number(factor)}x" if factor >= 1 else f"1/{number(1 / factor)} of"


# ---------------------------------------------------------------------------------------------------- verdict
def decide(e, refs, shape, finding, valid_is_shifted, t):
    """(verdict, reason) from the evidence dict ``e``, the trained references and the lr finding."""
    train, scale = e["train_loss"], e["loss_scale"]
    fit = e.get("fit_loss", train)  # the run's model on the doctor's fit rows: what the references are scored on
    lr_clause = f" {finding.text}" if finding is not None and finding.named else ""
    if not math.isfinite(train) or (shape is not None and shape.diverging):
        return "optimization", ("The training loss diverged: the optimizer made it worse, whatever the model's "
                                f"capacity.{lr_clause}")
    holdout = e.get("holdout_rows", 0) > 0
    run_holdout = e.get("holdout_loss", math.nan)  # rows the run trained on: optimistic for the run

    def beats_run(r):
        """Clearly lower on the fit rows and, when rows are held out, even on held-out rows the run trained on
        (memorising noise lowers only the former; a model that really fits better lowers both)."""
        return beats(r.train_loss, fit, scale, t) and (not holdout or beats(r.holdout_loss, run_holdout, scale, t))

    retrained = next((r for r in refs if r.kind == "retrained"), None)
    if retrained is not None and beats_run(retrained):
        return "optimization", (f"The same architecture, retrained from a fresh start with Adam at its best lr "
                                f"({retrained.lr:g}), reaches a training loss of {retrained.train_loss:.4g}, where "
                                f"the run's model has {fit:.4g}: the model can fit better; its training did not "
                                f"find it.{lr_clause}")
    beaten_by = [r for r in refs if r.contained and r.kind != "retrained" and beats_run(r)]
    if beaten_by:
        best = min(beaten_by, key=lambda r: r.train_loss)
        return "optimization", (f"The model's training loss {fit:.4g} is higher than the {best.name}'s "
                                f"{best.train_loss:.4g}, a model it contains ({best.relation.split()[-1]}): it could "
                                "have copied it, so the optimization failed (lecture 2: the 56-layer vs the 20-layer "
                                f"net).{lr_clause}")

    model_train = min(fit, retrained.train_loss) if retrained is not None else fit
    # The fair held-out comparison for a bigger model: the retrained model, which has not seen those rows either.
    model_holdout = retrained.holdout_loss if retrained is not None else run_holdout
    bigger = [r for r in refs if r.contains_model or r.relation.startswith("more flexible")]
    wins = [r for r in bigger if beats(r.train_loss, model_train, scale, t)
            and (not holdout or beats(r.holdout_loss, model_holdout, scale, t))]
    if wins:
        best = min(wins, key=lambda r: r.train_loss)
        checked = (f", and {best.holdout_loss:.4g} vs {model_holdout:.4g} on {e['holdout_rows']:.0f} held-out rows it never "
                   "saw, so the gain is signal, not memorised noise" if holdout else
                   " (too few rows to hold some out, so memorised noise cannot be ruled out)")
        return "model bias", (f"The {best.name} ({best.relation}), trained at its own best lr ({best.lr:g}), reaches "
                              f"a training loss of {best.train_loss:.4g} vs the model's best {model_train:.4g}"
                              f"{checked}: the model is too inflexible for the data.")

    if train > t.high_loss * scale:
        large = f"The training loss {train:.4g} is large ({train / scale:.0%} of the reference scale {scale:.4g})"
        if not refs:
            if shape is not None and shape.oscillating:
                return "optimization", f"{large} and the loss curve oscillates.{lr_clause}"
            return "undetermined", (f"{large}, but no reference models were trained, so model bias, optimization "
                                    "and noise cannot be told apart.")
        if not bigger:
            return "undetermined", f"{large}, and no bigger model could be trained to compare."
        if not holdout:
            return "undetermined", (f"{large}; no bigger model fits clearly better, but there are too few rows "
                                    f"(need {2 * t.holdout_min_rows}) for the held-out check that tells noise from "
                                    "an under-trained reference.")
        best = min(bigger, key=lambda r: (r.holdout_loss if math.isfinite(r.holdout_loss) else math.inf))
        if beats(model_train, best.train_loss, scale, t):
            return "undetermined", (f"{large}, but the {best.name} was trained worse than the model "
                                    f"({best.train_loss:.4g} vs {model_train:.4g}), so its not doing better proves "
                                    "nothing; give the doctor a larger budget.")
        if beats(best.holdout_loss, model_holdout, scale, t):
            return "undetermined", (f"{large}; the {best.name} does clearly better on held-out rows "
                                    f"({best.holdout_loss:.4g} vs {model_holdout:.4g}) but not on the training rows.")
        noise = e.get("noise_variance_nn")
        if noise is not None and train > t.noise_gate * noise:
            return "undetermined", (f"{large}, and no bigger model does better, yet nearest neighbours in x agree on "
                                    f"y better than the model does (noise estimate {noise:.4g}, the loss is "
                                    f"{train / noise:.3g} x that): the residual is not plain noise; the references may "
                                    "be under-trained.")
        noise_clause = (f"; and the loss is {train / noise:.2f} x the nearest-neighbour noise estimate {noise:.4g} "
                        f"(a noise floor allows up to {t.noise_gate:g} x)" if noise is not None else "")
        return "noise floor", (f"{large}, yet no model does better: the {best.name}, trained at least as well "
                               f"({best.train_loss:.4g} vs {model_train:.4g}), is no better on {e['holdout_rows']:.0f} "
                               f"held-out rows ({best.holdout_loss:.4g} vs {model_holdout:.4g}){noise_clause}. "
                               "The residual is noise as far as these inputs can tell.")

    compared = ", no model the doctor trained fits clearly better" if refs else ""
    if "valid_loss" in e:
        valid = e["valid_loss"]
        if valid > t.overfit_ratio * max(train, 1e-12) and valid - train > t.overfit_gap * scale:
            if valid_is_shifted:
                return "mismatch", (f"The training loss {train:.4g} is small but the loss on the shifted data is "
                                    f"{valid:.4g}: training and test distributions differ.")
            return "overfitting", (f"The training loss {train:.4g} is small but the validation loss {valid:.4g} is "
                                   f"{valid / max(train, 1e-12):.3g} x larger, with validation data from the same "
                                   "distribution (if they came from a different one, this would be mismatch).")
        return "healthy", (f"The training loss {train:.4g} is small ({train / scale:.0%} of the reference scale "
                           f"{scale:.4g}){compared}, and the validation loss {valid:.4g} is not "
                           f"much larger (overfitting needs over {t.overfit_ratio:g} x the training loss and a gap "
                           f"above {t.overfit_gap * scale:.3g}).")
    return "healthy", (f"The training loss {train:.4g} is small ({train / scale:.0%} of the reference scale "
                       f"{scale:.4g}){compared}; no validation data were given to check "
                       "generalization.")


def remedies(verdict, finding):
    """The lecture's remedies, with the lr finding's own first when the lr is the cause."""
    out = list(REMEDIES[verdict])
    if verdict == "optimization" and finding is not None and finding.named:
        if finding.best_lr is not None:
            direction = "Lower" if finding.best_lr < (finding.run_lr or 0) else "Raise"
            out.insert(0, f"{direction} the learning rate: about {finding.best_lr:.2g} did best in the doctor's scan "
                          f"(the run used {finding.run_lr:g}).")
        elif finding.cause in ("diverged", "oscillating", "too large"):
            out.insert(0, "Lower the learning rate (try 10x smaller), or add warmup.")
    return out
