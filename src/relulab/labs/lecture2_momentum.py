"""Lecture 2, momentum: rolling past a saddle point, and the lecture's momentum formula against PyTorch's.

The saddle runs use ``relulab.optim.SGD`` on a closed-form 2-D surface, many starts and learning rates in one
run (``descent``); the formula comparison trains small real networks (``ensemble``) with both conventions.
"""
import numpy as np

import relulab
from relulab.optim import SGD, lr_scheduler
from relulab.optim.optimizer import Optimizer

from . import draws
from .criteria import beats, combine, holds_on_seeds
from .descent import contour_with_paths, descend, first_below, pyplot, step_lengths
from .ensemble import StackedMLP, member_mse
from .framework import Control, Result, experiment
from .stats import fmt, mean_std, spread_row

EXPERIMENTS = []


# ================================================================================================ 1. saddle
# L = κx²/2 + (y² − 1)²/4: a saddle at the origin (curvature κ along x, −1 along y), minima at (0, ±1).  The
# sharp direction (κ = 10) caps the stable learning rate of plain gradient descent at 2/κ, as ill-conditioning
# does in networks, so GD cannot simply take bigger steps to leave the saddle faster; momentum's stable range is
# (1 + λ) times wider and its escape compounds past movement.
SADDLE_KAPPA = 10.0
SADDLE_LRS = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)   # shared by both arms
MOMENTUM = 0.9            # PyTorch's usual λ, fixed a priori
SADDLE_BUDGET = 200       # steps; a run that never gets there counts as budget + 1
SADDLE_TARGET = 0.1       # "past the saddle": the loss below 0.1 (the saddle's loss is 0.25)
STARTS = 4                # validation starts and test starts per seed


def saddle_rows(theta):
    x, y = theta[:, 0], theta[:, 1]
    return 0.5 * SADDLE_KAPPA * x ** 2 + 0.25 * (y ** 2 - 1) ** 2


def saddle_numpy(x, y):
    return 0.5 * SADDLE_KAPPA * x ** 2 + 0.25 * (y ** 2 - 1) ** 2


def saddle_starts(gen, count):
    """Starts in the sharp valley's wall, just off the saddle's stable line y = 0."""
    x = draws.uniform(gen, 0.5, 1.0, count) * draws.signs(gen, count)
    y = draws.uniform(gen, 0.002, 0.02, count) * draws.signs(gen, count)
    return np.stack([x, y], 1)


def _saddle_sweep(momentum, starts):
    """Steps to the target for every (lr, start): one run, one param group per lr."""
    k = len(starts)
    run = descend(saddle_rows, starts, lambda groups: SGD(groups, momentum=momentum), SADDLE_BUDGET, lrs=SADDLE_LRS)
    return first_below(run["losses"], SADDLE_TARGET, SADDLE_BUDGET).reshape(len(SADDLE_LRS), k), run


def _saddle_arm(momentum, seeds, starts):
    """Per seed: the lr with the lowest median steps on its validation starts, and the median steps on its
    test starts at that lr.  ``starts``: (seeds, 2, STARTS, 2) = validation then test starts."""
    steps, run = _saddle_sweep(momentum, starts.reshape(-1, 2))
    steps = steps.reshape(len(SADDLE_LRS), len(seeds), 2, STARTS)
    chosen = np.argmin(np.median(steps[:, :, 0], axis=2), axis=0)        # first (smallest) lr wins a tie
    test = np.array([np.median(steps[chosen[s], s, 1]) for s in range(len(seeds))])
    return chosen, test, run


def _judge_momentum(rows):
    """Criterion (fixed before the run): momentum needs fewer steps than GD to get past the saddle, each with
    its own validation-chosen lr, compared on log2(steps) with the paired rule of ``criteria.beats``."""
    return beats([np.log2(r["momentum steps"]) for r in rows], [np.log2(r["GD steps"]) for r in rows],
                 "log2(steps until L < 0.1)")


@experiment(EXPERIMENTS, "momentum", "Momentum rolls past a saddle point",
            "Momentum (m_t = λ·m_{t−1} − η·g_t) keeps moving where the gradient is nearly zero, so it gets past a "
            "saddle point in fewer steps than plain gradient descent, each with its best learning rate.")
def momentum(ctx):
    seeds = ctx.seeds()
    starts = np.stack([saddle_starts(draws.generator(s), 2 * STARTS).reshape(2, STARTS, 2) for s in seeds])
    arms = {}
    for name, lam in ctx.progress([("GD", 0.0), ("momentum", MOMENTUM)], "arms"):
        arms[name] = _saddle_arm(lam, seeds, starts)
    rows = [{"seed": s, "GD lr": SADDLE_LRS[arms["GD"][0][i]], "GD steps": float(arms["GD"][1][i]),
             "momentum lr": SADDLE_LRS[arms["momentum"][0][i]], "momentum steps": float(arms["momentum"][1][i])}
            for i, s in enumerate(seeds)]
    verdict, because = _judge_momentum(rows)
    control_rows = [{"GD steps": r["GD steps"], "momentum steps": r["GD steps"]} for r in rows]
    cv, cb = _judge_momentum(control_rows)
    controls = [Control("identical arms", "plain GD in the momentum arm's place (momentum λ = 0 is GD): the rule must "
                        "not find an arm faster than itself", cv, cb)]
    ratio = [r["GD steps"] / r["momentum steps"] for r in rows]
    numbers = dict(kappa=SADDLE_KAPPA, momentum=MOMENTUM, budget=SADDLE_BUDGET, target_loss=SADDLE_TARGET,
                   gd_steps=[r["GD steps"] for r in rows], momentum_steps=[r["momentum steps"] for r in rows],
                   gd_lr=[r["GD lr"] for r in rows], momentum_lr=[r["momentum lr"] for r in rows],
                   median_speedup=float(np.median(ratio)))
    table = rows + [spread_row(rows)]
    figures = [ctx.figure(_saddle_figure(arms, starts), "paths")]
    method = (f"SGD (relulab.optim.SGD) without and with momentum λ = {MOMENTUM} on L = {SADDLE_KAPPA:g}x²/2 + "
              f"(y² − 1)²/4, whose saddle (0, 0) has loss 0.25. Per seed, {STARTS} validation and {STARTS} test starts "
              "with |x| in [0.5, 1] and |y| in [0.002, 0.02] (just off the saddle's stable line); the measure is the "
              f"median number of steps until L < {SADDLE_TARGET} (budget {SADDLE_BUDGET}; never = {SADDLE_BUDGET + 1}).")
    settings = (f"lr per arm and per seed from {list(SADDLE_LRS)} by the median steps on that seed's validation starts, "
                "then measured on its test starts; λ = 0.9, κ = 10, the budget and the target fixed a priori.")
    because = (f"{because}. Median speed-up GD/momentum {fmt(numbers['median_speedup'])}× (GD {mean_std(numbers['gd_steps'])} "
               f"steps, momentum {mean_std(numbers['momentum_steps'])}).")
    return Result(method, numbers, verdict, because, table, figures, seeds, settings, controls)


def _saddle_figure(arms, starts):
    """Seed 0's first test start, each arm at its chosen lr."""
    k = starts.reshape(-1, 2).shape[0]
    paths = {}
    for name in ("GD", "momentum"):
        chosen, _, run = arms[name]
        row = chosen[0] * k + STARTS          # lr block, then seed 0's first test start
        paths[f"{name}, lr={SADDLE_LRS[chosen[0]]:g}"] = run["path"][:, row]
    return contour_with_paths(saddle_numpy, (-1.1, 1.1), (-1.4, 1.4), paths, ("x (sharp, κ = 10)", "y"),
                              f"L = {SADDLE_KAPPA:g}x²/2 + (y²−1)²/4: seed 0, first test start, {SADDLE_BUDGET} steps",
                              marks={"saddle (0, 0)": (0.0, 0.0)})


# ================================================================================================ 2. conventions
class LectureMomentum(Optimizer):
    """The lecture's momentum, for comparison with ``SGD(momentum=...)``:
    movement m_t = λ·m_{t−1} − η·g_t (m_0 = 0), then θ_t = θ_{t−1} + m_t."""

    def __init__(self, params, lr, momentum):
        super().__init__(params, dict(lr=lr, momentum=momentum))

    def _update(self, param, grad, state, group):
        movement = state.setdefault("movement", np.zeros_like(param))
        movement *= group["momentum"]
        movement -= group["lr"] * grad
        param += movement


CONV_LR, CONV_STEPS, CONV_DROP, CONV_GAMMA = 0.02, 60, 30, 0.1


def _trajectory(make_optimizer, seeds, drop):
    """θ_0..θ_T (T + 1, seeds, P) of a 3-8-1 tanh MLP per seed (float64) on its own regression data, full batch;
    with ``drop`` the lr is multiplied by 0.1 after step 30 (StepLR), for either convention."""
    x = np.stack([np.random.default_rng(s).standard_normal((32, 3)) for s in seeds])
    teacher = np.stack([np.random.default_rng(s + 1).standard_normal((3, 1)) for s in seeds])
    y = np.sin(x @ teacher)
    model = StackedMLP([3, 8, 1], len(seeds), activation=relulab.tanh, seed=seeds[0], dtype=relulab.float64)
    xt, yt = relulab.tensor(x, dtype=relulab.float64), relulab.tensor(y, dtype=relulab.float64)
    optimizer = make_optimizer(model.parameters())
    scheduler = lr_scheduler.StepLR(optimizer, CONV_DROP, CONV_GAMMA) if drop else None

    def flat():
        return np.concatenate([p.detach().numpy().reshape(len(seeds), -1) for p in model.parameters()], 1)

    path = [flat()]
    for _ in range(CONV_STEPS):
        loss = member_mse(model(xt), yt).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler:
            scheduler.step()
        path.append(flat())
    return np.array(path)


def _compare(torch_path, lecture_path, lr_old):
    """Per seed: the largest gap between the two trajectories relative to how far PyTorch's moved, and how well
    the first step after the drop matches the prediction  Δ_pytorch − Δ_lecture = μ·v_30·(lr_old − lr_new)."""
    moved = np.linalg.norm(torch_path - torch_path[0], axis=2).max(0)
    gap = np.linalg.norm(torch_path - lecture_path, axis=2).max(0) / moved
    t = CONV_DROP
    velocity = -(torch_path[t] - torch_path[t - 1]) / lr_old            # PyTorch's v_30, from θ_30 = θ_29 − lr·v_30
    predicted = MOMENTUM * velocity * (lr_old - lr_old * CONV_GAMMA)
    measured = (torch_path[t + 1] - torch_path[t]) - (lecture_path[t + 1] - lecture_path[t])
    error = np.linalg.norm(measured - predicted, axis=1) / np.linalg.norm(predicted, axis=1)
    return gap, error


def _judge_conventions(rows):
    """Criterion (fixed before the run): [same] with a constant lr the trajectories agree to < 1e-10 of the
    distance moved, on every seed; [differ] after the lr drop they part by > 1e-3 of it, and the first step after
    the drop differs by μ·v·(lr_old − lr_new) to a relative error < 1e-6, on every seed."""
    same = holds_on_seeds([r["constant-lr gap"] < 1e-10 for r in rows], "constant lr: gap < 1e-10", full=1.0)
    differ = holds_on_seeds([r["step-lr gap"] > 1e-3 and r["drop prediction error"] < 1e-6 for r in rows],
                            "lr ×0.1 at step 30: gap > 1e-3 and prediction error < 1e-6", full=1.0)
    return combine([("same", same), ("differ", differ)])


@experiment(EXPERIMENTS, "momentum_conventions", "The lecture's momentum formula against PyTorch's",
            "The lecture's m_t = λ·m_{t−1} − η·g_t, θ_t = θ_{t−1} + m_t and PyTorch's v_t = μ·v_{t−1} + g_t, "
            "θ_t = θ_{t−1} − lr·v_t give the same trajectory when λ = μ and η = lr is constant (m_t = −lr·v_t); when "
            "the lr changes they differ, because PyTorch rescales the whole velocity by the new lr at once, by "
            "exactly μ·v·(lr_old − lr_new) on the first step.")
def momentum_conventions(ctx):
    seeds = ctx.seeds()

    def torch_sgd(params):
        return SGD(params, lr=CONV_LR, momentum=MOMENTUM)

    def lecture(eta):
        return lambda params: LectureMomentum(params, lr=eta, momentum=MOMENTUM)

    paths = {}
    runs = [("pytorch", torch_sgd, False), ("lecture", lecture(CONV_LR), False), ("pytorch drop", torch_sgd, True),
            ("lecture drop", lecture(CONV_LR), True),
            # the control: a wrong correspondence, η = lr·(1 − μ), as if PyTorch's velocity were an average
            ("mismatched", lecture(CONV_LR * (1 - MOMENTUM)), False),
            ("mismatched drop", lecture(CONV_LR * (1 - MOMENTUM)), True)]
    for name, make, drop in ctx.progress(runs, "runs"):
        paths[name] = _trajectory(make, seeds, drop)
    const_gap, _ = _compare(paths["pytorch"], paths["lecture"], CONV_LR)
    drop_gap, drop_error = _compare(paths["pytorch drop"], paths["lecture drop"], CONV_LR)
    rows = [{"seed": s, "constant-lr gap": float(const_gap[i]), "step-lr gap": float(drop_gap[i]),
             "drop prediction error": float(drop_error[i])} for i, s in enumerate(seeds)]
    verdict, because = _judge_conventions(rows)
    mis_gap, _ = _compare(paths["pytorch"], paths["mismatched"], CONV_LR)
    mis_drop_gap, mis_error = _compare(paths["pytorch drop"], paths["mismatched drop"], CONV_LR)
    control_rows = [{"constant-lr gap": float(mis_gap[i]), "step-lr gap": float(mis_drop_gap[i]),
                     "drop prediction error": float(mis_error[i])} for i in range(len(seeds))]
    cv, cb = _judge_conventions(control_rows)
    controls = [Control("wrong correspondence", "the lecture's rule with η = lr·(1 − μ) (reading PyTorch's velocity "
                        "as an average) against PyTorch's SGD: it is a different algorithm, so neither part may hold",
                        cv, cb, {"constant_lr_gap": [float(v) for v in mis_gap]})]
    after = slice(CONV_DROP, CONV_DROP + 10)
    travel_torch = step_lengths(paths["pytorch drop"])[after].sum(0)
    travel_lecture = step_lengths(paths["lecture drop"])[after].sum(0)
    numbers = dict(lr=CONV_LR, momentum=MOMENTUM, steps=CONV_STEPS, drop_step=CONV_DROP, gamma=CONV_GAMMA,
                   constant_lr_gap=[float(v) for v in const_gap], step_lr_gap=[float(v) for v in drop_gap],
                   drop_prediction_error=[float(v) for v in drop_error],
                   travel_10_steps_after_drop_ratio_lecture_over_pytorch=[float(v) for v in
                                                                          travel_lecture / travel_torch])
    because = (f"{because}. In the 10 steps after the drop the lecture's rule travels "
               f"{mean_std(numbers['travel_10_steps_after_drop_ratio_lecture_over_pytorch'])}× as far as PyTorch's: "
               "its old movement, built with the old η, decays only as λ^t, while PyTorch's step shrinks at once.")
    table = rows + [spread_row(rows)]
    figures = [ctx.figure(_conventions_figure(paths), "gap")]
    method = ("A 3-8-1 tanh MLP per seed (float64, its own 32 points and a sin(teacher) target), full-batch, trained "
              f"{CONV_STEPS} steps from the same initialization by relulab.optim.SGD(lr={CONV_LR}, momentum={MOMENTUM}) "
              "(PyTorch's convention, matched to torch in the optimizer tests) and by the lecture's rule written as an "
              "Optimizer (LectureMomentum, λ = μ, η = lr); once with a constant lr and once with StepLR multiplying "
              f"both lrs by {CONV_GAMMA} after step {CONV_DROP}. Gap = max_t ‖θ_pytorch − θ_lecture‖ / max_t ‖θ_pytorch − θ_0‖.")
    settings = "lr, μ, the drop step and factor fixed a priori (an identity is checked, nothing is tuned)."
    return Result(method, numbers, verdict, because, table, figures, seeds, settings, controls)


def _conventions_figure(paths):
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.4))
    t = np.arange(CONV_STEPS + 1)
    for name, (a, b) in {"constant lr": ("pytorch", "lecture"), "lr × 0.1 after step 30": ("pytorch drop", "lecture drop"),
                         "control: η = lr(1 − μ)": ("pytorch", "mismatched")}.items():
        gap = np.linalg.norm(paths[a][:, 0] - paths[b][:, 0], axis=1)
        axes[0].semilogy(t, np.maximum(gap, 1e-18), label=name)
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("‖θ_pytorch − θ_lecture‖ (seed 0)")
    axes[0].set_title("distance between the two conventions")
    for name in ("pytorch drop", "lecture drop"):
        axes[1].semilogy(np.arange(1, CONV_STEPS + 1), step_lengths(paths[name][:, :1])[:, 0],
                         label=name.replace(" drop", "") + " convention")
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("step length ‖θ_t − θ_{t−1}‖ (seed 0)")
    axes[1].set_title("lr × 0.1 after step 30")
    for ax in axes:
        ax.axvline(CONV_DROP, color="grey", lw=0.7, ls=":")
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    fig.tight_layout()
    return fig
