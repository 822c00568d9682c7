"""The playground's data sets: 2-D classification (circles, xor, spirals, Gaussians) and 1-D regression (the red
curve, sin(x), lecture 1's views series), each a ``DataBundle`` as ``relulab train`` loads it.

The generated sets follow from (points, noise, seed) alone, so a URL reproduces them; ``csv_text`` writes them
in the CSV form a ``relulab train`` config reads (``id``, the features, the target), with every float written
in full (``repr``) so that the file reads back to the same bits.  The views series is the real ``data.views``
window (yesterday's views → today's) that a config with ``data.kind = "views"`` loads.

Noise: the standard deviation of Gaussian noise added to each coordinate (2-D; the points span about [-1, 1]²)
or to y (1-D).  Classes are balanced: half the points each, the extra one (odd counts) in class 0.
"""
import numpy as np

from ..data import red_curve
from ..train.session import DataBundle, load_data
from .settings import CLASSIFICATION_SETS

GAUSSIAN_SPREAD = 0.25   # each blob's own standard deviation, before the noise setting
XOR_MARGIN = 0.05        # xor points keep this far from the axes, so noise 0 is separable
SPIRAL_TURNS = 1.75
VIEWS_DAYS = 1           # 1-D: yesterday's views predict today's (lecture 1's first model)


def bundle(settings, data_section):
    """The data set the settings describe, as a ``DataBundle`` (float64 features (n, d) and targets (n, 1)).
    ``data_section``: the resolved config's ``[data]`` (the views series is loaded from it, as ``relulab train``
    loads it)."""
    kind = settings["data"]
    if kind == "views":
        return load_data(data_section)
    x, y = generate(kind, settings["points"], settings["noise"], settings["seed"])
    return DataBundle(x, y, feature_names=feature_names(kind), source=f"the {kind} data set")


def views_section():
    """The ``[data]`` keys of the views series in a config (``relulab train`` loads it the same way)."""
    return {"kind": "views", "days": VIEWS_DAYS, "test_year": 0}


def feature_names(kind):
    return ["x1", "x2"] if kind in CLASSIFICATION_SETS else ["x"]


def target_name(kind):
    return "label" if kind in CLASSIFICATION_SETS else "y"


def generate(kind, n, noise, seed):
    """(x, y) float64 arrays of shape (n, d) and (n, 1) for a generated set."""
    rng = np.random.default_rng(seed)
    if kind in CLASSIFICATION_SETS:
        labels = np.arange(n) % 2 == 1
        labels = rng.permutation(labels)
        x = _CLASSIFIERS[kind](labels, rng)
        x = x + rng.normal(0.0, noise, x.shape) if noise else x
        return x.astype(np.float64), labels.astype(np.float64)[:, None]
    if kind == "red_curve":
        return red_curve(n, noise=noise, seed=seed)
    if kind == "sin":
        x = np.linspace(-np.pi, np.pi, n)
        y = np.sin(x) + (rng.normal(0.0, noise, n) if noise else 0.0)
        return x[:, None], y[:, None]
    raise ValueError(f"play: no generated data set {kind!r}")


def _circles(labels, rng):
    """Class 1 inside radius 0.5, class 0 on a ring from 0.7 to 1."""
    r = np.where(labels, rng.uniform(0.0, 0.5, labels.size), rng.uniform(0.7, 1.0, labels.size))
    angle = rng.uniform(0.0, 2 * np.pi, labels.size)
    return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)


def _xor(labels, rng):
    """Class 1 where x1·x2 > 0 (first and third quadrants)."""
    magnitude = rng.uniform(XOR_MARGIN, 1.0, (labels.size, 2))
    first = rng.choice([-1.0, 1.0], labels.size)
    second = np.where(labels, first, -first)
    return magnitude * np.stack([first, second], axis=1)


def _spirals(labels, rng):
    """Two interleaved spirals of 1.75 turns, class 1 the other one rotated by π."""
    r = rng.uniform(0.0, 1.0, labels.size)
    angle = SPIRAL_TURNS * 2 * np.pi * r + np.pi * labels
    return np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)


def _gaussians(labels, rng):
    """Two blobs centred at (0.4, 0.4) (class 1) and (-0.4, -0.4) (class 0)."""
    centre = np.where(labels, 0.4, -0.4)[:, None]
    return centre + rng.normal(0.0, GAUSSIAN_SPREAD, (labels.size, 2))


_CLASSIFIERS = {"circles": _circles, "xor": _xor, "spirals": _spirals, "gaussians": _gaussians}


def csv_text(settings):
    """The generated data set as CSV: a header ``id,<features>,<target>``, then one row per point."""
    kind = settings["data"]
    if kind == "views":
        raise ValueError("play: the views series needs no CSV: its config loads it with data.kind = 'views'")
    x, y = generate(kind, settings["points"], settings["noise"], settings["seed"])
    header = ",".join(["id", *feature_names(kind), target_name(kind)])
    classification = kind in CLASSIFICATION_SETS
    rows = []
    for i, (features, target) in enumerate(zip(x, y[:, 0])):
        label = str(int(target)) if classification else repr(float(target))
        rows.append(",".join([str(i), *(repr(float(v)) for v in features), label]))
    return header + "\n" + "\n".join(rows) + "\n"
