"""Lecture 2, classification: one-hot targets against class numbers, softmax, cross-entropy against MSE at a bad
start, 2-class softmax = sigmoid, and cross-entropy = maximum likelihood.

Networks are trained as stacks (``ensemble``: every seed and learning rate at once); the 2-D logit surfaces use
``descent``; the identities are checked in float64 on random inputs, one draw per seed.
"""
import numpy as np

import relulab
import relulab.nn.functional as F
from relulab.optim import SGD, Adam

from . import draws
from .criteria import beats, combine, holds_on_seeds
from .descent import descend, first_below, pyplot
from .ensemble import StackedMLP, member_cross_entropy, member_mse, train
from .framework import Control, Result, experiment
from .stats import fmt, mean_std, spread_row

EXPERIMENTS = []


def _sig(value, digits=4):
    return float(f"{float(value):.{digits}g}")


# ================================================================================================ one-hot
def ring_classes(rng, n):
    """Points on a noisy ring, class by angle sector: 1 = [0°, 120°), 2 = [120°, 240°), 3 = [240°, 360°).
    Classes 3 and 1 touch at 0°, yet as numbers they are the farthest apart."""
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = 1 + 0.1 * rng.standard_normal(n)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1)
    return x, (angle // (2 * np.pi / 3)).astype(np.int64)  # 0, 1, 2 for classes 1, 2, 3


ONE_HOT_LRS = (0.003, 0.01, 0.03, 0.1)
def _one_hot_runs(seeds, sizes, steps):
    """Both arms on each seed's own ring data, a 2-16-k ReLU MLP per (lr, seed), Adam, full batch.  Returns
    (validation, test) accuracies (lrs, seeds) per arm and the integer arm's stack (for the figure)."""
    data = [[ring_classes(np.random.default_rng([s, part]), n) for part, n in enumerate(sizes)] for s in seeds]
    lrs, count = len(ONE_HOT_LRS), len(seeds)

    def stacked(part, labels_as):
        x = np.stack([d[part][0] for d in data]).astype(np.float32)
        y = np.stack([labels_as(d[part][1]) for d in data])
        return (relulab.tensor(np.tile(x, (lrs, 1, 1))), relulab.tensor(np.tile(y, (lrs,) + (1,) * (y.ndim - 1))),
                np.stack([d[part][1] for d in data]))

    results = {}
    for arm, outputs in (("integer target (MSE)", 1), ("one-hot (CE)", 3)):
        model = StackedMLP([2, 16, outputs], count, groups=lrs, seed=seeds[0])
        if outputs == 1:   # the class number 1, 2, 3 as a regression target
            (x, y, _), loss = stacked(0, lambda c: (c + 1.0)[:, None].astype(np.float32)), member_mse
        else:
            (x, y, _), loss = stacked(0, lambda c: c), member_cross_entropy
        train(model, lambda m: loss(m(x), y), Adam(model.param_groups(ONE_HOT_LRS)), steps)
        accuracy = []
        for part in (1, 2):
            xs, _, labels = stacked(part, lambda c: c)
            with relulab.no_grad():
                out = model(xs).numpy()
            predicted = (np.clip(np.rint(out[..., 0]), 1, 3) - 1) if outputs == 1 else out.argmax(2)
            accuracy.append((predicted == np.tile(labels, (lrs, 1))).mean(1).reshape(lrs, count))
        results[arm] = dict(val=accuracy[0], test=accuracy[1], model=model)
    return results


def _judge_one_hot(rows):
    """Criterion (fixed before the run): one-hot/CE test accuracy is higher than integer-target/MSE test
    accuracy, each at its validation-chosen lr, by the paired rule of ``criteria.beats``."""
    return beats([r["one-hot (CE) test accuracy"] for r in rows], [r["integer target (MSE) test accuracy"] for r in rows],
                 "test accuracy", higher_is_better=True)


@experiment(EXPERIMENTS, "one_hot", "Class numbers 1, 2, 3 imply a false closeness; one-hot targets don't",
            "Regressing on class numbers forces class 2 between 1 and 3; when classes 1 and 3 are neighbours in "
            "input space the model must pass through '2' between them and misclassifies, while one-hot targets "
            "with softmax/cross-entropy treat all classes as equally far apart and classify better.")
def one_hot(ctx):
    seeds = ctx.seeds()
    sizes, steps = ctx.pick((200, 300, 1000), (300, 300, 2000)), ctx.pick(150, 300)
    results = _one_hot_runs(seeds, sizes, steps)
    rows = []
    for i, s in enumerate(seeds):
        row = {"seed": s}
        for arm, r in results.items():
            chosen = int(np.argmax(r["val"][:, i]))
            row[f"{arm} lr"] = ONE_HOT_LRS[chosen]
            row[f"{arm} test accuracy"] = _sig(r["test"][chosen, i])
        rows.append(row)
    verdict, because = _judge_one_hot(rows)
    swapped = [{"one-hot (CE) test accuracy": r["integer target (MSE) test accuracy"],
                "integer target (MSE) test accuracy": r["one-hot (CE) test accuracy"]} for r in rows]
    cv, cb = _judge_one_hot(swapped)
    controls = [Control("swapped arms", "the two arms' accuracies exchanged: the rule must not find the integer "
                        "coding better from the same numbers", cv, cb)]
    numbers = {"steps": steps, "train_validation_test_sizes": list(sizes),
               **{f"{arm.split()[0].replace('-', '_')}_test_accuracy": [r[f"{arm} test accuracy"] for r in rows]
                  for arm in results}}
    figures = [ctx.figure(_one_hot_figure(results["integer target (MSE)"]["model"], rows), "predictions")]
    method = (f"Per seed, a noisy ring in 2-D split into three 120° sectors (classes 1, 2, 3; classes 3 and 1 touch at "
              f"0°), {sizes[0]} training, {sizes[1]} validation and {sizes[2]} test points. A 2-16-1 ReLU MLP regressed on "
              "the class number with MSE and rounded, vs a 2-16-3 MLP with cross-entropy on the class index (one-hot), "
              f"Adam, {steps} full-batch steps.")
    settings = (f"lr per arm and per seed from {list(ONE_HOT_LRS)} by validation accuracy; the steps, the widths and "
                "the data generator fixed a priori.")
    table = rows + [spread_row(rows)]
    return Result(method, numbers, verdict, because, table, figures, seeds, settings, controls)


def _one_hot_figure(model, rows):
    """The integer-target model's output along the ring (seed 0, its chosen lr): to go from 3 back to 1 it must
    cross 2."""
    plt = pyplot()
    angle = np.linspace(0, 2 * np.pi, 361)
    ring = np.stack([np.cos(angle), np.sin(angle)], 1).astype(np.float32)
    chosen = ONE_HOT_LRS.index(rows[0]["integer target (MSE) lr"])
    with relulab.no_grad():
        output = model(relulab.tensor(ring)).numpy()[chosen * model.members, :, 0]
    fig, ax = plt.subplots(figsize=(7.0, 4.4))
    ax.plot(np.degrees(angle), output, label="regression output (seed 0)")
    ax.step(np.degrees(angle), (angle // (2 * np.pi / 3)).clip(0, 2) + 1, where="post", label="true class number")
    ax.set_xlabel("angle on the ring (°)")
    ax.set_ylabel("class number")
    ax.set_title("integer targets: the output must pass '2' between classes 3 and 1", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


# ================================================================================================ softmax
def _softmax_row(rng, n):
    """One seed's draw: softmax's properties on signed logits, and the gap stretching on logits ≥ 1, for softmax
    and for plain division by the sum (the control)."""
    logits = 3 * rng.standard_normal((n, 3))
    positive = rng.uniform(1, 10, (n, 3))
    rows = {}
    for name, normalize in (("softmax", lambda z: F.softmax(relulab.tensor(z), dim=1).numpy()),
                            ("divide by the sum", lambda z: z / z.sum(1, keepdims=True))):
        p, q = normalize(logits), normalize(positive)
        top2 = np.sort(positive, 1)[:, ::-1][:, :2]
        q2 = np.sort(q, 1)[:, ::-1][:, :2]
        rows[name] = {"max |Σp − 1|": _sig(np.abs(p.sum(1) - 1).max(), 3),
                      "min p": _sig(p.min()), "max p": float(p.max()),
                      "stretched fraction": _sig(np.mean(q2[:, 0] / q2[:, 1] > top2[:, 0] / top2[:, 1]))}
    return rows


def _judge_softmax(rows):
    """Criterion (fixed before the run): [probabilities] the outputs sum to 1 within 1e-12 and lie strictly in
    (0, 1) on every seed; [stretch] for logits ≥ 1 the top-two ratio grows after normalizing for every vector of
    every seed."""
    probabilities = holds_on_seeds([r["max |Σp − 1|"] < 1e-12 and 0 < r["min p"] and r["max p"] < 1 for r in rows],
                                   "Σp = 1 (1e-12) and 0 < p < 1", full=1.0)
    stretch = holds_on_seeds([r["stretched fraction"] == 1.0 for r in rows], "gap stretched for all vectors", full=1.0)
    return combine([("probabilities", probabilities), ("stretch", stretch)])


@experiment(EXPERIMENTS, "softmax", "Softmax turns outputs into probabilities and stretches their gaps",
            "softmax(z)_i = exp(z_i)/Σ exp(z_j) is in (0, 1) and sums to 1 for any logits, which dividing by the sum "
            "does not guarantee, and the ratio of the two largest outputs becomes exp(z₁ − z₂), larger than the "
            "raw ratio z₁/z₂.")
def softmax(ctx):
    seeds = ctx.seeds()
    n = ctx.pick(2000, 10000)
    draws = [_softmax_row(np.random.default_rng(s), n) for s in seeds]
    rows = [{"seed": s, **d["softmax"]} for s, d in zip(seeds, draws)]
    verdict, because = _judge_softmax(rows)
    control_rows = [{"seed": s, **d["divide by the sum"]} for s, d in zip(seeds, draws)]
    cv, cb = _judge_softmax(control_rows)
    controls = [Control("divide by the sum", "the same logits normalized by z/Σz instead of softmax: it sums to 1 "
                        "but leaves (0, 1) for signed logits and keeps the raw ratios", cv, cb,
                        {"rows": control_rows})]
    lecture = F.softmax(relulab.tensor(np.array([3.0, 1.0, -3.0])), dim=0).numpy()
    numbers = dict(n=n, lecture_logits=[3.0, 1.0, -3.0], lecture_softmax=[_sig(p) for p in lecture],
                   max_abs_sum_error=max(r["max |Σp − 1|"] for r in rows),
                   control_min_p=min(r["min p"] for r in control_rows))
    because = (f"{because}. The lecture's logits [3, 1, −3] give {numbers['lecture_softmax']}; dividing by the sum "
               f"goes down to {fmt(numbers['control_min_p'])} on signed logits.")
    method = (f"Per seed, {n} float64 logit vectors 3·N(0, 1) (3 classes) for the probability properties, and {n} "
              "vectors uniform in [1, 10] for the gap: the largest/second-largest ratio after normalizing against the "
              "raw z₁/z₂ (exp(d) ≥ 1 + d ≥ 1 + d/z₂ when z₂ ≥ 1, so stretching is guaranteed there; below 1 it need "
              "not hold).")
    settings = "the logit distributions fixed a priori; nothing is tuned."
    return Result(method, numbers, verdict, because, rows + [spread_row(rows)], [], seeds, settings, controls)


# ================================================================================================ CE vs MSE
# The lecture's picture: three logits (y1, y2, y3) with y3 = 0 fixed, target class 1; the parameters are (y1, y2).
CE_LRS = (0.1, 0.3, 1.0, 3.0, 10.0)
CE_BUDGET = 300


def _probabilities_rows(theta):
    logits = relulab.cat([theta, relulab.zeros(theta.shape[0], 1, dtype=relulab.float64)], 1)
    return F.softmax(logits, dim=1)


def mse_rows(theta):
    """The lecture's e = Σ_i (ŷ_i − y′_i)² with ŷ = (1, 0, 0) and y′ = softmax(y1, y2, 0)."""
    p = _probabilities_rows(theta)
    target = relulab.tensor(np.array([[1.0, 0.0, 0.0]]), dtype=relulab.float64)
    return ((p - target) ** 2).sum(dim=1)


def ce_rows(theta):
    """The lecture's e = −Σ_i ŷ_i ln y′_i = −ln softmax_1."""
    logits = relulab.cat([theta, relulab.zeros(theta.shape[0], 1, dtype=relulab.float64)], 1)
    return F.cross_entropy(logits, relulab.zeros(theta.shape[0], dtype=relulab.int64), reduction="none")


def p1_of(path):
    """The right class's probability along a (..., 2) array of (y1, y2)."""
    logits = np.concatenate([path, np.zeros(path.shape[:-1] + (1,))], -1)
    logits = logits - logits.max(-1, keepdims=True)
    return np.exp(logits[..., 0]) / np.exp(logits).sum(-1)


def bad_starts(gen, count):
    """Class 1 nearly impossible: y1 in [−5, −3], y2 in [3, 5] (p₁ ≈ 1e-4 to 1e-2... of order e^−8)."""
    return np.stack([draws.uniform(gen, -5, -3, count), draws.uniform(gen, 3, 5, count)], 1)


def _ce_arm(rows_of, starts):
    """Steps until p₁ > 0.5 for every (lr, start) and the gradient norm at each start."""
    run = descend(rows_of, starts, lambda groups: SGD(groups), CE_BUDGET, lrs=CE_LRS)
    p1 = p1_of(run["path"])                                           # (steps + 1, rows)
    steps = first_below(-p1, -0.5, CE_BUDGET).reshape(len(CE_LRS), len(starts))
    theta = relulab.tensor(starts, dtype=relulab.float64, requires_grad=True)
    rows_of(theta).sum().backward()
    return steps, np.linalg.norm(theta.grad.numpy(), axis=1), run


def _judge_ce(rows):
    """Criterion (fixed before the run): [gradient] at the bad start CE's gradient is >= 10× MSE's; [steps] at every
    learning rate of the grid, the same for both losses, MSE needs >= 5× as many steps as CE to make the right
    class the most likely (p₁ > 0.5; never reaching it counts as budget + 1); each on >= 80 % of the seeds."""
    gradient = holds_on_seeds([r["CE gradient"] >= 10 * r["MSE gradient"] for r in rows], "gradient ratio ≥ 10")
    steps = holds_on_seeds([all(r[f"MSE steps, lr {lr:g}"] >= 5 * r[f"CE steps, lr {lr:g}"] for lr in CE_LRS)
                            for r in rows], "MSE steps ≥ 5 × CE steps at every lr")
    return combine([("gradient", gradient), ("steps", steps)])


@experiment(EXPERIMENTS, "ce_vs_mse", "Cross-entropy is easier to optimize than MSE",
            "At a bad start (the right class has probability ≈ 0) the MSE surface of softmax outputs is flat and "
            "gradient descent stalls, while the cross-entropy surface is steep and the same optimizer, at the same "
            "learning rate, reaches the good region many times sooner.")
def ce_vs_mse(ctx):
    seeds = ctx.seeds()
    per = 3
    starts = np.stack([bad_starts(draws.generator(s), per) for s in seeds])   # (seeds, per, 2)
    flat = starts.reshape(-1, 2)
    arms = {name: _ce_arm(fn, flat) for name, fn in ctx.progress([("CE", ce_rows), ("MSE", mse_rows)], "losses")}
    rows = []
    for i, s in enumerate(seeds):
        row = {"seed": s, "p₁ at start": _sig(np.median(p1_of(starts[i])), 3)}
        for name, (steps, grads, _) in arms.items():
            row[f"{name} gradient"] = _sig(np.median(grads.reshape(len(seeds), per)[i]), 3)
        for j, lr in enumerate(CE_LRS):
            for name, (steps, _, _) in arms.items():
                row[f"{name} steps, lr {lr:g}"] = float(np.median(steps.reshape(len(CE_LRS), len(seeds), per)[j, i]))
        rows.append(row)
    verdict, because = _judge_ce(rows)
    swapped = [{key.replace("MSE", "TMP").replace("CE", "MSE").replace("TMP", "CE"): value for key, value in r.items()}
               for r in rows]
    cv, cb = _judge_ce(swapped)
    controls = [Control("swapped arms", "MSE's numbers in CE's place and back: the rule must not find MSE easier",
                        cv, cb)]
    ratio = [min(r[f"MSE steps, lr {lr:g}"] / r[f"CE steps, lr {lr:g}"] for lr in CE_LRS) for r in rows]
    numbers = dict(budget=CE_BUDGET, lrs=list(CE_LRS), smallest_step_ratio_mse_over_ce=ratio,
                   ce_gradient=[r["CE gradient"] for r in rows], mse_gradient=[r["MSE gradient"] for r in rows],
                   ce_steps_at_largest_lr=[r[f"CE steps, lr {CE_LRS[-1]:g}"] for r in rows],
                   mse_steps_at_largest_lr=[r[f"MSE steps, lr {CE_LRS[-1]:g}"] for r in rows])
    because = (f"{because}. Smallest MSE/CE step ratio over the lrs: {mean_std(ratio)}; it is smallest at the largest "
               f"lr ({CE_LRS[-1]:g}: CE {mean_std(numbers['ce_steps_at_largest_lr'])} steps, MSE "
               f"{mean_std(numbers['mse_steps_at_largest_lr'])}): nothing on this 2-D surface caps the step, so a large "
               "enough lr jumps off MSE's plateau too. Whether a network's other directions cap the lr enough for MSE "
               "to stall is what the questions lab's ce_vs_mse_network tests.")
    figures = [ctx.figure(_ce_mse_figure(arms, starts), "surfaces")]
    method = ("Logits (y1, y2, y3 = 0) with target class 1; the parameters are y1 and y2. MSE = Σ(ŷ_i − softmax_i)² vs "
              f"CE = −ln softmax_1, SGD from {per} bad starts per seed (y1 in [−5, −3], y2 in [3, 5]); the measure is the "
              f"median number of steps until p₁ > 0.5 (budget {CE_BUDGET}), at each lr of {list(CE_LRS)}.")
    settings = ("the same lr for both losses (the lecture's picture: one optimizer on two surfaces), each lr of a grid "
                f"{list(CE_LRS)} fixed a priori; not tuned per loss, since on this surface the best lr for either loss "
                "is simply the largest tried; the budget and the start region fixed a priori.")
    table = rows + [spread_row(rows)]
    return Result(method, numbers, verdict, because, table, figures, seeds, settings, controls)


def _surfaces_numpy(y1, y2):
    p = p1_of(np.stack([y1, y2], -1))
    logits = np.stack([y1, y2, np.zeros_like(y1)], -1)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    q = e / e.sum(-1, keepdims=True)
    return ((q[..., 0] - 1) ** 2 + q[..., 1] ** 2 + q[..., 2] ** 2), -np.log(p)


def _ce_mse_figure(arms, starts):
    plt = pyplot()
    y = np.linspace(-6, 6, 121)
    g1, g2 = np.meshgrid(y, y)
    mse, ce = _surfaces_numpy(g1, g2)
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.9))
    count = starts.reshape(-1, 2).shape[0]
    for ax, (name, surface) in zip(axes, [("MSE", mse), ("CE", ce)]):
        filled = ax.contourf(y, y, surface, levels=30, cmap="RdYlBu_r")
        fig.colorbar(filled, ax=ax, label="loss")
        lr_index = CE_LRS.index(1.0)
        path = arms[name][2]["path"][:, lr_index * count]
        ax.plot(path[:, 0], path[:, 1], "k.-", ms=3, lw=1, label=f"SGD path, lr {CE_LRS[lr_index]:g}")
        ax.plot(*starts[0, 0], "wo", mec="k", label="bad start (seed 0)")
        ax.set_xlim(-6, 6)
        ax.set_ylim(-6, 6)
        ax.set_xlabel("y1 (logit of the right class)")
        ax.set_ylabel("y2")
        ax.set_title(f"{'MSE' if name == 'MSE' else 'cross-entropy'} surface, {CE_BUDGET} steps", fontsize=10)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


# ================================================================================================ 2-class softmax
def _softmax2_row(rng, n, second):
    """Max differences between softmax([z1, z2])₁ and σ(z1 ∓ z2): values, autograd gradients, and σ(1 − σ)."""
    z = 10 * rng.standard_normal((n, 2))
    logits = relulab.tensor(z, dtype=relulab.float64, requires_grad=True)
    first = F.softmax(logits, dim=1)[:, 0]
    first.sum().backward()
    pair = relulab.tensor(z, dtype=relulab.float64, requires_grad=True)
    sig = F.sigmoid(pair[:, 0] + second * pair[:, 1])
    sig.sum().backward()
    s = first.detach().numpy()
    return {"max value diff": _sig(np.abs(s - sig.detach().numpy()).max(), 3),
            "max gradient diff": _sig(np.abs(logits.grad.numpy() - pair.grad.numpy()).max(), 3),
            "max gradient vs σ(1−σ)": _sig(np.abs(pair.grad.numpy()[:, 0] - s * (1 - s)).max(), 3)}


def _judge_softmax2(rows):
    """Criterion (fixed before the run): values, autograd gradients and the gradient against σ(1 − σ) all agree
    to < 1e-12 on every seed."""
    return holds_on_seeds([max(r.values()) < 1e-12 for r in rows], "all differences < 1e-12", full=1.0)


@experiment(EXPERIMENTS, "softmax2_sigmoid", "Two-class softmax is a sigmoid",
            "softmax([z1, z2])₁ = σ(z1 − z2): with two classes, softmax and sigmoid are the same function, with the "
            "same gradients.")
def softmax2_sigmoid(ctx):
    seeds = ctx.seeds()
    n = ctx.pick(5000, 20000)
    rows = [{"seed": s, **_softmax2_row(np.random.default_rng(s), n, -1.0)} for s in seeds]
    verdict, because = _judge_softmax2([{k: v for k, v in r.items() if k != "seed"} for r in rows])
    control = [_softmax2_row(np.random.default_rng(s), n, +1.0) for s in seeds]
    cv, cb = _judge_softmax2(control)
    controls = [Control("wrong pairing", "σ(z1 + z2) in place of σ(z1 − z2): not the same function", cv, cb)]
    numbers = {k.replace(" ", "_").replace("|", ""): [r[k] for r in rows] for k in rows[0] if k != "seed"}
    derivation = ["softmax([z1, z2])₁ = e^{z1} / (e^{z1} + e^{z2})",
                  "divide top and bottom by e^{z1}: = 1 / (1 + e^{−(z1 − z2)})",
                  "= σ(z1 − z2), the sigmoid of the logit difference",
                  "∂/∂z1 = σ(z1 − z2)(1 − σ(z1 − z2)) = −∂/∂z2"]
    method = (f"Per seed, {n} float64 logit pairs z ~ 10·N(0, 1): F.softmax over [z1, z2] against F.sigmoid(z1 − z2), "
              "values and autograd gradients. Derivation: " + "; ".join(derivation) + ".")
    settings = "the logit distribution fixed a priori; nothing is tuned."
    return Result(method, numbers, verdict, because, rows + [spread_row(rows)], [], seeds, settings, controls)


# ================================================================================================ CE = MLE
MLE_CLASSES, MLE_LABELS, MLE_LR = 4, 200, 2.0


def _mle_identity(rng, label_smoothing):
    """One seed: labels from a categorical π; F.cross_entropy on a random linear model against −mean log p(label)
    computed from F.softmax, and its autograd gradient against the likelihood's, (softmax − onehot)ᵀx/N."""
    pi = rng.dirichlet(np.full(MLE_CLASSES, 2.0))
    labels = rng.choice(MLE_CLASSES, MLE_LABELS, p=pi)
    x = rng.standard_normal((MLE_LABELS, 3))
    weight = relulab.tensor(rng.standard_normal((3, MLE_CLASSES)), dtype=relulab.float64, requires_grad=True)
    target = relulab.tensor(labels)
    logits = relulab.tensor(x, dtype=relulab.float64) @ weight
    ce = F.cross_entropy(logits, target, label_smoothing=label_smoothing)
    (grad_ce,) = relulab.autograd.grad(ce, [weight])
    p = F.softmax(logits, dim=1)
    nll = -relulab.log(p[relulab.arange(MLE_LABELS), target]).mean()      # −(1/N) log Π p(label)
    analytic = x.T @ (p.detach().numpy() - np.eye(MLE_CLASSES)[labels]) / MLE_LABELS
    return pi, labels, {"|CE − NLL|": _sig(abs(ce.item() - nll.item()), 3),
                        "max |∇CE − ∇NLL|": _sig(np.abs(grad_ce.numpy() - analytic).max(), 3)}


def _mle_rows(seeds, label_smoothing, steps):
    """Per seed the identity checks, then a free logit vector z per seed (no inputs; all seeds in one (S, K)
    tensor) trained by SGD on F.cross_entropy of its seed's labels: softmax(z) against the empirical frequencies."""
    draws = [_mle_identity(np.random.default_rng(s), label_smoothing) for s in seeds]
    labels = np.stack([d[1] for d in draws])
    frequencies = np.stack([np.bincount(l, minlength=MLE_CLASSES) / MLE_LABELS for l in labels])
    target = relulab.tensor(labels.reshape(-1))
    z = relulab.tensor(np.zeros((len(seeds), MLE_CLASSES)), dtype=relulab.float64, requires_grad=True)
    optimizer = SGD([z], lr=MLE_LR)                      # CE is convex in z with curvature ≤ 1/2: lr 2 is stable
    for _ in range(steps):
        optimizer.zero_grad()
        logits = z[:, None, :].expand(len(seeds), MLE_LABELS, MLE_CLASSES).reshape(-1, MLE_CLASSES)
        per_label = F.cross_entropy(logits, target, reduction="none", label_smoothing=label_smoothing)
        per_label.reshape(len(seeds), MLE_LABELS).mean(dim=1).sum().backward()
        optimizer.step()
    fitted = F.softmax(z.detach(), dim=1).numpy()
    return [{**d[2], "max |softmax(z) − freq|": _sig(np.abs(fitted[i] - frequencies[i]).max(), 3),
             "max |freq − π|": _sig(np.abs(frequencies[i] - d[0]).max(), 3)} for i, d in enumerate(draws)]


def _judge_mle(rows):
    """Criterion (fixed before the run): [identity] CE equals −(1/N)·log-likelihood of the labels to < 1e-12 and
    its gradient equals the likelihood's, (p − onehot)/N, to < 1e-12; [argmin] CE training of free logits
    recovers the empirical frequencies (the categorical MLE) to < 1e-6; each on every seed."""
    identity = holds_on_seeds([r["|CE − NLL|"] < 1e-12 and r["max |∇CE − ∇NLL|"] < 1e-12 for r in rows],
                              "CE = NLL and ∇CE = ∇NLL (1e-12)", full=1.0)
    argmin = holds_on_seeds([r["max |softmax(z) − freq|"] < 1e-6 for r in rows], "softmax(z*) = frequencies (1e-6)",
                            full=1.0)
    return combine([("identity", identity), ("argmin", argmin)])


@experiment(EXPERIMENTS, "ce_mle", "Minimizing cross-entropy is maximizing likelihood",
            "Cross-entropy −Σ ŷ_i ln y′_i with one-hot ŷ is −(1/N)·log Π p(label): the negative log-likelihood of the "
            "labels under the softmax model, with the same value, gradients and minimizer; for a categorical model "
            "the minimizer is the maximum-likelihood estimate, the empirical class frequencies.")
def ce_mle(ctx):
    seeds = ctx.seeds()
    steps = ctx.pick(300, 600)
    rows = [{"seed": s, **row} for s, row in zip(seeds, _mle_rows(seeds, 0.0, steps))]
    verdict, because = _judge_mle(rows)
    control = _mle_rows(seeds, 0.1, steps)
    cv, cb = _judge_mle(control)
    controls = [Control("label smoothing 0.1", "F.cross_entropy(label_smoothing=0.1): the target mixes in the uniform "
                        "distribution, so the loss is no longer the labels' likelihood and its minimizer is "
                        "0.9·frequencies + 0.1/4", cv, cb, {"rows": control})]
    numbers = {k: [r[k] for r in rows] for k in rows[0] if k != "seed"}
    because = (f"{because}. The fitted probabilities match the sample frequencies, not the generating π (which differ "
               f"by {mean_std(numbers['max |freq − π|'])}): maximum likelihood fits the data.")
    method = (f"Per seed, {MLE_LABELS} labels from a categorical π ~ Dirichlet(2, 2, 2, 2) over {MLE_CLASSES} classes. "
              "(a) A random linear model's logits (3 inputs, float64): F.cross_entropy against −mean log softmax[label] "
              "computed from F.softmax, and its autograd gradient against (softmax − onehot)ᵀx/N. (b) A free logit "
              f"vector z (no inputs) trained by SGD (lr {MLE_LR:g}, {steps} steps) on F.cross_entropy; softmax(z) "
              "against the empirical frequencies.")
    settings = ("lr 2 fixed a priori below the stability limit 4 (CE's Hessian in z has eigenvalues ≤ 1/2); steps, class "
                "count and sample size fixed a priori.")
    return Result(method, numbers, verdict, because, rows + [spread_row(rows)], [], seeds, settings, controls)
