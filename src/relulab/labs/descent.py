"""Real optimizers on small closed-form loss surfaces, many starting points at once, and the pictures.

A parameter tensor of shape (K, 2) holds K independent points (x, y); the loss of the whole tensor is the sum of
the K rows' losses, so each row's gradient is its own and the element-wise optimizers of ``relulab.optim`` move
every row as if it ran alone.  One run therefore gives a path per start (the lecture's 2-D pictures) for all the
seeds of an experiment.
"""
import numpy as np

import relulab


def descend(row_losses, starts, make_optimizer, steps, make_scheduler=None, lrs=None):
    """Minimise ``row_losses(θ) -> (K,)`` from ``starts`` (K, 2) with a real optimizer, for ``steps`` updates.

    With ``lrs`` every start runs once per learning rate: one (K, 2) tensor per lr, each in its own param group
    (``make_optimizer`` receives the groups), joined into (len(lrs)·K, 2) rows, lr-major, for the loss.

    Returns a dict with ``path`` (steps + 1, rows, 2), ``losses`` (steps + 1, rows), ``lrs`` (steps,) of the
    first group and the ``optimizer`` (its state holds e.g. RMSProp's square averages)."""
    starts = np.array(starts, dtype=np.float64)
    count = 1 if lrs is None else len(lrs)
    thetas = [relulab.tensor(starts, dtype=relulab.float64, requires_grad=True) for _ in range(count)]
    params = thetas if lrs is None else [{"params": [t], "lr": float(lr)} for t, lr in zip(thetas, lrs)]
    optimizer = make_optimizer(params)
    scheduler = make_scheduler(optimizer) if make_scheduler else None

    def joined():
        return thetas[0] if count == 1 else relulab.cat(thetas, 0)

    def where():
        return np.concatenate([t.detach().numpy() for t in thetas])

    path, losses, used = [where()], [], []
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging lr is a legitimate outcome, judged later
        for _ in range(steps):
            optimizer.zero_grad()
            rows = row_losses(joined())
            rows.sum().backward()
            losses.append(rows.detach().numpy().copy())
            used.append(float(optimizer.param_groups[0]["lr"]))
            optimizer.step()
            if scheduler:
                scheduler.step()
            path.append(where())
        with relulab.no_grad():
            losses.append(row_losses(joined()).numpy().copy())
    return dict(path=np.array(path), losses=np.array(losses), lrs=np.array(used), optimizer=optimizer,
                thetas=thetas)


def first_below(losses, threshold, budget):
    """(K,) first step at which each row's loss is below ``threshold``; ``budget + 1`` where it never is."""
    below = np.asarray(losses) < threshold
    first = np.argmax(below, axis=0)
    return np.where(below.any(axis=0), first, budget + 1)


def step_lengths(path):
    """(steps, K) Euclidean length of each update."""
    return np.linalg.norm(np.diff(path, axis=0), axis=2)


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def contour_with_paths(loss_numpy, x_range, y_range, paths, names, title, log=False, marks=None, n=121):
    """Filled contours of ``loss_numpy(X, Y)`` with labelled (T, 2) ``paths`` ({label: path}); the legend sits
    below the axes so it never covers the surface."""
    plt = pyplot()
    xs, ys = np.linspace(*x_range, n), np.linspace(*y_range, n)
    gx, gy = np.meshgrid(xs, ys)
    z = loss_numpy(gx, gy)
    z = np.log10(np.maximum(z, 1e-12)) if log else z
    fig, ax = plt.subplots(figsize=(7.0, 5.6))
    filled = ax.contourf(xs, ys, z, levels=30, cmap="RdYlBu_r")
    ax.contour(xs, ys, z, levels=30, colors="k", linewidths=0.3, alpha=0.4)
    fig.colorbar(filled, ax=ax, label="log10 loss" if log else "loss")
    for label, xy in paths.items():
        xy = np.asarray(xy)
        inside = np.all(np.isfinite(xy), axis=1)
        line, = ax.plot(xy[inside, 0], xy[inside, 1], ".-", lw=1.2, ms=3, label=label)
        ax.plot(xy[inside][-1, 0], xy[inside][-1, 1], "o", color=line.get_color(), ms=6, mec="k")
    for label, (mx, my) in (marks or {}).items():
        ax.plot([mx], [my], "k*", ms=11, label=label)
    ax.set_xlim(*x_range)
    ax.set_ylim(*y_range)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    fig.tight_layout()
    return fig
