"""The notes' questions about optimization: one learning rate per parameter (Q2), reading minima and a saddle
off a contour plot (Q6), how a batch is computed in parallel (Q7), and why an adaptive learning rate explodes
and how scheduling fixes it, on a network (Q8)."""
import time

import numpy as np

import relulab
import relulab.nn.functional as F
from relulab import nn
from relulab.autograd.functional import hessian
from relulab.optim import SGD, RMSprop, lr_scheduler

from . import draws
from .criteria import beats, combine, holds_on_seeds
from .descent import pyplot
from .ensemble import StackedMLP, evaluate, member_mse, train
from .framework import Control, Result, experiment
from .questions_common import question
from .stats import fmt, mean_std, spread_row

EXPERIMENTS = []


def _sig(value, digits=4):
    return float(f"{float(value):.{digits}g}")


# ================================================================================================ Q2 own lr
LR_PARAMS, LR_STEPS = 4, 30


def _effective_lrs(curvatures, starts, make_optimizer, split):
    """Run an optimizer on ½ Σ c_i θ_i² (one row per seed) and return the effective learning rate of every
    parameter at every step, −Δθ_i / g_i (steps, seeds, params).  With ``split`` the first two and last two
    parameters are separate tensors, so they can sit in separate param groups."""
    c = relulab.tensor(curvatures, dtype=relulab.float64)
    parts = [starts[:, :2], starts[:, 2:]] if split else [starts]
    tensors = [relulab.tensor(p.copy(), dtype=relulab.float64, requires_grad=True) for p in parts]
    optimizer = make_optimizer(tensors)
    history = []
    for _ in range(LR_STEPS):
        theta = relulab.cat(tensors, 1) if split else tensors[0]
        before = theta.detach().numpy().copy()
        optimizer.zero_grad()
        (0.5 * c * theta ** 2).sum().backward()
        optimizer.step()
        after = np.concatenate([t.detach().numpy() for t in tensors], 1)
        history.append(-(after - before) / (curvatures * before))        # g = c·θ
    return np.array(history)


def _lr_row(lrs):
    """Summaries of one run's effective lrs (steps, params) for one seed."""
    first_half, second_half = np.median(lrs[:, :2]), np.median(lrs[:, 2:])
    return {"group ratio": _sig(first_half / second_half, 6),
            "spread across parameters": _sig(lrs[0].max() / lrs[0].min()),
            "smallest change over time": _sig(min(lrs[:, i].max() / lrs[:, i].min() for i in range(lrs.shape[1])))}


def _judge_own_lr(rows):
    """Criterion (fixed before the run): [by hand] two param groups with lrs 0.01 and 0.001 move their parameters
    with effective lrs in the ratio 10 (to 1e-9); [per parameter] RMSProp's effective lrs differ across the
    parameters by >= 2× at the first step; [over time] every parameter's RMSProp effective lr changes by >= 2× over
    the run; each on every seed."""
    by_hand = holds_on_seeds([abs(r["param groups: group ratio"] - 10) < 1e-8 for r in rows], "groups ratio = 10",
                             full=1.0)
    per_parameter = holds_on_seeds([r["RMSProp: spread across parameters"] >= 2 for r in rows], "spread ≥ 2",
                                   full=1.0)
    over_time = holds_on_seeds([r["RMSProp: smallest change over time"] >= 2 for r in rows], "change ≥ 2", full=1.0)
    return combine([("by hand", by_hand), ("per parameter", per_parameter), ("over time", over_time)])


@experiment(EXPERIMENTS, "per_parameter_lr", "Q2: can each parameter have its own learning rate?",
            "Yes, two ways: by hand, with optimizer param groups (one lr per group of parameters); and "
            "automatically, with adaptive methods, where every parameter's effective step η/σ_i differs from the "
            "others' and also changes as training goes on.")
def per_parameter_lr(ctx):
    seeds = ctx.seeds()
    curvatures = np.stack([np.exp(np.random.default_rng(s).uniform(0, np.log(100), LR_PARAMS)) for s in seeds])
    starts = np.stack([draws.uniform(draws.generator(s), 0.5, 1.5, LR_PARAMS) for s in seeds])
    runs = {"param groups": _effective_lrs(curvatures, starts, lambda t: SGD([{"params": [t[0]], "lr": 0.01},
                                                                              {"params": [t[1]], "lr": 0.001}]), True),
            "RMSProp": _effective_lrs(curvatures, starts, lambda t: RMSprop(t, lr=0.01, alpha=0.9), False),
            "plain SGD": _effective_lrs(curvatures, starts, lambda t: SGD(t, lr=0.01), False)}
    rows = []
    for i, s in enumerate(seeds):
        row = {"seed": s}
        for name in ("param groups", "RMSProp"):
            row.update({f"{name}: {k}": v for k, v in _lr_row(runs[name][:, i]).items()})
        rows.append({k: v for k, v in row.items() if k in ("seed", "param groups: group ratio",
                                                            "RMSProp: spread across parameters",
                                                            "RMSProp: smallest change over time")})
    verdict, because = _judge_own_lr(rows)
    plain = [_lr_row(runs["plain SGD"][:, i]) for i in range(len(seeds))]
    control_rows = [{f"{role}: {k}": v for role in ("param groups", "RMSProp") for k, v in p.items()} for p in plain]
    cv, cb = _judge_own_lr(control_rows)
    controls = [Control("one lr for all", "plain SGD with a single lr in every role: every parameter moves with the "
                        "same, constant effective lr", cv, cb, {"rows": plain})]
    numbers = dict(curvature_range=[1, 100], steps=LR_STEPS, group_lrs=[0.01, 0.001],
                   rmsprop_spread=[r["RMSProp: spread across parameters"] for r in rows],
                   rmsprop_change=[r["RMSProp: smallest change over time"] for r in rows])
    because = (f"{because}. RMSProp's effective lrs differ across parameters by {mean_std(numbers['rmsprop_spread'])}× "
               f"and each changes over the run by at least {mean_std(numbers['rmsprop_change'])}×: σ_i is a running "
               "average of the parameter's recent squared gradients, so it builds up over the first steps (σ² starts "
               "at 0) and then follows the gradients down as the parameter converges: η/σ_i first falls, then rises.")
    figures = [ctx.figure(_lr_figure(runs), "effective-lr")]
    method = (question("学习率可以设置多个吗？对每一个参数都单独设置一个学习率？", "Can there be several learning "
                       "rates, one for each parameter?")
              + f"Per seed, L = ½ Σ c_i θ_i² over {LR_PARAMS} parameters with curvatures c_i log-uniform in [1, 100]; "
              f"{LR_STEPS} steps of SGD with two param groups (lr 0.01 for θ₁, θ₂ and 0.001 for θ₃, θ₄), and of RMSprop "
              "(lr 0.01, α = 0.9); every parameter's effective lr −Δθ_i / g_i is measured at every step.")
    settings = "the lrs, α, the curvature range and the steps fixed a priori; the bar 2× fixed a priori."
    return Result(method, numbers, verdict, because, rows + [spread_row(rows)], figures, seeds, settings, controls)


def _lr_figure(runs):
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.2))
    steps = np.arange(1, LR_STEPS + 1)
    for ax, name in zip(axes, ("param groups", "RMSProp")):
        for i in range(LR_PARAMS):
            ax.semilogy(steps, runs[name][:, 0, i], label=f"θ{i + 1}")
        ax.semilogy(steps, runs["plain SGD"][:, 0, 0], "k:", label="plain SGD (all θ)")
        ax.set_xlabel("step")
        ax.set_ylabel("effective lr −Δθ_i / g_i (seed 0)")
        ax.set_title(name, fontsize=10)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=5, frameon=False)
    fig.tight_layout()
    return fig


# ================================================================================================ Q6 contours
def double_well(a, b, angle):
    """L(p) = a·(u² − 1)² + b·v², (u, v) = p rotated by −angle: minima at R(angle)·(±1, 0), a saddle at 0."""
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])

    def loss(p):
        r = relulab.tensor(rotation, dtype=p.dtype)
        uv = p @ r                          # row vector times R = Rᵀ applied to p
        return a * (uv[..., 0] ** 2 - 1) ** 2 + b * uv[..., 1] ** 2
    return loss, rotation


def read_point(loss, point, radius=0.05, angles=72):
    """(gradient norm, Hessian eigenvalues, sign changes of L around a small circle, all above?) at ``point``."""
    p = relulab.tensor(np.asarray(point, float), dtype=relulab.float64, requires_grad=True)
    value = loss(p)
    (grad,) = relulab.autograd.grad(value, [p])
    eig = np.linalg.eigvalsh(hessian(loss, relulab.tensor(np.asarray(point, float), dtype=relulab.float64)).numpy())
    theta = np.linspace(0, 2 * np.pi, angles, endpoint=False)
    ring = np.asarray(point) + radius * np.stack([np.cos(theta), np.sin(theta)], 1)
    with relulab.no_grad():
        around = loss(relulab.tensor(ring, dtype=relulab.float64)).numpy() - value.item()
    signs = np.sign(around)
    changes = int(np.sum(signs != np.roll(signs, 1)))
    return float(np.linalg.norm(grad.numpy())), eig, changes, bool((around > 0).all())


def _contour_rows(seeds, points_of):
    rows = []
    for s in seeds:
        rng = np.random.default_rng(s)
        a, b, angle = rng.uniform(0.5, 2), rng.uniform(0.5, 2), rng.uniform(0, np.pi)
        loss, rotation = double_well(a, b, angle)
        row = {"seed": s}
        for name, uv in points_of.items():
            grad, eig, changes, ring = read_point(loss, rotation @ np.array(uv))
            row[f"{name}: |∇L|"] = _sig(grad, 3)
            row[f"{name}: eigenvalues"] = f"{eig[0]:.3g}, {eig[1]:.3g}"
            row[f"{name}: eigen signs"] = "+ +" if eig.min() > 0 else ("− −" if eig.max() < 0 else "+ −")
            row[f"{name}: ring?"] = ring
            row[f"{name}: sign changes"] = changes
        rows.append(row)
    return rows


def _judge_contours(rows):
    """Criterion (fixed before the run), per seed: at the two outer points and the middle one the gradient is
    0 (< 1e-10); at the outer points the contours form a ring (L rises in every direction on a small circle) and
    the Hessian's eigenvalues are both positive (minima); at the middle the circle crosses the level 4 times
    (up, down, up, down) and the eigenvalues have both signs (a saddle); on every seed."""
    def reads(r):
        critical = all(r[f"{n}: |∇L|"] < 1e-10 for n in ("left", "middle", "right"))
        minima = all(r[f"{n}: ring?"] and r[f"{n}: eigen signs"] == "+ +" for n in ("left", "right"))
        saddle = r["middle: sign changes"] == 4 and r["middle: eigen signs"] == "+ −"
        return critical and minima and saddle
    return holds_on_seeds([reads(r) for r in rows], "critical, rings + positive Hessian at the ends, X + mixed signs "
                          "in the middle", full=1.0)


@experiment(EXPERIMENTS, "read_contours", "Q6: how to see minima and a saddle on a contour plot",
            "Around a minimum the contours are closed rings: the loss rises in every direction (both Hessian "
            "eigenvalues positive). At a saddle the level line through it crosses itself: going around, the loss goes "
            "up, down, up, down (eigenvalues of both signs). Both readings agree.")
def read_contours(ctx):
    seeds = ctx.seeds()
    critical = {"left": (-1.0, 0.0), "middle": (0.0, 0.0), "right": (1.0, 0.0)}
    rows = _contour_rows(seeds, critical)
    verdict, because = _judge_contours(rows)
    control = _contour_rows(seeds, {"left": (-0.5, 0.3), "middle": (0.0, 0.3), "right": (0.5, 0.3)})
    cv, cb = _judge_contours(control)
    controls = [Control("points off the critical points", "(±0.5, 0.3) and (0, 0.3) in the well's frame: on a slope the "
                        "gradient is not 0 and the circle is half above, half below", cv, cb, {"rows": control})]
    numbers = dict(saddle_sign_changes=[r["middle: sign changes"] for r in rows],
                   minimum_rings=[r["left: ring?"] and r["right: ring?"] for r in rows],
                   control_sign_changes=[r["middle: sign changes"] for r in control])
    because = (f"{because}. Off the critical points the circle changes sign {numbers['control_sign_changes']} times "
               "(a slope), so a ring or an X is only read at a point where the gradient vanishes.")
    figures = [ctx.figure(_contour_figure(seeds[0], critical), "contours")]
    method = (question("如何看出来这六个点是minima的？如何看出中间的点是saddle的？",
                       "How can you tell these points are minima, and that the middle one is a saddle?")
              + "Per seed a random double well L = a(u² − 1)² + b·v² (a, b in [0.5, 2], rotated by a random angle): at its "
              "two minima and its saddle, the gradient, the exact Hessian's eigenvalues (relulab.autograd.functional."
              "hessian), and L on a circle of radius 0.05 around the point (72 directions): a ring if L rises everywhere, "
              "an X if its sign changes 4 times.")
    settings = "the radius, the 72 directions and the well's parameter ranges fixed a priori; nothing is tuned."
    return Result(method, numbers, verdict, because, rows, figures, seeds, settings, controls)


def _contour_figure(seed, critical):
    plt = pyplot()
    rng = np.random.default_rng(seed)
    a, b, angle = rng.uniform(0.5, 2), rng.uniform(0.5, 2), rng.uniform(0, np.pi)
    loss, rotation = double_well(a, b, angle)
    xs = np.linspace(-1.8, 1.8, 161)
    gx, gy = np.meshgrid(xs, xs)
    with relulab.no_grad():
        z = loss(relulab.tensor(np.stack([gx, gy], -1), dtype=relulab.float64)).numpy()
    fig, ax = plt.subplots(figsize=(6.4, 6.0))
    contours = ax.contour(xs, xs, z, levels=[0.05, 0.2, 0.5, a * 1.0, 1.5 * a, 2.5 * a, 4 * a], cmap="viridis")
    ax.clabel(contours, fontsize=7, fmt="%.3g")
    for name, uv in critical.items():
        point = rotation @ np.array(uv)
        ax.plot(*point, "X" if name == "middle" else "o", ms=10, label=f"{name}: {'saddle' if name == 'middle' else 'minimum'}")
    ax.set_aspect("equal")
    ax.set_xlabel("θ₁")
    ax.set_ylabel("θ₂")
    ax.set_title(f"seed 0: rings around the minima, the level L = {a:.3g} crosses at the saddle", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False)
    fig.tight_layout()
    return fig


# ================================================================================================ Q7 parallel
BATCHES, PARALLEL_SAMPLES = (1, 4, 32), 32


def _throughput(model, x, y, batch, looped):
    """Samples per second of forward + cross-entropy + backward over ``PARALLEL_SAMPLES`` examples in batches of
    ``batch``, the best of two timings.  ``looped``: each batch is computed one example at a time (gradients
    accumulated), i.e. the same arithmetic without the batch's single matrix product."""
    best = np.inf
    for _ in range(2):
        started = time.perf_counter()
        for start in range(0, PARALLEL_SAMPLES, batch):
            model.zero_grad()
            rows = range(start, start + batch) if looped else [slice(start, start + batch)]
            for row in rows:
                index = slice(row, row + 1) if looped else row
                F.cross_entropy(model(x[index]), y[index]).backward()
        best = min(best, time.perf_counter() - started)
    return PARALLEL_SAMPLES / best


def _parallel_rows(model, x, y, repeats, looped):
    rows = []
    for r in range(repeats):
        speed = [_throughput(model, x, y, b, looped) for b in BATCHES]
        rows.append({"repeat": r, **{f"B={b} samples/s": _sig(v, 3) for b, v in zip(BATCHES, speed)},
                     f"speed-up B={BATCHES[-1]} vs 1": _sig(speed[-1] / speed[0], 3)})
    return rows


def _judge_parallel(rows):
    """Criterion (fixed before the run): per repeat, the throughput rises with the batch size (5 % slack for timer
    noise) and the largest batch is >= 10× batch 1; on >= 80 % of the repeats."""
    def holds(r):
        speed = [r[f"B={b} samples/s"] for b in BATCHES]
        return all(b >= 0.95 * a for a, b in zip(speed, speed[1:])) and r[f"speed-up B={BATCHES[-1]} vs 1"] >= 10
    return holds_on_seeds([holds(r) for r in rows], f"throughput rising, B={BATCHES[-1]} ≥ 10 × B=1")


@experiment(EXPERIMENTS, "parallel_batches", "Q7: how is a batch computed in parallel?",
            "A batch is one matrix: all its examples go through the same matrix multiplications at once, so an "
            "update on 32 examples costs little more than on 1, and an epoch of large batches is much faster. Computed "
            "one example at a time, the same batch gains nothing.")
def parallel_batches(ctx):
    seeds = ctx.seeds()
    rng = ctx.rng()
    x = relulab.tensor(rng.standard_normal((PARALLEL_SAMPLES, 64)).astype(np.float32))
    y = relulab.tensor(rng.integers(0, 10, PARALLEL_SAMPLES))
    relulab.manual_seed(ctx.seed)
    model = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
    rows = _parallel_rows(model, x, y, len(seeds), looped=False)
    verdict, because = _judge_parallel(rows)
    looped = _parallel_rows(model, x, y, len(seeds), looped=True)
    cv, cb = _judge_parallel(looped)
    controls = [Control("one example at a time", "each batch computed as a loop over its examples (gradients "
                        "accumulated): the same arithmetic, no matrix product over the batch", cv, cb, {"rows": looped})]
    speedups = [r[f"speed-up B={BATCHES[-1]} vs 1"] for r in rows]
    numbers = dict(batch_sizes=list(BATCHES), samples=PARALLEL_SAMPLES, speedup=speedups,
                   looped_speedup=[r[f"speed-up B={BATCHES[-1]} vs 1"] for r in looped])
    because = (f"{because}. Batched, B={BATCHES[-1]} processes {mean_std(speedups)}× as many samples per second as B=1; looped, "
               f"{mean_std(numbers['looped_speedup'])}× (timings on one BLAS thread; they vary by machine, the ratio "
               "much less).")
    figures = [ctx.figure(_parallel_figure(rows, looped), "throughput")]
    method = (question("如何进行平行计算的？", "How is the (batch) computation done in parallel?")
              + f"A 64-256-10 ReLU MLP, forward + cross-entropy + backward over {PARALLEL_SAMPLES} examples in batches of "
              f"{list(BATCHES)} (best of 2 timings), repeated {len(seeds)} times; the control computes every batch one "
              "example at a time.")
    settings = "the sizes, the batch sizes and the bars fixed a priori; repeats stand in for seeds (timings)."
    return Result(method, numbers, verdict, because, rows + [spread_row(rows)], figures, seeds, settings, controls)


def _parallel_figure(rows, looped):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    for label, table, style in (("one matrix per batch", rows, "o-"), ("one example at a time (control)", looped, "s--")):
        speed = np.array([[r[f"B={b} samples/s"] for b in BATCHES] for r in table])
        ax.errorbar(BATCHES, np.median(speed, 0), yerr=[np.median(speed, 0) - speed.min(0),
                                                       speed.max(0) - np.median(speed, 0)],
                    fmt=style, capsize=3, label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("samples / second (median, min–max)")
    ax.set_title("forward + backward throughput, 64-256-10 MLP", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


# ================================================================================================ Q8 explosion
BURST_LRS = (0.003, 0.01, 0.03)
BURST_POINTS = 64


def _burst_data(seed):
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi)
    x = np.linspace(-1, 1, BURST_POINTS)
    half = (x[1] - x[0]) / 2
    return [(xs, np.sin(3 * xs + phase)) for xs in (x, x + half / 2, x + half)]   # train, validation, test


def _burst_runs(seeds, steps):
    """RMSprop (α = 0.99) on a 1-16-1 tanh MLP per (schedule, lr, seed), one stack, full batch: the first three
    groups keep a constant lr, the last three decay it as η/√(1 + t/10).  Returns the training-loss history
    (steps, 2, lrs, seeds) and validation and test MSE (2, lrs, seeds)."""
    data = [_burst_data(s) for s in seeds]
    groups = 2 * len(BURST_LRS)

    def stacked(part):
        x = np.tile(np.stack([d[part][0] for d in data]), (groups, 1))[..., None].astype(np.float32)
        y = np.tile(np.stack([d[part][1] for d in data]), (groups, 1))[..., None].astype(np.float32)
        return relulab.tensor(x), relulab.tensor(y)

    (x, y), (xv, yv), (xt, yt) = stacked(0), stacked(1), stacked(2)
    model = StackedMLP([1, 16, 1], len(seeds), groups=groups, activation=relulab.tanh,
                       seed=seeds[0])
    optimizer = RMSprop(model.param_groups(list(BURST_LRS) * 2), alpha=0.99)
    constant, decay = (lambda t: 1.0), (lambda t: 1 / np.sqrt(1 + t / 10))
    scheduler = lr_scheduler.LambdaLR(optimizer, [constant] * len(BURST_LRS) + [decay] * len(BURST_LRS))
    shape = (2, len(BURST_LRS), len(seeds))
    history = train(model, lambda m: member_mse(m(x), y), optimizer, steps, scheduler).reshape(steps, *shape)
    return (history, evaluate(model, lambda m: member_mse(m(xv), yv)).reshape(shape),
            evaluate(model, lambda m: member_mse(m(xt), yt)).reshape(shape))


def spikes(history, after=100, factor=10.0):
    """Steps after ``after`` where the loss jumps above ``factor`` × the lowest loss so far: a burst."""
    low = np.minimum.accumulate(history, axis=0)
    return int(np.sum(history[after + 1:] > factor * low[after:-1]))


def _judge_bursts(rows):
    """Criterion (fixed before the run): [explosion] at the largest lr (0.03) the constant-lr run has loss bursts
    (>= 1 step after step 100 above 10× the lowest loss so far) while the decayed run has none, on >= 80 % of the
    seeds; [fix] each schedule at its validation-chosen lr, decay ends with a lower log10 test MSE, by the paired
    rule of ``criteria.beats``."""
    explosion = holds_on_seeds([r["bursts, constant"] >= 1 and r["bursts, decay"] == 0 for r in rows],
                               "bursts without decay, none with it (lr 0.03)")
    fix = beats([np.log10(r["test MSE, decay"]) for r in rows], [np.log10(r["test MSE, constant"]) for r in rows],
                "log10 test MSE at each schedule's chosen lr")
    return combine([("explosion", explosion), ("fix", fix)])


@experiment(EXPERIMENTS, "explosion_fix", "Q8: why does an adaptive learning rate 'explode', and what fixes it?",
            "On a real network trained by RMSProp at a constant lr, once the loss is small the gradients are tiny, "
            "σ shrinks with them and η/σ grows until a step overshoots: the loss bursts up, again and again. Learning-"
            "rate decay removes the bursts and ends lower.")
def explosion_fix(ctx):
    seeds = ctx.seeds()
    steps = ctx.pick(300, 800)
    history, val, test = _burst_runs(seeds, steps)
    big = len(BURST_LRS) - 1
    rows = []
    for i, s in enumerate(seeds):
        row = {"seed": s}
        for a, name in enumerate(("constant", "decay")):
            row[f"bursts, {name}"] = spikes(history[:, a, big, i])
        for a, name in enumerate(("constant", "decay")):
            chosen = int(np.argmin(val[a, :, i]))
            row[f"lr, {name}"] = BURST_LRS[chosen]
            row[f"test MSE, {name}"] = _sig(test[a, chosen, i])
        rows.append(row)
    verdict, because = _judge_bursts(rows)
    identical = [dict(r, **{"bursts, decay": r["bursts, constant"], "test MSE, decay": r["test MSE, constant"]})
                 for r in rows]
    cv, cb = _judge_bursts(identical)
    controls = [Control("identical arms", "the constant-lr run in place of the decayed one: a run cannot burst less "
                        "than itself or end lower than itself", cv, cb)]
    numbers = dict(steps=steps, lrs=list(BURST_LRS), bursts_constant=[r["bursts, constant"] for r in rows],
                   bursts_decay=[r["bursts, decay"] for r in rows],
                   test_mse_constant=[r["test MSE, constant"] for r in rows],
                   test_mse_decay=[r["test MSE, decay"] for r in rows])
    because = (f"{because}. Bursts at lr 0.03 in {steps} steps: constant {mean_std(numbers['bursts_constant'])}, decay "
               f"{mean_std(numbers['bursts_decay'])}; test MSE at the chosen lr: constant "
               f"{mean_std(numbers['test_mse_constant'])}, decay {mean_std(numbers['test_mse_decay'])}. The toy valley "
               "of the lecture-2 lab (adaptive_explosion) shows the mechanism: σ_y decays during the quiet stretch.")
    figures = [ctx.figure(_burst_figure(history, steps), "bursts")]
    method = (question("自适应学习率存在的问题：learning rate可能会“爆炸”（解决办法？）",
                       "The problem of adaptive learning rates: the learning rate may 'explode' (and how to fix it?)")
              + f"Per seed, y = sin(3x + φ) on {BURST_POINTS} points of [−1, 1] (validation and test points between "
              f"them); a 1-16-1 tanh MLP trained by RMSprop (α = 0.99), full batch, {steps} steps, at each lr of "
              f"{list(BURST_LRS)}, with a constant lr and with η/√(1 + t/10).")
    settings = (f"lr per schedule and per seed from {list(BURST_LRS)} by validation MSE ('fix'); the largest lr for "
                "the bursts; the burst rule (10×, after step 100), the decay and the steps fixed a priori.")
    return Result(method, numbers, verdict, because, rows + [spread_row(rows)], figures, seeds, settings, controls)


def _burst_figure(history, steps):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.2, 4.4))
    t = np.arange(steps)
    for a, name in enumerate(("constant lr", "decay η/√(1 + t/10)")):
        ax.semilogy(t, history[:, a, -1, 0], lw=1, label=f"{name}, lr {BURST_LRS[-1]:g}")
    ax.set_xlabel("step")
    ax.set_ylabel("training MSE (seed 0)")
    ax.set_title("RMSProp on a 1-16-1 tanh MLP: bursts without decay", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)
    fig.tight_layout()
    return fig
