"""Lecture 2, the training guide: is a large training loss model bias or an optimization failure (deeper_worse,
model_bias)?  Can gradient descent stop at a local minimum (local_minima)?  Does a small training set overfit
(overfitting)?  Each experiment repeats a controlled comparison over seeds, judges it with a criterion fixed
before the run, and passes a negative control through the same criterion.

Every net of a comparison trains as a member of one StackedMLP (seeds × learning rates), so each arm tunes its
learning rate on validation data at the cost of about one run."""
import numpy as np

import relulab
from .. import nn
from ..analysis import Budget, diagnose
from ..autograd import grad
from . import draws
from .ensemble import member_mse
from .framework import Control, Result, experiment
from .criteria import combine, holds_on_seeds
from .lecture2_common import (ADAM_LRS, Grid, MemberLR, fit, label, losses, masked_mse, member_net, outputs, plt,
                              stack, tensor, wave)
from .stats import fmt, spread_row

EXPERIMENTS = []


def _seed_data(seeds, n, noise):
    """Per seed: (training x, y) and (validation x, y), n points each, from the guide's task: arrays (seeds, n, 1)."""
    train, valid = [], []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        train.append(wave(n, rng, noise))
        valid.append(wave(n, rng, noise))
    return [np.stack(a) for a in zip(*train)], [np.stack(a) for a in zip(*valid)]


class Tuned:
    """Nets of one architecture trained for every arm × lr × seed (Adam, full batch, equal updates), each arm's
    and seed's lr chosen by validation loss.  ``train``/``valid``: (x, y) arrays (arms, seeds, n, 1)."""

    def __init__(self, widths, activation, init_seed, train, valid, steps, lrs=ADAM_LRS):
        arms, seeds = train[0].shape[:2]
        self.grid = grid = Grid(arms, len(lrs), seeds)
        self.lrs, self.steps = lrs, steps
        self.model = stack(widths, grid.count, init_seed, grid.starts, activation)
        x, y = grid.spread(train[0]), grid.spread(train[1])
        self.history = fit(self.model, member_mse, x, y, MemberLR(self.model.parameters(), "Adam",
                                                                   grid.per_setting(lrs)), steps)
        self.choice = grid.choose(losses(self.model, member_mse, grid.spread(valid[0]), grid.spread(valid[1])))
        self.train = grid.at(losses(self.model, member_mse, x, y), self.choice)   # (arms, seeds)

    def member(self, arm, seed):
        """The index of an arm's and seed's net at its chosen lr."""
        return self.grid.index(arm, self.choice[arm, seed], seed)

    def lr(self, arm, seed):
        return self.lrs[self.choice[arm, seed]]


def _arms(*arrays):
    return np.stack(arrays)


# The doctor's own training (its lr searches for the retrained twin and the reference models), in updates per
# candidate: a third of the experiments' budget keeps its cost near a tenth of the lab's time.
DOCTOR_UPDATES = 100


def _doctor(ctx, model, m, activation, x, y, history, lr, steps, title):
    """The training doctor's diagnosis of member m, reported as evidence beside the measurement (the criterion
    rests on the controlled comparison).  Full mode only: its own lr searches cost more than --quick allows.
    Returns (verdict, sentence)."""
    if ctx.quick:
        return "not run", "The training doctor is run in full mode only (its lr searches exceed --quick's time)."
    net = member_net(model, m, activation)
    diagnosis = diagnose(net, nn.MSELoss(), (tensor(x), tensor(y)), history=[float(v) for v in history[:, m]],
                         budget=Budget(epochs=steps, optimizer="Adam", lr=float(lr), batch_size=len(x)),
                         budget_updates=DOCTOR_UPDATES, seed=0, title=title)
    return diagnosis.verdict, f"The training doctor on {title} says {diagnosis.verdict!r}: {diagnosis.reason}"


# -------------------------------------------------------------------------------------- 1. deeper is worse
DEPTH, WIDTH, GUIDE_N = 8, 20, 100
GUIDE_STEPS = (100, 300)  # full-batch updates (--quick, full): fixed a priori; --quick cuts them for time
WORSE = 1.2       # "higher training loss": at least 20 % above the shallow net's (fixed a priori)
COPY_SLACK = 0.01  # the deep copy must match the shallow net's training loss within 1 %


def _judge_deeper(rows):
    """Deeper is worse (required): the deep net's training loss ≥ 1.2 × the shallow net's, seed by seed; and the
    deep net contains the shallow one: its copy of the shallow net has the same training loss (within 1 %)."""
    worse = [r["deep train"] >= WORSE * r["shallow train"] for r in rows]
    contains = [r["deep copy train"] <= (1 + COPY_SLACK) * r["shallow train"] for r in rows]
    return combine([
        ("deeper is worse", holds_on_seeds(worse, f"the deep net's training loss is >= {WORSE}x the shallow net's")),
        ("the deep net could copy the shallow one", holds_on_seeds(contains,
                    f"the deep net built as a copy of the shallow one matches its training loss within "
                    f"{COPY_SLACK:.0%}")),
    ], core="deeper is worse")


def _deep_copy(shallow, depth, eps=1e-3):
    """A float64 deep sigmoid net (``depth`` hidden layers) computing what the 1-hidden-layer net ``shallow``
    computes.  Layer 1 is the shallow hidden layer h = σ(z); layer 2 maps it to σ(ε(h − ½)) ≈ ½ + ε(h − ½)/4, in
    sigmoid's linear range; every further layer (W = 4I, b = −2) keeps the pre-activation ε(h − ½) to O(ε³); the
    output layer undoes the scale.  The lecture's argument made concrete: the extra layers can pass the shallow
    net's features through, so the deep net can reach whatever the shallow one reaches."""
    # float64 before the arithmetic: the output bias is about −2·Σc/ε, where float32 would round away ~1e-4
    w1, b1, c, d = (p.detach().numpy().astype(np.float64)
                    for p in (shallow[0].weight, shallow[0].bias, shallow[2].weight, shallow[2].bias))
    width = w1.shape[0]
    layers = [(w1, b1), (eps * np.eye(width), -0.5 * eps * np.ones(width))]
    layers += [(4 * np.eye(width), -2 * np.ones(width))] * (depth - 2)
    layers.append((4 * c / eps, d + 0.5 * c.sum() * (1 - 4 / eps)))
    net = []
    for i, (w, b) in enumerate(layers):
        lin = nn.Linear(w.shape[1], w.shape[0]).double()
        lin.weight.data, lin.bias.data = np.asarray(w, np.float64), np.asarray(b, np.float64)
        net.append(lin)
        if i < len(layers) - 1:
            net.append(nn.Sigmoid())
    return nn.Sequential(*net)


def _mse64(net, x, y):
    with relulab.no_grad():
        out = net(tensor(x, np.float64)).numpy()
    return float(np.mean((out - y) ** 2))


def _deeper(seeds, init_seed, steps, progress):
    """Arm 0 of the shallow stack is the real shallow net; arms 1 and 2 (another two shallow nets from their own
    draws) are the identical-arms control.  Returns (rows, control rows, shallow, deep, data)."""
    train, valid = _seed_data(seeds, GUIDE_N, 0.1)
    jobs = [("shallow", [1, WIDTH, 1], 3), ("deep", [1] + [WIDTH] * DEPTH + [1], 1)]
    arms = {}
    for name, widths, count in progress(jobs, "arms"):
        tile = [np.broadcast_to(a, (count, *a.shape)) for a in (train[0], train[1], valid[0], valid[1])]
        arms[name] = Tuned(widths, relulab.sigmoid, init_seed + len(arms), tile[:2], tile[2:], steps)
    shallow, deep = arms["shallow"], arms["deep"]
    rows, control = [], []
    for i, seed in enumerate(seeds):
        net = member_net(shallow.model, shallow.member(0, i), nn.Sigmoid)
        copy_loss = _mse64(_deep_copy(net, DEPTH), train[0][i], train[1][i])
        rows.append(_deeper_row(seed, shallow.lr(0, i), deep.lr(0, i), shallow.train[0, i], deep.train[0, i],
                                copy_loss))
        # A shallow net "copies" itself exactly: the control's containment holds by construction.
        control.append(_deeper_row(seed, shallow.lr(1, i), shallow.lr(2, i), shallow.train[1, i],
                                   shallow.train[2, i], shallow.train[1, i]))
    return rows, control, shallow, deep, train


def _deeper_row(seed, shallow_lr, deep_lr, shallow_loss, deep_loss, copy_loss):
    return {"seed": seed, "shallow lr": label(shallow_lr), "deep lr": label(deep_lr),
            "shallow train": float(shallow_loss),
            "deep train": float(deep_loss), "deep / shallow": float(deep_loss / shallow_loss),
            "deep copy train": float(copy_loss)}


@experiment(EXPERIMENTS, "deeper_worse", "A deeper net with a higher training loss: optimization failed",
            "If a deeper net has a higher TRAINING loss than a shallower one (56 vs 20 layers), the deeper net's "
            "optimization failed: it could have copied the shallow net, so the needle was in the haystack.")
def deeper_worse(ctx):
    seeds, steps = ctx.seeds(section="guide"), ctx.pick(*GUIDE_STEPS)
    rows, control_rows, shallow, deep, train = _deeper(seeds, ctx.seed, steps, ctx.progress)
    verdict, because = _judge_deeper(rows)
    cv, cb = _judge_deeper(control_rows)
    doctor, doctor_says = _doctor(ctx, deep.model, deep.member(0, 0), nn.Sigmoid, train[0][0], train[1][0],
                                  deep.history, deep.lr(0, 0), steps,
                                  f"the {DEPTH}-layer sigmoid net of seed {seeds[0]}")

    pyplot = plt()
    fig, (curves, scatter) = pyplot.subplots(1, 2, figsize=(10.5, 3.8))
    for name, arm, color in (("1 hidden layer", shallow, "tab:blue"), (f"{DEPTH} hidden layers", deep, "tab:orange")):
        for i in range(len(seeds)):
            curves.plot(arm.history[:, arm.member(0, i)], color=color, alpha=0.7, label=name if i == 0 else None)
    curves.set_yscale("log")
    curves.set_xlabel("update (full batch)")
    curves.set_ylabel("training MSE")
    curves.set_title("each seed at its validation-chosen lr")
    curves.legend(loc="upper right", fontsize=8)
    shallow_loss = [r["shallow train"] for r in rows]
    scatter.scatter(shallow_loss, [r["deep train"] for r in rows], color="tab:orange", label="deep net, trained")
    scatter.scatter(shallow_loss, [r["deep copy train"] for r in rows], color="tab:green", marker="x",
                    label="deep net copying the shallow one")
    low, high = min(shallow_loss) * 0.5, max(r["deep train"] for r in rows) * 2
    scatter.plot([low, high], [low, high], color="k", linewidth=0.8, linestyle=":")
    scatter.set_xscale("log")
    scatter.set_yscale("log")
    scatter.set_xlabel("shallow net's training MSE")
    scatter.set_ylabel("deep net's training MSE")
    scatter.set_title("one point per seed (dotted: equal)")
    scatter.legend(loc="upper left", fontsize=8)
    fig.tight_layout()

    ratios = [r["deep / shallow"] for r in rows]
    return Result(
        method=(f"1→{WIDTH}→1 vs 1→({WIDTH}×{DEPTH})→1 sigmoid nets (no normalization, no skip connections) on "
                f"y = sin(2x) + N(0, 0.1²), {GUIDE_N} training and {GUIDE_N} validation points per seed. Both arms: "
                f"Adam, {steps} full-batch updates (equal updates), each seed's lr chosen on validation loss. "
                "The deep net built as a copy of the shallow one (sigmoid layers in their linear range passing the "
                "features through, float64) shows what the deep net could have reached. The training doctor "
                "(relulab.analysis.diagnose) on the first seed's deep net is reported as evidence."),
        numbers={"deep_over_shallow_median": float(np.median(ratios)),
                 "shallow_train_mean": float(np.mean(shallow_loss)),
                 "deep_train_mean": float(np.mean([r["deep train"] for r in rows])),
                 "deep_copy_train_mean": float(np.mean([r["deep copy train"] for r in rows])),
                 "doctor_verdict": doctor},
        verdict=verdict,
        because=f"{because}. {doctor_says}",
        table=rows + [spread_row(rows)],
        figures=[ctx.figure(fig, "curves")],
        seeds=seeds,
        settings=(f"lr from {{{', '.join(map(str, ADAM_LRS))}}} by validation loss, per arm, per seed; "
                  f"{steps} updates ({GUIDE_STEPS[0]} in --quick, {GUIDE_STEPS[1]} in full mode, for time), widths "
                  "and depth fixed a priori (the previous session's nets); the "
                  f"criterion's margins ({WORSE}x, {COPY_SLACK:.0%}) fixed before the run; data generator fixed "
                  "in the previous session."),
        controls=[Control("identical arms", "the 'deep' arm replaced by a second 1-hidden-layer net from its own "
                          "initial draw, tuned and trained the same way", cv, cb,
                          {"ratio_median": float(np.median([r["deep / shallow"] for r in control_rows]))})])


# ---------------------------------------------------------------------------------------------- 2. model bias
LARGE = 0.2       # a training loss above 20 % of the targets' variance is "large" (the doctor's threshold)
AT_OPTIMUM = 1.05  # the linear model counts as trained when within 5 % of its least-squares optimum
MUCH_LOWER = 0.25  # more capacity must cut the training loss at least 4-fold


def _judge_bias(rows):
    """Model bias: the linear model sits at its own optimum (least squares) and that optimum is large (≥ 20 % of
    the targets' variance); more capacity: the bigger net's training loss ≤ 0.25 × the linear model's."""
    biased = [r["linear train"] <= AT_OPTIMUM * r["linear optimum"] and r["linear optimum"] >= LARGE * r["variance"]
              for r in rows]
    lower = [r["bigger train"] <= MUCH_LOWER * r["linear train"] for r in rows]
    return combine([
        ("the small model is biased", holds_on_seeds(biased,
                    f"the linear model is within {AT_OPTIMUM - 1:.0%} of its least-squares optimum and that optimum "
                    f"is >= {LARGE:.0%} of the targets' variance")),
        ("capacity lowers it", holds_on_seeds(lower,
                    f"the 1→32→1 net's training loss is <= {MUCH_LOWER}x the linear model's")),
    ])


def _bias(seeds, init_seed, steps, progress):
    """Arm 0: the guide's task; arm 1 (the control): y = 0.8x + noise, which a line fits."""
    train, valid = _seed_data(seeds, GUIDE_N, 0.1)
    rng = np.random.default_rng(init_seed)
    line = [0.8 * a[0] + 0.1 * rng.normal(size=a[0].shape) for a in (train, valid)]
    train_arms, valid_arms = _arms(train[1], line[0]), _arms(valid[1], line[1])
    x_arms, xv_arms = _arms(train[0], train[0]), _arms(valid[0], valid[0])
    arms = {}
    for name, widths in progress([("linear", [1, 1]), ("bigger", [1, 32, 1])], "arms"):
        arms[name] = Tuned(widths, relulab.tanh, init_seed + len(arms), (x_arms, train_arms), (xv_arms, valid_arms),
                           steps)
    linear, bigger = arms["linear"], arms["bigger"]
    tables = []
    for arm in (0, 1):
        rows = []
        for i, seed in enumerate(seeds):
            x, y = x_arms[arm, i], train_arms[arm, i]
            design = np.hstack([x, np.ones_like(x)])
            optimum = float(np.mean((design @ np.linalg.lstsq(design, y, rcond=None)[0] - y) ** 2))
            rows.append({"seed": seed, "linear lr": label(linear.lr(arm, i)), "bigger lr": label(bigger.lr(arm, i)),
                         "variance": float(y.var()), "linear train": float(linear.train[arm, i]),
                         "linear optimum": optimum, "bigger train": float(bigger.train[arm, i]),
                         "bigger / linear": float(bigger.train[arm, i] / linear.train[arm, i])})
        tables.append(rows)
    return tables[0], tables[1], linear, bigger, train


@experiment(EXPERIMENTS, "model_bias", "Model bias: a model too small for the data",
            "A model too simple for the data keeps a large training loss whatever the optimizer does (the needle "
            "is not in the haystack); more capacity lowers it.")
def model_bias(ctx):
    seeds, steps = ctx.seeds(section="guide"), ctx.pick(*GUIDE_STEPS)
    rows, control_rows, linear, bigger, train = _bias(seeds, ctx.seed, steps, ctx.progress)
    verdict, because = _judge_bias(rows)
    cv, cb = _judge_bias(control_rows)
    doctor, doctor_says = _doctor(ctx, linear.model, linear.member(0, 0), nn.Tanh, train[0][0], train[1][0],
                                  linear.history, linear.lr(0, 0), steps,
                                  f"the linear model of seed {seeds[0]}")

    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(6.5, 3.8))
    grid = np.linspace(-2, 2, 200)[:, None]
    ax.scatter(train[0][0][:, 0], train[1][0][:, 0], s=8, color="gray", label=f"training data (seed {seeds[0]})")
    for name, arm, color in (("linear", linear, "tab:red"), ("1→32→1 tanh", bigger, "tab:blue")):
        out = outputs(arm.model, np.broadcast_to(grid, (arm.model.count, *grid.shape)))
        ax.plot(grid[:, 0], out[arm.member(0, 0), :, 0], color=color,
                label=f"{name}: training MSE {fmt(arm.train[0, 0], 3)}")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("the line cannot bend: model bias")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return Result(
        method=(f"A linear model and a 1→32→1 tanh net on y = sin(2x) + N(0, 0.1²) ({GUIDE_N} training, "
                f"{GUIDE_N} validation points per seed), Adam, {steps} full-batch updates, each seed's lr "
                "chosen on validation loss; the linear model's least-squares optimum (the best any optimizer can "
                "do) computed in closed form. The training doctor on the first seed's linear model is reported."),
        numbers={"linear_relative_loss_mean": float(np.mean([r["linear train"] / r["variance"] for r in rows])),
                 "bigger_over_linear_median": float(np.median([r["bigger / linear"] for r in rows])),
                 "doctor_verdict": doctor},
        verdict=verdict,
        because=f"{because}. {doctor_says}",
        table=rows + [spread_row(rows)],
        figures=[ctx.figure(fig, "fits")],
        seeds=seeds,
        settings=(f"lr from {{{', '.join(map(str, ADAM_LRS))}}} by validation loss, per arm, per seed; "
                  f"{steps} updates ({GUIDE_STEPS[0]} in --quick, {GUIDE_STEPS[1]} in full mode, for time) and the "
                  f"models fixed a priori; thresholds ({LARGE:.0%} of the variance, "
                  f"{AT_OPTIMUM}x the optimum, {MUCH_LOWER}x) fixed before the run; data generator fixed in the "
                  "previous session."),
        controls=[Control("linear target", "the same arms on y = 0.8x + N(0, 0.1²), which a line fits: no model "
                          "bias to find", cv, cb,
                          {"linear_relative_loss_mean": float(np.mean([r["linear train"] / r["variance"]
                                                                       for r in control_rows]))})])


# ------------------------------------------------------------------------------------ 3. local vs global minima
BUMPS = ((1.5, 1.0), (-1.5, 0.6))  # (centre, height): the taller bump is the global fit, the other a local one
STARTS, GD_STEPS, GD_LR = 32, 400, 1.0
STUCK, FOUND = 0.2, 0.2  # shares of the starts that must end in a local / the global minimum


def _bump_data(rng, bumps, n=200, noise=0.05, even=False):
    x = np.linspace(-4, 4, n) if even else rng.uniform(-4, 4, n)
    y = sum(h * np.exp(-(x - c) ** 2) for c, h in bumps) + noise * rng.normal(size=n)
    return x, y


def _bump_loss(w, x, y):
    """L(w) = mean over a data set of (exp(−(x − w)²) − y)², for every centre: w (R, K, 1) for data x, y (R, n)."""
    x = tensor(x[:, None, :], np.float64)
    pred = ((x - w) ** 2 * -1.0).exp()
    return ((pred - tensor(y[:, None, :], np.float64)) ** 2).mean(dim=2)


def _descend(x, y, starts):
    """Gradient descent from every start on every data set at once (the losses are summed, so each start gets
    its own gradient); then each end point's loss, gradient and second derivative by autograd: (R, K) each."""
    w = relulab.tensor(starts[..., None], dtype=relulab.float64, requires_grad=True)
    for _ in range(GD_STEPS):
        (g,) = grad(_bump_loss(w, x, y).sum(), [w])
        with relulab.no_grad():
            w -= GD_LR * g
    w = w.detach().requires_grad_(True)
    loss = _bump_loss(w, x, y)
    (g,) = grad(loss.sum(), [w], create_graph=True)
    (h,) = grad(g.sum(), [w])  # the Hessian is diagonal across starts: this is each start's L''(w)
    return w.detach().numpy()[..., 0], loss.detach().numpy(), g.detach().numpy()[..., 0], h.numpy()[..., 0]


def _minima(seeds):
    """Per seed, the two-bump data (the real run) and the control's data, descended together.  The control must
    be a loss with one minimum: one bump, no noise and evenly spaced x.  (The first quick runs showed why: far
    from the bump, L(w) traces the density of the x's, so noise or random x's alone make shallow minima there.)"""
    data, starts = [], []
    generators = [draws.generator(seed) for seed in seeds]  # the real run's starts, then the control's
    for bumps, noise, even in ((BUMPS, 0.05, False), (BUMPS[:1], 0.0, True)):
        for seed, gen in zip(seeds, generators):
            data.append(_bump_data(np.random.default_rng(seed), bumps, noise=noise, even=even))
            starts.append(draws.uniform(gen, -4, 4, STARTS))
    x, y = np.stack([d[0] for d in data]), np.stack([d[1] for d in data])
    ends, loss, g, h = _descend(x, y, np.stack(starts))
    grid = np.linspace(-6, 6, 4001)
    rows, views = [], []
    for r in range(len(data)):
        with relulab.no_grad():
            grid_loss = _bump_loss(tensor(grid[None, :, None], np.float64), x[r:r + 1], y[r:r + 1]).numpy()[0]
        best, variance = float(grid_loss.min()), float(y[r].var())
        is_min = (np.abs(g[r]) < 1e-6) & (h[r] > 0)
        is_global = loss[r] <= best + 1e-3 * variance
        is_local = is_min & (loss[r] > best + 0.01 * variance)
        rows.append({"seed": seeds[r % len(seeds)], "starts": STARTS, "global share": float(is_global.mean()),
                     "local share": float(is_local.mean()),
                     "neither share": float(1 - (is_global | is_local).mean()), "global loss": best,
                     "worst end loss": float(loss[r].max()), "max |L'| at ends": float(np.abs(g[r]).max())})
        views.append((x[r], y[r], ends[r], loss[r], grid, grid_loss, is_local, is_global))
    return rows[:len(seeds)], rows[len(seeds):], views[0]


def _judge_minima(rows):
    """Stuck (required): ≥ 20 % of the starts end at a verified local minimum (L' ≈ 0, L'' > 0) worse than the
    global one by ≥ 1 % of the variance; found: ≥ 20 % of the starts reach the global minimum."""
    return combine([
        ("stuck in local minima", holds_on_seeds([r["local share"] >= STUCK for r in rows],
                    f">= {STUCK:.0%} of the starts end at a local minimum worse than the global one")),
        ("other starts find the global one", holds_on_seeds([r["global share"] >= FOUND for r in rows],
                    f">= {FOUND:.0%} of the starts reach the global minimum")),
    ], core="stuck in local minima")


@experiment(EXPERIMENTS, "local_minima", "Gradient descent can stop at a local minimum",
            "Gradient descent stops where the gradient is 0; that can be a local minimum, worse than the global "
            "one, and which minimum it reaches depends on where it starts.")
def local_minima(ctx):
    seeds = ctx.seeds()
    rows, control_rows, view = _minima(seeds)
    verdict, because = _judge_minima(rows)
    cv, cb = _judge_minima(control_rows)

    x, y, ends, loss, grid, grid_loss, is_local, is_global = view
    pyplot = plt()
    fig, (surface, fit_ax) = pyplot.subplots(1, 2, figsize=(10.5, 3.8))
    surface.plot(grid, grid_loss, color="k", linewidth=1)
    surface.scatter(ends[is_local], loss[is_local], color="tab:red", zorder=3, label="ends: local minimum")
    surface.scatter(ends[is_global], loss[is_global], color="tab:green", marker="x", zorder=3,
                    label="ends: global minimum")
    other = ~(is_local | is_global)
    surface.scatter(np.clip(ends[other], -5, 5), loss[other], color="tab:gray", marker="^", zorder=3,
                    label="ends: still moving on a flat tail")
    surface.set_xlim(-5, 5)
    surface.set_xlabel("w (the bump's centre)")
    surface.set_ylabel("L(w), MSE")
    surface.set_title(f"L(w) and where {STARTS} descents end")
    surface.legend(loc="lower left", fontsize=8)
    order = np.argsort(x)
    fit_ax.scatter(x, y, s=6, color="gray", label="data")
    for w_end, color in ((ends[is_local][:1], "tab:red"), (ends[is_global][:1], "tab:green")):
        if len(w_end):
            fit_ax.plot(x[order], np.exp(-(x[order] - w_end[0]) ** 2), color=color, label=f"fit w = {w_end[0]:.3g}")
    fit_ax.set_xlabel("x")
    fit_ax.set_ylabel("y")
    fit_ax.set_title("model exp(−(x − w)²): the two fits")
    fit_ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return Result(
        method=(f"One Gaussian bump ŷ = exp(−(x − w)²) fitted by MSE to data with two bumps (centres/heights "
                f"{BUMPS}, 200 points on [−4, 4], noise 0.05); plain gradient descent (lr {GD_LR}, {GD_STEPS} "
                f"steps, float64) from {STARTS} starts w₀ ~ U(−4, 4) per seed. An end point is a local minimum when "
                "|L′| < 1e-6 and L″ > 0 (both by autograd) and its loss exceeds the global one (the minimum over a "
                "4001-point grid on [−6, 6]) by ≥ 1 % of the variance; it reached the global one when within 0.1 % "
                "of the variance."),
        numbers={"local_share_mean": float(np.mean([r["local share"] for r in rows])),
                 "global_share_mean": float(np.mean([r["global share"] for r in rows]))},
        verdict=verdict, because=because, table=rows + [spread_row(rows)],
        figures=[ctx.figure(fig, "surface")], seeds=seeds,
        settings=("the task, model, lr, steps and tolerances fixed a priori (no tuning: plain gradient descent "
                  "as in lecture 1)"),
        controls=[Control("one bump", "the data have only the taller bump, no noise and evenly spaced x, so L(w) "
                          "has a single minimum", cv, cb,
                          {"local_share_mean": float(np.mean([r["local share"] for r in control_rows]))})])


# ---------------------------------------------------------------------------------------------- 4. overfitting
SIZES, OVERFIT_NOISE, OVERFIT_LRS = (400, 100, 25), 0.3, (3e-3, 1e-2, 3e-2)
OVERFIT_STEPS = (150, 500)  # full-batch updates (--quick, full), fixed a priori; --quick cuts them for time
MARGIN = 0.05  # each step of growth must exceed 5 % of the noise variance


def _judge_overfitting(rows):
    """The gap grows as n shrinks (required): gap(small) > gap(medium) > gap(large), each step by ≥ 5 % of the
    noise variance; more data is the remedy: the test loss falls the same way as n grows."""
    delta = MARGIN * OVERFIT_NOISE ** 2

    def grows(r, key):
        return r[f"{key} (small n)"] > r[f"{key} (medium n)"] + delta and \
            r[f"{key} (medium n)"] > r[f"{key} (large n)"] + delta
    return combine([
        ("the gap grows as n shrinks", holds_on_seeds([grows(r, "gap") for r in rows],
                    f"test − train gap grows at each smaller n by > {fmt(delta)}")),
        ("more data lowers the test loss", holds_on_seeds([grows(r, "test") for r in rows],
                    f"test loss falls at each larger n by > {fmt(delta)}")),
    ], core="the gap grows as n shrinks")


def overfit_task(seed, n=max(SIZES)):
    """The overfitting section's data for one seed (shared with lecture2_remedies): a pool of ``n`` training points
    (smaller training sets are its first points), 200 validation and 1000 test points."""
    rng = np.random.default_rng(seed)
    pool = wave(n, rng, OVERFIT_NOISE)
    return pool, wave(200, rng, OVERFIT_NOISE), wave(1000, rng, OVERFIT_NOISE)


ARM_NAMES = ("large n", "medium n", "small n")


def _overfitting(seeds, init_seed, steps, progress):
    """Two stacks: the 400-point arm, and a stack of 100-point training sets holding the medium arm, the small arm
    (25 points, masked) and the identical-arms control (three further independent 100-point sets).  Every net:
    1→32→32→1 ReLU, Adam, equal full-batch updates, lr per arm and seed chosen on validation loss."""
    medium = SIZES[1]
    tasks = [overfit_task(seed) for seed in seeds]
    pools = np.stack([t[0][0] for t in tasks]), np.stack([t[0][1] for t in tasks])
    valid = [np.stack([t[1][k] for t in tasks]) for k in (0, 1)]
    test = [np.stack([t[2][k] for t in tasks]) for k in (0, 1)]
    extra = [[wave(medium, np.random.default_rng(seed + 1 + j), OVERFIT_NOISE) for seed in seeds] for j in range(3)]
    small_x, small_y = np.zeros_like(pools[0][:, :medium]), np.zeros_like(pools[1][:, :medium])
    small_x[:, :SIZES[2]], small_y[:, :SIZES[2]] = pools[0][:, :SIZES[2]], pools[1][:, :SIZES[2]]
    jobs = [
        ("large", [pools[0][None]], [pools[1][None]], None),
        ("padded", [pools[0][:, :medium], small_x] + [np.stack([e[i][0] for i in range(len(seeds))]) for e in extra],
         [pools[1][:, :medium], small_y] + [np.stack([e[i][1] for i in range(len(seeds))]) for e in extra],
         [medium, SIZES[2], medium, medium, medium]),
    ]
    results = {}
    for name, xs, ys, sizes in progress(jobs, "stacks"):
        x_arms, y_arms = (xs[0], ys[0]) if len(xs) == 1 else (np.stack(xs), np.stack(ys))
        grid = Grid(len(x_arms), len(OVERFIT_LRS), len(seeds))
        x, y = grid.spread(x_arms), grid.spread(y_arms)
        if sizes is None:
            loss = member_mse
        else:
            mask = (np.arange(medium)[None, :] < np.asarray(sizes)[grid.arm][:, None]).astype(np.float32)
            loss = masked_mse(mask)
        model = stack([1, 32, 32, 1], grid.count, init_seed + len(results), grid.starts)
        fit(model, loss, x, y, MemberLR(model.parameters(), "Adam", grid.per_setting(OVERFIT_LRS)), steps)
        choice = grid.choose(losses(model, member_mse, grid.spread_seeds(valid[0]), grid.spread_seeds(valid[1])))
        results[name] = {"grid": grid, "model": model, "choice": choice, "x": x_arms, "y": y_arms,
                         "train": grid.at(losses(model, loss, x, y), choice),
                         "test": grid.at(losses(model, member_mse, grid.spread_seeds(test[0]),
                                                 grid.spread_seeds(test[1])), choice)}
    large, padded = results["large"], results["padded"]
    real = [(large, 0, SIZES[0]), (padded, 0, SIZES[1]), (padded, 1, SIZES[2])]
    control = [(padded, 2, medium), (padded, 3, medium), (padded, 4, medium)]
    return [_overfit_rows(seeds, arms) for arms in (real, control)] + [results]


def _overfit_rows(seeds, arms):
    rows = []
    for i, seed in enumerate(seeds):
        row = {"seed": seed}
        for name, (result, arm, n) in zip(ARM_NAMES, arms):
            train, test = float(result["train"][arm, i]), float(result["test"][arm, i])
            row.update({f"n ({name})": n, f"lr ({name})": label(OVERFIT_LRS[result["choice"][arm, i]]),
                        f"train ({name})": train, f"test ({name})": test, f"gap ({name})": test - train})
        rows.append(row)
    return rows


def _overfit_note(rows):
    """What the numbers say beside the verdict: how far each size's median test loss is above the noise floor."""
    floor = OVERFIT_NOISE ** 2
    above = ", ".join(f"n = {n}: {fmt(float(np.median([r[f'test ({a})'] for r in rows])) - floor)}"
                      for a, n in zip(ARM_NAMES, SIZES))
    return f"Median test loss above the noise floor σ² = {fmt(floor)}: {above}"


@experiment(EXPERIMENTS, "overfitting", "Overfitting grows as the training set shrinks",
            "A flexible model fits a small training set (low training loss) but not new data: the gap between test "
            "and training loss grows as the training set shrinks, and more data is the first remedy.")
def overfitting(ctx):
    seeds, steps = ctx.seeds(section="overfitting"), ctx.pick(*OVERFIT_STEPS)
    rows, control_rows, results = _overfitting(seeds, ctx.seed, steps, ctx.progress)
    verdict, because = _judge_overfitting(rows)
    cv, cb = _judge_overfitting(control_rows)

    pyplot = plt()
    fig, axes = pyplot.subplots(1, len(SIZES), figsize=(11, 3.4), sharey=True)
    grid = np.linspace(-2, 2, 300)[:, None]
    panels = [(results["large"], 0), (results["padded"], 0), (results["padded"], 1)]
    for ax, (result, arm), name, n in zip(axes, panels, ARM_NAMES, SIZES):
        model, member = result["model"], result["grid"].index(arm, result["choice"][arm, 0], 0)
        out = outputs(model, np.broadcast_to(grid, (model.count, *grid.shape)))[member]
        ax.scatter(result["x"][arm, 0][:n, 0], result["y"][arm, 0][:n, 0], s=6, color="gray", label="training data")
        ax.plot(grid[:, 0], np.sin(2 * grid[:, 0]), color="k", linestyle=":", label="sin(2x)")
        ax.plot(grid[:, 0], out[:, 0], color="tab:red", label="model")
        ax.set_title(f"n = {n}: gap {fmt(rows[0][f'gap ({name})'], 3)}")
        ax.set_xlabel("x")
    axes[0].set_ylabel("y")
    axes[0].legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    return Result(
        method=(f"A 1→32→32→1 ReLU net on n ∈ {SIZES} points of sin(2x) + N(0, {OVERFIT_NOISE}²) (nested: the "
                f"smaller sets are the first points of the largest), Adam, {steps} full-batch updates for "
                "every n (equal updates), lr per n and seed chosen on 200 validation points; test loss on 1000 "
                "fresh points."),
        numbers={f"gap_mean_n{n}": float(np.mean([r[f"gap ({name})"] for r in rows]))
                 for name, n in zip(("large n", "medium n", "small n"), SIZES)},
        verdict=verdict, because=f"{because}. {_overfit_note(rows)}", table=rows + [spread_row(rows)],
        figures=[ctx.figure(fig, "fits")], seeds=seeds,
        settings=(f"lr from {{{', '.join(map(str, OVERFIT_LRS))}}} by validation loss, per n, per seed; "
                  f"{steps} updates ({OVERFIT_STEPS[0]} in --quick, {OVERFIT_STEPS[1]} in full mode, for time), the "
                  "net and the sizes fixed a priori (the previous session's sizes); "
                  f"margin {MARGIN:.0%} of the noise variance fixed before the run."),
        controls=[Control("identical arms", f"three independent training sets of the same size "
                          f"({SIZES[1]}) in place of {SIZES}", cv, cb)])
