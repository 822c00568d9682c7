"""The student's open questions (疑问) from the lecture notes, each answered by a small runnable experiment.

Every Result's ``method`` opens with the question as written in the notes (Chinese) and an English rendering,
then says what was run; ``because`` gives the one-line answer the numbers support.  Three questions are the
same measurement as a lecture experiment (hard sigmoid, adaptive-LR explosion, CE vs MSE, 2-class softmax);
those reuse the lecture's experiment function and prepend the question.
"""
import time

import numpy as np

import relulab
import relulab.nn.functional as F
from relulab import nn
from relulab.analysis import classify
from relulab.optim import SGD, Adagrad, Adam

from .framework import Result, experiment
from .lecture1 import hard_sigmoid
from .lecture2_guide import _mlp
from .lecture2_adaptive import adaptive_explosion
from .lecture2_classify import ce_vs_mse, softmax2_sigmoid

EXPERIMENTS = []


# ================================================================================================ helpers
def _question(chinese, english):
    return f"疑问：{chinese} ({english}) "


def _tensor(array, dtype=relulab.float32):
    return relulab.tensor(np.asarray(array), dtype=dtype)


def _train_full_batch(model, x, y, steps, lr, loss_fn=F.mse_loss):
    """Full-batch Adam; returns the final training loss (the 'floor' reached within the budget)."""
    optimizer = Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with relulab.no_grad():
        return float(loss_fn(model(x), y).item())


def _parameter_count(model):
    return int(sum(p.numel() for p in model.parameters()))


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _with_question(result, question):
    """A lecture experiment's Result, re-headed with the student's question."""
    result.method = question + "Run: " + result.method
    return result


# ================================================================================================ 1. negative loss
def _gaussian_nll(prediction, target, sigma):
    """−log N(target; prediction, σ²), averaged: ½log(2πσ²) + (y − ŷ)²/(2σ²), negative once σ < 1/√(2π)."""
    return 0.5 * np.log(2 * np.pi * sigma ** 2) + ((prediction - target) ** 2).mean() / (2 * sigma ** 2)


def _sgd_linear_run(x, y, loss_of, seed, steps, lr):
    relulab.manual_seed(seed)
    model = nn.Linear(1, 1)
    optimizer = SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        loss = loss_of(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with relulab.no_grad():
        final = float(loss_of(model(x), y).item())
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()]), final


@experiment(EXPERIMENTS, "negative_loss", "Q1: can a loss be negative?",
            "A loss is whatever we define it to be: a Gaussian negative log-likelihood with a small σ goes below "
            "0, and shifting a loss by a constant changes nothing about training.")
def negative_loss(ctx):
    sigma, shift, steps, lr = 0.05, 10.0, ctx.pick(200, 400), 0.1
    rng = ctx.rng()
    x_np = rng.uniform(-1, 1, (64, 1))
    y_np = 2 * x_np - 0.5 + sigma * rng.standard_normal((64, 1))
    x, y = _tensor(x_np), _tensor(y_np)
    nll = lambda p, t: _gaussian_nll(p, t, sigma)  # noqa: E731
    params_nll, final_nll = _sgd_linear_run(x, y, lambda p, t: nll(p, t) * sigma ** 2, ctx.seed, steps, lr)
    params_shifted, final_shifted = _sgd_linear_run(x, y, lambda p, t: nll(p, t) * sigma ** 2 - shift, ctx.seed,
                                                    steps, lr)
    final_nll_unscaled = final_nll / sigma ** 2
    numbers = dict(sigma=sigma, shift=shift, steps=steps, final_gaussian_nll=final_nll_unscaled,
                   final_scaled_loss=final_nll, final_shifted_loss=final_shifted,
                   max_param_diff=float(np.abs(params_nll - params_shifted).max()))
    reproduced = numbers["final_gaussian_nll"] < 0 and numbers["max_param_diff"] <= 1e-12
    because = (f"criterion: the trained Gaussian NLL (σ = {sigma}) is < 0 and the runs on L and L − {shift:g} end with "
               f"parameters equal to ≤ 1e-12: NLL = {final_nll_unscaled:.3g}, max |Δθ| = "
               f"{numbers['max_param_diff']:.3g}. A loss can be negative; only its gradients (unchanged by a "
               "constant) drive training.")
    method = (_question("由于定义方式不同，Loss可以为负。什么情况为负?",
                        "Depending on its definition a loss can be negative: when?")
              + f"A linear model y = wx + b on 64 points with noise σ = {sigma}, trained by SGD (lr {lr}, {steps} steps) "
              f"on the Gaussian negative log-likelihood ½log(2πσ²) + (y − ŷ)²/(2σ²) (scaled by σ² for a stable step), "
              f"and again, from the same initialization, on the same loss minus {shift:g}.")
    table = [{"loss": "σ²·NLL", "final loss": round(final_nll, 6)},
             {"loss": f"σ²·NLL − {shift:g}", "final loss": round(final_shifted, 6)}]
    return Result(method, numbers, reproduced, because, table)


# ================================================================================================ 2. per-parameter lr
def _bowl(theta):
    """L = ½(x² + 100y²): y's gradients are 100× steeper than x's."""
    return 0.5 * (theta[0] ** 2 + 100 * theta[1] ** 2)


@experiment(EXPERIMENTS, "per_parameter_lr", "Q2: can each parameter have its own learning rate?",
            "Yes: optimizer param groups set a learning rate per group, and Adagrad gives every parameter its own "
            "effective step η/σ_i from its own gradient history.")
def per_parameter_lr(ctx):
    lr_a, lr_b = 0.1, 0.01
    a = relulab.tensor([0.0], dtype=relulab.float64, requires_grad=True)
    b = relulab.tensor([0.0], dtype=relulab.float64, requires_grad=True)
    optimizer = SGD([{"params": [a], "lr": lr_a}, {"params": [b], "lr": lr_b}])
    loss = (a - 1) ** 2 + (b - 1) ** 2      # identical gradients (−2) for both
    optimizer.zero_grad()
    loss.sum().backward()
    optimizer.step()
    move_a, move_b = abs(float(a.item())), abs(float(b.item()))

    steps = 50
    theta = relulab.tensor([1.0, 1.0], dtype=relulab.float64, requires_grad=True)
    adagrad = Adagrad([theta], lr=0.1)
    for _ in range(steps):
        adagrad.zero_grad()
        _bowl(theta).backward()
        adagrad.step()
    sigma = np.sqrt(adagrad.state[theta]["sum"].numpy() / steps)   # RMS of each parameter's past gradients
    numbers = dict(lr_group_a=lr_a, lr_group_b=lr_b, move_a=move_a, move_b=move_b,
                   move_ratio=move_a / move_b, adagrad_steps=steps, sigma_x=float(sigma[0]), sigma_y=float(sigma[1]),
                   sigma_ratio_y_over_x=float(sigma[1] / sigma[0]))
    reproduced = abs(numbers["move_ratio"] - lr_a / lr_b) < 1e-9 * (lr_a / lr_b) and numbers["sigma_ratio_y_over_x"] > 2
    because = (f"criterion: with equal gradients the two param groups move in the ratio of their lrs "
               f"({move_a:.3g} vs {move_b:.3g}, ×{numbers['move_ratio']:.6g}), and Adagrad's σ differs per parameter "
               f"by > 2× (σ_x = {sigma[0]:.3g}, σ_y = {sigma[1]:.3g}, ×{numbers['sigma_ratio_y_over_x']:.3g}).")
    method = (_question("学习率可以设置多个吗？对每一个参数都单独设置一个学习率？",
                        "Can there be several learning rates, one for each parameter?")
              + f"SGD with two param groups (lr {lr_a} and {lr_b}), one step on (a − 1)² + (b − 1)² from 0; then "
              f"Adagrad (lr 0.1, {steps} steps) on ½(x² + 100y²) from (1, 1), reading σ_i = √(state['sum']_i / t).")
    table = [{"parameter": "a (group lr 0.1)", "moved": round(move_a, 6)},
             {"parameter": "b (group lr 0.01)", "moved": round(move_b, 6)},
             {"parameter": "Adagrad x", "moved": f"σ = {sigma[0]:.3g}"},
             {"parameter": "Adagrad y", "moved": f"σ = {sigma[1]:.3g}"}]
    return Result(method, numbers, reproduced, because, table)


# ================================================================================================ 3. hard sigmoid
@experiment(EXPERIMENTS, "hard_sigmoid", "Q3: what is a hard sigmoid?",
            "A hard sigmoid is flat, a linear ramp, flat; it is the difference of two ReLUs.")
def hard_sigmoid_question(ctx):
    return _with_question(hard_sigmoid(ctx), _question("什么是hard sigmoid？", "What is a hard sigmoid?"))


# ================================================================================================ 4. depth
def _triangle(x):
    return 1 - np.abs(2 * x - 1)


def _sawtooth(x, folds):
    """The triangle wave composed ``folds`` times: 2^(folds−1) teeth on [0, 1]."""
    for _ in range(folds):
        x = _triangle(x)
    return x


def _constructed_sawtooth_net(folds):
    """A ReLU net of 2 units per layer computing the composed triangle wave exactly:
    t(x) = 2·relu(x) − 4·relu(x − ½) on [0, 1], one layer per fold."""
    layers = []
    for i in range(folds):
        first = nn.Linear(1 if i == 0 else 2, 2)
        first.weight.data = _tensor([[1.0], [1.0]] if i == 0 else [[2.0, -4.0], [2.0, -4.0]], relulab.float64)
        first.bias.data = _tensor([0.0, -0.5], relulab.float64)
        layers += [first, nn.ReLU()]
    last = nn.Linear(2, 1)
    last.weight.data = _tensor([[2.0, -4.0]], relulab.float64)
    last.bias.data = _tensor([0.0], relulab.float64)
    return nn.Sequential(*layers, last)


def _trained_floor(widths, x, y, steps, lr, seed):
    relulab.manual_seed(seed)
    model = _mlp(widths, nn.ReLU)
    return _train_full_batch(model, x, y, steps, lr), _parameter_count(model), model


@experiment(EXPERIMENTS, "why_depth", "Q4: why do more layers help, and when don't they?",
            "Depth composes features: a function with repeated structure (a sawtooth = a folded triangle wave) "
            "needs exponentially many units in one layer but few per layer when stacked; a very deep plain net, "
            "though, trains worse than a moderately deep one.")
def why_depth(ctx):
    folds, steps, lr, very_deep = 5, ctx.pick(400, 1000), 0.01, 20
    x_np = np.linspace(0, 1, 257)[:, None]
    y_np = _sawtooth(x_np, folds)
    x, y = _tensor(2 * x_np - 1), _tensor(y_np)   # trained nets see a centred input: ReLU kinks start near 0
    deep = _constructed_sawtooth_net(folds)
    with relulab.no_grad():
        deep_mse = float(((deep(_tensor(x_np, relulab.float64)).numpy() - y_np) ** 2).mean())
    deep_params = _parameter_count(deep)
    # One hidden layer with the same number of parameters: 3h + 1 = deep_params.
    shallow_units = (deep_params - 1) // 3
    shallow_mse, shallow_params, shallow = _trained_floor([1, shallow_units, 1], x, y, steps, lr, ctx.seed)
    kinks_needed = 2 ** folds - 1
    # Where depth stops helping: a plain (no residual, no normalization) very deep net vs a moderate one.
    wave_y = _tensor(_sawtooth(x_np, 2))
    moderate_mse, moderate_params, _ = _trained_floor([1] + [16] * 3 + [1], x, wave_y, steps, lr, ctx.seed)
    very_deep_mse, very_deep_params, _ = _trained_floor([1] + [16] * very_deep + [1], x, wave_y, steps, lr, ctx.seed)
    numbers = dict(folds=folds, kinks_needed=kinks_needed, deep_parameters=deep_params, deep_mse=deep_mse,
                   shallow_units=shallow_units, shallow_parameters=shallow_params, shallow_trained_mse=shallow_mse,
                   moderate_layers=3, moderate_parameters=moderate_params, moderate_train_mse=moderate_mse,
                   very_deep_layers=very_deep, very_deep_parameters=very_deep_params, very_deep_train_mse=very_deep_mse,
                   steps=steps)
    reproduced = deep_mse < 1e-12 and shallow_mse > 1e-3 and very_deep_mse > 2 * moderate_mse
    because = (f"criterion: the {folds}-layer, {deep_params}-parameter ReLU net is exact (MSE {deep_mse:.2g} < 1e-12) while "
               f"one hidden layer with {shallow_units} units ({shallow_params} parameters; it has at most "
               f"{shallow_units} kinks, the sawtooth needs {kinks_needed}) is left at MSE {shallow_mse:.3g} > 1e-3; "
               f"and a {very_deep}-layer plain net trains to > 2× the loss of a 3-layer one on a 2-fold wave "
               f"({very_deep_mse:.3g} vs {moderate_mse:.3g}).")
    method = (_question("大概知道如何做，但不知道为什么要这样做：为什么加layer效果会更好呢？",
                        "I roughly know how, but not why: why does adding layers work better?")
              + f"Target: the triangle wave t(x) = 1 − |2x − 1| composed {folds} times on 257 points of [0, 1] "
              f"({2 ** (folds - 1)} teeth). Deep: a hand-built ReLU net, 2 units per layer, one layer per fold. Shallow: "
              f"one hidden ReLU layer with the same parameter count, trained by full-batch Adam (lr {lr}, {steps} "
              f"steps). Then a plain {very_deep}-layer vs 3-layer ReLU net (16 units per layer) trained the same way on the "
              "2-fold wave.")
    table = [{"model": f"deep, {folds}×2 units (constructed)", "parameters": deep_params, "train MSE": f"{deep_mse:.3g}"},
             {"model": f"shallow, {shallow_units} units (trained)", "parameters": shallow_params,
              "train MSE": f"{shallow_mse:.3g}"},
             {"model": "3×16 plain (trained, 2-fold wave)", "parameters": moderate_params,
              "train MSE": f"{moderate_mse:.3g}"},
             {"model": f"{very_deep}×16 plain (trained, 2-fold wave)", "parameters": very_deep_params,
              "train MSE": f"{very_deep_mse:.3g}"}]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.plot(x_np, y_np, "k", lw=2, label=f"sawtooth ({folds} folds) = deep net output")
    with relulab.no_grad():
        ax.plot(x_np, shallow(x).numpy(), "r--", label=f"shallow, {shallow_units} units (trained)")
    ax.legend(fontsize=8)
    ax.set_xlabel("x")
    fig.tight_layout()
    return Result(method, numbers, reproduced, because, table, [ctx.figure(fig, "sawtooth")])


# ================================================================================================ 5. model elasticity
@experiment(EXPERIMENTS, "elasticity_bias", "Q5: what are model elasticity and model bias?",
            "Elasticity (flexibility) is how many functions a model can represent; model bias is the error left "
            "because the right function is not among them: the training-loss floor falls as units are added.")
def elasticity_bias(ctx):
    units, steps, lr = [1, 2, 4, 8, 32], ctx.pick(400, 800), 0.03
    x_np = np.linspace(-1, 1, 200)[:, None]
    y_np = np.sin(2 * np.pi * x_np) + 0.5 * x_np           # fixed, noise-free nonlinear task: no floor from noise
    x, y = _tensor(x_np), _tensor(y_np)
    floors = [_trained_floor([1, u, 1], x, y, steps, lr, ctx.seed)[0] for u in units]
    falls = all(b <= a * 1.05 for a, b in zip(floors, floors[1:]))   # 5% slack for optimizer noise
    numbers = dict(units=units, train_mse_floor=floors, steps=steps, floor_ratio_smallest_over_largest=floors[0] / floors[-1])
    reproduced = falls and numbers["floor_ratio_smallest_over_largest"] >= 10
    because = (f"criterion: each extra capacity step leaves the training-MSE floor no higher (5% slack) and {units[0]} "
               f"unit's floor is ≥ 10× {units[-1]} units': " + ", ".join(f"{u}→{f:.3g}" for u, f in zip(units, floors))
               + f" (×{numbers['floor_ratio_smallest_over_largest']:.3g}). The floor a small model cannot go below is "
               "its model bias; more units = more elasticity.")
    method = (_question("什么是模型弹性？model bias是什么？", "What is model elasticity? What is model bias?")
              + f"One-hidden-layer ReLU nets with {units} units fitted to y = sin(2πx) + x/2 on 200 points of "
              f"[−1, 1], full-batch Adam (lr {lr}, {steps} steps); the final training MSE is the floor.")
    table = [{"units": u, "train MSE floor": float(f"{f:.3g}")} for u, f in zip(units, floors)]
    return Result(method, numbers, reproduced, because, table)


# ================================================================================================ 6. minima and saddle
def _double_well(theta):
    """(x² − 1)² + y²: minima at (±1, 0), a saddle at (0, 0) on the ridge between them."""
    return (theta[0] ** 2 - 1) ** 2 + theta[1] ** 2


@experiment(EXPERIMENTS, "read_contours", "Q6: how to see minima and a saddle on a contour plot",
            "Around a minimum the contours are closed rings; at a saddle they cross (an X): the loss rises one way "
            "and falls the other. The Hessian's eigenvalue signs say the same.")
def read_contours(ctx):
    points = {"left": (-1.0, 0.0), "middle": (0.0, 0.0), "right": (1.0, 0.0)}
    found = {name: classify(_double_well, list(p)) for name, p in points.items()}
    numbers = {f"{n}_eigenvalues": [float(v) for v in c.eigenvalues] for n, c in found.items()}
    numbers.update({f"{n}_gradient_norm": c.gradient_norm for n, c in found.items()})
    numbers.update({f"{n}_kind": c.kind for n, c in found.items()})
    reproduced = (found["left"].kind == found["right"].kind == "local minimum" and found["middle"].kind == "saddle"
                  and all(c.gradient_norm < 1e-12 for c in found.values()))
    because = ("criterion: all three points have ∇L = 0, both outer Hessians are positive definite and the middle one "
               "has eigenvalues of both signs: " + "; ".join(f"{n} {points[n]}: {c.kind}, λ = "
                                                             f"{np.round(c.eigenvalues, 3).tolist()}"
                                                             for n, c in found.items()) + ".")
    plt = _pyplot()
    xs, ys = np.linspace(-1.8, 1.8, 181), np.linspace(-1.2, 1.2, 121)
    gx, gy = np.meshgrid(xs, ys)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    contours = ax.contour(xs, ys, (gx ** 2 - 1) ** 2 + gy ** 2, levels=[0.05, 0.2, 0.5, 1.0, 1.5, 2.5, 4], cmap="viridis")
    ax.clabel(contours, fontsize=7)
    for n, c in found.items():
        ax.plot(*points[n], "o" if c.kind == "local minimum" else "X", ms=9, label=f"{points[n]}: {c.kind}")
    ax.set_title("L = (x² − 1)² + y²: rings around minima, the level-1 contour crosses at the saddle")
    ax.legend(fontsize=8)
    fig.tight_layout()
    method = (_question("如何看出来这六个点是minima的？如何看出中间的点是saddle的？",
                        "How can you tell these points are minima, and that the middle one is a saddle?")
              + "L(x, y) = (x² − 1)² + y², contour plot, and analysis.classify (exact Hessian eigenvalues) at "
              "(−1, 0), (0, 0), (1, 0).")
    table = [{"point": str(points[n]), "kind": c.kind, "eigenvalues": str(np.round(c.eigenvalues, 4).tolist()),
              "loss": round(c.loss, 4)} for n, c in found.items()]
    return Result(method, numbers, reproduced, because, table, [ctx.figure(fig, "contours")])


# ================================================================================================ 7. parallel batches
def _samples_per_second(model, x, y, batch_size, samples):
    """Forward + backward over ``samples`` examples in batches; the best of 3 repeats (least disturbed)."""
    best = np.inf
    for _ in range(3):
        started = time.perf_counter()
        for start in range(0, samples, batch_size):
            loss = F.cross_entropy(model(x[start:start + batch_size]), y[start:start + batch_size])
            model.zero_grad()
            loss.backward()
        best = min(best, time.perf_counter() - started)
    return samples / best


@experiment(EXPERIMENTS, "parallel_batches", "Q7: how is a batch computed in parallel?",
            "A batch is one matrix: every example goes through the same matrix multiplications at once, so the "
            "per-update cost grows far slower than the batch and throughput (samples/second) rises with batch size.")
def parallel_batches(ctx):
    batch_sizes, samples = [1, 8, 64, 512], ctx.pick(512, 2048)
    rng = ctx.rng()
    x = _tensor(rng.standard_normal((samples, 64)))
    y = relulab.tensor(rng.integers(0, 10, samples))
    relulab.manual_seed(ctx.seed)
    model = _mlp([64, 256, 10], nn.ReLU)
    throughput = [_samples_per_second(model, x, y, b, samples) for b in batch_sizes]
    epoch_seconds = [samples / t for t in throughput]
    numbers = dict(batch_sizes=batch_sizes, samples=samples, samples_per_second=throughput,
                   epoch_seconds=epoch_seconds, speedup_largest_over_one=throughput[-1] / throughput[0])
    reproduced = all(b > a for a, b in zip(throughput, throughput[1:])) and numbers["speedup_largest_over_one"] >= 10
    because = (f"criterion: throughput rises at every batch size and batch {batch_sizes[-1]} is ≥ 10× batch 1: "
               + ", ".join(f"B={b}: {t:,.0f}/s" for b, t in zip(batch_sizes, throughput))
               + f" (×{numbers['speedup_largest_over_one']:.3g}); one epoch takes {epoch_seconds[0]:.3g}s at B=1 vs "
               f"{epoch_seconds[-1]:.3g}s at B={batch_sizes[-1]} (measured, one BLAS thread; varies by machine).")
    method = (_question("如何进行平行计算的？", "How is the (batch) computation done in parallel?")
              + f"A 64→256→10 ReLU MLP, forward + cross-entropy + backward over {samples} examples in batches of "
              f"{batch_sizes}; best of 3 timings each.")
    table = [{"batch size": b, "samples/s": round(t), "seconds per epoch": float(f"{e:.3g}"),
              "updates per epoch": -(-samples // b)} for b, t, e in zip(batch_sizes, throughput, epoch_seconds)]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    ax.loglog(batch_sizes, throughput, "o-")
    ax.set_xlabel("batch size")
    ax.set_ylabel("samples / second (forward + backward)")
    fig.tight_layout()
    return Result(method, numbers, reproduced, because, table, [ctx.figure(fig, "throughput")])


# ================================================================================================ 8. lr explosion
@experiment(EXPERIMENTS, "adaptive_explosion", "Q8: why does the adaptive learning rate explode, and how does "
            "scheduling fix it?",
            "After a long stretch of tiny gradients σ shrinks and η/σ·g explodes; decay and warmup fix it.")
def adaptive_explosion_question(ctx):
    return _with_question(adaptive_explosion(ctx), _question(
        "自适应学习率存在的问题：learning rate可能会“爆炸”（解决办法？）",
        "The problem of adaptive learning rates: the learning rate may 'explode' (and how to fix it?)"))


# ================================================================================================ 9. output vectors
def _three_blobs(rng, n):
    centres = np.array([[0.0, 2.0], [-2.0, -1.0], [2.0, -1.0]])
    labels = rng.integers(0, 3, n)
    return centres[labels] + 0.6 * rng.standard_normal((n, 2)), labels


@experiment(EXPERIMENTS, "output_vector", "Q9: how does the output become a vector?",
            "For C classes the last layer has C outputs, so each example gives a vector of C scores; softmax "
            "turns it into probabilities and the target is a one-hot vector.")
def output_vector(ctx):
    classes, n, steps = 3, 300, ctx.pick(200, 400)
    rng = ctx.rng()
    x_np, labels = _three_blobs(rng, n)
    x, targets = _tensor(x_np), relulab.tensor(labels)
    relulab.manual_seed(ctx.seed)
    model = _mlp([2, 16, classes], nn.ReLU)           # the last layer has one output per class
    _train_full_batch(model, x, targets, steps, 0.03, F.cross_entropy)
    with relulab.no_grad():
        logits = model(x)
        probabilities = F.softmax(logits, dim=1).numpy()
    one_hot = F.one_hot(targets, classes).numpy()
    accuracy = float((probabilities.argmax(1) == labels).mean())
    numbers = dict(n=n, classes=classes, output_shape=list(logits.shape),
                   max_abs_probability_sum_minus_one=float(np.abs(probabilities.sum(1) - 1).max()),
                   one_hot_shape=list(one_hot.shape), one_hot_row_sums_all_one=bool((one_hot.sum(1) == 1).all()),
                   train_accuracy=accuracy)
    reproduced = (numbers["output_shape"] == [n, classes] and numbers["one_hot_shape"] == [n, classes]
                  and numbers["max_abs_probability_sum_minus_one"] < 1e-5 and numbers["one_hot_row_sums_all_one"]
                  and accuracy > 0.9)
    because = (f"criterion: the outputs have shape (N, C) = {tuple(logits.shape)}, softmax rows sum to 1 (max error "
               f"{numbers['max_abs_probability_sum_minus_one']:.2g} < 1e-5), one-hot targets are (N, C) with one 1 "
               f"per row, and the argmax of the vector classifies (accuracy {accuracy:.3f} > 0.9).")
    method = (_question("之前output是数值，现在怎么变为向量呢？", "The output used to be a number: how does it become "
                        "a vector?")
              + f"3 Gaussian blobs ({n} points); a 2→16→{classes} ReLU MLP trained by Adam on F.cross_entropy "
              f"({steps} steps); the output rows, their softmax and F.one_hot targets are inspected.")
    table = [{"example": i, "label": int(labels[i]), "one-hot": one_hot[i].tolist(),
              "scores (logits)": np.round(logits.numpy()[i], 2).tolist(),
              "softmax": np.round(probabilities[i], 3).tolist()} for i in range(4)]
    return Result(method, numbers, reproduced, because, table)


# ================================================================================================ 10. softmax2 sigmoid
@experiment(EXPERIMENTS, "softmax2_sigmoid", "Q10: why is 2-class softmax the same as a sigmoid?",
            "softmax([z1, z2])₁ = e^{z1}/(e^{z1} + e^{z2}) = 1/(1 + e^{−(z1 − z2)}) = σ(z1 − z2).")
def softmax2_sigmoid_question(ctx):
    return _with_question(softmax2_sigmoid(ctx), _question(
        "两个class的时候可以直接Sigmoid，效果与套Softmax后一模一样。（待推导）",
        "With two classes a sigmoid can be used directly, exactly as with softmax (derivation to be done)"))


# ================================================================================================ 11. CE vs MSE
@experiment(EXPERIMENTS, "ce_vs_mse", "Q11: why cross-entropy rather than MSE?",
            "At a bad start the MSE-on-softmax surface is flat, so gradient descent stalls; cross-entropy is steep "
            "there and trains.")
def ce_vs_mse_question(ctx):
    return _with_question(ce_vs_mse(ctx), _question(
        "为什么有时用Cross-entropy而不用MSE", "Why is cross-entropy sometimes used rather than MSE?"))


# ================================================================================================ 12. new class, shift
SIDE = 8


def _bar_images(rng, labels, background, noise):
    """8×8 images: class 0 a horizontal bar, class 1 a vertical bar, class 2 (never trained) a diagonal;
    ``background`` is the brightness added to every pixel (the incidental cue, like the notes' colour)."""
    images = noise * rng.standard_normal((len(labels), SIDE, SIDE))
    middle = SIDE // 2
    for i, label in enumerate(labels):
        if label == 0:
            images[i, middle, :] += 1.0
        elif label == 1:
            images[i, :, middle] += 1.0
        else:
            images[i][np.eye(SIDE, dtype=bool)] += 1.0
    return (images + np.asarray(background)[:, None, None]).reshape(len(labels), -1)


@experiment(EXPERIMENTS, "new_class_shift", "Q12: does a classifier judge a brand-new character correctly?",
            "A classifier learns whatever separates the training classes, incidental cues included: when the cue "
            "(here the background) stops matching the label, accuracy falls; and an unseen class is still forced "
            "into a known class, often with high confidence.")
def new_class_shift(ctx):
    n, steps, noise = ctx.pick(400, 800), ctx.pick(200, 400), 0.8
    rng = ctx.rng()
    train_labels = rng.integers(0, 2, n)
    # In training the background matches the class (class 1 on a bright background), like Pokémon vs Digimon
    # pictures that differ in an incidental way; in the shifted test the backgrounds are swapped.
    x_train = _bar_images(rng, train_labels, 1.0 * train_labels, noise)
    test_labels = rng.integers(0, 2, n)
    x_matched = _bar_images(rng, test_labels, 1.0 * test_labels, noise)
    x_swapped = _bar_images(rng, test_labels, 1.0 - test_labels, noise)
    x_new = _bar_images(rng, np.full(n, 2), np.zeros(n), noise)           # a class never seen in training
    relulab.manual_seed(ctx.seed)
    model = _mlp([SIDE * SIDE, 32, 2], nn.ReLU)
    _train_full_batch(model, _tensor(x_train), relulab.tensor(train_labels), steps, 0.01, F.cross_entropy)

    def predict(x):
        with relulab.no_grad():
            return F.softmax(model(_tensor(x)), dim=1).numpy()

    accuracy = {name: float((predict(x).argmax(1) == labels).mean())
                for name, x, labels in [("train", x_train, train_labels), ("matched_test", x_matched, test_labels),
                                        ("swapped_background_test", x_swapped, test_labels)]}
    new_probabilities = predict(x_new)
    numbers = dict(n=n, steps=steps, pixel_noise=noise, train_accuracy=accuracy["train"],
                   matched_test_accuracy=accuracy["matched_test"],
                   shifted_test_accuracy=accuracy["swapped_background_test"],
                   accuracy_drop=accuracy["train"] - accuracy["swapped_background_test"],
                   unseen_class_mean_max_probability=float(new_probabilities.max(1).mean()),
                   unseen_class_fraction_confident=float((new_probabilities.max(1) > 0.9).mean()))
    reproduced = (numbers["train_accuracy"] >= 0.95 and numbers["accuracy_drop"] >= 0.3
                  and numbers["unseen_class_mean_max_probability"] >= 0.8)
    because = (f"criterion: train accuracy ≥ 0.95, the background-swapped test loses ≥ 0.3 of it, and the unseen "
               f"class gets a mean max softmax probability ≥ 0.8: train {accuracy['train']:.3f}, matched test "
               f"{accuracy['matched_test']:.3f}, swapped test {accuracy['swapped_background_test']:.3f} (drop "
               f"{numbers['accuracy_drop']:.3f}); diagonals (never seen) get max p = "
               f"{numbers['unseen_class_mean_max_probability']:.3f} on average, "
               f"{numbers['unseen_class_fraction_confident']:.0%} above 0.9. The model keyed on the background.")
    method = (_question("在有监督学习时，比如我们要判断是自行车还是小汽车，它们具有明显的特征区别，人工给予label后，"
                        "机器通过学习不同的特征就可以分别出来，但是宝可梦和数码宝贝也具有明显的这种区别吗？",
                        "Bicycles and cars differ clearly, so a machine can learn them from labels; but do Pokémon and "
                        "Digimon differ that clearly?")
              + f"8×8 images, horizontal bar = class 0, vertical bar = class 1, pixel noise σ = {noise}; in training "
              f"class 1 also has a bright background (+1), an incidental cue. A 64→32→2 ReLU MLP, Adam on "
              f"cross-entropy ({steps} steps, {n} images). Tested on matched backgrounds, on swapped backgrounds "
              "(distribution shift), and on diagonals, a class it never saw.")
    table = [{"test set": k, "accuracy": round(v, 3)} for k, v in accuracy.items()]
    table.append({"test set": "unseen class (diagonal)",
                  "accuracy": f"max p mean {numbers['unseen_class_mean_max_probability']:.3f}"})
    plt = _pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(8, 2.4))
    shown = [(x_train[train_labels == 0][0], "train class 0"), (x_train[train_labels == 1][0], "train class 1"),
             (x_swapped[test_labels == 1][0], "shifted class 1"), (x_new[0], "unseen class")]
    for ax, (image, title) in zip(axes, shown):
        ax.imshow(image.reshape(SIDE, SIDE), cmap="gray", vmin=-1.5, vmax=2.5)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    return Result(method, numbers, reproduced, because, table, [ctx.figure(fig, "examples")])
