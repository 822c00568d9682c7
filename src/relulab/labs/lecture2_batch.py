"""Lecture 2, batch and epoch: what a large batch costs per update (batch_time), how noisy a small batch's gradient
is (gradient_noise), why the data are reshuffled every epoch (epoch_shuffle), and whether a small batch generalizes
better at the same training loss (batch_generalization, after Keskar et al. 2017).  The last three use one data
set, scikit-learn's 8×8 digits, with a 64→32→10 ReLU MLP; the timing uses random inputs and a wider net."""
import math
import time

import numpy as np

import relulab
from .. import nn, optim
from ..autograd import grad
from . import draws
from .criteria import combine, holds_on_seeds
from .ensemble import member_cross_entropy
from .framework import Control, Result, experiment
from .lecture2_common import (Grid, MemberBatches, MemberLR, above_zero, copy_members, digits_split, fit, label,
                              losses, outputs, plt, stack, tensor)
from .stats import fmt, spread_row

EXPERIMENTS = []
WIDTHS = [64, 32, 10]


def _digits(seeds):
    """Per seed: the digits split (train, validation, test), stacked (seeds, n, ...)."""
    splits = [digits_split(seed) for seed in seeds]
    return [[np.stack([s[j][k] for s in splits]) for k in (0, 1)] for j in range(3)]


def _accuracy(model, x, y):
    return (outputs(model, x).argmax(-1) == y).mean(axis=1)


# ---------------------------------------------------------------------------------------------- 1. batch time
TIME_SIZES, TIME_ROWS, SERIAL = (1, 10, 100, 1000), 2000, 50
SPEEDUP = 10.0  # per sample, batch 1000 must cost at most a tenth of batch 1: an update ≤ 100× for 1000× the rows


def _time_net(seed):
    relulab.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))


def _update(model, opt, loss_fn, x, y):
    loss = loss_fn(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()


def _serial_update(model, opt, loss_fn, x, y):
    """One update on len(x) rows computed one row at a time (gradients accumulated): no vectorization."""
    opt.zero_grad()
    for i in range(len(x)):
        (loss_fn(model(x[i:i + 1]), y[i:i + 1]) / len(x)).backward()
    opt.step()


def _timings(seed, rounds):
    """CPU seconds per update for each batch size: this thread's CPU time (time.thread_time), so the time the
    thread waits while other processes run is not counted, and the minimum over ``rounds`` interleaved rounds
    (each round times one update per size, in a rotated order), since a busy machine only ever adds time (cache
    misses, interrupts); the batches are drawn beforehand, so drawing them is not timed.  Then the serial arm
    (SERIAL rows one at a time), the minimum of 3."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(TIME_ROWS, 64)).astype(np.float32)
    y = rng.integers(0, 10, TIME_ROWS)
    model, loss_fn = _time_net(seed), nn.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), lr=0.01)
    gen = draws.generator(seed)

    def batch(size):
        rows = draws.permutation(gen, TIME_ROWS)[:size]
        return tensor(x[rows]), tensor(y[rows], np.int64)
    drawn = {size: [batch(size) for _ in range(rounds + 1)] for size in TIME_SIZES}
    best = {size: math.inf for size in TIME_SIZES}
    for size in TIME_SIZES:  # warm-up: the first update pays for allocations
        _update(model, opt, loss_fn, *drawn[size][rounds])
    for r in range(rounds):
        for size in TIME_SIZES[r % len(TIME_SIZES):] + TIME_SIZES[:r % len(TIME_SIZES)]:
            started = time.thread_time()
            _update(model, opt, loss_fn, *drawn[size][r])
            best[size] = min(best[size], time.thread_time() - started)
    serial = math.inf
    for r in range(3):
        xs, ys = drawn[100][r][0][:SERIAL], drawn[100][r][1][:SERIAL]
        started = time.thread_time()
        _serial_update(model, opt, loss_fn, xs, ys)
        serial = min(serial, time.thread_time() - started)
    return best, serial


def _time_row(seed, best, large, large_rows):
    small = best[1]
    return {"seed": seed, **{f"ms per update, batch {s}": 1e3 * best[s] for s in TIME_SIZES},
            f"update ratio {large_rows} / 1": large / small,
            "per-sample speedup": (small / 1) / (large / large_rows),
            "epoch seconds, batch 1": small * TIME_ROWS,
            f"epoch seconds, batch {large_rows}": large * math.ceil(TIME_ROWS / large_rows)}


def _judge_time(rows):
    """Per sample, the large batch is at least 10× cheaper than batch 1 (an update on 1000 rows costs at most
    100× an update on 1 row), on ≥ 80 % of the seeds.  The bar sits far from both the vectorized outcome and
    the serial one (1×), so machine load cannot flip it."""
    return holds_on_seeds([r["per-sample speedup"] >= SPEEDUP for r in rows],
                          f"per-sample cost at the large batch <= 1/{SPEEDUP:g} of batch 1's")


@experiment(EXPERIMENTS, "batch_time", "A larger batch costs little more per update and far less per epoch",
            "With parallel (vectorized) computation, one update on a large batch takes far less than proportionally "
            "longer than on a batch of 1, so an epoch with large batches is much faster.")
def batch_time(ctx):
    seeds, rounds = ctx.seeds(), ctx.pick(6, 20)
    measured = {seed: _timings(seed, rounds) for seed in ctx.progress(seeds, "seeds")}
    rows = [_time_row(seed, best, best[1000], 1000) for seed, (best, _) in measured.items()]
    verdict, because = _judge_time(rows)
    control_rows = [_time_row(seed, best, serial, SERIAL) for seed, (best, serial) in measured.items()]
    cv, cb = _judge_time(control_rows)

    pyplot = plt()
    fig, (per_update, per_epoch) = pyplot.subplots(1, 2, figsize=(10.5, 3.6))
    for i, (seed, (best, serial)) in enumerate(measured.items()):
        per_update.plot(TIME_SIZES, [1e3 * best[s] for s in TIME_SIZES], marker="o", color="tab:blue", alpha=0.6,
                        label="vectorized (one seed each)" if i == 0 else None)
        per_update.scatter([SERIAL], [1e3 * serial], color="tab:red", marker="x",
                           label=f"{SERIAL} rows one at a time" if i == 0 else None)
        per_epoch.plot(TIME_SIZES, [best[s] * math.ceil(TIME_ROWS / s) for s in TIME_SIZES], marker="o",
                       color="tab:orange", alpha=0.6)
    per_update.plot(TIME_SIZES, [1e3 * rows[0]["ms per update, batch 1"] / 1e3 * s for s in TIME_SIZES],
                    color="k", linestyle=":", linewidth=1, label="proportional to the batch")
    per_update.set_ylabel("CPU ms per update (min over rounds)")
    per_update.legend(loc="upper left", fontsize=8)
    per_epoch.set_ylabel(f"seconds per epoch ({TIME_ROWS} rows)")
    for ax in (per_update, per_epoch):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
    fig.tight_layout()
    speedups = [r["per-sample speedup"] for r in rows]
    return Result(
        method=(f"A 64→128→128→10 ReLU MLP, SGD, cross-entropy, {TIME_ROWS} random rows, one BLAS thread. CPU "
                f"seconds per update (forward, backward, step; this thread's CPU time, so time spent waiting for "
                f"the cores is not counted) for batches {TIME_SIZES}: the minimum over {rounds} interleaved rounds "
                "(sizes in a rotated order each round), batches drawn beforehand. Per-sample speedup = (time per "
                "row at batch 1) / (time per row at batch 1000); seconds per epoch = time per update × updates "
                "per epoch. The control computes an update on 100 rows one row at a time."),
        numbers={"per_sample_speedup_median": float(np.median(speedups)),
                 "update_ratio_median": float(np.median([r["update ratio 1000 / 1"] for r in rows])),
                 "serial_speedup_median": float(np.median([r["per-sample speedup"] for r in control_rows]))},
        verdict=verdict, because=because, table=rows + [spread_row(rows)],
        figures=[ctx.figure(fig, "time")], seeds=seeds,
        settings=(f"sizes and the net fixed in the previous session; the bar (speedup >= {SPEEDUP:g}) fixed a priori "
                  "ten-fold away from the vectorized outcome; the minimum of interleaved rounds makes the verdict "
                  "robust to a busy machine (checked with a CPU hog running beside it)."),
        controls=[Control("no vectorization", f"an update on {SERIAL} rows computed one row at a time (gradients "
                          "accumulated) in place of the vectorized batch", cv, cb)])


# ------------------------------------------------------------------------------------------- 2. gradient noise
NOISE_SIZES, DRAWS = (1, 4, 16, 64, 256), (32, 64)  # draws per batch size (--quick, full)
SLOPE = (-1.15, -0.85)  # the fitted log-log slope must be within ±0.15 of the law's −1


def _flat_grads(model, x, y):
    """(members, parameters): each member's gradient of its own mean cross-entropy on its own rows."""
    params = list(model.parameters())
    grads = grad(member_cross_entropy(model(tensor(x, np.float64)), tensor(y, np.int64)).sum(), params)
    return np.concatenate([g.numpy().reshape(g.shape[0], -1) for g in grads], axis=1)


def _noise_seed(seed, count):
    """At one seed's initial weights: E‖g_B − g‖² for every B, over ``count`` mini-batches drawn without replacement
    (the real run), and over "batches" of one row repeated B times (the control), both corrected for sampling
    without replacement by (N − 1)/(N − B), so that the law reads tr(Σ)/B."""
    (x, y), _, _ = digits_split(seed)
    n = len(y)
    gen = draws.generator(seed)
    model = stack(WIDTHS, count, seed, starts=np.zeros(count), dtype=relulab.float64)
    one = stack(WIDTHS, 1, seed, dtype=relulab.float64)
    copy_members(one, model, [0])
    full = _flat_grads(one, x[None], y[None])[0]
    found = {"independent": [], "repeated": []}
    for size in NOISE_SIZES:
        correction = (n - 1) / (n - size)
        independent = np.stack([draws.permutation(gen, n)[:size] for _ in range(count)])
        repeated = np.repeat(draws.integers(gen, 0, n, count)[:, None], size, axis=1)
        for name, rows in (("independent", independent), ("repeated", repeated)):
            g = _flat_grads(model, x[rows], y[rows])
            found[name].append(correction * float(np.mean(np.sum((g - full) ** 2, axis=1))))
    return {name: np.array(values) for name, values in found.items()}


def _noise_row(seed, deviations):
    slope, intercept = np.polyfit(np.log(NOISE_SIZES), np.log(deviations), 1)
    return {"seed": seed, **{f"E|g_B − g|², B={b}": float(v) for b, v in zip(NOISE_SIZES, deviations)},
            "log-log slope": float(slope), "tr Σ (fit)": float(math.exp(intercept))}


def _judge_noise(rows):
    """The mini-batch gradient's squared deviation from the full-batch gradient falls like 1/B: the fitted
    log-log slope is within [−1.15, −0.85], on ≥ 80 % of the seeds."""
    return holds_on_seeds([SLOPE[0] <= r["log-log slope"] <= SLOPE[1] for r in rows],
                          f"log-log slope of E|g_B − g|² against B within [{SLOPE[0]}, {SLOPE[1]}]")


@experiment(EXPERIMENTS, "gradient_noise", "A small batch's gradient is noisy: its variance falls like 1/B",
            "A mini-batch gradient is a noisy estimate of the full-batch gradient, and the noise shrinks as the "
            "batch grows: its variance E‖g_B − g‖² falls like 1/B.")
def gradient_noise(ctx):
    seeds, draw_count = ctx.seeds(section="digits"), ctx.pick(*DRAWS)
    found = {seed: _noise_seed(seed, draw_count) for seed in ctx.progress(seeds, "seeds")}
    rows = [_noise_row(seed, f["independent"]) for seed, f in found.items()]
    verdict, because = _judge_noise(rows)
    control_rows = [_noise_row(seed, f["repeated"]) for seed, f in found.items()]
    cv, cb = _judge_noise(control_rows)

    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(6.5, 3.8))
    for i, (seed, f) in enumerate(found.items()):
        ax.plot(NOISE_SIZES, f["independent"], marker="o", color="tab:blue", alpha=0.6,
                label="B independent rows" if i == 0 else None)
        ax.plot(NOISE_SIZES, f["repeated"], marker="x", color="tab:red", alpha=0.6,
                label="one row repeated B times (control)" if i == 0 else None)
    first = rows[0]["tr Σ (fit)"]
    ax.plot(NOISE_SIZES, [first / b for b in NOISE_SIZES], color="k", linestyle=":", label="tr(Σ)/B")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch size B")
    ax.set_ylabel("E‖g_B − g‖² (corrected)")
    ax.set_title("gradient noise at the initial weights")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return Result(
        method=(f"The digits 64→32→10 ReLU MLP at each seed's initial weights (float64), cross-entropy. The full "
                f"gradient g over the training split; for B ∈ {NOISE_SIZES}, {draw_count} mini-batches drawn without "
                "replacement, each one's gradient g_B, and the mean of ‖g_B − g‖² times (N − 1)/(N − B), the "
                "correction for sampling without replacement; then the slope of its log against log B."),
        numbers={"slope_mean": float(np.mean([r["log-log slope"] for r in rows])),
                 "control_slope_mean": float(np.mean([r["log-log slope"] for r in control_rows]))},
        verdict=verdict, because=because, table=rows + [spread_row(rows)],
        figures=[ctx.figure(fig, "noise")], seeds=seeds,
        settings=(f"batch sizes, {draw_count} draw_count ({DRAWS[0]} in --quick, {DRAWS[1]} in full mode) and the slope window "
                  "±0.15 fixed a priori; no training, so no "
                  "learning rate."),
        controls=[Control("repeated rows", "each 'batch' is one random row repeated B times: no averaging of "
                          "independent samples, so nothing should fall with B", cv, cb)])


# ------------------------------------------------------------------------------------------- 3. epoch, shuffle
SGD_LRS, SHUFFLE_BATCH, SHUFFLE_EPOCHS = (0.01, 0.03, 0.1), 32, (4, 8)
ORDERS = ("reshuffle", "once", "sorted", "reshuffle (control B)", "reshuffle (control C)")


def _judge_shuffle(rows, sorted_arm="sorted", once_arm="once"):
    """Reshuffling every epoch beats a fixed order: the paired 95 % t-interval of log test loss (fixed order) −
    log test loss (reshuffled) lies above 0, for the label-sorted order and for one fixed random order."""
    base = np.log([r["reshuffle test loss"] for r in rows])
    return combine([
        ("reshuffling beats the label-sorted order", above_zero(
            np.log([r[f"{sorted_arm} test loss"] for r in rows]), base, f"log test loss, {sorted_arm} − reshuffle")),
        ("reshuffling beats one fixed random order", above_zero(
            np.log([r[f"{once_arm} test loss"] for r in rows]), base, f"log test loss, {once_arm} − reshuffle")),
    ])


@experiment(EXPERIMENTS, "epoch_shuffle", "Shuffle the data every epoch",
            "One epoch is one pass over all the batches, and the data are reshuffled after every epoch, so the "
            "batches differ from epoch to epoch; training in a fixed order does worse.")
def epoch_shuffle(ctx):
    seeds, epochs = ctx.seeds(section="digits"), ctx.pick(*SHUFFLE_EPOCHS)
    (x, y), (xv, yv), (xt, yt) = _digits(seeds)
    grid = Grid(len(ORDERS), len(SGD_LRS), len(seeds))
    model = stack(WIDTHS, grid.count, ctx.seed, starts=grid.seed)  # one start per seed for every order and lr
    orders = []
    for m in range(grid.count):
        name = ORDERS[grid.arm[m]]
        orders.append(np.argsort(y[grid.seed[m]], kind="stable") if name == "sorted" else name.split(" ")[0])
    order_seeds = [seeds[grid.seed[m]] * 10 + grid.arm[m] for m in range(grid.count)]  # shared by an arm's lrs
    batches = MemberBatches(y.shape[1], SHUFFLE_BATCH, orders, order_seeds)
    data = [grid.spread_seeds(a) for a in (x, y, xv, yv, xt, yt)]
    steps = epochs * batches.per_epoch
    fit(model, member_cross_entropy, data[0], data[1], MemberLR(model.parameters(), "SGD",
                                                                grid.per_setting(SGD_LRS), momentum=0.9),
        steps, batches=batches)
    choice = grid.choose(losses(model, member_cross_entropy, data[2], data[3]))
    test = grid.at(losses(model, member_cross_entropy, data[4], data[5]), choice)
    accuracy = grid.at(_accuracy(model, data[4], data[5]), choice)
    train = grid.at(losses(model, member_cross_entropy, data[0], data[1]), choice)

    def row(i, arms):
        out = {"seed": seeds[i]}
        for tag, arm in arms:
            out.update({f"{tag} lr": label(SGD_LRS[choice[arm, i]]), f"{tag} train loss": float(train[arm, i]),
                        f"{tag} test loss": float(test[arm, i]), f"{tag} test accuracy": float(accuracy[arm, i])})
        return out
    rows = [row(i, [("reshuffle", 0), ("once", 1), ("sorted", 2)]) for i in range(len(seeds))]
    verdict, because = _judge_shuffle(rows)
    control_rows = [row(i, [("reshuffle", 0), ("control B", 3), ("control C", 4)]) for i in range(len(seeds))]
    cv, cb = _judge_shuffle(control_rows, "control B", "control C")

    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(6.5, 3.8))
    labels = ["reshuffle", "once", "sorted"]
    for i in range(len(seeds)):
        ax.plot(range(3), [rows[i][f"{a} test loss"] for a in labels], marker="o", color="tab:gray", alpha=0.6,
                label="one seed" if i == 0 else None)
    ax.set_yscale("log")
    ax.set_xticks(range(3))
    ax.set_xticklabels(["reshuffled\nevery epoch", "one random order\nevery epoch", "sorted by label\nevery epoch"])
    ax.set_ylabel("test cross-entropy")
    ax.set_title(f"{epochs} epochs of batches of {SHUFFLE_BATCH}, each order at its own lr")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return Result(
        method=(f"Digits (80/20 train/validation split of the training set, its test set), the 64→32→10 ReLU MLP, "
                f"SGD (momentum 0.9), batches of {SHUFFLE_BATCH}, {epochs} epochs ({steps} updates) in three orders: "
                "a new permutation every epoch, one random permutation kept, and the rows sorted by label. The "
                "same initial weights for every order; each order's lr per seed chosen on validation loss; test "
                "cross-entropy at the end."),
        numbers={f"{a}_test_loss_median": float(np.median([r[f"{a} test loss"] for r in rows])) for a in labels},
        verdict=verdict, because=f"{because}. Median test loss: " + ", ".join(
            f"{a} {fmt(float(np.median([r[f'{a} test loss'] for r in rows])))}" for a in labels) + ".", table=rows + [spread_row(rows)],
        figures=[ctx.figure(fig, "orders")], seeds=seeds,
        settings=(f"lr from {SGD_LRS} by validation loss, per order, per seed; batch {SHUFFLE_BATCH}, momentum 0.9 "
                  f"and {epochs} epochs ({SHUFFLE_EPOCHS[0]} in --quick, {SHUFFLE_EPOCHS[1]} in full mode, for time) "
                  "fixed a priori; the 95 % intervals fixed before the run."),
        controls=[Control("identical arms", "both fixed orders replaced by reshuffling with other shuffle streams",
                          cv, cb)])


# -------------------------------------------------------------------------------- 4. batch size, generalization
SMALL, LARGE, GEN_LRS, TARGET = 16, 512, (0.03, 0.1, 0.3), 0.05
MAX_UPDATES = (600, 600)  # (--quick, full) the same cap for both batch sizes; members stop at the target loss
LANCZOS_STEPS = 15


def _forward_members(model, x, members):
    """The outputs of the given members only: the forward of a one-group StackedMLP on slices of its weights, so
    frozen members cost nothing (their slices get zero gradients)."""
    if len(members) == model.count:  # nobody frozen yet: the plain forward, without slicing
        return model(x)
    h = x
    for layer in range(model.layers):
        h = h @ getattr(model, f"weight_0_{layer}")[members] + getattr(model, f"bias_0_{layer}")[members]
        if layer < model.layers - 1:
            h = model.activation(h)
    return h


def _to_target(model, x, y, lrs, batches, every, max_updates):
    """Train until each member's full training loss first falls to TARGET (checked every ``every`` updates),
    then freeze it (lr 0, and out of the forward pass): every member is compared at the same training loss.
    Returns the update at which each member reached it (-1: never, within ``max_updates``)."""
    optimizer = MemberLR(model.parameters(), "SGD", lrs, momentum=0.9)
    reached = np.full(len(lrs), -1)
    active = np.arange(len(lrs))
    model.train()
    for step in range(max_updates):
        rows = batches.rows(step)[active]
        out = _forward_members(model, tensor(x[active[:, None], rows]), active)
        optimizer.zero_grad()
        member_cross_entropy(out, tensor(y[active[:, None], rows], np.int64)).sum().backward()
        optimizer.step()
        if (step + 1) % every == 0 or step + 1 == max_updates:
            with relulab.no_grad():
                train = member_cross_entropy(_forward_members(model, tensor(x[active]), active),
                                             tensor(y[active], np.int64)).numpy()
            now = train <= TARGET
            reached[active[now]] = step + 1
            optimizer.lr[active[now]] = 0.0
            active = active[~now]
            if not len(active):
                break
    model.eval()
    return reached


def _top_eigenvalues(model, x, y, steps=LANCZOS_STEPS, seed=0):
    """λmax of each member's training-loss Hessian: Lanczos (full reorthogonalization) run for every member in
    lockstep, one Hessian-vector product of the whole stack per step (the Hessian of the summed loss is
    block-diagonal across members)."""
    params = list(model.parameters())
    shapes = [p.shape for p in params]
    count = shapes[0][0]
    sizes = [int(np.prod(s[1:])) for s in shapes]
    inputs, targets = tensor(x, np.float64), tensor(y, np.int64)
    (gradients) = grad(member_cross_entropy(model(inputs), targets).sum(), params, create_graph=True)

    def hvp(v):
        pieces = np.split(v, np.cumsum(sizes)[:-1], axis=1)
        dot = None
        for g, piece, shape in zip(gradients, pieces, shapes):
            term = (g * tensor(piece.reshape(shape), np.float64)).sum()
            dot = term if dot is None else dot + term
        hs = grad(dot, params, retain_graph=True)
        return np.concatenate([h.numpy().reshape(count, -1) for h in hs], axis=1)

    rng = np.random.default_rng(seed)
    q = rng.normal(size=(count, sum(sizes)))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    basis, alphas, betas = [q], [], []
    for _ in range(steps):
        w = hvp(basis[-1])
        alphas.append(np.sum(w * basis[-1], axis=1))
        for b in basis:  # full reorthogonalization, member by member
            w -= np.sum(w * b, axis=1, keepdims=True) * b
        beta = np.linalg.norm(w, axis=1)
        betas.append(beta)
        basis.append(w / np.maximum(beta, 1e-300)[:, None])
    top = []
    for m in range(count):
        t = np.diag([a[m] for a in alphas]) + np.diag([b[m] for b in betas[:-1]], 1) + \
            np.diag([b[m] for b in betas[:-1]], -1)
        top.append(float(np.linalg.eigvalsh(t)[-1]))
    return np.array(top)


def _judge_batch(rows, small="batch 16", large="batch 512"):
    """At the same training loss: the small batch's test accuracy is higher (the core: the paired 95 %
    t-interval of accuracy(small) − accuracy(large) above 0), and its minimum is flatter (the interval of
    log λmax(large) − log λmax(small) above 0)."""
    return combine([
        ("the small batch generalizes better", above_zero(
            [r[f"{small} test accuracy"] for r in rows], [r[f"{large} test accuracy"] for r in rows],
            f"test accuracy, {small} − {large}")),
        ("the small batch's minimum is flatter", above_zero(
            np.log([r[f"{large} λmax"] for r in rows]), np.log([r[f"{small} λmax"] for r in rows]),
            f"log λmax, {large} − {small}")),
    ], core="the small batch generalizes better")


@experiment(EXPERIMENTS, "batch_generalization", "Small batches generalize better than large ones",
            "Trained to the same training loss, a small batch's noisy updates end in flatter minima that generalize "
            "better than a large batch's (Keskar et al. 2017): higher test accuracy, smaller Hessian λmax.")
def batch_generalization(ctx):
    seeds, cap = ctx.seeds(section="digits"), ctx.pick(*MAX_UPDATES)
    (x, y), (xv, yv), (xt, yt) = _digits(seeds)
    starts = stack(WIDTHS, 2 * len(seeds), ctx.seed)  # per seed: one start for both batch sizes, one for the control
    arms = {}
    # Arm "small" and the control arm "small again" (its own start and batch order) share a stack.
    for name, batch, count, start_offset in ((f"batch {SMALL}", SMALL, 2, 0), (f"batch {LARGE}", LARGE, 1, 0)):
        grid = Grid(count, len(GEN_LRS), len(seeds))
        model = stack(WIDTHS, grid.count, ctx.seed)
        copy_members(model, starts, grid.seed + len(seeds) * grid.arm)
        data = [grid.spread_seeds(a) for a in (x, y, xv, yv, xt, yt)]
        order_seeds = [seeds[grid.seed[m]] * 10 + grid.arm[m] + batch for m in range(grid.count)]
        batches = MemberBatches(y.shape[1], batch, ["reshuffle"] * grid.count, order_seeds)
        every = max(1, round(batches.per_epoch / 2))  # the training loss is checked about twice an epoch
        reached = _to_target(model, data[0], data[1], grid.per_setting(GEN_LRS), batches, every, cap)
        valid = np.where(reached >= 0, losses(model, member_cross_entropy, data[2], data[3]), np.inf)
        choice = grid.choose(valid)
        arms[name] = {"grid": grid, "model": model, "choice": choice, "reached": grid.at(reached, choice),
                      "train": grid.at(losses(model, member_cross_entropy, data[0], data[1]), choice),
                      "accuracy": grid.at(_accuracy(model, data[4], data[5]), choice), "batch": batch}
    # λmax of every chosen net, in one float64 stack.
    chosen = [(name, arm, i) for name, a in arms.items() for arm in range(a["grid"].arms) for i in range(len(seeds))]
    sharp_model = stack(WIDTHS, len(chosen), 0, dtype=relulab.float64)
    for j, (name, arm, i) in enumerate(chosen):
        a = arms[name]
        copy_members_one(sharp_model, j, a["model"], a["grid"].index(arm, a["choice"][arm, i], i))
    lam = _top_eigenvalues(sharp_model, np.stack([x[i] for _, _, i in chosen]), np.stack([y[i] for _, _, i in chosen]))
    sharp = {key: value for key, value in zip(chosen, lam)}

    def row(i, labelled):
        out = {"seed": seeds[i]}
        for tag, name, arm in labelled:
            a = arms[name]
            out.update({f"{tag} lr": label(GEN_LRS[a["choice"][arm, i]]), f"{tag} updates": int(a["reached"][arm, i]),
                        f"{tag} train loss": float(a["train"][arm, i]),
                        f"{tag} test accuracy": float(a["accuracy"][arm, i]),
                        f"{tag} λmax": float(sharp[(name, arm, i)])})
        return out
    small, large = f"batch {SMALL}", f"batch {LARGE}"
    rows = [row(i, [(small, small, 0), (large, large, 0)]) for i in range(len(seeds))]
    complete = all(r[f"{small} updates"] >= 0 and r[f"{large} updates"] >= 0 for r in rows)
    verdict, because = _judge_batch(rows)
    if not complete:
        verdict, because = "not reproduced", (f"some nets never reached the training loss {TARGET} within {cap} "
                                              f"updates, so the arms cannot be compared at equal loss. {because}")
    control_rows = [row(i, [(small, small, 0), ("batch 16 again", small, 1)]) for i in range(len(seeds))]
    cv, cb = _judge_batch(control_rows, small, "batch 16 again")

    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(6.5, 3.8))
    for r in rows:  # a seed's two nets start from the same weights: join them
        ax.plot([r[f"{small} λmax"], r[f"{large} λmax"]], [r[f"{small} test accuracy"], r[f"{large} test accuracy"]],
                color="tab:gray", linewidth=0.8, zorder=1)
    for tag, color in ((small, "tab:blue"), (large, "tab:orange")):
        ax.scatter([r[f"{tag} λmax"] for r in rows], [r[f"{tag} test accuracy"] for r in rows], color=color,
                   label=tag, zorder=2)
    ax.set_xscale("log")
    ax.set_xlabel(f"λmax of the training-loss Hessian at training loss {TARGET}")
    ax.set_ylabel("test accuracy")
    ax.set_title("one point per seed and batch size (gray: same seed)")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return Result(
        method=(f"Digits (80/20 train/validation split of the training set, its test set), the 64→32→10 ReLU MLP, "
                f"SGD (momentum 0.9), batch {SMALL} vs batch {LARGE}, both from the same initial weights per seed. "
                f"Equal training loss (Keskar et al. 2017): each net trains until its full training cross-entropy "
                f"first falls to {TARGET} (checked about twice an epoch) and is frozen there; at most {cap} "
                f"updates. Each batch size's lr per seed is chosen on validation loss among the nets that reached "
                f"the target. Sharpness: λmax of the training-loss Hessian ({LANCZOS_STEPS} Lanczos steps, float64)."),
        numbers={f"{label}_test_accuracy_mean": float(np.mean([r[f"{label} test accuracy"] for r in rows]))
                 for label in (small, large)} | {
                 f"{label}_lambda_max_median": float(np.median([r[f"{label} λmax"] for r in rows]))
                 for label in (small, large)},
        verdict=verdict, because=f"{because}. Mean test accuracy " + ", ".join(
            f"{t} {fmt(float(np.mean([r[f'{t} test accuracy'] for r in rows])))}" for t in (small, large)) +
        "; median λmax " + ", ".join(f"{t} {fmt(float(np.median([r[f'{t} λmax'] for r in rows])))}"
                                     for t in (small, large)) + ".", table=rows + [spread_row(rows)],
        figures=[ctx.figure(fig, "sharpness")], seeds=seeds,
        settings=(f"lr from {GEN_LRS} by validation loss, per batch size, per seed; the target loss {TARGET}, the "
                  f"cap of {cap} updates, momentum and the batch sizes (the previous session's) fixed a priori; "
                  "the 95 % intervals fixed before the run."),
        controls=[Control("identical arms", "batch 512 replaced by batch 16 again, from another initial draw "
                          "and shuffle stream", cv, cb)])


def copy_members_one(model, m, source, k):
    """Member m of ``model`` takes member k of ``source``'s weights (the dtypes may differ)."""
    for p, q in zip(model.parameters(), source.parameters()):
        p.data.numpy()[m] = q.detach().numpy()[k]
