"""Lecture 2's remedies for overfitting and their limit: early stopping, L2 regularization and dropout each lower
the test loss of a net that overfits (remedies), and too much constraint turns overfitting into model bias
(over_constrain).  Both use the overfitting experiment's task and a small training set, where the net overfits."""
import numpy as np

import relulab
from .. import nn
from . import draws
from .ensemble import member_mse
from .framework import Control, Result, experiment
from .criteria import combine, holds_on_seeds
from .lecture2_common import Grid, MemberLR, above_zero, fit, label, losses, outputs, plt, stack, tensor
from .lecture2_guide import OVERFIT_NOISE, overfit_task
from .stats import spread_row

EXPERIMENTS = []

# The overfitting regime, fixed a priori: the smallest training set of the overfitting experiment, its 1→32→32→1
# ReLU net, Adam at lr 1e-2 for every arm (the same optimizer and number of updates; only the remedy differs).
N_TRAIN, N_VALID, N_TEST, LR, CHECK_EVERY = 25, 200, 1000, 1e-2, 10
STEPS = (200, 600)  # full-batch updates (--quick, full), fixed a priori; --quick cuts them for time
L2_GRID = (1e-4, 1e-3, 1e-2)           # λ of L + λ·Σw², chosen on validation
DROPOUT_GRID = (0.1, 0.25, 0.5)        # dropout probability, chosen on validation
CONSTRAINT_GRID = (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)  # "don't constrain too much": up to a crushing λ


class MemberDropout(nn.Module):
    """ReLU, then PyTorch's inverted dropout with a probability per member: in training each unit is zeroed with
    probability p_m and the rest scaled by 1/(1 − p_m); the identity in eval mode.  The masks are PyTorch's
    ``torch.rand(h.shape, generator=g) >= p`` with ``g = torch.Generator().manual_seed(seed)``."""

    def __init__(self, p, seed):
        super().__init__()
        self.p = np.asarray(p, dtype=np.float32)[:, None, None]
        self.generator = draws.generator(seed)

    def forward(self, h):
        h = relulab.relu(h)
        if not self.training or not self.p.any():
            return h
        keep = draws.rand(self.generator, h.shape) >= self.p
        return h * tensor(keep / (1.0 - self.p))


def _data(seeds):
    """Per seed: the overfitting section's first N_TRAIN points, its validation and its test set (seeds, n, 1)."""
    tasks = [overfit_task(seed) for seed in seeds]
    train = [np.stack([t[0][k][:N_TRAIN] for t in tasks]) for k in (0, 1)]
    return train, [[np.stack([t[j][k] for t in tasks]) for k in (0, 1)] for j in (1, 2)]


def _sweep(grid, init_seed, lam, drop, data, steps, starts=None, early=True):
    """Train the grid's members at once, member m with L2 λ = lam[m] and dropout p = drop[m].  Returns the final
    train / validation / test losses, and the test loss at each member's best validation check (early stopping
    with the best weights restored, read off the same run)."""
    (x, y), (valid, test) = data
    x, y = grid.spread_seeds(x), grid.spread_seeds(y)
    valid = [grid.spread_seeds(a) for a in valid]
    test = [grid.spread_seeds(a) for a in test]
    model = stack([1, 32, 32, 1], grid.count, init_seed, grid.starts if starts is None else starts,
                  activation=MemberDropout(drop, init_seed))
    best_valid, test_at_best = np.full(grid.count, np.inf), np.full(grid.count, np.inf)

    def check(_):
        v, t = losses(model, member_mse, *valid), losses(model, member_mse, *test)
        better = v < best_valid
        best_valid[better], test_at_best[better] = v[better], t[better]

    weights = [p for name, p in model.named_parameters() if name.startswith("weight")]
    optimizer = MemberLR(model.parameters(), "Adam", np.full(grid.count, LR), l2=lam, penalized=weights)
    fit(model, member_mse, x, y, optimizer, steps, check=check if early else None, every=CHECK_EVERY)
    return {"train": losses(model, member_mse, x, y), "valid": losses(model, member_mse, *valid),
            "test": losses(model, member_mse, *test), "early test": test_at_best, "model": model, "x": x, "y": y}


# ------------------------------------------------------------------------------------------------- remedies
REMEDIES = ("early stopping", "L2", "dropout")


def _judge_remedies(rows):
    """Each remedy helps when the paired 95 % t-interval of log(baseline test loss) − log(remedy test loss) over
    seeds lies above 0; all three: reproduced, some: partly (naming the others), none: not reproduced."""
    base = np.log([r["baseline test"] for r in rows])
    return combine([(name, above_zero(base, np.log([r[f"{name} test"] for r in rows]),
                                      f"log test loss, baseline − {name}")) for name in REMEDIES])


# The settings of the remedies stack: the baseline, the L2 grid, the dropout grid, then the control's four plain
# nets (baseline and the three remedies switched off), each from its own initial weights.
_LAMS = (0.0, *L2_GRID, *(0.0,) * len(DROPOUT_GRID), 0.0, 0.0, 0.0, 0.0)
_DROPS = (0.0, *(0.0,) * len(L2_GRID), *DROPOUT_GRID, 0.0, 0.0, 0.0, 0.0)
_CONTROL = 1 + len(L2_GRID) + len(DROPOUT_GRID)


def _remedies(seeds, init_seed, steps):
    grid = Grid(1, len(_LAMS), len(seeds))
    starts = np.where(grid.setting < _CONTROL, grid.starts, grid.count + np.arange(grid.count))
    run = _sweep(grid, init_seed, grid.per_setting(_LAMS), grid.per_setting(_DROPS), _data(seeds), steps, starts)
    valid, test, early = (grid.table(run[k])[0] for k in ("valid", "test", "early test"))
    l2 = slice(1, 1 + len(L2_GRID))
    do = slice(1 + len(L2_GRID), _CONTROL)
    l2_choice, do_choice = np.argmin(valid[l2], axis=0), np.argmin(valid[do], axis=0)
    every = np.arange(len(seeds))
    real = {"baseline": test[0], "early stopping": early[0], "L2": test[l2][l2_choice, every],
            "dropout": test[do][do_choice, every]}
    control = {"baseline": test[_CONTROL], **{name: test[_CONTROL + 1 + j] for j, name in enumerate(REMEDIES)}}
    train = grid.table(run["train"])[0]
    rows, control_rows = [], []
    for i, seed in enumerate(seeds):
        rows.append({"seed": seed, "baseline train": float(train[0, i]),
                     **{f"{name} test": float(real[name][i]) for name in ("baseline", *REMEDIES)},
                     "chosen λ": label(L2_GRID[l2_choice[i]]), "chosen p": label(DROPOUT_GRID[do_choice[i]])})
        control_rows.append({"seed": seed, **{f"{name} test": float(control[name][i])
                                              for name in ("baseline", *REMEDIES)}})
    return rows, control_rows


@experiment(EXPERIMENTS, "remedies", "Early stopping, L2 regularization and dropout each reduce overfitting",
            "Besides more data, the lecture's remedies for overfitting are early stopping, regularization and "
            "dropout: each lowers the test loss of a flexible net trained on little data.")
def remedies(ctx):
    seeds, steps = ctx.seeds(section="overfitting"), ctx.pick(*STEPS)
    rows, control_rows = _remedies(seeds, ctx.seed, steps)
    verdict, because = _judge_remedies(rows)
    cv, cb = _judge_remedies(control_rows)

    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(6.5, 3.8))
    names = ("baseline", *REMEDIES)
    for i, row in enumerate(rows):
        ax.plot(range(len(names)), [row[f"{n} test"] for n in names], marker="o", color="tab:gray", alpha=0.6,
                label="one seed" if i == 0 else None)
    ax.plot(range(len(names)), [np.median([r[f"{n} test"] for r in rows]) for n in names], marker="s",
            color="tab:red", linewidth=2, label="median over seeds")
    ax.axhline(OVERFIT_NOISE ** 2, color="k", linestyle=":", linewidth=1, label="noise variance (the floor)")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names)
    ax.set_ylabel(f"test MSE ({N_TEST} fresh points)")
    ax.set_title(f"n = {N_TRAIN}: each remedy against no remedy")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return Result(
        method=(f"A 1→32→32→1 ReLU net on {N_TRAIN} points of sin(2x) + N(0, {OVERFIT_NOISE}²), Adam (lr {LR}), "
                f"{steps} full-batch updates for every arm. Baseline: no remedy. Early stopping: the weights of the "
                f"check (every {CHECK_EVERY} updates) with the lowest validation loss ({N_VALID} points). L2: the "
                f"lecture's L + λ·Σw² with λ from {L2_GRID}; dropout after each hidden layer with p from "
                f"{DROPOUT_GRID}; both chosen on validation loss. Test loss on {N_TEST} fresh points. The arms of a "
                "seed start from the same weights."),
        numbers={**{f"{name}_over_baseline_median": float(np.median([r[f"{name} test"] / r["baseline test"]
                                                                     for r in rows])) for name in REMEDIES},
                 # reported beside the criterion: on how many seeds each remedy lowered the test loss at all
                 **{f"{name}_lower_on_seeds": int(sum(r[f"{name} test"] < r["baseline test"] for r in rows))
                    for name in REMEDIES}},
        verdict=verdict, because=f"{because}. " + ", ".join(
            f"{name} lowered the test loss on {sum(r[f'{name} test'] < r['baseline test'] for r in rows)} of "
            f"{len(rows)} seeds" for name in REMEDIES) + " (beside the criterion, which asks for the interval).", table=rows + [spread_row(rows)],
        figures=[ctx.figure(fig, "test")], seeds=seeds,
        settings=(f"lr {LR}, {steps} updates ({STEPS[0]} in --quick, {STEPS[1]} in full mode, for time), the net "
                  f"and n = {N_TRAIN} fixed a priori for every arm; λ and p "
                  f"from the grids above by validation loss, per seed; early stopping by validation loss; the "
                  "criterion (a 95 % t-interval over seeds) fixed before the run."),
        controls=[Control("remedies switched off", "each 'remedy' arm trained with no remedy (λ = 0, p = 0, "
                          "stopped at the last update) from its own initial weights", cv, cb)])


# ------------------------------------------------------------------------------------------ over-constraint
CRUSHED_TRAIN = 0.2  # the over-constrained net's training loss must reach 20 % of the targets' variance ...
CRUSHED_RATIO = 3.0  # ... and 3× the training loss at the validation-chosen λ


def _judge_constraint(rows):
    """Model bias returns (the core): at the largest λ the training loss is ≥ 20 % of the targets' variance and
    ≥ 3× the training loss at the validation-chosen λ, on ≥ 80 % of the seeds; and the test loss rises again: the
    paired 95 % t-interval of log test(largest λ) − log test(chosen λ) lies above 0."""
    biased = [r["crushed train"] >= CRUSHED_TRAIN * r["variance"] and
              r["crushed train"] >= CRUSHED_RATIO * r["chosen train"] for r in rows]
    return combine([
        ("too much constraint is model bias", holds_on_seeds(
            biased, f"the most constrained net's training loss is >= {CRUSHED_TRAIN:.0%} of the variance and "
                    f">= {CRUSHED_RATIO}x the chosen λ's")),
        ("the test loss rises again", above_zero(np.log([r["crushed test"] for r in rows]),
                                                 np.log([r["chosen test"] for r in rows]),
                                                 "log test loss, largest λ − chosen λ")),
    ], core="too much constraint is model bias")


def _constraint(seeds, init_seed, steps):
    """Arm 0 sweeps λ; arm 1, the same sweep from other initial weights, gives the identical-arms control: its
    member at arm 0's chosen λ stands in for the largest λ."""
    grid = Grid(2, len(CONSTRAINT_GRID), len(seeds))
    run = _sweep(grid, init_seed, grid.per_setting(CONSTRAINT_GRID), np.zeros(grid.count), _data(seeds), steps,
                 early=False)
    table = {key: grid.table(run[key]) for key in ("train", "valid", "test")}
    choice = np.argmin(table["valid"][0], axis=0)
    rows, control_rows = [], []
    for i, seed in enumerate(seeds):
        c = choice[i]
        common = {"seed": seed, "variance": float(run["y"][i].var()), "chosen λ": label(CONSTRAINT_GRID[c]),
                  "chosen train": float(table["train"][0, c, i]), "chosen test": float(table["test"][0, c, i])}
        rows.append({**common, "unconstrained test": float(table["test"][0, 0, i]),
                     "crushed λ": label(CONSTRAINT_GRID[-1]), "crushed train": float(table["train"][0, -1, i]),
                     "crushed test": float(table["test"][0, -1, i])})
        control_rows.append({**common, "crushed λ": label(CONSTRAINT_GRID[c]),
                             "crushed train": float(table["train"][1, c, i]),
                             "crushed test": float(table["test"][1, c, i])})
    return rows, control_rows, run, grid, choice


@experiment(EXPERIMENTS, "over_constrain", "Don't constrain too much: over-regularization is model bias",
            "Constraining a model fights overfitting, but too much constraint makes it too inflexible: the "
            "training loss rises to a large value (model bias) and the test loss rises again.")
def over_constrain(ctx):
    seeds, steps = ctx.seeds(section="overfitting"), ctx.pick(*STEPS)
    settings = len(CONSTRAINT_GRID)
    rows, control_rows, run, grid, choice = _constraint(seeds, ctx.seed, steps)
    verdict, because = _judge_constraint(rows)
    cv, cb = _judge_constraint(control_rows)

    pyplot = plt()
    fig, (curve, fits) = pyplot.subplots(1, 2, figsize=(11, 3.8))
    lam_axis = [max(lam, 1e-5) for lam in CONSTRAINT_GRID]
    for key, color in (("train", "tab:blue"), ("test", "tab:red")):
        values = grid.table(run[key])[0]
        curve.plot(lam_axis, np.median(values, axis=1), marker="o", color=color, label=f"{key} (median)")
    curve.axhline(np.median([r["variance"] for r in rows]), color="k", linestyle=":", linewidth=1,
                  label="variance of y (a constant's loss)")
    curve.set_xscale("log")
    curve.set_yscale("log")
    curve.set_xlabel("λ of L + λ·Σw² (λ = 0 drawn at 1e-5)")
    curve.set_ylabel("MSE")
    curve.set_title("too little constraint overfits, too much is model bias")
    curve.legend(loc="lower right", fontsize=8)
    x, y = run["x"], run["y"]
    xs = np.linspace(-2, 2, 200)[:, None]
    out = outputs(run["model"], np.broadcast_to(xs, (run["model"].count, *xs.shape)))
    fits.scatter(x[0][:, 0], y[0][:, 0], s=10, color="gray", label="training data")
    shown = ((0, "tab:orange", "λ = 0"), (choice[0], "tab:green", f"chosen λ = {CONSTRAINT_GRID[choice[0]]:g}"),
             (settings - 1, "tab:purple", f"λ = {CONSTRAINT_GRID[-1]:g}"))
    for s, color, name in shown:
        fits.plot(xs[:, 0], out[grid.index(0, s, 0), :, 0], color=color, label=name)
    fits.set_xlabel("x")
    fits.set_ylabel("y")
    fits.set_title(f"seed {seeds[0]}: three constraints")
    fits.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return Result(
        method=(f"The remedies experiment's net and data (n = {N_TRAIN}, Adam lr {LR}, {steps} full-batch updates) "
                f"with L2 λ ∈ {CONSTRAINT_GRID}. The chosen λ minimizes validation loss; the largest λ is the "
                "over-constrained arm. Test loss on 1000 fresh points."),
        numbers={"crushed_train_over_variance_median": float(np.median([r["crushed train"] / r["variance"]
                                                                        for r in rows])),
                 "crushed_over_chosen_test_median": float(np.median([r["crushed test"] / r["chosen test"]
                                                                     for r in rows]))},
        verdict=verdict, because=because, table=rows + [spread_row(rows)],
        figures=[ctx.figure(fig, "sweep")], seeds=seeds,
        settings=(f"the λ grid, lr, updates and net fixed a priori; λ chosen on validation loss per seed; the "
                  f"thresholds ({CRUSHED_TRAIN:.0%} of the variance, {CRUSHED_RATIO}x) fixed before the run."),
        controls=[Control("identical arms", "the 'largest λ' arm replaced by each seed's chosen λ, trained again "
                          "from other initial weights", cv, cb)])
