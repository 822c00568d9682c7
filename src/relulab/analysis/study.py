"""The lecture's empirical study: train many small nets, find the critical point near where each one's training
ended, and plot the minimum ratio (positive Hessian eigenvalues / all) against the training loss.

The lecture says such points are rarely true local minima: the ratio seldom reaches 1.  This module measures
that on points that earn the name: nets trained to a clearly low loss, then driven to a *verified* critical
point (``find_critical_point``'s status "critical point": ‖∇L‖ below the tolerance, near where training ended).
Drifted, gradient-flat and unconverged points are kept in the table but not counted.  Whatever the census
shows is the answer; this module draws no conclusion itself.
"""
from dataclasses import dataclass, field

import numpy as np

from .. import nn, optim
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..ops.shape import stack
from ..random import manual_seed
from .critical import ZERO_TOLERANCE, CriticalPoint, Spectrum, classify
from .critical_search import CriticalSearch, find_critical_point
from .objective import Objective

KINDS = ("local minimum", "saddle", "degenerate", "local maximum")


@dataclass
class StudyPoint:
    net: int
    init_seed: int
    trained_loss: float           # after training, before the critical-point search
    trained_low: bool             # trained_loss ≤ low_loss · var(y)
    search: CriticalSearch
    point: CriticalPoint

    @property
    def counted(self):
        return self.trained_low and self.search.is_critical


@dataclass
class MinimumRatioStudy:
    points: list                  # [StudyPoint], one per net
    low_loss_bar: float           # the absolute training loss a net had to reach to count
    tolerance: float
    settings: dict = field(default_factory=dict)

    @property
    def counted(self):
        return [p for p in self.points if p.counted]

    # Arrays over the counted points, for plots and summaries.
    ratios = property(lambda self: np.array([p.point.minimum_ratio for p in self.counted]))
    losses = property(lambda self: np.array([p.point.loss for p in self.counted]))
    kinds = property(lambda self: [p.point.kind for p in self.counted])
    gradient_norms = property(lambda self: np.array([p.point.gradient_norm for p in self.counted]))

    def summary(self):
        counted = self.counted
        statuses = [p.search.status for p in self.points if p.trained_low]
        out = {"nets": len(self.points), "trained_low": sum(p.trained_low for p in self.points),
               "counted": len(counted), "status": {s: statuses.count(s) for s in sorted(set(statuses))},
               "kinds": {k: self.kinds.count(k) for k in KINDS if k in self.kinds}, "tolerance": self.tolerance}
        if counted:
            kinds = self.kinds
            out.update(median_ratio=float(np.median(self.ratios)),
                       share_ratio_1=float(np.mean(self.ratios >= 1.0)),
                       share_saddle=kinds.count("saddle") / len(kinds),
                       share_degenerate=kinds.count("degenerate") / len(kinds),
                       median_near_zero=float(np.median([p.point.near_zero for p in counted])))
        return out

    def sensitivity(self, tolerances=(1e-8, 1e-6, 1e-4, 1e-2)):
        """How the counted points' kinds change with the zero tolerance (the verdict uses ``self.tolerance``)."""
        rows = []
        for tol in tolerances:
            kinds = [Spectrum.of(p.point.eigenvalues, tol).kind for p in self.counted]
            rows.append({"tolerance": tol, **{k: kinds.count(k) for k in KINDS}})
        return rows

    def table(self):
        rows = []
        for p in self.points:
            s, c = p.search, p.point
            rows.append({"net": p.net, "init seed": p.init_seed, "trained loss": p.trained_loss, "trained low": p.trained_low,
                         "search": s.status, "‖g‖ start": s.start_gradient_norm, "‖g‖ end": s.gradient_norm,
                         "|Δθ|/|θ|": s.drift, "loss after": s.loss, "kind": c.kind,
                         "positive": c.positive, "negative": c.negative, "near zero": c.near_zero,
                         "minimum ratio": c.minimum_ratio, "ratio (non-zero)": c.ratio_nonzero,
                         "counted": p.counted})
        return rows

    def plot(self, path=None, ax=None):
        """The lecture's figure: training loss against minimum ratio; excluded points hollow and grey."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        own = ax is None
        if own:
            fig, ax = plt.subplots(figsize=(6, 4))
        colors = {"local minimum": "tab:green", "saddle": "tab:red", "degenerate": "tab:purple",
                  "local maximum": "tab:brown"}
        for kind, color in colors.items():
            chosen = [p for p in self.counted if p.point.kind == kind]
            if chosen:
                ax.scatter([p.point.minimum_ratio for p in chosen], [p.point.loss for p in chosen], s=26,
                           color=color, label=f"{kind} ({len(chosen)})")
        excluded = [p for p in self.points if not p.counted]
        if excluded:
            ax.scatter([p.point.minimum_ratio for p in excluded], [p.point.loss for p in excluded], s=26,
                       facecolors="none", edgecolors="grey", label=f"not counted ({len(excluded)})")
        ax.set_xlabel("minimum ratio (positive eigenvalues / all)")
        ax.set_ylabel("training loss at the point")
        ax.set_xlim(-0.03, 1.03)
        ax.set_title(f"critical points near the end of training (tol {self.tolerance:g})", fontsize=10)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        if own:
            fig.tight_layout()
            if path is not None:
                fig.savefig(path, dpi=120)
                plt.close(fig)
            return fig
        return ax


def sine_task(samples=40, seed=0, noise=0.1):
    """x ~ U(−2, 2), y = sin(2x) + noise: a 1-D regression a few tanh units fit well."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (samples, 1))
    return x, np.sin(2 * x) + noise * rng.normal(size=x.shape)


def minimum_ratio_study(nets=20, hidden=6, samples=40, data=None, seed=0, train_steps=3000, lr=0.01,
                        low_loss=0.1, tol=None, gradient_tol=1e-8, max_drift=0.1, polish_steps=200, newton_steps=10,
                        init_seeds=None, workers=1, ray=None):
    """Train ``nets`` 1-``hidden``-1 tanh nets (PyTorch's default init, seeded by ``init_seeds``, one per net,
    default ``seed·1000 + k``; ``hidden=0``: a
    linear model, whose loss is convex, the study's negative control) with full-batch
    Adam(``lr``) for ``train_steps`` on one regression task (``sine_task`` or ``data`` = (x, y)), then
    ``find_critical_point`` from where each ended (‖∇L‖² minimization, then damped Newton-MR) and classify the
    result by its exact Hessian with zero tolerance ``tol``.

    A point is counted when its net reached a training loss ≤ ``low_loss`` · var(y) and the search verified a
    critical point (‖∇L‖ ≤ ``gradient_tol``, |Δθ|/|θ| ≤ ``max_drift``).

    The nets train together (one batched model); the searches, one per net, run on ``workers`` local processes
    or on a Ray cluster (``ray="auto"`` or an address) through ``relulab.parallel``, with the same results."""
    x, y = sine_task(samples, seed) if data is None else data
    x = np.asarray(x._data if isinstance(x, Tensor) else x, dtype=np.float64)
    y = np.asarray(y._data if isinstance(y, Tensor) else y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise ValueError(f"minimum_ratio_study: data must be (x, y) of shapes (N, d) and (N, k), got {x.shape} "
                         f"and {y.shape}")
    tol = ZERO_TOLERANCE if tol is None else tol
    init_seeds = [seed * 1000 + k for k in range(nets)] if init_seeds is None else [int(s) for s in init_seeds]
    if len(init_seeds) != nets:
        raise ValueError(f"minimum_ratio_study: {len(init_seeds)} init_seeds for {nets} nets")
    models = _train_together(x, y, hidden, train_steps, lr, init_seeds)
    bar = low_loss * float(y.var(axis=0).mean())
    from ..parallel import map_unordered
    jobs = [(model, x, y, tol, gradient_tol, max_drift, polish_steps, newton_steps) for model in models]
    found = dict(map_unordered(_search_net, jobs, workers=workers, ray=ray))
    points = [StudyPoint(k, init_seeds[k], found[k][0], found[k][0] <= bar, found[k][1], found[k][2])
              for k in range(nets)]
    settings = {"nets": nets, "hidden": hidden, "samples": len(x), "train_steps": train_steps, "lr": lr,
                "low_loss": low_loss, "gradient_tol": gradient_tol, "max_drift": max_drift,
                "polish_steps": polish_steps, "newton_steps": newton_steps}
    return MinimumRatioStudy(points, bar, tol, settings)


def _search_net(job):
    """(trained loss, CriticalSearch, CriticalPoint) for one trained net: a module-level function, so that other
    processes can run it."""
    model, x, y, tol, gradient_tol, max_drift, polish_steps, newton_steps = job
    obj = Objective.from_model(model, nn.MSELoss(), (Tensor._make(x), Tensor._make(y)))
    search = find_critical_point(obj, train_steps=0, gradient_tol=gradient_tol, max_drift=max_drift,
                                 polish_steps=polish_steps, newton_steps=newton_steps)
    return obj.value(), search, classify(obj, theta=search.theta, tol=tol)


def _train_together(x, y, hidden, steps, lr, init_seeds):
    """Train the nets side by side as one batched model.  Their losses are summed, so each net's gradient is its
    own and Adam (per coordinate) takes exactly the steps it would take alone; one pass costs about one net's."""
    models = []
    for init_seed in init_seeds:
        manual_seed(init_seed)
        layers = ([nn.Linear(x.shape[1], hidden), nn.Tanh(), nn.Linear(hidden, y.shape[1])] if hidden
                  else [nn.Linear(x.shape[1], y.shape[1])])
        models.append(nn.Sequential(*layers).double())
    layers = [[m for m in model if isinstance(m, nn.Linear)] for model in models]
    with no_grad():  # layer i of every net, stacked: weights (K, in, out), biases (K, 1, out)
        weights = [stack([net[i].weight.T for net in layers]).detach().requires_grad_(True)
                   for i in range(len(layers[0]))]
        biases = [stack([net[i].bias.unsqueeze(0) for net in layers]).detach().requires_grad_(True)
                  for i in range(len(layers[0]))]
    inputs, targets = Tensor._make(x[None]), Tensor._make(y[None])
    optimizer = optim.Adam(weights + biases, lr=lr)
    for _ in range(steps):
        h = inputs
        for i, (w, b) in enumerate(zip(weights, biases)):
            h = h @ w + b
            h = h.tanh() if i < len(weights) - 1 else h
        loss = ((h - targets) ** 2).mean(dim=(1, 2)).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with no_grad():
        for k, net in enumerate(layers):
            for layer, w, b in zip(net, weights, biases):
                layer.weight.copy_(w[k].T)
                layer.bias.copy_(b[k, 0])
    return models
