"""Shared pieces for the run-integrity tests: a tiny regression CSV, a config for it, and exact comparisons."""
import numpy as np

from relulab.train import resolve


def write_csv(folder, rows=80, features=4, seed=0, name="data.csv"):
    """A small regression file in HW1's layout: id, features, target last (a noisy linear function)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    y = x @ rng.normal(size=features) + 0.1 * rng.normal(size=rows)
    lines = ["id," + ",".join(f"f{j}" for j in range(features)) + ",target"]
    lines += [f"{i}," + ",".join(repr(float(v)) for v in x[i]) + f",{float(y[i])!r}" for i in range(rows)]
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def config(csv_path, **overrides):
    """A complete config for ``write_csv`` data: a small ReLU net, shuffled batches, Adam with a cosine schedule.
    Keyword overrides use '__' for nesting: ``optimizer__lr=0.1``."""
    raw = {"name": "tiny", "seed": 3, "epochs": 6, "batch_size": 16,
           "data": {"kind": "csv", "path": str(csv_path), "valid_fraction": 0.25},
           "model": {"layers": ["Linear(8)", "ReLU", "Dropout(0.1)", "Linear(1)"]},
           "optimizer": {"name": "Adam", "lr": 0.01},
           "scheduler": {"name": "CosineAnnealingLR", "T_max": 6}}
    for key, value in overrides.items():
        node = raw
        *parents, last = key.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return resolve(raw)


def arrays(tree):
    """Every tensor and plain value of a (nested) checkpoint, as NumPy arrays and Python values, by path."""
    out = {}

    def walk(node, where):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{where}.{k}")
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                walk(v, f"{where}.{i}")
        elif hasattr(node, "numpy"):
            out[where] = node.numpy()
        else:
            out[where] = node
    walk(tree, "")
    return out


def assert_same_run(a, b):
    """Two run directories hold the same training, bit for bit: last and best commits and the metrics."""
    last_a, last_b = arrays(a.load_checkpoint("last")), arrays(b.load_checkpoint("last"))
    assert last_a.keys() == last_b.keys()
    for key in last_a:
        if isinstance(last_a[key], np.ndarray):
            assert last_a[key].dtype == last_b[key].dtype and np.array_equal(last_a[key], last_b[key]), key
        else:
            assert last_a[key] == last_b[key] or (last_a[key] != last_a[key] and last_b[key] != last_b[key]), key
    best_a, best_b = a.load_checkpoint("best"), b.load_checkpoint("best")
    assert best_a["epoch"] == best_b["epoch"]
    for key, value in best_a["model"].items():
        assert np.array_equal(value.numpy(), best_b["model"][key].numpy()), key
    strip = lambda history: [{k: v for k, v in r.items() if k != "seconds"} for r in history]  # noqa: E731
    assert strip(a.history()) == strip(b.history())
    for name in ("metrics.csv",):
        rows_a = (a.path / name).read_text().splitlines()
        rows_b = (b.path / name).read_text().splitlines()
        assert len(rows_a) == len(rows_b) and rows_a[0] == rows_b[0]
