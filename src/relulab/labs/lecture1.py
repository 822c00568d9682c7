"""Lecture 1, "what is machine learning": the view-count story (more days, more units, more layers), the error
surface L(b, w) with gradient descent on it, the red curve as a constant plus sigmoids, the hard sigmoid as two
ReLUs, and sigmoid vs ReLU networks.

Every model of the view-count task is trained the same way so that only the model changes: inputs and targets
standardized with the training years' statistics, full-batch Adam on the lecture's loss, the MAE (L1), for a fixed
budget of steps, and the loss reported as the mean absolute error in thousands of views, on the training years and
on the held-out last year.  Why L1 and a short budget: the series has heavy-tailed bursts; an MSE-trained net
chases them and its test loss balloons far beyond any linear model's (measured: test MAE 0.8–1.0k vs 0.37k).
"""
import numpy as np

import relulab
from relulab import nn, optim
from relulab.analysis.surface import linear_surface, plot_contour
from relulab.data.curves import RED_CURVE_KNOTS, red_curve
from relulab.data.views import daily_views, window

from .framework import Result, experiment

EXPERIMENTS = []

VIEW_YEARS = 4          # three training years, the fourth held out as the test year (as in the lecture)
HISTORY_DAYS = 56       # the lecture's nonlinear models all look at the previous 56 days
LEARNING_RATE = 1e-3
LINEAR_LEARNING_RATE = 1e-2   # a linear model has one optimum and little to overfit: train it to convergence
LINEAR_STEPS = 600
HIDDEN = 100            # units per layer of the deep ReLU nets


# ============================================================================================ view-count models
def _settings(ctx):
    """(training steps of the nets, seeds, unit cap): --quick trains shorter, once, and with smaller layers."""
    return ctx.pick(100, 200), ctx.pick(1, 2), ctx.pick(200, 1000)


def _view_data(ctx, days):
    """Standardized (x_train, y_train, x_test, y_test) tensors and the target scale (thousands per unit)."""
    series = daily_views(seed=ctx.seed % 1000, years=VIEW_YEARS)
    train, test = window(series, days)
    # Why training statistics only: the test year must stay unseen, its level included.
    x_mean, x_std = train.features.mean(), train.features.std()
    y_mean, y_std = train.targets.mean(), train.targets.std()

    def prepare(split):
        return (relulab.tensor((split.features - x_mean) / x_std),
                relulab.tensor((split.targets - y_mean) / y_std))

    return (*prepare(train), *prepare(test)), float(y_std)


def _mlp(inputs, widths, activation):
    """inputs → [Linear → activation] per hidden width → Linear → 1 output."""
    layers, size = [], inputs
    for width in widths:
        layers += [nn.Linear(size, width), activation()]
        size = width
    layers.append(nn.Linear(size, 1))
    return nn.Sequential(*layers)


def _train_and_score(model, data, y_scale, steps, lr):
    """Full-batch Adam on the L1 loss; returns (train MAE, test MAE) in thousands of views."""
    x_train, y_train, x_test, y_test = data
    optimizer = optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.L1Loss()
    for _ in range(steps):
        loss = loss_fn(model(x_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with relulab.no_grad():
        def mae(x, y):
            return float(np.abs(model(x).numpy() - y.numpy()).mean()) * y_scale
        return mae(x_train, y_train), mae(x_test, y_test)


def _views_table(ctx, models):
    """Train every (name, days, widths, activation) model for each seed; rows with mean train/test MAE."""
    steps, seeds, _ = _settings(ctx)
    data_by_days = {}
    rows = []
    for name, days, widths, activation in models:
        if days not in data_by_days:
            data_by_days[days] = _view_data(ctx, days)
        data, y_scale = data_by_days[days]
        scores = []
        for s in range(seeds):
            relulab.manual_seed(ctx.seed + s)  # the same initial draws for every model of one seed
            budget = (steps, LEARNING_RATE) if widths else (LINEAR_STEPS, LINEAR_LEARNING_RATE)
            scores.append(_train_and_score(_mlp(days, widths, activation), data, y_scale, *budget))
        train, test = np.mean(scores, axis=0)
        params = sum(p.numel() for p in _mlp(days, widths, activation).parameters())
        rows.append({"model": name, "days": days, "parameters": int(params),
                     "train MAE (k)": round(float(train), 4), "test MAE (k)": round(float(test), 4)})
    return rows


def _method(ctx):
    steps, seeds, cap = _settings(ctx)
    return (f"daily_views ({VIEW_YEARS} synthetic years; the last held out as test). Inputs and targets "
            f"standardized with training statistics; full-batch Adam on the L1 loss: nets lr {LEARNING_RATE} for "
            f"{steps} steps, linear models lr {LINEAR_LEARNING_RATE} for {LINEAR_STEPS} steps; loss = MAE in "
            f"thousands of views, averaged over {seeds} seed(s); widths capped at {cap}.")


def _loss_figure(ctx, rows, name, title):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    labels = [r["model"] for r in rows]
    at = np.arange(len(rows))
    ax.bar(at - 0.2, [r["train MAE (k)"] for r in rows], 0.4, label="train (years 1–3)")
    ax.bar(at + 0.2, [r["test MAE (k)"] for r in rows], 0.4, label="test (year 4)")
    ax.set_xticks(at, labels, rotation=20, fontsize=8)
    ax.set_ylabel("MAE (thousands of views)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return ctx.figure(fig, name)


def _numbers(rows):
    """{model: train} and {model: test} keyed by the row names."""
    return ({r["model"]: r["train MAE (k)"] for r in rows}, {r["model"]: r["test MAE (k)"] for r in rows})


@experiment(EXPERIMENTS, "views_days", "More days of history (linear models)",
            "A linear model on more previous days fits better: training loss falls from 1 to 28 days, and 28 or 56 "
            "days also predict the unseen year better than 1 day, but the gain stops (56 ≈ 28).")
def views_days(ctx):
    rows = _views_table(ctx, [(f"linear {d}d", d, (), None) for d in (1, 7, 28, 56)])
    train, test = _numbers(rows)
    train_falls = train["linear 1d"] > train["linear 7d"] > train["linear 28d"]
    test_better = max(test["linear 28d"], test["linear 56d"]) <= test["linear 1d"]
    return Result(
        method=_method(ctx), numbers={"train": train, "test": test}, reproduced=train_falls and test_better,
        because=(f"train MAE 1d {train['linear 1d']:.3f} > 7d {train['linear 7d']:.3f} > 28d "
                 f"{train['linear 28d']:.3f}: {train_falls}; test MAE 28d {test['linear 28d']:.3f} and 56d "
                 f"{test['linear 56d']:.3f} ≤ 1d {test['linear 1d']:.3f}: {test_better}. Diminishing returns: test "
                 f"change 1d→28d {test['linear 28d'] - test['linear 1d']:+.3f}, 28d→56d "
                 f"{test['linear 56d'] - test['linear 28d']:+.3f}"),
        table=rows, figures=[_loss_figure(ctx, rows, "losses", "linear models: days of history")])


@experiment(EXPERIMENTS, "views_capacity", "More units (sigmoid and ReLU, one hidden layer)",
            "A sum of more sigmoids (or ReLUs) is a more flexible model: more units give a lower training loss.")
def views_capacity(ctx):
    cap = _settings(ctx)[2]
    sigmoid_units = [min(u, cap) for u in (3, 10, 100, 1000)]
    relu_units = [min(u, cap) for u in (100, 1000)]
    rows = _views_table(ctx, [(f"sigmoid {u}", HISTORY_DAYS, (u,), nn.Sigmoid) for u in sigmoid_units]
                        + [(f"ReLU {u}", HISTORY_DAYS, (u,), nn.ReLU) for u in relu_units])
    train, test = _numbers(rows)
    sigmoid_train = [train[f"sigmoid {u}"] for u in sigmoid_units]
    relu_train = [train[f"ReLU {u}"] for u in relu_units]
    # Criterion: training loss never rises as units are added, and the largest model beats the smallest.
    sigmoid_ok = all(b <= a for a, b in zip(sigmoid_train, sigmoid_train[1:])) and sigmoid_train[-1] < sigmoid_train[0]
    relu_ok = relu_train[-1] < relu_train[0]
    return Result(
        method=_method(ctx) + f" One hidden layer on the previous {HISTORY_DAYS} days.",
        numbers={"train": train, "test": test, "sigmoid_units": sigmoid_units, "relu_units": relu_units},
        reproduced=sigmoid_ok and relu_ok,
        because=(f"sigmoid train MAE over {sigmoid_units} units: {[round(v, 3) for v in sigmoid_train]} "
                 f"(non-increasing and last < first: {sigmoid_ok}); ReLU {relu_units}: "
                 f"{[round(v, 3) for v in relu_train]} (falls: {relu_ok})"),
        table=rows, figures=[_loss_figure(ctx, rows, "losses", "one hidden layer: number of units")])


@experiment(EXPERIMENTS, "views_depth", "More layers (ReLU nets)",
            "Stacking ReLU layers lowers the training loss, but more is not always better: the deepest net "
            "overfits, so it is not the best on the unseen year.")
def views_depth(ctx):
    depths = (1, 2, 3, 4)
    rows = _views_table(ctx, [(f"{d} layer{'s' * (d > 1)}", HISTORY_DAYS, (HIDDEN,) * d, nn.ReLU) for d in depths])
    train, test = _numbers(rows)
    names = [r["model"] for r in rows]
    deeper_fits_better = min(train[n] for n in names[1:]) < train[names[0]]
    best_on_test = min(names, key=lambda n: test[n])
    deepest_not_best = best_on_test != names[-1]
    return Result(
        method=_method(ctx) + f" {HIDDEN} ReLU units per layer on the previous {HISTORY_DAYS} days.",
        numbers={"train": train, "test": test, "best_on_test": best_on_test},
        reproduced=deeper_fits_better and deepest_not_best,
        because=(f"train MAE by depth {[train[n] for n in names]} (some deeper net below 1 layer: "
                 f"{deeper_fits_better}); test MAE {[test[n] for n in names]}, best on test: {best_on_test} "
                 f"(the deepest is not the best: {deepest_not_best}). Deeper nets with a lower test MAE than 1 layer "
                 f"(the lecture had 2 and 3): {[n for n in names[1:] if test[n] < test[names[0]]] or 'none'}"),
        table=rows, figures=[_loss_figure(ctx, rows, "losses", f"ReLU nets of {HIDDEN} units per layer")])


@experiment(EXPERIMENTS, "sigmoid_vs_relu", "Sigmoid vs ReLU at equal parameter count",
            "Swapping sigmoids for ReLUs (same layers, so the same number of parameters) fits the view counts at "
            "least as well; the lecture's deeper nets use ReLU.")
def sigmoid_vs_relu(ctx):
    depths = (1, 2)
    models = []
    for d in depths:
        for name, activation in (("sigmoid", nn.Sigmoid), ("ReLU", nn.ReLU)):
            models.append((f"{name} {d}×{HIDDEN}", HISTORY_DAYS, (HIDDEN,) * d, activation))
    rows = _views_table(ctx, models)
    train, test = _numbers(rows)
    pairs = {d: (train[f"sigmoid {d}×{HIDDEN}"], train[f"ReLU {d}×{HIDDEN}"]) for d in depths}
    relu_as_good = all(relu <= sigmoid for sigmoid, relu in pairs.values())
    return Result(
        method=_method(ctx) + " Each pair has identical layer sizes, hence identical parameter counts.",
        numbers={"train": train, "test": test},
        reproduced=relu_as_good,
        because="; ".join(f"{d} layer(s): sigmoid train {s:.3f} vs ReLU {r:.3f}" for d, (s, r) in pairs.items())
        + f" — ReLU at least as low at every depth: {relu_as_good}",
        table=rows, figures=[_loss_figure(ctx, rows, "losses", "sigmoid vs ReLU, same parameter count")])


# ============================================================================================== error surface
START = (-2.0, 1.2)               # (b, w) where every gradient-descent run starts
W_RANGE, B_RANGE = (-0.6, 2.0), (-3.0, 4.0)
LR_FACTORS = {"too small": 0.02, "good": 1.8, "too large": 2.1}  # × 1/λ_max of the MSE's Hessian


def _descend(x, y, lr, steps):
    """Plain gradient descent on the MSE of y = b + w·x with relulab autograd; the (w, b) path."""
    b = relulab.tensor(START[0], requires_grad=True)
    w = relulab.tensor(START[1], requires_grad=True)
    optimizer = optim.SGD([b, w], lr=lr)
    path = [(START[1], START[0])]
    for _ in range(steps):
        loss = ((b + w * x - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        path.append((w.item(), b.item()))
        if not np.isfinite(path[-1]).all() or abs(path[-1][0]) > 1e6:
            break  # diverged: nothing more to learn from it
    return np.array(path)


@experiment(EXPERIMENTS, "error_surface", "The error surface L(b, w) and the learning rate",
            "Gradient descent on L(b, w) of the 1-day linear model: a too small learning rate barely moves, a "
            "good one reaches the minimum, a too large one diverges.")
def error_surface(ctx):
    series = daily_views(seed=ctx.seed % 1000, years=VIEW_YEARS)
    train, _ = window(series, 1)
    x, y = train.features[:, 0].astype(np.float64), train.targets[:, 0].astype(np.float64)
    steps = 400  # cheap either way; the good rate needs ~κ/2 steps along the flat valley
    # The stable learning rates of GD on a quadratic are below 2/λ_max of its Hessian 2·[[1, x̄], [x̄, mean x²]].
    hessian = 2 * np.array([[1.0, x.mean()], [x.mean(), (x * x).mean()]])
    lam_min, lam_max = np.linalg.eigvalsh(hessian)
    b_opt, w_opt = np.linalg.lstsq(np.c_[np.ones_like(x), x], y, rcond=None)[0]

    def mse(w, b):
        return float(((b + w * x - y) ** 2).mean()) if np.isfinite([w, b]).all() else float("inf")

    start_loss, min_loss = mse(START[1], START[0]), mse(w_opt, b_opt)
    start_dist = float(np.hypot(START[1] - w_opt, START[0] - b_opt))
    xt, yt = relulab.tensor(x), relulab.tensor(y)
    paths, table, runs = {}, [], {}
    for label, factor in LR_FACTORS.items():
        lr = factor / lam_max
        path = _descend(xt, yt, lr, steps)
        w_end, b_end = path[-1]
        final = mse(w_end, b_end)
        dist = float(np.hypot(w_end - w_opt, b_end - b_opt)) if np.isfinite(final) else float("inf")
        runs[label] = {"lr": lr, "final_loss": final, "distance_to_min": dist, "steps": len(path) - 1}
        table.append({"learning rate": f"{label} ({lr:.4g})", "steps": len(path) - 1, "final loss": f"{final:.4g}",
                      "distance to minimum": f"{dist:.4g}"})
        inside = np.all((path[:, 0] >= W_RANGE[0]) & (path[:, 0] <= W_RANGE[1])
                        & (path[:, 1] >= B_RANGE[0]) & (path[:, 1] <= B_RANGE[1]), axis=0)
        first_out = len(path) if inside.all() else int(np.argmin(inside)) + 1  # draw up to leaving the frame
        paths[f"{label}: lr={lr:.3g}"] = path[:first_out]

    surface = linear_surface(x, y, B_RANGE, W_RANGE, steps=ctx.pick(61, 121), loss="mse")
    fig = plot_contour(surface, paths, log=True, title="L(b, w), MSE of the 1-day linear model")
    fig.axes[0].set_xlim(*W_RANGE)
    fig.axes[0].set_ylim(*B_RANGE)
    figure = ctx.figure(fig, "contour")

    small, good, large = runs["too small"], runs["good"], runs["too large"]
    # Criteria: small still has > half its way to go; good ends within 5% of the start's distance and its loss
    # within 1% of the start's excess; large ends with a higher loss than it started (or overflows).
    small_ok = small["distance_to_min"] > 0.5 * start_dist
    good_ok = (good["distance_to_min"] < 0.05 * start_dist
               and good["final_loss"] - min_loss < 0.01 * (start_loss - min_loss))
    large_ok = not np.isfinite(large["final_loss"]) or large["final_loss"] > start_loss
    return Result(
        method=(f"1-day linear model y = b + w·x on the training years of daily_views (raw thousands). L(b, w) = "
                f"MSE on a grid; plain GD (relulab SGD, full batch) from (b, w) = {START} for up to {steps} steps at "
                f"learning rates {', '.join(f'{k} = {v}/λ_max' for k, v in LR_FACTORS.items())}, with λ_max "
                f"{lam_max:.4g} (λ_min {lam_min:.3g}) of the loss's Hessian."),
        numbers={"runs": runs, "start_loss": start_loss, "min_loss": min_loss, "start_distance": start_dist,
                 "minimum": {"b": float(b_opt), "w": float(w_opt)}, "lambda_max": float(lam_max)},
        reproduced=small_ok and good_ok and large_ok,
        because=(f"start loss {start_loss:.4g}, minimum {min_loss:.4g} at distance {start_dist:.3g}; too small: "
                 f"distance left {small['distance_to_min']:.3g} > half ({small_ok}); good: distance "
                 f"{good['distance_to_min']:.3g} < 5% and loss {good['final_loss']:.4g} within 1% of the excess "
                 f"({good_ok}); too large: final loss {large['final_loss']:.4g} > start ({large_ok})"),
        table=table, figures=[figure])


# ================================================================================================= red curve
FIT_THRESHOLD = 1e-3   # MSE on a curve spanning 0.2–0.9: an RMS error of ~0.03


@experiment(EXPERIMENTS, "red_curve", "The red curve = a constant + a sum of sigmoids",
            "A piecewise-linear curve is a constant plus one sigmoid per sloped segment: "
            "y = b + Σ c_i sigmoid(b_i + w_i x) fits it closely.")
def red_curve_fit(ctx):
    x, y = red_curve(n=200)
    knots = np.asarray(RED_CURVE_KNOTS)
    segments = [(x0, x1, y1 - y0) for (x0, y0), (x1, y1) in zip(knots, knots[1:]) if y1 != y0]
    relulab.manual_seed(ctx.seed)
    model = _mlp(1, (len(segments),), nn.Sigmoid)
    hidden, output = model[0], model[2]
    # Why this start: the lecture's construction, one sigmoid per segment, centred on it and as steep as the
    # segment is short, with height c_i = the segment's rise; training then sharpens the corners.
    with relulab.no_grad():
        centres = np.array([(x0 + x1) / 2 for x0, x1, _ in segments])
        steepness = np.array([8.0 / (x1 - x0) for x0, x1, _ in segments])
        hidden.weight.copy_(relulab.tensor(steepness[:, None], dtype=hidden.weight.dtype))
        hidden.bias.copy_(relulab.tensor(-steepness * centres, dtype=hidden.bias.dtype))
        output.weight.copy_(relulab.tensor(np.array([[rise for *_, rise in segments]]), dtype=output.weight.dtype))
        output.bias.copy_(relulab.tensor([knots[0, 1]], dtype=output.bias.dtype))
    xt, yt = relulab.tensor(x, dtype=relulab.float32), relulab.tensor(y, dtype=relulab.float32)
    with relulab.no_grad():
        start_mse = float(((model(xt) - yt) ** 2).mean().item())
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(ctx.pick(600, 3000)):
        loss = ((model(xt) - yt) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with relulab.no_grad():
        fit = model(xt).numpy()[:, 0]
        terms = relulab.sigmoid(hidden(xt)).numpy() * output.weight.detach().numpy()[0]   # c_i · sigmoid(b_i + w_i x)
    mse = float(((fit - y[:, 0]) ** 2).mean())
    constant = float(output.bias.detach().numpy()[0])

    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(x[:, 0], y[:, 0], color="red", lw=3, label="red curve")
    ax.plot(x[:, 0], fit, "k--", lw=1.5, label=f"b + Σ c_i sigmoid(...), MSE {mse:.2g}")
    ax.axhline(constant, color="gray", lw=1, ls=":", label=f"constant b = {constant:.3g}")
    for i in range(terms.shape[1]):
        ax.plot(x[:, 0], terms[:, i], lw=1, label=f"c_{i + 1}·sigmoid(b_{i + 1} + w_{i + 1}x)")
    ax.set_xlabel("x")
    ax.legend(fontsize=7)
    ax.set_title("a piecewise-linear curve as a constant plus sigmoids")
    fig.tight_layout()
    figure = ctx.figure(fig, "fit")
    return Result(
        method=(f"red_curve (200 points); {len(segments)} sigmoids (one per sloped segment) started from the "
                f"lecture's construction, then full-batch Adam (lr 0.01) on the MSE."),
        numbers={"mse": mse, "start_mse": start_mse, "sigmoids": len(segments), "threshold": FIT_THRESHOLD},
        reproduced=mse < FIT_THRESHOLD,
        because=f"fit MSE {mse:.3g} (from {start_mse:.3g} at the construction) < {FIT_THRESHOLD}: {mse < FIT_THRESHOLD}",
        table=[{"sigmoids": len(segments), "MSE at the construction": f"{start_mse:.3g}", "MSE after training":
                f"{mse:.3g}"}],
        figures=[figure])


# ============================================================================================== hard sigmoid
@experiment(EXPERIMENTS, "hard_sigmoid", "A hard sigmoid is two ReLUs",
            "relu(x + 3) − relu(x − 3), scaled by 1/6, is exactly the hard sigmoid: flat, a ramp, flat.")
def hard_sigmoid(ctx):
    x = relulab.linspace(-6.0, 6.0, 1201, dtype=relulab.float64)
    upper, lower = relulab.relu(x + 3.0), relulab.relu(x - 3.0)
    two_relus = ((upper - lower) / 6.0).numpy()     # the ramp starts at −3 and the second ReLU cancels it at +3
    reference = nn.Hardsigmoid()(x).numpy()
    max_diff = float(np.abs(two_relus - reference).max())

    import matplotlib.pyplot as plt
    xs = x.numpy()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(xs, upper.numpy() / 6, lw=1, label="relu(x + 3) / 6")
    ax.plot(xs, -lower.numpy() / 6, lw=1, label="−relu(x − 3) / 6")
    ax.plot(xs, reference, color="red", lw=4, alpha=0.5, label="nn.Hardsigmoid")
    ax.plot(xs, two_relus, "k--", lw=1.5, label=f"sum of the two ReLUs (max |diff| {max_diff:.1g})")
    ax.set_ylim(-0.6, 1.6)
    ax.set_xlabel("x")
    ax.legend(fontsize=8)
    ax.set_title("hard sigmoid = relu(x + 3)/6 − relu(x − 3)/6")
    fig.tight_layout()
    tolerance = 1e-12
    return Result(
        method="(relu(x + 3) − relu(x − 3)) / 6 against nn.Hardsigmoid on 1201 points of [−6, 6], float64.",
        numbers={"max_abs_diff": max_diff, "points": int(xs.size), "tolerance": tolerance},
        reproduced=max_diff < tolerance,
        because=f"max |two ReLUs − Hardsigmoid| = {max_diff:.3g} < {tolerance}: {max_diff < tolerance}",
        table=[{"points": int(xs.size), "max abs diff": f"{max_diff:.3g}"}],
        figures=[ctx.figure(fig, "two-relus")])
