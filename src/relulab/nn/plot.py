"""Pictures for lecture 3: a layer's learned filters and an input's feature maps (matplotlib, imported lazily)."""
import math

from ..autograd.grad_mode import no_grad


def _grid(images, title, cmap, path=None, ncols=None):
    import matplotlib
    matplotlib.use("Agg")  # files, never windows: works on machines without a display
    import matplotlib.pyplot as plt
    n = len(images)
    ncols = ncols or min(n, 8)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.4 * ncols, 1.4 * nrows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (label, img) in zip(axes.flat, images):
        ax.imshow(img, cmap=cmap, interpolation="nearest")
        ax.set_title(label, fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig


def plot_filters(conv, path=None, title=None):
    """One panel per (output channel, input channel) kernel of a ``Conv2d``; colour shows the weight."""
    w = conv.weight.detach().numpy()
    images = [(f"out {o} / in {i}", w[o, i]) for o in range(w.shape[0]) for i in range(w.shape[1])]
    return _grid(images, title or f"filters of {conv!r}", "coolwarm", path, ncols=min(w.shape[1] * 4, 8))


def feature_maps(model, x, layers=None):
    """{layer name: (C, H, W) array} after each child of a ``Sequential`` for one input image ``x`` (C, H, W)."""
    maps = {}
    h = x.unsqueeze(0) if x.ndim == 3 else x[:1]
    with no_grad():
        was_training = model.training
        model.eval()
        try:
            for name, layer in model.named_children():
                h = layer(h)
                if h.ndim == 4 and (layers is None or name in layers):
                    maps[name] = h[0].numpy().copy()
        finally:
            model.train(was_training)
    return maps


def plot_feature_maps(model, x, path=None, layer=None):
    """The channels of one layer's output (the first 4-D one by default) for input ``x``."""
    maps = feature_maps(model, x)
    if not maps:
        raise ValueError("plot_feature_maps: the model has no layer with a (N, C, H, W) output")
    name = layer if layer is not None else next(iter(maps))
    if name not in maps:
        raise KeyError(f"plot_feature_maps: no 4-D output named {name!r}; choose from {sorted(maps)}")
    images = [(f"channel {c}", m) for c, m in enumerate(maps[name])]
    return _grid(images, f"feature maps after layer {name}", "viridis", path)

