"""The two yardsticks the doctor measures a loss against: the loss of a trivial predictor (what "large" means) and,
for MSE, a nearest-neighbour estimate of the noise variance (how low any model could go on these inputs)."""
import math

import numpy as np

from ...nn.loss import BCEWithLogitsLoss, L1Loss, MSELoss


def loss_scale(loss_fn, targets, output_shape=None):
    """The loss of a trivial predictor: what "large" is measured against (see ``Thresholds``)."""
    from ...train.loop import task_of
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


def nearest_neighbour_noise(loss_fn, x, y, max_rows=4000, seed=0):
    """σ̂² = ½ · mean over rows i of (y_i − y_nn(i))², nn(i) = i's nearest other row in standardized x.

    If y = f(x) + ε with noise variance σ², then E[(y_i − y_j)²] / 2 = σ² + E[(f(x_i) − f(x_j))²] / 2, so for
    close neighbours this is σ² plus a small non-negative term: an estimate of the loss no model of x can beat
    (the "difference-based" variance estimator of Rice 1984, in its nearest-neighbour form).  Defined for MSE
    only (returns None otherwise, or with fewer than 3 rows).  At most ``max_rows`` rows (a seeded sample) are
    queried, against all rows.  The per-element mean matches MSELoss's averaging.
    """
    if not isinstance(loss_fn, MSELoss) or getattr(loss_fn, "reduction", "mean") != "mean" or len(x) < 3:
        return None
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    spread = x.std(axis=0)
    keep = spread > 1e-12 * max(float(np.abs(x).max()), 1.0)
    if not keep.any():  # every row has the same x: only noise can tell their targets apart
        return float(((y - y.mean(axis=0)) ** 2).mean() * len(y) / (len(y) - 1))
    z = (x[:, keep] - x[:, keep].mean(axis=0)) / spread[keep]
    queries = np.arange(len(z))
    if len(z) > max_rows:
        queries = np.sort(np.random.default_rng(seed).choice(len(z), size=max_rows, replace=False))
    squared_norms = (z ** 2).sum(axis=1)
    total, count = 0.0, 0
    for start in range(0, len(queries), 512):  # 512 queries at a time bounds the distance block's memory
        rows = queries[start:start + 512]
        distances = squared_norms[rows, None] + squared_norms[None, :] - 2.0 * z[rows] @ z.T
        distances[np.arange(len(rows)), rows] = np.inf  # a row is not its own neighbour
        nearest = distances.argmin(axis=1)
        total += float(((y[rows] - y[nearest]) ** 2).sum())
        count += y[rows].size
    return 0.5 * total / count
