"""The notes' questions about models and losses: can a loss be negative (Q1), what a hard sigmoid is (Q3), why
more layers help (Q4), and what model elasticity and model bias are (Q5)."""
import numpy as np

import relulab
import relulab.nn.functional as F
from relulab.optim import SGD, Adam, lr_scheduler

from .criteria import combine, holds_on_seeds
from .descent import pyplot
from .ensemble import StackedMLP, evaluate, member_mse, train
from .framework import Control, Result, experiment
from .questions_common import hinge_optimum, question, segments_lower_bound
from .stats import fmt, mean_std, spread_row

EXPERIMENTS = []


def _sig(value, digits=4):
    return float(f"{float(value):.{digits}g}")


# ================================================================================================ Q1 negative loss
NLL_POINTS, NLL_STEPS, NLL_SHIFT = 64, 200, 10.0


def _fit_lines(x, y, sigma, extra=None):
    """Lines y = w·x + b per seed (rows of one (S, 2) tensor) trained by full-batch SGD on the Gaussian negative
    log-likelihood ½·log(2πσ²) + (y − ŷ)²/(2σ²), plus ``extra(θ)`` per seed if given.  lr = σ²/2: the NLL's
    curvature in (w, b) is at most ~1/σ² here (|x| ≤ 1), so the step is stable for every σ."""
    theta = relulab.tensor(np.zeros((x.shape[0], 2)), dtype=relulab.float64, requires_grad=True)
    xt, yt = relulab.tensor(x, dtype=relulab.float64), relulab.tensor(y, dtype=relulab.float64)
    optimizer = SGD([theta], lr=sigma ** 2 / 2)

    def nll(theta):
        prediction = theta[:, :1] * xt + theta[:, 1:]
        return 0.5 * np.log(2 * np.pi * sigma ** 2) + ((yt - prediction) ** 2).mean(dim=1) / (2 * sigma ** 2)

    def loss(theta):
        return nll(theta) + (extra(theta) if extra else 0.0)

    for _ in range(NLL_STEPS):
        optimizer.zero_grad()
        loss(theta).sum().backward()
        optimizer.step()
    with relulab.no_grad():
        return theta.detach().numpy().copy(), nll(theta).numpy(), loss(theta).numpy()


def _judge_negative(rows):
    """Criterion (fixed before the run): [negative] the trained Gaussian NLL is below 0 on every seed; [same
    training] training on the loss minus a constant ends at the same parameters (≤ 1e-12) on every seed."""
    negative = holds_on_seeds([r["trained NLL"] < 0 for r in rows], "trained NLL < 0", full=1.0)
    same = holds_on_seeds([r["max |Δθ| vs shifted loss"] <= 1e-12 for r in rows], "same parameters (1e-12)", full=1.0)
    return combine([("negative", negative), ("same training", same)])


@experiment(EXPERIMENTS, "negative_loss", "Q1: can a loss be negative, and when?",
            "A loss is whatever we define it to be. Squared and absolute errors and cross-entropy are sums of "
            "non-negative terms, but a Gaussian negative log-likelihood −log N(y; ŷ, σ²) is negative whenever the "
            "density at the data exceeds 1 (σ < 1/√(2π) fits); training does not care, since a constant shift "
            "changes no gradient.")
def negative_loss(ctx):
    seeds = ctx.seeds()
    data = [np.random.default_rng(s) for s in seeds]
    x = np.stack([rng.uniform(-1, 1, NLL_POINTS) for rng in data])
    y = np.stack([2 * xi - 0.5 + 0.05 * rng.standard_normal(NLL_POINTS) for xi, rng in zip(x, data)])
    sigma = 0.05
    theta, nll, _ = _fit_lines(x, y, sigma)
    shifted, _, shifted_loss = _fit_lines(x, y, sigma, extra=lambda t: -NLL_SHIFT + 0 * t[:, 0])
    mse = ((y - (theta[:, :1] * x + theta[:, 1:])) ** 2).mean(1)
    rows = [{"seed": s, "trained NLL": _sig(nll[i]), "MSE of the same fit": _sig(mse[i]),
             "loss − 10 at the end": _sig(shifted_loss[i]),
             "max |Δθ| vs shifted loss": _sig(np.abs(theta[i] - shifted[i]).max(), 3)} for i, s in enumerate(seeds)]
    verdict, because = _judge_negative(rows)
    wide, wide_nll, _ = _fit_lines(x, y, 1.0)
    decayed, _, _ = _fit_lines(x, y, 1.0, extra=lambda t: -NLL_SHIFT + 0.1 * (t ** 2).sum(dim=1))
    control_rows = [{"trained NLL": float(wide_nll[i]), "max |Δθ| vs shifted loss": float(np.abs(wide[i] - decayed[i]).max())}
                    for i in range(len(seeds))]
    cv, cb = _judge_negative(control_rows)
    controls = [Control("σ = 1 and a θ-dependent shift", "the model density with σ = 1 (never above 1/√(2π) ≈ 0.4, so "
                        "its NLL cannot go below ½·log 2π ≈ 0.92) and a 'shift' −10 + 0.1·‖θ‖² that is not constant "
                        "(it is weight decay)", cv, cb, {"rows": control_rows})]
    numbers = dict(sigma=sigma, shift=NLL_SHIFT, steps=NLL_STEPS, trained_nll=[r["trained NLL"] for r in rows],
                   mse=[r["MSE of the same fit"] for r in rows], sign_boundary_sigma=float(1 / np.sqrt(2 * np.pi)))
    because = (f"{because}. The NLL is {mean_std(numbers['trained_nll'])} while the MSE of the same line is "
               f"{mean_std(numbers['mse'])} ≥ 0: a Gaussian NLL ½·log(2πσ²) + MSE/(2σ²) is negative once its log "
               f"density term wins, possible only for σ < 1/√(2π) = {fmt(numbers['sign_boundary_sigma'])}.")
    method = (question("由于定义方式不同，Loss可以为负。什么情况为负?", "Depending on its definition a loss can be "
                       "negative: when?")
              + f"Per seed, {NLL_POINTS} points y = 2x − 0.5 + 0.05·noise; a line trained by SGD ({NLL_STEPS} steps) on "
              f"the Gaussian NLL with σ = {sigma}, and again from the same start on the NLL − {NLL_SHIFT:g}.")
    settings = "σ, the shift and the steps fixed a priori; lr = σ²/2 from the NLL's curvature bound (stable by design)."
    return Result(method, numbers, verdict, because, rows + [spread_row(rows)], [], seeds, settings, controls)


# ================================================================================================ Q3 hard sigmoid
HS_POINTS = 400


def hard_sigmoid_curve(x, start, end, height, base):
    """The lecture's blue curve: flat at ``base``, a straight ramp from ``start`` to ``end``, flat at base + height."""
    return base + height * np.clip((x - start) / (end - start), 0.0, 1.0)


def two_relus(x, start, end, height, base):
    """base + height/(end − start) · [relu(x − start) − relu(x − end)]: the second ReLU cancels the ramp's slope."""
    slope = height / (end - start)
    return base + slope * (np.maximum(x - start, 0.0) - np.maximum(x - end, 0.0))


def best_sigmoid_fit(x, target, steps):
    """Least-squares fit of c·σ(w(x − t)) + d to each row of ``target`` (S, n): a grid over (w, t) with the linear
    (c, d) solved exactly, then Adam from the best grid point.  Returns (S,) max |error| and the fitted curves."""
    ws = np.geomspace(0.5, 300, 60)
    ts = np.linspace(x.min(), x.max(), 81)
    with np.errstate(over="ignore"):                  # exp overflow is σ = 0, as intended
        feature = 1 / (1 + np.exp(-ws[:, None, None] * (x[None, None, :] - ts[None, :, None])))  # (W, T, n)
    fc = feature - feature.mean(-1, keepdims=True)
    start = []
    for row in target:
        yc = row - row.mean()
        c = (fc @ yc) / np.maximum((fc * fc).sum(-1), 1e-300)
        sse = (yc @ yc) - c * (fc @ yc)
        i, j = np.unravel_index(np.argmin(sse), sse.shape)
        start.append([np.log(ws[i]), ts[j], c[i, j], row.mean() - c[i, j] * feature[i, j].mean()])
    params = relulab.tensor(np.array(start), dtype=relulab.float64, requires_grad=True)
    xt, yt = relulab.tensor(x, dtype=relulab.float64), relulab.tensor(target, dtype=relulab.float64)

    def curve(p):
        return p[:, 2:3] * F.sigmoid(relulab.exp(p[:, :1]) * (xt - p[:, 1:2])) + p[:, 3:]

    optimizer = Adam([params], lr=0.01)
    for _ in range(steps):
        optimizer.zero_grad()
        ((curve(params) - yt) ** 2).mean(dim=1).sum().backward()
        optimizer.step()
    with relulab.no_grad():
        fitted = curve(params).numpy()
    return np.abs(fitted - target).max(1), fitted


def _judge_hard_sigmoid(rows):
    """Criterion (fixed before the run): [two ReLUs] the two-ReLU construction equals the curve to < 1e-12 (max
    error) on every seed; [sigmoid approximates] the best single sigmoid misses it by > 1 % of its height somewhere,
    on every seed."""
    exact = holds_on_seeds([r["two ReLUs max error"] < 1e-12 for r in rows], "two ReLUs exact (1e-12)", full=1.0)
    approx = holds_on_seeds([r["best sigmoid max error / height"] > 0.01 for r in rows],
                            "best sigmoid off by > 1 % of the height", full=1.0)
    return combine([("two ReLUs", exact), ("sigmoid approximates", approx)])


def _hard_sigmoid_params(rng):
    start = rng.uniform(-2.0, 0.5)
    return start, start + rng.uniform(0.5, 2.0), rng.uniform(0.5, 2.0), rng.uniform(-1, 1)


@experiment(EXPERIMENTS, "what_is_hard_sigmoid", "Q3: what is a hard sigmoid?",
            "The hard sigmoid is the lecture's blue curve: flat, a straight ramp, flat. A sigmoid c·σ(b + wx) only "
            "approximates it (a smooth S never has the two corners); two ReLUs build it exactly: "
            "c/(e − s)·[relu(x − s) − relu(x − e)].")
def what_is_hard_sigmoid(ctx):
    seeds = ctx.seeds()
    x = np.linspace(-3, 3, HS_POINTS)
    params = [_hard_sigmoid_params(np.random.default_rng(s)) for s in seeds]
    target = np.stack([hard_sigmoid_curve(x, *p) for p in params])
    relus = np.stack([two_relus(x, *p) for p in params])
    steps = ctx.pick(150, 300)
    sigmoid_error, fitted = best_sigmoid_fit(x, target, steps)
    rows = [{"seed": s, "ramp": f"[{p[0]:.3g}, {p[1]:.3g}]", "height": _sig(p[2], 3),
             "two ReLUs max error": _sig(np.abs(relus[i] - target[i]).max(), 3),
             "best sigmoid max error / height": _sig(sigmoid_error[i] / p[2])} for i, (s, p) in enumerate(zip(seeds, params))]
    verdict, because = _judge_hard_sigmoid(rows)
    # Control: the target is itself a sigmoid through the same ramp (its 10 % and 90 % points at the ramp's ends).
    smooth = np.stack([p[3] + p[2] / (1 + np.exp(-(2 * np.log(9) / (p[1] - p[0])) * (x - (p[0] + p[1]) / 2)))
                       for p in params])
    smooth_error, _ = best_sigmoid_fit(x, smooth, steps)
    control_rows = [{"two ReLUs max error": float(np.abs(relus[i] - smooth[i]).max()),
                     "best sigmoid max error / height": float(smooth_error[i] / p[2])} for i, p in enumerate(params)]
    cv, cb = _judge_hard_sigmoid(control_rows)
    controls = [Control("a smooth target", "the curve to build is itself a sigmoid with the same ramp: the two ReLUs "
                        "now miss it and one sigmoid fits it", cv, cb, {"rows": control_rows})]
    numbers = dict(points=HS_POINTS, sigmoid_refine_steps=steps,
                   two_relu_max_error=[r["two ReLUs max error"] for r in rows],
                   sigmoid_relative_error=[r["best sigmoid max error / height"] for r in rows])
    because = (f"{because}. The best sigmoid misses by {mean_std(numbers['sigmoid_relative_error'])} of the height, "
               "at the corners.")
    figures = [ctx.figure(_hard_sigmoid_figure(x, params[0], fitted[0]), "two-relus")]
    method = (question("什么是hard sigmoid？", "What is a hard sigmoid?")
              + f"Per seed a random hard sigmoid (ramp start in [−2, 0.5], length in [0.5, 2], height in [0.5, 2]) on "
              f"{HS_POINTS} points of [−3, 3]: against the two-ReLU construction, and against the best single sigmoid "
              f"c·σ(w(x − t)) + d (a (w, t) grid with c, d solved by least squares, then {steps} Adam steps).")
    settings = "the curve distribution, the grid and the refinement fixed a priori; 1 % of the height is the bar."
    return Result(method, numbers, verdict, because, rows + [spread_row(rows)], figures, seeds, settings, controls)


def _hard_sigmoid_figure(x, p, fitted):
    plt = pyplot()
    start, end, height, base = p
    slope = height / (end - start)
    fig, ax = plt.subplots(figsize=(7.2, 4.6))
    def shifted(at):
        return f"x − {at:.3g}" if at >= 0 else f"x + {-at:.3g}"

    ax.plot(x, base + slope * np.maximum(x - start, 0), lw=1, ls="--",
            label=f"{base:.3g} + {slope:.3g}·relu({shifted(start)})")
    ax.plot(x, -slope * np.maximum(x - end, 0), lw=1, ls="--", label=f"−{slope:.3g}·relu({shifted(end)})")
    ax.plot(x, hard_sigmoid_curve(x, *p), color="red", lw=5, alpha=0.4, label="hard sigmoid (blue curve of the lecture)")
    ax.plot(x, two_relus(x, *p), "k", lw=1.2, label="sum of the two ReLU terms")
    ax.plot(x, fitted, color="tab:green", lw=1.5, label="best single sigmoid")
    ax.set_ylim(base - 1.2 * height, base + 1.8 * height)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("seed 0: a hard sigmoid = two ReLUs; a sigmoid only approximates it", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


# ================================================================================================ Q4 depth
def triangle(x):
    return 1 - np.abs(2 * x - 1)


def sawtooth(x, folds):
    """The triangle wave composed ``folds`` times on [0, 1]: 2^(folds−1) teeth, 2^folds − 1 kinks."""
    for _ in range(folds):
        x = triangle(x)
    return x


def deep_sawtooth_net(folds):
    """A ReLU net with 2 units per layer computing the composed triangle wave exactly, one layer per fold:
    t(x) = 2·relu(x) − 4·relu(x − ½) on [0, 1].  Returns a function of an (n,) array, built from relulab ops."""
    def net(x):
        h = relulab.tensor(x[:, None], dtype=relulab.float64)
        first = relulab.tensor(np.array([[1.0, 1.0]]), dtype=relulab.float64)
        hidden = relulab.tensor(np.array([[2.0, 2.0], [-4.0, -4.0]]), dtype=relulab.float64)
        bias = relulab.tensor(np.array([0.0, -0.5]), dtype=relulab.float64)
        h = relulab.relu(h @ first + bias)
        for _ in range(folds - 1):
            h = relulab.relu(h @ hidden + bias)
        return (h @ relulab.tensor(np.array([[2.0], [-4.0]]), dtype=relulab.float64)).numpy()[:, 0]
    parameters = 4 + 6 * (folds - 1) + 3          # Linear(1, 2), (folds − 1) × Linear(2, 2), Linear(2, 1)
    return net, parameters


def _judge_depth(rows):
    """Criterion (fixed before the run): [deep represents] the constructed deep net has MSE < 1e-12 on every
    seed; [shallow cannot] the certified lower bound on the training MSE of EVERY one-hidden-layer ReLU net with as
    many parameters is >= 1e-3 on every seed.  The second is the point: without it, not reproduced."""
    deep = holds_on_seeds([r["deep MSE"] < 1e-12 for r in rows], "deep net exact (1e-12)", full=1.0)
    shallow = holds_on_seeds([r["shallow lower bound"] >= 1e-3 for r in rows], "shallow bound ≥ 1e-3", full=1.0)
    return combine([("deep represents", deep), ("shallow cannot", shallow)], core="shallow cannot")


def _depth_rows(seeds, folds, points):
    rows = []
    net, parameters = deep_sawtooth_net(folds)
    units = (parameters - 1) // 3                  # one hidden layer: 3h + 1 parameters
    for s in seeds:
        x = np.sort(np.random.default_rng(s).uniform(0, 1, points))
        y = sawtooth(x, folds)
        rows.append({"seed": s, "deep parameters": parameters, "deep MSE": _sig(((net(x) - y) ** 2).mean(), 3),
                     "shallow units": units, "shallow lower bound": _sig(segments_lower_bound(x, y, units + 1)),
                     "kinks needed": 2 ** folds - 1})
    return rows


@experiment(EXPERIMENTS, "why_depth", "Q4: why do more layers work better?",
            "Layers compose: each layer folds the output of the one below, so a deep narrow net makes exponentially "
            "many linear pieces from few parameters. A 5-layer net with 2 ReLUs per layer (31 parameters) computes "
            "a 16-tooth sawtooth exactly; no one-hidden-layer net with 31 parameters (10 units, at most 10 kinks) "
            "can come close, whatever its training.")
def why_depth(ctx):
    seeds, folds, points = ctx.seeds(), 5, 256
    rows = _depth_rows(seeds, folds, points)
    verdict, because = _judge_depth(rows)
    control = _depth_rows(seeds, 2, points)
    cv, cb = _judge_depth(control)
    controls = [Control("a 2-tooth target", "the 2-fold wave (3 kinks): 10 units are plenty, so the shallow net is not "
                        "bounded away from it and depth buys nothing", cv, cb, {"rows": control})]
    numbers = dict(folds=folds, points=points, deep_parameters=rows[0]["deep parameters"],
                   shallow_units=rows[0]["shallow units"], shallow_lower_bound=[r["shallow lower bound"] for r in rows],
                   control_lower_bound=[r["shallow lower bound"] for r in control])
    because = (f"{because}. The bound is the best 11-piece line fit (a 10-unit net has at most 10 kinks): "
               f"{mean_std(numbers['shallow_lower_bound'])}; the target's variance is about 0.083. When the target needs "
               f"few kinks (control) the bound falls to {mean_std(numbers['control_lower_bound'])}: depth pays where the "
               "function has repeated structure. (Deep plain nets are also harder to train: the lecture-2 lab's "
               "deeper_worse experiment.)")
    figures = [ctx.figure(_depth_figure(folds), "sawtooth")]
    method = (question("大概知道如何做，但不知道为什么要这样做：为什么加layer效果会更好呢？",
                       "I roughly know how, but not why: why does adding layers work better?")
              + f"Target: the triangle wave t(x) = 1 − |2x − 1| composed {folds} times ({2 ** (folds - 1)} teeth) on "
              f"{points} random points of [0, 1] per seed. Deep: a hand-built ReLU net, 2 units per layer, one layer per "
              "fold. Shallow: every one-hidden-layer ReLU net with the same parameter count, bounded below by the exact "
              "best (units + 1)-piece least-squares line fit (dynamic programming; see questions_common).")
    settings = "folds, points and the bar 1e-3 fixed a priori; nothing is trained or tuned (construction and bound)."
    return Result(method, numbers, verdict, because, rows + [spread_row(rows)], figures, seeds, settings, controls)


def _depth_figure(folds):
    plt = pyplot()
    x = np.linspace(0, 1, 1025)
    net, parameters = deep_sawtooth_net(folds)
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.0))
    for k in range(1, folds + 1):
        axes[0].plot(x, sawtooth(x, k) + 1.2 * (k - 1), lw=1)
    axes[0].set_xlabel("x")
    axes[0].set_ylabel("output of layer k (shifted by 1.2·(k − 1))")
    axes[0].set_title("each layer folds the one below: 1, 2, 4, 8, 16 teeth", fontsize=10)
    axes[1].plot(x, net(x), "k", lw=1)
    axes[1].set_xlabel("x")
    axes[1].set_ylabel("deep net output")
    axes[1].set_title(f"{folds} layers × 2 ReLUs = {parameters} parameters, exact", fontsize=10)
    fig.tight_layout()
    return fig


# ================================================================================================ Q5 model bias
BIAS_SIZES = (1, 2, 4, 8, 16)
BIAS_LRS = (0.01, 0.03, 0.1)
BIAS_RESTARTS, BIAS_POINTS = 2, 64


def bias_target(rng, x):
    return np.sin(2 * np.pi * x + rng.uniform(0, 2 * np.pi)) + 0.5 * x


def control_target(rng, x):
    """A target inside the smallest family: one hinge a·relu(±(x − t)) + c."""
    t, a, sign = rng.uniform(-0.5, 0.5), rng.uniform(1, 2), rng.choice([-1.0, 1.0])
    return a * np.maximum(sign * (x - t), 0) - 0.5


def _bias_training(tasks, steps):
    """Train every (task, size, restart, lr) as one masked stack of 1-16-1 ReLU nets (a size-h net is the 16-wide
    net with all but h hidden units switched off), Adam with cosine decay, full batch.  ``tasks``: list of
    (x_train, y_train, x_val, y_val, sizes).  Returns, per task and size, the training and validation MSE of every
    (lr, restart) as (lrs, restarts) arrays."""
    slots = [(t, size, r) for t, task in enumerate(tasks) for size in task[4] for r in range(BIAS_RESTARTS)]
    count = len(slots)
    masks = np.zeros((count * len(BIAS_LRS), max(BIAS_SIZES)))
    for g in range(len(BIAS_LRS)):
        for m, (_, size, _) in enumerate(slots):
            masks[g * count + m, :size] = 1.0

    def stacked(index):
        return relulab.tensor(np.tile(np.stack([tasks[t][index] for t, _, _ in slots]), (len(BIAS_LRS), 1))[..., None]
                              .astype(np.float32))

    x, y, xv, yv = (stacked(i) for i in range(4))
    model = StackedMLP([1, max(BIAS_SIZES), 1], count, groups=len(BIAS_LRS), seed=len(tasks),
                       hidden_masks=[masks])
    optimizer = Adam(model.param_groups(BIAS_LRS))
    train(model, lambda m: member_mse(m(x), y), optimizer, steps, lr_scheduler.CosineAnnealingLR(optimizer, steps))
    shape = (len(BIAS_LRS), count)
    train_mse = evaluate(model, lambda m: member_mse(m(x), y)).reshape(shape)
    val_mse = evaluate(model, lambda m: member_mse(m(xv), yv)).reshape(shape)
    out = {}
    for m, (t, size, r) in enumerate(slots):
        out.setdefault((t, size), (np.zeros((len(BIAS_LRS), BIAS_RESTARTS)), np.zeros((len(BIAS_LRS), BIAS_RESTARTS))))
        out[(t, size)][0][:, r], out[(t, size)][1][:, r] = train_mse[:, m], val_mse[:, m]
    return out


def _bias_row(task, trained, t):
    """One seed: per size, the training MSE of the (lr, restart) with the lowest validation MSE; the certified lower
    bound for that size; and the exact optimum of the 1-unit family."""
    x, y, _, _, sizes = task
    row = {}
    for size in sizes:
        train_mse, val_mse = trained[(t, size)]
        best = np.unravel_index(np.argmin(val_mse), val_mse.shape)
        row[f"{size} units: trained"] = _sig(train_mse[best])
        row[f"{size} units: bound"] = _sig(segments_lower_bound(x, y, size + 1))
    row["1 unit: exact optimum"] = _sig(hinge_optimum(x, y))
    return row


def _judge_bias(rows):
    """Criterion (fixed before the run): [model bias] the certified floor of the 1-unit family (a lower bound no
    training can beat) is >= 10× the largest net's well-trained MSE; [floor reached] the well-trained 1-unit net is
    within 10 % of its family's exact optimum, so its loss IS model bias, not an optimization shortfall;
    [elasticity] the well-trained MSE never rises with the size (5 % slack); each on >= 80 % of the seeds.
    [model bias] is the point: without it, not reproduced."""
    def sizes(row):
        return sorted(int(k.split()[0]) for k in row if k.endswith("units: trained") or k.endswith("unit: trained"))

    def trained(row, size):
        return row[f"{size} units: trained"]

    bias = holds_on_seeds([r["1 units: bound"] >= 10 * trained(r, sizes(r)[-1]) for r in rows],
                          f"1-unit bound ≥ 10 × the {sizes(rows[0])[-1]}-unit net's MSE")
    floor = holds_on_seeds([trained(r, 1) <= 1.1 * r["1 unit: exact optimum"] + 1e-9 for r in rows],
                           "1-unit net within 10 % of its exact optimum")
    falls = holds_on_seeds([all(trained(r, b) <= 1.05 * trained(r, a) + 1e-9 for a, b in zip(sizes(r), sizes(r)[1:]))
                            for r in rows], "MSE never rises with size")
    return combine([("model bias", bias), ("floor reached", floor), ("elasticity", falls)], core="model bias")


@experiment(EXPERIMENTS, "elasticity_bias", "Q5: what are model elasticity and model bias?",
            "Elasticity (flexibility) is how many functions a model can represent: more hidden units, more functions. "
            "Model bias is the error left when even the best function of the model misses the target, a floor no "
            "optimizer can break. Told apart from an optimization shortfall by training each size well (best of "
            "restarts and learning rates, chosen on validation) and comparing with a certified bound.")
def elasticity_bias(ctx):
    seeds = ctx.seeds()
    steps = ctx.pick(400, 1500)
    tasks = []
    for s in seeds:
        rng = np.random.default_rng(s)
        x, xv = np.sort(rng.uniform(-1, 1, BIAS_POINTS)), np.sort(rng.uniform(-1, 1, BIAS_POINTS))
        phase = np.random.default_rng([s, 1])
        tasks.append((x, bias_target(phase, x), xv, bias_target(np.random.default_rng([s, 1]), xv), BIAS_SIZES))
    for s in seeds:       # the control: a target the 1-unit net can fit exactly; only the smallest and largest size
        rng = np.random.default_rng([s, 2])
        x, xv = np.sort(rng.uniform(-1, 1, BIAS_POINTS)), np.sort(rng.uniform(-1, 1, BIAS_POINTS))
        tasks.append((x, control_target(np.random.default_rng([s, 3]), x), xv,
                      control_target(np.random.default_rng([s, 3]), xv), (BIAS_SIZES[0], BIAS_SIZES[-1])))
    trained = _bias_training(tasks, steps)
    rows = [{"seed": s, **_bias_row(tasks[i], trained, i)} for i, s in enumerate(seeds)]
    verdict, because = _judge_bias(rows)
    control_rows = [_bias_row(tasks[len(seeds) + i], trained, len(seeds) + i) for i in range(len(seeds))]
    cv, cb = _judge_bias(control_rows)
    controls = [Control("target inside the smallest family", "a hinge a·relu(±(x − t)) + c, which one unit fits "
                        "exactly: its certified floor is 0, so there is no model bias to find", cv, cb,
                        {"rows": control_rows})]
    numbers = {"sizes": list(BIAS_SIZES), "steps": steps, "lrs": list(BIAS_LRS), "restarts": BIAS_RESTARTS,
               **{f"trained_mse_{k}_units": [r[f"{k} units: trained"] for r in rows] for k in BIAS_SIZES},
               **{f"lower_bound_{k}_units": [r[f"{k} units: bound"] for r in rows] for k in BIAS_SIZES},
               "one_unit_exact_optimum": [r["1 unit: exact optimum"] for r in rows]}
    because = (f"{because}. Well-trained MSE by size: "
               + ", ".join(f"{k} → {mean_std(numbers[f'trained_mse_{k}_units'])}" for k in BIAS_SIZES)
               + "; certified floors: " + ", ".join(f"{k} → {mean_std(numbers[f'lower_bound_{k}_units'])}"
                                                   for k in BIAS_SIZES)
               + f". The previous version called 0.389 (4 units) and 0.370 (8 units) model bias (one seed, one lr, 400 "
               f"steps); here well-trained 4- and 8-unit nets reach {fmt(min(numbers['trained_mse_4_units']))} and "
               f"{fmt(min(numbers['trained_mse_8_units']))} (best seed), so those were optimization shortfalls. Where "
               "the well-trained MSE still sits far above its size's certified floor, the gap may be training too: "
               "the floor bounds the model from below, the trained net from above.")
    figures = [ctx.figure(_bias_figure(rows), "floors")]
    method = (question("什么是模型弹性？model bias是什么？", "What is model elasticity? What is model bias?")
              + f"Per seed, y = sin(2πx + φ) + x/2 (random phase, no noise) on {BIAS_POINTS} training and {BIAS_POINTS} "
              f"validation points of [−1, 1]; one-hidden-layer ReLU nets with {list(BIAS_SIZES)} units, each trained "
              f"{BIAS_RESTARTS} times from random starts at each lr of {list(BIAS_LRS)} (Adam, cosine decay, {steps} "
              "full-batch steps); per size, the run with the lowest validation MSE is 'well trained'. Bounds, from the "
              "data alone: the best (units + 1)-piece line fit (no net of that size can beat it) and, for 1 unit, the "
              "exact optimum of the family.")
    settings = (f"lr and restart per size and per seed chosen by validation MSE from {list(BIAS_LRS)} × "
                f"{BIAS_RESTARTS} restarts; the sizes, steps, data generator and bars fixed a priori.")
    return Result(method, numbers, verdict, because, rows + [spread_row(rows)], figures, seeds, settings, controls)


def _bias_figure(rows):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.2, 4.6))
    sizes = np.array(BIAS_SIZES)
    for label, key, style in (("well-trained net (validation-chosen)", "trained", "o-"),
                              ("certified floor (best units+1-piece fit)", "bound", "s--")):
        values = np.array([[r[f"{k} units: {key}"] for k in BIAS_SIZES] for r in rows])
        ax.errorbar(sizes, np.median(values, 0), yerr=[np.median(values, 0) - values.min(0),
                                                      values.max(0) - np.median(values, 0)],
                    fmt=style, capsize=3, label=label)
    ax.plot([1], [np.median([r["1 unit: exact optimum"] for r in rows])], "k*", ms=12,
            label="exact optimum of the 1-unit family")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("hidden units (elasticity)")
    ax.set_ylabel("training MSE (median, min–max over seeds)")
    ax.set_title("model bias: the floor each size cannot go below", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    fig.tight_layout()
    return fig
