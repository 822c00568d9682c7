"""What a loss curve looks like: the three shapes lecture 2 warns about (diverging, oscillating, plateau), and
whether it was still falling when training stopped."""
import math
from dataclasses import dataclass

import numpy as np

from .thresholds import THRESHOLDS


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
