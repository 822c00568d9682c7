"""What the question experiments share: the heading that quotes the notes' question, and certified bounds for
one-input ReLU networks (the best any net of a given size can do, found without training it).

A one-hidden-layer ReLU net with h units on a scalar input, f(x) = Σ_j a_j·relu(w_j·x + b_j) + c, is continuous and
piecewise linear with at most h kinks.  On sorted data it therefore fits each of at most h + 1 contiguous runs of
points with one line, so the best discontinuous (h + 1)-piece least-squares line fit is a LOWER bound on the
training MSE of every such net: ``segments_lower_bound``.  For h = 1 the family's exact optimum is also cheap
(``hinge_optimum``): a hinge c + a·relu(±(x − t)), solved in closed form between each pair of data points.
"""
import numpy as np


def question(chinese, english):
    """The notes' question in Chinese and an English rendering; every question's method opens with it."""
    return f"疑问：{chinese} ({english}) "


def _segment_costs(x, y):
    """C[i, j] = squared error of the least-squares line through points i..j−1 (j > i) of sorted x; inf else."""
    n = len(x)
    cum = [np.concatenate([[0.0], np.cumsum(v)]) for v in (np.ones(n), x, y, x * x, x * y, y * y)]
    count, sx, sy, sxx, sxy, syy = (c[None, :] - c[:, None] for c in cum)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_x = sxx - sx * sx / count
        cov = sxy - sx * sy / count
        sse = syy - sy * sy / count - np.where(var_x > 1e-12 * np.maximum(sxx, 1e-300), cov * cov / var_x, 0.0)
    sse = np.where(count >= 1, np.maximum(sse, 0.0), np.inf)
    return sse


def segments_lower_bound(x, y, pieces):
    """The best MSE of a discontinuous ``pieces``-piece line fit to (x, y) over contiguous runs of
    the x-sorted points: a lower bound on the training MSE of any one-hidden-layer ReLU net with pieces − 1
    units (see the module docstring).  Exact dynamic programming over the split points."""
    order = np.argsort(x)
    x, y = np.asarray(x, float)[order], np.asarray(y, float)[order]
    n = len(x)
    cost = _segment_costs(x, y)
    best = cost[0].copy()                              # best[j]: one piece over points 0..j−1
    for _ in range(pieces - 1):
        total = best[:, None] + cost                   # last piece i..j−1 after the best fit of 0..i−1
        best = np.minimum(best, total.min(axis=0))
    return float(best[n] / n)


def hinge_optimum(x, y):
    """The exact least-squares optimum (MSE) of a one-unit ReLU net  a·relu(w·x + b) + c  on (x, y): the best
    hinge c + a·relu(s(x − t)), s = ±1, over every kink t (a kink outside the data gives a line or a constant).

    Between two neighbouring data points the active set is fixed and the fit's explained variance
    R(t) = (ũ·ỹ)² / (ũ·ũ), u = (x − t)·1_active, is a ratio of quadratics in t whose one stationary point has a
    closed form, so each gap is solved exactly from its two ends and that point."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    yc = y - y.mean()
    total = float(yc @ yc)
    best = total                                       # the constant fit
    for sign in (1.0, -1.0):
        xs = sign * x
        order = np.argsort(xs)
        xs, ys = xs[order], yc[order]
        n = len(xs)
        for i in range(n - 1):                         # kink t in [xs[i], xs[i+1]]: points i+1.. are active
            active = (np.arange(n) > i).astype(float)
            v = xs * active
            vc, ac = v - v.mean(), active - active.mean()
            alpha, beta = vc @ ys, ac @ ys
            gamma, delta, eps = vc @ vc, vc @ ac, ac @ ac
            candidates = [xs[i], xs[i + 1]]
            denominator = beta * delta - alpha * eps
            if abs(denominator) > 1e-300:
                t = (beta * gamma - alpha * delta) / denominator
                if xs[i] <= t <= xs[i + 1]:
                    candidates.append(t)
            for t in candidates:
                uu = gamma - 2 * t * delta + t * t * eps
                if uu > 1e-12 * max(gamma, 1e-300):
                    best = min(best, total - (alpha - t * beta) ** 2 / uu)
    return max(best, 0.0) / len(x)
