"""Lecture 2, part 1: the training guide (model bias, optimization, overfitting, model selection), critical
points, and batch size.  Each experiment measures a claim and computes its verdict from its own numbers."""
import time

import numpy as np

import relulab
from .. import nn, optim
from ..analysis import Budget, Objective, diagnose, eigs
from ..data import KFold, digits
from ..train.loop import evaluate, fit
from ..utils.data import DataLoader, TensorDataset
from .framework import Result, experiment

EXPERIMENTS = []


# ------------------------------------------------------------------------------------------------ helpers
def _tensor(array, dtype=np.float32):
    return relulab.from_numpy(np.ascontiguousarray(array, dtype=dtype))


def _wave(n, rng, noise=0.1):
    """A 1-D regression task, y = sin(2x) + noise on x ∈ [-2, 2]: nonlinear, so a line cannot fit it."""
    x = rng.uniform(-2, 2, (n, 1))
    return x, np.sin(2 * x) + noise * rng.normal(size=x.shape)


def _loader(x, y, batch_size, seed):
    """Shuffled mini-batches with their own seeded generator, so every run is reproducible."""
    data = TensorDataset(_tensor(x), _tensor(y, y.dtype if y.dtype.kind == "i" else np.float32))
    return DataLoader(data, batch_size=batch_size, shuffle=True, generator=relulab.Generator().manual_seed(seed))


def _mlp(widths, activation):
    """Linear layers between consecutive ``widths`` with ``activation`` between them (none after the last)."""
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def _train(model, x, y, budget, seed, loss_fn=None):
    """Train with ``budget`` (optimizer, lr, epochs, batch size); returns the per-epoch history."""
    loader = _loader(x, y, budget.batch_size or len(x), seed)
    state = fit(model, loss_fn or nn.MSELoss(), budget.make_optimizer(model.parameters()), loader, budget.epochs,
                progress=False)
    return state.history


def _loss(model, x, y, loss_fn=None):
    data = [(_tensor(x), _tensor(y, y.dtype if y.dtype.kind == "i" else np.float32))]
    return float(evaluate(model, data, loss_fn or nn.MSELoss())["loss"])


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


# -------------------------------------------------------------------------------------- 1. deeper is worse
@experiment(EXPERIMENTS, "deeper_worse", "A deeper net with a higher training loss: optimization failed",
            "If a deeper net has a higher TRAINING loss than a shallower one (56 vs 20 layers), the deeper net's "
            "optimization failed: it could have copied the shallow net, so the needle was in the haystack.")
def deeper_worse(ctx):
    n, epochs, width, depth = 200, ctx.pick(200, 300), 20, 8
    x, y = _wave(n, ctx.rng())
    # Sigmoid layers without normalization or skip connections: the deep net's gradients vanish layer by layer.
    # (Width 20 keeps the deep net above diagnose's 2,000-parameter limit for the exact Hessian, which is slow.)
    budget = Budget(epochs=epochs, optimizer="Adam", lr=0.01, batch_size=n)
    models, histories, losses = {}, {}, {}
    for name, hidden in (("shallow", [width]), ("deep", [width] * depth)):
        relulab.manual_seed(ctx.seed)
        models[name] = _mlp([1, *hidden, 1], nn.Sigmoid)
        histories[name] = _train(models[name], x, y, budget, ctx.seed)
        losses[name] = _loss(models[name], x, y)
    diagnosis = diagnose(models["deep"], nn.MSELoss(), (_tensor(x), _tensor(y)), history=histories["deep"],
                         budget=budget, seed=ctx.seed, title=f"{depth}-layer sigmoid net")
    deeper_is_worse = losses["deep"] > losses["shallow"]
    reproduced = deeper_is_worse and diagnosis.verdict == "optimization"

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for name, history in histories.items():
        hidden = len(models[name]) // 2
        ax.plot([r["train_loss"] for r in history], label=f"{name} ({hidden} hidden layer{'s' * (hidden > 1)})")
    ax.set_xlabel("epoch (full batch)")
    ax.set_ylabel("training MSE")
    ax.set_yscale("log")
    ax.set_title("same data, same budget: the deep net trains worse")
    ax.legend()
    fig.tight_layout()
    return Result(
        method=(f"1→{width}→1 vs 1→({width}×{depth})→1 sigmoid nets on y = sin(2x) + noise ({n} points), "
                f"{budget.describe()}, same initial seed; then relulab.analysis.diagnose on the deep net."),
        numbers={"shallow_train_loss": losses["shallow"], "deep_train_loss": losses["deep"],
                 "target_variance": float(y.var()), "deep_verdict": diagnosis.verdict,
                 "diagnose_shallow_reference_loss": float(diagnosis.evidence.get("shallow_reference_loss", np.nan))},
        reproduced=reproduced,
        because=(f"deep training loss {losses['deep']:.4g} {'>' if deeper_is_worse else '<='} shallow "
                 f"{losses['shallow']:.4g}, and diagnose says {diagnosis.verdict!r} (needs 'optimization'): "
                 f"{diagnosis.reason}"),
        table=[{"model": name, "hidden layers": len(models[name]) // 2, "train loss": losses[name]}
               for name in models],
        figures=[ctx.figure(fig, "curves")])


# ---------------------------------------------------------------------------------------------- 2. model bias
@experiment(EXPERIMENTS, "model_bias", "Model bias: a model too small for the data",
            "A model too simple for the data keeps a large training loss whatever the optimizer does (the needle "
            "is not in the haystack); more capacity lowers it.")
def model_bias(ctx):
    n, epochs = 200, ctx.pick(200, 400)
    x, y = _wave(n, ctx.rng())
    budget = Budget(epochs=epochs, optimizer="Adam", lr=0.02, batch_size=n)
    builders = {"linear": lambda: _mlp([1, 1], nn.Tanh), "1 hidden layer (32 tanh)": lambda: _mlp([1, 32, 1], nn.Tanh)}
    models, losses, histories = {}, {}, {}
    for name, build in builders.items():
        relulab.manual_seed(ctx.seed)
        models[name] = model = build()
        histories[name] = _train(model, x, y, budget, ctx.seed)
        losses[name] = _loss(model, x, y)
    linear, bigger = losses["linear"], losses["1 hidden layer (32 tanh)"]
    diagnosis = diagnose(models["linear"], nn.MSELoss(), (_tensor(x), _tensor(y)), history=histories["linear"],
                         budget=budget, seed=ctx.seed, title="linear model")
    much_lower = bigger < 0.25 * linear  # "a lot": at least 4× lower
    reproduced = diagnosis.verdict == "model bias" and much_lower

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    grid = np.linspace(-2, 2, 200)[:, None]
    ax.scatter(x[:, 0], y[:, 0], s=6, color="gray", label="data")
    for name, model in models.items():
        with relulab.no_grad():
            ax.plot(grid[:, 0], model(_tensor(grid)).numpy()[:, 0], label=f"{name}: loss {losses[name]:.3g}")
    ax.set_title("the line cannot bend: model bias")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return Result(
        method=f"A linear model and a 1→32→1 tanh net on y = sin(2x) + noise ({n} points), {budget.describe()}; "
               "relulab.analysis.diagnose on the linear model.",
        numbers={"linear_train_loss": linear, "bigger_train_loss": bigger, "target_variance": float(y.var()),
                 "linear_relative_loss": float(diagnosis.evidence["relative_train_loss"]),
                 "linear_verdict": diagnosis.verdict, "loss_ratio_bigger_over_linear": bigger / linear},
        reproduced=reproduced,
        because=(f"diagnose on the linear model says {diagnosis.verdict!r} (needs 'model bias'; its loss is "
                 f"{diagnosis.evidence['relative_train_loss']:.0%} of the target variance), and the bigger model's "
                 f"loss {bigger:.4g} is {bigger / linear:.3f} × the linear model's {linear:.4g} (needs < 0.25)."),
        table=[{"model": name, "train loss": loss} for name, loss in losses.items()],
        figures=[ctx.figure(fig, "fits")])


# ---------------------------------------------------------------------------------------------- 3. overfitting
@experiment(EXPERIMENTS, "overfitting", "Overfitting grows as the training set shrinks",
            "A flexible model fits a small training set (low training loss) but not new data: the gap between test "
            "and training loss grows as the training set shrinks, and more data is the first remedy.")
def overfitting(ctx):
    sizes, updates, noise = [400, 100, 25], ctx.pick(400, 1000), 0.3
    rng = ctx.rng()
    x_test, y_test = _wave(2000, rng, noise)
    rows, fits = [], {}
    for n in sizes:
        x, y = _wave(n, rng, noise)
        relulab.manual_seed(ctx.seed)  # the same initial weights for every size
        model = _mlp([1, 64, 64, 1], nn.ReLU)
        _train(model, x, y, Budget(epochs=updates, optimizer="Adam", lr=0.01, batch_size=n), ctx.seed)
        train, test = _loss(model, x, y), _loss(model, x_test, y_test)
        rows.append({"n": n, "train loss": train, "test loss": test, "gap": test - train})
        fits[n] = (x, y, model)
    gaps = [r["gap"] for r in rows]  # in order of shrinking n
    monotone = all(b > a for a, b in zip(gaps, gaps[1:]))
    smallest_worst = gaps[-1] == max(gaps)
    reproduced = monotone or smallest_worst

    plt = _plt()
    fig, axes = plt.subplots(1, len(sizes), figsize=(11, 3.2), sharey=True)
    grid = np.linspace(-2, 2, 300)[:, None]
    for ax, n in zip(axes, sizes):
        x, y, model = fits[n]
        with relulab.no_grad():
            ax.plot(grid[:, 0], model(_tensor(grid)).numpy()[:, 0], color="tab:red", label="model")
        ax.plot(grid[:, 0], np.sin(2 * grid[:, 0]), color="k", linestyle=":", label="sin(2x)")
        ax.scatter(x[:, 0], y[:, 0], s=6, color="gray")
        ax.set_title(f"n = {n}")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    gap_text = ", ".join(f"n={r['n']}: {r['gap']:.3f}" for r in rows)
    trend = "they grow at every step as n shrinks" if monotone else "not monotone"
    return Result(
        method=(f"A 1→64→64→1 ReLU net, same initial weights, Adam(lr=0.01) for {updates} full-batch updates on "
                f"n = {sizes} samples of sin(2x) + N(0, {noise}²); test loss on 2000 fresh samples."),
        numbers={**{f"gap_n{r['n']}": r["gap"] for r in rows}, **{f"train_loss_n{r['n']}": r["train loss"]
                                                                   for r in rows},
                 "noise_variance": noise ** 2, "gap_monotone": monotone},
        reproduced=reproduced,
        because=(f"test − train gaps {gap_text}: {trend}"
                 f"; the smallest n {'has' if smallest_worst else 'does not have'} the largest gap "
                 "(needs monotone growth or the largest gap at the smallest n)."),
        table=rows, figures=[ctx.figure(fig, "fits")])


# ---------------------------------------------------------------------------------------------- 4. k-fold CV
def _features(x, degree):
    # Legendre polynomials on [-1, 1] are well conditioned where raw powers x^k are not.
    return np.polynomial.legendre.legvander(x, degree)


def _poly_fit(x, y, degree):
    return np.linalg.lstsq(_features(x, degree), y, rcond=None)[0]


def _poly_mse(coef, x, y):
    return float(np.mean((_features(x, len(coef) - 1) @ coef - y) ** 2))


def _validation_errors(x, y, train, valid, degrees):
    return np.array([_poly_mse(_poly_fit(x[train], y[train], d), x[valid], y[valid]) for d in degrees])


@experiment(EXPERIMENTS, "kfold", "k-fold cross-validation picks models more reliably than one split",
            "Choosing a model by one validation split is noisy; k-fold cross-validation averages over k splits and "
            "picks a model that does at least as well on new data.")
def kfold(ctx):
    trials, n, k, noise = ctx.pick(3, 10), 30, 5, 0.3
    degrees = list(range(1, 13))
    def truth(x): return np.sin(3 * x)  # noqa: E704 - the task's true function
    rows, cv_errors, split_errors, worse = [], [], [], 0
    for trial in range(trials):
        rng = ctx.rng(trial)
        x = rng.uniform(-1, 1, n)
        y = truth(x) + noise * rng.normal(size=n)
        x_test = rng.uniform(-1, 1, 5000)
        y_test = truth(x_test) + noise * rng.normal(size=x_test.size)
        folds = list(KFold(k, shuffle=True, seed=ctx.seed + trial).split(n))
        cv_mean = np.mean([_validation_errors(x, y, tr, va, degrees) for tr, va in folds], axis=0)
        cv_degree = degrees[int(np.argmin(cv_mean))]
        cv_test = _poly_mse(_poly_fit(x, y, cv_degree), x_test, y_test)  # refit the choice on all the data
        cv_errors.append(cv_test)
        # Each fold on its own is "one split": every one of them is a choice someone could have made.
        for fold, (tr, va) in enumerate(folds):
            split_degree = degrees[int(np.argmin(_validation_errors(x, y, tr, va, degrees)))]
            split_test = _poly_mse(_poly_fit(x, y, split_degree), x_test, y_test)
            split_errors.append(split_test)
            worse += split_test > cv_test
            rows.append({"trial": trial, "split": fold, "cv degree": cv_degree, "split degree": split_degree,
                         "cv test mse": cv_test, "split test mse": split_test})
    cv_mean_error, split_mean_error = float(np.mean(cv_errors)), float(np.mean(split_errors))
    share_worse = worse / len(split_errors)
    reproduced = cv_mean_error <= split_mean_error

    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.hist([r["split degree"] for r in rows], bins=np.arange(0.5, 13.5), alpha=0.6, label="one split's choice")
    ax.hist([r["cv degree"] for r in rows[::k]], bins=np.arange(0.5, 13.5), alpha=0.6, label=f"{k}-fold CV's choice")
    ax.set_xlabel("polynomial degree chosen")
    ax.set_ylabel("count")
    ax.legend()
    fig.tight_layout()
    return Result(
        method=(f"{trials} data sets of {n} noisy samples of sin(3x); polynomial degrees 1–12 (least squares). "
                f"{k}-fold CV picks the degree with the lowest mean validation MSE; each of the {k} folds alone is a "
                "one-split choice. Each choice is refit on all n and scored on 5000 fresh samples."),
        numbers={"cv_mean_test_mse": cv_mean_error, "one_split_mean_test_mse": split_mean_error,
                 "cv_median_test_mse": float(np.median(cv_errors)),
                 "one_split_median_test_mse": float(np.median(split_errors)),
                 "share_one_split_worse": share_worse, "comparisons": len(split_errors),
                 "noise_variance": noise ** 2},
        reproduced=reproduced,
        because=(f"mean fresh-test MSE of CV's choice {cv_mean_error:.4g} vs one split's {split_mean_error:.4g} "
                 f"(needs CV ≤ one split; medians {np.median(cv_errors):.4g} vs {np.median(split_errors):.4g}, "
                 "as a few "
                 f"one-split picks of a high degree explode on new data); one split picked a worse model in {worse} "
                 f"of {len(split_errors)} cases."),
        table=rows, figures=[ctx.figure(fig, "degrees")])


# ------------------------------------------------------------------------------------------- 7. batch time
def _seconds_per_update(model, loader, updates):
    """Fastest wall time of one update (draw a batch, forward, backward, step) after a warm-up: the minimum, as
    timeit advises, since other processes only ever add time."""
    opt, loss_fn = optim.SGD(model.parameters(), lr=0.01), nn.CrossEntropyLoss()
    times, batches = [], iter(loader)
    for i in range(updates + 3):
        started = time.perf_counter()
        try:
            inputs, targets = next(batches)
        except StopIteration:
            batches = iter(loader)
            inputs, targets = next(batches)
        loss = loss_fn(model(inputs), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 3:  # the first updates pay for allocations and caches
            times.append(time.perf_counter() - started)
    return float(np.min(times))


@experiment(EXPERIMENTS, "batch_time", "A larger batch costs little more per update and far less per epoch",
            "With parallel (vectorized) computation, one update on a batch of 1000 takes little longer than on a "
            "batch of 1, so an epoch with large batches is much faster.")
def batch_time(ctx):
    n, sizes, updates = ctx.pick(2000, 5000), [1, 10, 100, 1000], ctx.pick(20, 60)
    rng = ctx.rng()
    x, y = rng.normal(size=(n, 64)), rng.integers(0, 10, n).astype(np.int64)
    rows = []
    for size in sizes:
        relulab.manual_seed(ctx.seed)
        model = _mlp([64, 128, 128, 10], nn.ReLU)
        per_update = _seconds_per_update(model, _loader(x, y, size, ctx.seed), updates)
        updates_per_epoch = -(-n // size)
        rows.append({"batch": size, "seconds per update": per_update, "updates per epoch": updates_per_epoch,
                     "seconds per epoch": per_update * updates_per_epoch})
    first, last = rows[0], rows[-1]
    update_ratio = last["seconds per update"] / first["seconds per update"]
    epoch_speedup = first["seconds per epoch"] / last["seconds per epoch"]
    reproduced = update_ratio < 10 and epoch_speedup > 5

    plt = _plt()
    fig, (per_update_ax, per_epoch_ax) = plt.subplots(1, 2, figsize=(10, 3.6))
    per_update_ax.plot(sizes, [r["seconds per update"] * 1e3 for r in rows], marker="o")
    per_update_ax.set_ylabel("ms per update")
    per_epoch_ax.plot(sizes, [r["seconds per epoch"] for r in rows], marker="o", color="tab:orange")
    per_epoch_ax.set_ylabel("seconds per epoch")
    for ax in (per_update_ax, per_epoch_ax):
        ax.set_xscale("log")
        ax.set_xlabel("batch size")
    fig.suptitle(f"64→128→128→10 MLP, {n} samples (measured; varies run to run)")
    fig.tight_layout()
    return Result(
        method=(f"A 64→128→128→10 ReLU MLP, SGD, cross-entropy, {n} samples. Seconds per update = the fastest of "
                f"{updates} updates (batch drawn from a shuffled DataLoader, forward, backward, step); seconds per "
                "epoch = that × updates per epoch. Times are measured, so they vary from run to run."),
        numbers={**{f"seconds_per_update_b{r['batch']}": r["seconds per update"] for r in rows},
                 **{f"seconds_per_epoch_b{r['batch']}": r["seconds per epoch"] for r in rows},
                 "update_time_ratio_b1000_over_b1": update_ratio, "epoch_speedup_b1_over_b1000": epoch_speedup},
        reproduced=reproduced,
        because=(f"an update on batch 1000 takes {update_ratio:.2f}× as long as on batch 1 (needs < 10×, for "
                 f"1000× the samples), and an epoch is {epoch_speedup:.0f}× faster (needs > 5×)."),
        table=rows, figures=[ctx.figure(fig, "time")])


# ------------------------------------------------------------------------------- 8. batch size and generalization
def _sharpness(model, x, y):
    """λmax of the Hessian of the full training loss (Lanczos on Hessian-vector products)."""
    top, _, _, _ = eigs(model, nn.CrossEntropyLoss(), (_tensor(x), _tensor(y, np.int64)), k=1, tol=1e-4)
    return float(top[0])


@experiment(EXPERIMENTS, "batch_generalization", "Small batches train and generalize better than large ones",
            "With everything else fixed, a small batch's noisy updates optimize better and reach flatter minima "
            "that generalize better (Keskar et al. 2017): higher test accuracy than a large batch.")
def batch_generalization(ctx):
    seeds, epochs, lr, momentum, small, large = ctx.pick(2, 4), ctx.pick(20, 30), 0.1, 0.9, 16, 512
    train, test = digits("train"), digits("test")
    x, y, x_test, y_test = train.features, train.targets, test.features, test.targets
    loss_fn, rows = nn.CrossEntropyLoss(), []
    for s in range(seeds):
        for batch in (small, large):
            relulab.manual_seed(ctx.seed + s)  # the same initial weights for both batch sizes
            model = _mlp([64, 32, 10], nn.ReLU)
            _train(model, x, y, Budget(epochs=epochs, optimizer="SGD", lr=lr, batch_size=batch,
                                                options={"momentum": momentum}), ctx.seed + s,
                   loss_fn)
            fit_train = evaluate(model, [(_tensor(x), _tensor(y, np.int64))], loss_fn)
            fit_test = evaluate(model, [(_tensor(x_test), _tensor(y_test, np.int64))], loss_fn)
            rows.append({"seed": s, "batch": batch, "train accuracy": fit_train["accuracy"],
                         "test accuracy": fit_test["accuracy"], "train loss": fit_train["loss"],
                         "lambda max": _sharpness(model, x, y)})

    def stats(batch, key):
        values = np.array([r[key] for r in rows if r["batch"] == batch])
        return float(values.mean()), float(values.std())
    numbers = {}
    for batch, name in ((small, "small"), (large, "large")):
        for key in ("train accuracy", "test accuracy", "train loss", "lambda max"):
            mean, spread = stats(batch, key)
            numbers[f"{name}_{key.replace(' ', '_')}_mean"] = mean
            numbers[f"{name}_{key.replace(' ', '_')}_std"] = spread
    small_better = numbers["small_test_accuracy_mean"] > numbers["large_test_accuracy_mean"]
    small_flatter = numbers["small_lambda_max_mean"] < numbers["large_lambda_max_mean"]
    numbers["small_batch_flatter"] = small_flatter

    plt = _plt()
    fig, (acc, sharp) = plt.subplots(1, 2, figsize=(10, 3.6))
    for batch, color in ((small, "tab:blue"), (large, "tab:orange")):
        mine = [r for r in rows if r["batch"] == batch]
        acc.scatter([r["train accuracy"] for r in mine], [r["test accuracy"] for r in mine], color=color,
                    label=f"batch {batch}")
        sharp.scatter([r["train loss"] for r in mine], [r["lambda max"] for r in mine], color=color,
                      label=f"batch {batch}")
    acc.set_xlabel("training accuracy")
    acc.set_ylabel("test accuracy")
    sharp.set_xlabel("training loss")
    sharp.set_ylabel("λmax of the Hessian")
    acc.legend()
    fig.tight_layout()
    s_mean, s_std = numbers["small_test_accuracy_mean"], numbers["small_test_accuracy_std"]
    l_mean, l_std = numbers["large_test_accuracy_mean"], numbers["large_test_accuracy_std"]
    return Result(
        method=(f"Digits (1437 train / 360 test), a 64→32→10 ReLU MLP, SGD(lr={lr}, momentum={momentum}), "
                f"cross-entropy, the SAME number "
                f"of epochs ({epochs}) for batch {small} and batch {large} (so the small batch makes "
                f"{-(-len(y) // small) // -(-len(y) // large)}× more updates), {seeds} seeds (same initial weights "
                "for both batch sizes per seed). Sharpness = λmax of the training-loss Hessian (Lanczos); note "
                "that a cross-entropy Hessian also shrinks as the training loss goes to 0, so λmax is read next to "
                "the training loss."),
        numbers=numbers,
        reproduced=small_better,
        because=(f"test accuracy batch {small}: {s_mean:.3f} ± {s_std:.3f}, "
                 f"batch {large}: {l_mean:.3f} ± {l_std:.3f} "
                 f"(needs small > large); λmax is {'smaller' if small_flatter else 'not smaller'} for the small "
                 f"batch ({numbers['small_lambda_max_mean']:.3g} vs {numbers['large_lambda_max_mean']:.3g}), with "
                 f"training losses {numbers['small_train_loss_mean']:.3g} vs {numbers['large_train_loss_mean']:.3g}."),
        table=rows, figures=[ctx.figure(fig, "accuracy")])
