"""Lecture 2, critical points: saddle or minimum from the Hessian, leaving a saddle, and the minimum ratio of the
points that training reaches."""
import numpy as np

import relulab
from .. import nn
from ..analysis import Objective, classify, escape_saddle, find_critical_point, minimum_ratio_study
from .framework import Result, experiment

EXPERIMENTS = []


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


# ------------------------------------------------------------------------------------------ 5. critical points
def _two_layer_linear():
    """ŷ = w2·w1·x with x = 1, ŷ = 1: the lecture's surface L = (1 − w1·w2)², whose origin is a saddle."""
    model = nn.Sequential(nn.Linear(1, 1, bias=False), nn.Linear(1, 1, bias=False)).double()
    one = relulab.from_numpy(np.ones((1, 1)))
    return Objective.from_model(model, nn.MSELoss(), (one, one))


@experiment(EXPERIMENTS, "critical_points", "Critical points: saddle or minimum, and how to leave a saddle",
            "Where the gradient is zero, the Hessian's eigenvalues tell a minimum (all positive) from a saddle "
            "(mixed signs); at a saddle, a step along an eigenvector with λ < 0 lowers the loss.")
def critical_points(ctx):
    obj = _two_layer_linear()
    # Gradient descent started on the anti-diagonal w2 = −w1 stays on it and slides into the saddle at the origin.
    saddle = classify(obj, theta=find_critical_point(obj, theta=[0.6, -0.6], train_steps=3000, lr=0.05))
    start = ctx.rng().uniform(0.2, 1.5, 2)  # a generic start reaches the valley w1·w2 = 1 instead
    valley = classify(obj, theta=find_critical_point(obj, theta=start, train_steps=3000, lr=0.05))
    escape = escape_saddle(obj, theta=saddle.theta, step_sizes=np.linspace(0.0, 2.0, 41))
    best = int(np.argmin(escape.losses))
    reproduced = saddle.kind == "saddle" and escape.lowered

    plt = _plt()
    fig, (surface, curve) = plt.subplots(1, 2, figsize=(10, 4))
    w = np.linspace(-2, 2, 41)
    grid = np.array([[obj.value([a, b]) for a in w] for b in w])
    contour = surface.contourf(w, w, np.log1p(grid), levels=30, cmap="viridis")
    fig.colorbar(contour, ax=surface, label="log(1 + L)")
    surface.plot(*saddle.theta, "r*", markersize=12, label=f"{saddle.kind}")
    surface.plot(*valley.theta, "wo", label=f"{valley.kind} (valley w1·w2 = 1)")
    u = escape.direction
    surface.annotate("", xy=saddle.theta + 1.2 * u, xytext=saddle.theta, arrowprops={"color": "r", "width": 1.5})
    surface.set_xlabel("w1")
    surface.set_ylabel("w2")
    surface.legend(fontsize=8, loc="lower left")
    surface.set_title("L(w1, w2) = (1 − w1·w2)²")
    curve.plot(escape.step_sizes, escape.losses, marker=".")
    curve.axhline(escape.start_loss, color="gray", linestyle=":", label="loss at the saddle")
    curve.set_xlabel("η (step along the eigenvector with λ < 0)")
    curve.set_ylabel("L(θ′ + η·u)")
    curve.set_title(f"escaping the saddle (λ = {escape.eigenvalue:.3g})")
    curve.legend()
    fig.tight_layout()
    table = [{"point": name, "w1": float(p.theta[0]), "w2": float(p.theta[1]), "kind": p.kind,
              "eigenvalues": ", ".join(f"{v:.4g}" for v in p.eigenvalues), "gradient norm": p.gradient_norm,
              "loss": p.loss} for name, p in (("from (0.6, −0.6)", saddle), ("from a random start", valley))]
    return Result(
        method=("The 2-parameter net ŷ = w2·w1·x on one sample x = 1, ŷ = 1 (MSE). find_critical_point from "
                "(0.6, −0.6) and from a random start, classify by the exact Hessian, then escape_saddle along "
                "the eigenvector of the negative eigenvalue for η ∈ [0, 2]."),
        numbers={"saddle_kind": saddle.kind, "saddle_eigenvalue_min": float(saddle.eigenvalues[0]),
                 "saddle_eigenvalue_max": float(saddle.eigenvalues[-1]), "saddle_gradient_norm": saddle.gradient_norm,
                 "saddle_loss": saddle.loss, "escape_best_loss": float(escape.losses[best]),
                 "escape_best_eta": float(escape.step_sizes[best]), "valley_kind": valley.kind,
                 "valley_loss": valley.loss, "valley_eigenvalues": [float(v) for v in valley.eigenvalues]},
        reproduced=reproduced,
        because=(f"the point reached from (0.6, −0.6) has ‖∇L‖ = {saddle.gradient_norm:.2g} and Hessian "
                 "eigenvalues "
                 f"{saddle.eigenvalues[0]:.3g} and {saddle.eigenvalues[-1]:.3g}: a {saddle.kind} (needs 'saddle'); "
                 f"stepping η = {escape.step_sizes[best]:.2g} along u lowers L from {escape.start_loss:.3g} to "
                 f"{escape.losses[best]:.3g} (needs lower). The random start ends in the valley: {valley.kind}, "
                 "flat along w1·w2 = 1, so one eigenvalue is 0."),
        table=table, figures=[ctx.figure(fig, "saddle")])


# ------------------------------------------------------------------------------------------ 6. minimum ratio
@experiment(EXPERIMENTS, "minimum_ratio", "The minimum ratio of trained nets: true local minima are rare",
            "At the critical points that training reaches, the share of positive Hessian eigenvalues (the "
            "'minimum ratio') is about 0.5–0.6 and rarely 1: true local minima are rare.")
def minimum_ratio(ctx):
    nets = ctx.pick(8, 30)
    study = minimum_ratio_study(nets=nets, seed=ctx.seed % 100_000)
    summary = study.summary()
    median, share_one = summary["median_ratio"], summary["share_ratio_1"]
    reproduced = 0.35 <= median <= 0.75 and share_one <= 0.2
    fig = study.plot()
    kinds = ", ".join(f"{count} {kind}" for kind, count in summary["kinds"].items())
    return Result(
        method=(f"{nets} 1→6→1 tanh nets from different initialisations on one 1-D regression task, each driven "
                "to a critical point (gradient descent, then Newton on ∇L = 0) and classified by its exact Hessian "
                "(points with ‖∇L‖ > 1e-6 are left out)."),
        numbers={"nets": nets, "critical_points": summary["nets"], "median_ratio": median,
                 "share_ratio_1": share_one, "min_ratio": float(study.ratios.min()),
                 "max_ratio": float(study.ratios.max()), **{f"kind_{k}": v for k, v in summary["kinds"].items()}},
        reproduced=reproduced,
        because=(f"median minimum ratio {median:.3f} (needs 0.35–0.75) and {share_one:.0%} of the "
                 f"{summary['nets']} critical points have ratio 1 (needs ≤ 20%); kinds: {kinds}."),
        table=[{"net": i, "minimum ratio": float(r), "loss": float(l), "kind": kind}
               for i, (r, l, kind) in enumerate(zip(study.ratios, study.losses, study.kinds))],
        figures=[ctx.figure(fig, "ratio")])
