"""The lecture's empirical study: train many small nets to critical points and plot the minimum ratio
(positive Hessian eigenvalues / all eigenvalues) against training loss.  The lecture's finding: ratios
cluster around 0.5–0.6 and rarely reach 1, so true local minima are rare — most places where training
stalls still have directions that go down."""
from dataclasses import dataclass

import numpy as np

from .. import nn
from ..autograd.tensor import Tensor
from ..random import manual_seed
from .critical import classify, find_critical_point
from .objective import Objective


@dataclass
class MinimumRatioStudy:
    losses: np.ndarray
    ratios: np.ndarray
    kinds: list
    gradient_norms: np.ndarray

    def summary(self):
        return {"nets": int(self.losses.size), "median_ratio": float(np.median(self.ratios)),
                "share_ratio_1": float(np.mean(self.ratios >= 1.0)),
                "kinds": {k: self.kinds.count(k) for k in sorted(set(self.kinds))}}

    def plot(self, path=None):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5, 3.6))
        ax.scatter(self.ratios, self.losses, s=18)
        ax.set_xlabel("minimum ratio (positive eigenvalues / all)")
        ax.set_ylabel("training loss at the critical point")
        ax.set_xlim(0, 1.05)
        ax.set_title("critical points of small nets")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
            plt.close(fig)
        return fig


def _task(samples, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (samples, 1))
    y = np.sin(2 * x) + 0.1 * rng.normal(size=x.shape)
    return Tensor._make(x), Tensor._make(y)


def minimum_ratio_study(nets=30, hidden=6, samples=40, data=None, seed=0, train_steps=500, lr=0.05,
                        polish_steps=50, gradient_tol=1e-6):
    """Train ``nets`` 1-``hidden``-1 tanh nets (different initialisations) on a fixed 1-D regression task
    (or ``data`` = (x, y)), drive each to a critical point, and classify it from its exact Hessian.

    Points whose gradient norm stays above ``gradient_tol`` are not critical and are left out."""
    x, y = data if data is not None else _task(samples, seed)
    x, y = Tensor._make(np.asarray(x._data if isinstance(x, Tensor) else x, dtype=np.float64)), \
        Tensor._make(np.asarray(y._data if isinstance(y, Tensor) else y, dtype=np.float64))
    losses, ratios, kinds, norms = [], [], [], []
    for k in range(nets):
        manual_seed(seed * 1000 + k)
        model = nn.Sequential(nn.Linear(x.shape[1], hidden), nn.Tanh(), nn.Linear(hidden, y.shape[1])).double()
        obj = Objective.from_model(model, nn.MSELoss(), (x, y))
        theta = find_critical_point(obj, train_steps=train_steps, lr=lr, polish_steps=polish_steps)
        point = classify(obj, theta=theta)
        if point.gradient_norm > gradient_tol:
            continue
        losses.append(point.loss)
        ratios.append(point.minimum_ratio)
        kinds.append(point.kind)
        norms.append(point.gradient_norm)
    return MinimumRatioStudy(np.asarray(losses), np.asarray(ratios), kinds, np.asarray(norms))
