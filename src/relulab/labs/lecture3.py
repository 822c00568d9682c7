"""Lecture 3, "CNN": why a convolutional network beats a fully connected one on images.  Receptive fields and
parameter sharing are the two simplifications; the lab measures what they buy (accuracy per parameter, robustness
to a pattern's position), shows what the first layer learns, and checks the lecture's warning about augmentation
that does not fit the data (upside-down digits).

Two image tasks: ``shapes`` (16×16 RGB squares, circles, triangles and crosses at random positions, colours and
sizes) and scikit-learn's 8×8 digits.  Every model is trained the same way so that only the model changes:
mini-batch Adam on the cross-entropy, the same epochs and batch order, accuracy on the held-out test split.
"""
import numpy as np

import relulab
from relulab import nn, optim
from relulab.data.digits import digits
from relulab.data.shapes import shapes, shift

from .framework import Result, experiment

EXPERIMENTS = []

LEARNING_RATE = 3e-3
BATCH_SIZE = 64
CNN_WIDTH = 8                 # first-layer filters; the later layers have twice as many
SHAPE_SHIFTS = (1, 2, 3)      # pixels, on 16×16 images
DIGIT_SHIFTS = (1, 2)         # pixels, on 8×8 images (2 pixels is a quarter of the image)
SHIFT_MLP_HIDDEN = 64         # the shift test's MLP: wider than the matched one, so it is not near chance


# ================================================================================================ data and models
def _settings(ctx):
    """(shape images, training epochs): --quick trains on fewer images for fewer epochs."""
    return ctx.pick(800, 2000), ctx.pick(10, 20)


def _datasets(ctx):
    """{name: (x_train, y_train, x_test, y_test, classes)} for shapes and digits, fixed by the seed."""
    n_shapes, _ = _settings(ctx)
    seed = ctx.seed % 1000
    sets = {"shapes": (shapes(n_shapes, split="train", seed=seed), shapes(n_shapes, split="test", seed=seed)),
            "digits": (digits("train", seed=seed, flatten=False), digits("test", seed=seed, flatten=False))}
    return {name: (train.features, train.targets, test.features, test.targets, len(train.classes))
            for name, (train, test) in sets.items()}


def _cnn(channels, side, classes, width=CNN_WIDTH):
    """3×3 conv layers with 2×2 max pools, then one Linear layer.

    16×16 shapes: three convs (width, 2·width, 2·width filters), then a max over all positions, so a shape counts
    wherever it is.  8×8 digits: two convs (width, 2·width), ending on a 2×2 map: a digit is told by where its
    strokes are relative to each other, and a third pool would leave nothing to slide over (measured: 0.93 test
    accuracy for the three-conv global-max design vs 0.98 for this one)."""
    if side < 16:
        return nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(side // 4),
            nn.Flatten(), nn.Linear(2 * width * 4, classes))
    return nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(side // 4),
        nn.Flatten(), nn.Linear(2 * width, classes))


def _mlp(inputs, hidden, classes):
    """Flatten → Linear(hidden) → ReLU → Linear: every neuron sees every pixel, nothing is shared."""
    return nn.Sequential(nn.Flatten(), nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, classes))


def _matched_hidden(inputs, classes, budget):
    """The narrowest one-hidden-layer MLP with at least ``budget`` parameters (so the CNN never has more)."""
    per_unit = inputs + 1 + classes
    return int(np.ceil((budget - classes) / per_unit))


def _train(ctx, model, x, y, epochs, augment=None, offset=0):
    """Mini-batch Adam on the cross-entropy; the batch order (and augmentation draws) come from the seed."""
    rng = ctx.rng(offset)
    optimizer = optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH_SIZE):
            rows = order[start:start + BATCH_SIZE]
            batch = augment(x[rows], rng) if augment else x[rows]
            loss = loss_fn(model(relulab.tensor(batch)), relulab.tensor(y[rows]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


def _accuracy(model, x, y):
    with relulab.no_grad():
        was_training = model.training
        model.eval()
        predictions = model(relulab.tensor(x)).numpy().argmax(axis=1)
        model.train(was_training)
    return float((predictions == y).mean())


def _trained_cnn(ctx, data):
    x_train, y_train, _, _, classes = data
    relulab.manual_seed(ctx.seed)  # the same initial weights for a given seed
    model = _cnn(x_train.shape[1], x_train.shape[-1], classes)
    return _train(ctx, model, x_train, y_train, _settings(ctx)[1])


def _trained_mlp(ctx, data, hidden):
    x_train, y_train, _, _, classes = data
    relulab.manual_seed(ctx.seed)
    model = _mlp(int(np.prod(x_train.shape[1:])), hidden, classes)
    return _train(ctx, model, x_train, y_train, _settings(ctx)[1])


def _method(ctx, extra=""):
    n_shapes, epochs = _settings(ctx)
    return (f"shapes: {n_shapes} 16×16 RGB images (75% train / 25% test); digits: sklearn 8×8 (80/20 stratified). "
            f"Mini-batch Adam (lr {LEARNING_RATE}, batch {BATCH_SIZE}) on the cross-entropy for {epochs} epochs, "
            f"accuracy on the test split. CNN: 3×3 convs with 2×2 max pools and one Linear layer; shapes: "
            f"{CNN_WIDTH}/{2 * CNN_WIDTH}/{2 * CNN_WIDTH} filters and a global max pool; digits: {CNN_WIDTH}/"
            f"{2 * CNN_WIDTH} filters on a 2×2 final map. MLP: one hidden ReLU layer. "
            f"Parameters counted with nn.parameter_count. " + extra)


# ================================================================================================ mlp vs cnn
MLP_SWEEP = {"shapes": (16, 64, 256), "digits": (64, 256)}


def _compare_on(ctx, name, data):
    """Rows for one dataset: the CNN, the parameter-matched MLP, and wider MLPs (to find matched accuracy)."""
    x_train, _, x_test, y_test, classes = data
    inputs = int(np.prod(x_train.shape[1:]))
    cnn = _trained_cnn(ctx, data)
    cnn_params = nn.parameter_count(cnn)
    rows = [{"dataset": name, "model": "CNN", "parameters": cnn_params,
             "test accuracy": round(_accuracy(cnn, x_test, y_test), 4)}]
    matched = _matched_hidden(inputs, classes, cnn_params)
    for hidden in (matched,) + tuple(h for h in MLP_SWEEP[name] if h > matched):
        mlp = _trained_mlp(ctx, data, hidden)
        rows.append({"dataset": name, "model": f"MLP {hidden}" + (" (matched)" if hidden == matched else ""),
                     "parameters": nn.parameter_count(mlp), "test accuracy": round(_accuracy(mlp, x_test, y_test), 4)})
    return rows


def _summary(rows):
    """CNN vs matched MLP, and the fewest MLP parameters that reach the CNN's accuracy (None if no MLP did)."""
    cnn, matched, mlps = rows[0], rows[1], rows[1:]
    reaching = [r["parameters"] for r in mlps if r["test accuracy"] >= cnn["test accuracy"]]
    return {"cnn_accuracy": cnn["test accuracy"], "cnn_parameters": cnn["parameters"],
            "matched_mlp_accuracy": matched["test accuracy"], "matched_mlp_parameters": matched["parameters"],
            "mlp_parameters_to_match_cnn_accuracy": min(reaching) if reaching else None,
            "best_mlp_accuracy": max(r["test accuracy"] for r in mlps)}


def _accuracy_vs_parameters_figure(ctx, rows):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.6))
    for ax, name in zip(axes, ("shapes", "digits")):
        mine = [r for r in rows if r["dataset"] == name]
        mlps = [r for r in mine if r["model"] != "CNN"]
        ax.plot([r["parameters"] for r in mlps], [r["test accuracy"] for r in mlps], "o-", label="MLP")
        ax.plot([mine[0]["parameters"]], [mine[0]["test accuracy"]], "r*", markersize=14, label="CNN")
        ax.set_xscale("log")
        ax.set_xlabel("parameters")
        ax.set_ylabel("test accuracy")
        ax.set_title(name)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return ctx.figure(fig, "accuracy")


@experiment(EXPERIMENTS, "mlp_vs_cnn", "MLP vs CNN at matched parameter counts",
            "On images a CNN is at least as accurate as a fully connected network with as many parameters (its "
            "receptive fields and shared filters spend parameters where images need them); an MLP needs many more "
            "parameters to reach the same accuracy.")
def mlp_vs_cnn(ctx):
    rows = []
    summary = {}
    for name, data in _datasets(ctx).items():
        dataset_rows = _compare_on(ctx, name, data)
        rows += dataset_rows
        summary[name] = _summary(dataset_rows)
    wins = {name: s["cnn_accuracy"] >= s["matched_mlp_accuracy"] and s["cnn_parameters"] <= s["matched_mlp_parameters"]
            for name, s in summary.items()}
    because = "; ".join(
        f"{name}: CNN {s['cnn_accuracy']:.3f} with {s['cnn_parameters']} params vs matched MLP "
        f"{s['matched_mlp_accuracy']:.3f} with {s['matched_mlp_parameters']} (CNN at least as accurate with ≤ "
        f"params: {wins[name]}); fewest MLP params reaching the CNN's accuracy: "
        f"{s['mlp_parameters_to_match_cnn_accuracy'] or 'none of the MLPs tried (best ' + format(s['best_mlp_accuracy'], '.3f') + ')'}"
        for name, s in summary.items())
    return Result(method=_method(ctx, "The matched MLP is the narrowest with at least the CNN's parameter count; "
                                      f"wider MLPs {MLP_SWEEP} test matched accuracy."),
                  numbers={"summary": summary, "cnn_wins": wins}, reproduced=all(wins.values()), because=because,
                  table=rows, figures=[_accuracy_vs_parameters_figure(ctx, rows)])


# ================================================================================================ receptive fields
def _conv_inputs(model, input_shape):
    """[(layer name, Conv2d, its input shape)] for every conv layer of a Sequential."""
    fields = nn.receptive_field(model, input_shape)
    shapes_before = [tuple(input_shape)] + [f.output_shape for f in fields[:-1]]
    return [(name, layer, shape) for (name, layer), shape in zip(model.named_children(), shapes_before)
            if isinstance(layer, nn.Conv2d)]


def _receptive_field_figure(ctx, field_rows, sharing_rows):
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    left.plot(range(len(field_rows)), [r["receptive field"] for r in field_rows], "o-")
    left.set_xticks(range(len(field_rows)), [f"{r['layer']} {r['name']}" for r in field_rows], rotation=60,
                    fontsize=7)
    left.set_ylabel("receptive field (pixels per side)")
    left.set_title("receptive field grows with depth")
    at = np.arange(len(sharing_rows))
    for i, (key, label) in enumerate((("conv", "conv (shared)"), ("locally connected", "locally connected"),
                                      ("dense", "fully connected"))):
        right.bar(at + (i - 1) * 0.27, [r[key] for r in sharing_rows], 0.27, label=label)
    right.set_yscale("log")
    right.set_xticks(at, [r["layer"] for r in sharing_rows])
    right.set_ylabel("parameters")
    right.set_title("parameters for the same output")
    right.legend(fontsize=7)
    fig.tight_layout()
    return ctx.figure(fig, "fields")


@experiment(EXPERIMENTS, "receptive_fields", "Receptive fields and parameter sharing",
            "Each conv neuron sees only a small receptive field, which grows as layers are stacked; sharing one "
            "filter across positions needs far fewer parameters than a locally connected layer (fields, no "
            "sharing), which needs far fewer than a fully connected layer.")
def receptive_fields(ctx):
    input_shape = (3, 16, 16)
    relulab.manual_seed(ctx.seed)
    model = _cnn(3, 16, 4)
    fields = nn.receptive_field(model, input_shape)
    field_rows = [{"name": f.name, "layer": f.layer, "receptive field": int(f.rf[0]), "jump": int(f.jump[0]),
                   "output shape": "×".join(map(str, f.output_shape))} for f in fields]
    sharing_rows = []
    for name, conv, shape in _conv_inputs(model, input_shape):
        s = nn.parameter_count(conv, shape)
        sharing_rows.append({"layer": f"conv {name}", "input": "×".join(map(str, shape)), "conv": s.conv_params,
                             "locally connected": s.locally_connected_params, "dense": s.dense_params,
                             "dense / conv": round(s.ratio, 1)})
    # The field is measured on the conv/pool stack: after Flatten/Linear it is the whole image by definition.
    conv_fields = [r["receptive field"] for r in field_rows if r["layer"] in ("Conv2d", "MaxPool2d")]
    grows = all(b >= a for a, b in zip(conv_fields, conv_fields[1:])) and conv_fields[-1] > conv_fields[0]
    ordered = all(r["conv"] < r["locally connected"] < r["dense"] for r in sharing_rows)
    return Result(
        method=("The shapes CNN on a 3×16×16 input: nn.receptive_field per layer; per conv layer, "
                "nn.parameter_count(conv, input_shape) against a locally connected and a fully connected layer "
                "producing the same output. No training."),
        numbers={"conv_receptive_fields": conv_fields, "sharing": sharing_rows},
        reproduced=grows and ordered,
        because=(f"receptive field along the conv/pool stack {conv_fields} (grows: {grows}); parameters conv < "
                 f"locally connected < dense for every conv layer: {ordered} ("
                 + ", ".join(f"{r['layer']}: {r['conv']} < {r['locally connected']} < {r['dense']}"
                             for r in sharing_rows) + ")"),
        table=field_rows + [{"name": r["layer"], "layer": "parameters", "receptive field": "",
                             "jump": "", "output shape": f"conv {r['conv']} · local {r['locally connected']} · "
                                                         f"dense {r['dense']}"} for r in sharing_rows],
        figures=[_receptive_field_figure(ctx, field_rows, sharing_rows)])


# ================================================================================================ filters
def _examples_figure(ctx, x, y, classes):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 8, figsize=(9, 1.6))
    for ax, image, label in zip(axes, x[:8], y[:8]):
        ax.imshow(image.transpose(1, 2, 0), interpolation="nearest")
        ax.set_title(classes[label], fontsize=7)
        ax.axis("off")
    fig.tight_layout()
    return ctx.figure(fig, "examples")


@experiment(EXPERIMENTS, "filters", "Learned filters and feature maps",
            "Training turns the first layer's random filters into pattern detectors; each filter's feature map "
            "shows where in the image its pattern appears.")
def filters(ctx):
    from relulab.nn.plot import plot_feature_maps, plot_filters
    data = _datasets(ctx)["shapes"]
    x_train, y_train, x_test, y_test, _ = data
    relulab.manual_seed(ctx.seed)
    model = _cnn(x_train.shape[1], x_train.shape[-1], data[4])
    first = model[0]
    initial = first.weight.detach().numpy().copy()
    _train(ctx, model, x_train, y_train, _settings(ctx)[1])
    learned = first.weight.detach().numpy()
    change = float(np.linalg.norm(learned - initial))
    classes = shapes(4).classes
    figures = [
        _examples_figure(ctx, x_test, y_test, classes),
        ctx.figure(plot_filters(first, title="first-layer filters after training (per input channel R, G, B)"),
                   "filters"),
        ctx.figure(plot_feature_maps(model, relulab.tensor(x_test[0]), layer="1"), "feature-maps"),
    ]
    rows = [{"filter": o, "initial norm": round(float(np.linalg.norm(initial[o])), 4),
             "learned norm": round(float(np.linalg.norm(learned[o])), 4),
             "change norm": round(float(np.linalg.norm(learned[o] - initial[o])), 4)} for o in range(len(learned))]
    produced = all((ctx.figures_dir / f).is_file() for f in figures)
    return Result(
        method=_method(ctx, "The shapes CNN's first Conv2d weights before and after training; feature maps of "
                            f"the first test image (a {classes[y_test[0]]}) after the first ReLU."),
        numbers={"weight_change_norm": change, "initial_norm": float(np.linalg.norm(initial)),
                 "test_accuracy": _accuracy(model, x_test, y_test), "figures_produced": produced},
        reproduced=produced and change > 0,
        because=(f"‖W_learned − W_init‖ = {change:.4f} (vs ‖W_init‖ = {np.linalg.norm(initial):.4f}) > 0; "
                 f"{len(figures)} figures produced: {produced}"),
        table=rows, figures=figures)


# ================================================================================================ shift
def _shifted_accuracy(model, x, y, pixels):
    """Mean accuracy over the test set moved ``pixels`` right, left, down and up."""
    moves = ((pixels, 0), (-pixels, 0), (0, pixels), (0, -pixels))
    return float(np.mean([_accuracy(model, shift(x, dx, dy), y) for dx, dy in moves]))


def _shift_figure(ctx, curves):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.4))
    for ax, (name, by_model) in zip(axes, curves.items()):
        for model, points in by_model.items():
            ax.plot(list(points), list(points.values()), "o-", label=model)
        ax.set_xlabel("shift (pixels)")
        ax.set_ylabel("test accuracy")
        ax.set_title(name)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return ctx.figure(fig, "accuracy")


@experiment(EXPERIMENTS, "shift", "Shifted test images: CNN vs MLP",
            "A pattern means the same wherever it is: a CNN (shared filters, pooling) trained on unshifted images "
            "loses less accuracy than an MLP when the test images are shifted by a few pixels.")
def shift_test(ctx):
    rows, curves, drops = [], {}, {}
    for name, data in _datasets(ctx).items():
        _, _, x_test, y_test, _ = data
        models = {"CNN": _trained_cnn(ctx, data), f"MLP {SHIFT_MLP_HIDDEN}": _trained_mlp(ctx, data, SHIFT_MLP_HIDDEN)}
        pixels = SHAPE_SHIFTS if name == "shapes" else DIGIT_SHIFTS
        curves[name] = {}
        for model_name, model in models.items():
            points = {0: _accuracy(model, x_test, y_test)}
            points.update({p: _shifted_accuracy(model, x_test, y_test, p) for p in pixels})
            curves[name][model_name] = points
            drop = points[0] - float(np.mean([points[p] for p in pixels]))
            drops.setdefault(name, {})[model_name] = drop
            rows.append({"dataset": name, "model": model_name, "parameters": nn.parameter_count(model),
                         **{f"shift {p}px": round(v, 4) for p, v in points.items()}, "mean drop": round(drop, 4)})
    mlp_name = f"MLP {SHIFT_MLP_HIDDEN}"
    cnn_robuster = {name: d["CNN"] < d[mlp_name] for name, d in drops.items()}
    # Tables need the same keys in every row.
    keys = sorted({k for r in rows for k in r}, key=lambda k: (not k.startswith(("dataset", "model", "param")), k))
    rows = [{k: r.get(k, "") for k in keys} for r in rows]
    return Result(
        method=_method(ctx, f"Both models trained on unshifted images (MLP hidden width {SHIFT_MLP_HIDDEN}); test "
                            f"images moved right/left/down/up by {SHAPE_SHIFTS} px (shapes) and {DIGIT_SHIFTS} px "
                            "(digits) with zero fill; drop = clean accuracy − mean shifted accuracy."),
        numbers={"accuracy": {n: {m: {str(p): v for p, v in pts.items()} for m, pts in c.items()}
                              for n, c in curves.items()},
                 "drop": drops, "cnn_loses_less": cnn_robuster},
        reproduced=all(cnn_robuster.values()),
        because="; ".join(f"{name}: accuracy drop CNN {d['CNN']:.3f} vs MLP {d[mlp_name]:.3f} (CNN loses less: "
                          f"{cnn_robuster[name]})" for name, d in drops.items()),
        table=rows, figures=[_shift_figure(ctx, curves)])


# ================================================================================================ augmentation
def _random_crop(x, rng, pad=1):
    """Pad-and-crop as a random shift of up to ``pad`` pixels per image (zero fill)."""
    out = np.empty_like(x)
    for i, (dx, dy) in enumerate(rng.integers(-pad, pad + 1, size=(len(x), 2))):
        out[i] = shift(x[i], int(dx), int(dy))
    return out


def _random_flip(x, rng, axis):
    """Flip half the images along ``axis`` (-1: left-right, -2: upside down)."""
    flip = rng.random(len(x)) < 0.5
    out = x.copy()
    out[flip] = np.flip(x[flip], axis=axis)
    return out


AUGMENTATIONS = {
    "none": None,
    "crop (±1 px)": _random_crop,
    "horizontal flip + crop": lambda x, rng: _random_crop(_random_flip(x, rng, -1), rng),
    "vertical flip": lambda x, rng: _random_flip(x, rng, -2),
}


def _augmentation_figure(ctx, accuracy):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    names = list(accuracy)
    ax.bar(range(len(names)), [accuracy[n] for n in names], color=["grey", "tab:green", "tab:orange", "tab:red"])
    ax.set_xticks(range(len(names)), names, rotation=15, fontsize=8)
    ax.set_ylim(min(accuracy.values()) - 0.05, 1.0)
    ax.set_ylabel("digits test accuracy")
    ax.set_title("CNN trained with each augmentation")
    fig.tight_layout()
    return ctx.figure(fig, "accuracy")


@experiment(EXPERIMENTS, "augmentation", "Data augmentation on digits",
            "Augmentation must fit the data: flipping digits upside down makes training images that no test "
            "digit looks like, so it hurts test accuracy compared with no augmentation.")
def augmentation(ctx):
    data = _datasets(ctx)["digits"]
    x_train, y_train, x_test, y_test, classes = data
    seeds = ctx.pick(1, 2)
    accuracy = {}
    for name, augment in AUGMENTATIONS.items():
        scores = []
        for s in range(seeds):
            relulab.manual_seed(ctx.seed + s)
            model = _cnn(1, 8, classes)
            _train(ctx, model, x_train, y_train, _settings(ctx)[1], augment=augment, offset=s)
            scores.append(_accuracy(model, x_test, y_test))
        accuracy[name] = float(np.mean(scores))
    base = accuracy["none"]
    vertical_hurts = accuracy["vertical flip"] < base
    helped = {name: accuracy[name] > base for name in ("crop (±1 px)", "horizontal flip + crop")}
    rows = [{"augmentation": n, "test accuracy": round(a, 4), "change vs none": round(a - base, 4)}
            for n, a in accuracy.items()]
    return Result(
        method=_method(ctx, f"The digits CNN trained {seeds} time(s) per augmentation (same initial weights and "
                            "batch order); each training batch is augmented afresh, the test set never is."),
        numbers={"accuracy": accuracy, "vertical_flip_hurts": vertical_hurts, "helped": helped},
        reproduced=vertical_hurts,
        because=(f"test accuracy none {base:.3f}, vertical flip {accuracy['vertical flip']:.3f} (hurts: "
                 f"{vertical_hurts}); crop {accuracy['crop (±1 px)']:.3f} (helped: {helped['crop (±1 px)']}), "
                 f"horizontal flip + crop {accuracy['horizontal flip + crop']:.3f} (helped: "
                 f"{helped['horizontal flip + crop']}; digits are not left-right symmetric either)"),
        table=rows, figures=[_augmentation_figure(ctx, accuracy)])
