"""Every number the doctor judges by, each with the reason for its value (fixed before any test case was run)."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    """The numbers behind every judgement.  Losses are compared on the *reference scale*: the variance of the
    targets for MSE (the loss of predicting their mean), their mean absolute deviation from the median for L1,
    ln C for C-class cross-entropy and ln 2 for binary cross-entropy (the loss of guessing uniformly)."""

    # Training loss above this fraction of the scale is "large": the model explains less than 80 % of what a
    # constant predictor leaves unexplained.  Only the noise-floor verdict needs it: a loss that no model can
    # lower is worth a verdict of its own only when it is large; a small one is simply a good fit.
    high_loss: float = 0.2
    # One model "clearly beats" another when its loss is lower by this fraction of the other's ...
    beaten_margin: float = 0.2
    # ... and by at least this fraction of the scale, so two near-zero losses never count as a defeat.  The same
    # rule decides every comparison: reference vs model (optimization, model bias) and lr vs lr (the lr scan).
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
    # The doctor holds out this share of the training rows: the references train on the rest, and a bigger
    # model's gain counts as capacity (model bias) only if it holds on these unseen rows, not just on the rows it
    # could memorise.  A quarter keeps three quarters for fitting, the usual 75/25 split.
    holdout_fraction: float = 0.25
    # At least this many held-out rows (taking up to half the data to get them), or no held-out check: the mean of
    # m squared Gaussian residuals has a relative standard error of sqrt(2/m), 0.2 at m = 50, the size of
    # ``beaten_margin``; fewer rows could not resolve a 20 % difference.
    holdout_min_rows: int = 50
    # Noise floor, MSE only: the model's training loss must be at most this many times the nearest-neighbour
    # noise estimate (half the mean squared target difference between each row and its nearest neighbour in
    # standardized x).  That estimate is at least the noise variance (neighbours' f(x) differ a little) and its
    # relative standard error is about sqrt(2/n) (0.14 at n = 100): 1.5 is over three standard errors at that size.
    # A loss above it means neighbours in x agree on y better than the model does: the residual is not noise.
    noise_gate: float = 1.5
    # The nearest-neighbour estimate queries at most this many rows (seeded sample), so it stays O(n · 4000 · d).
    noise_max_rows: int = 4000


THRESHOLDS = Thresholds()
