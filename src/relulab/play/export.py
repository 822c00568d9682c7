"""The playground's settings as a ``relulab train`` config: the same dict the page trains from, and its TOML.

A session builds its run from ``raw_config`` through ``relulab.train`` (``resolve``, ``build_job``), so the
exported file is not a description of the page's run but the very config it ran: with the data CSV beside it,
``relulab train`` repeats the page's updates (as long as no setting was changed mid-run).

How the page's choices map to the engine:

- 2-class cross-entropy is ``BCEWithLogitsLoss`` on one logit (2-class softmax = sigmoid, lecture 2); MSE on a
  classification set compares ``Sigmoid`` of that logit with the 0/1 label, so the outputs are probabilities
  for both losses.
- momentum is ``SGD(momentum=…)``; L2 is the optimizer's ``weight_decay``.
- the schedules are ``warmup_cosine`` per update: decay = no warmup and a cosine to 1 % of the lr over
  ``horizon`` updates; warmup = a linear warmup over ``warmup`` updates first.
"""
import json
import math

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ..train.config import resolve
from . import datasets
from .settings import is_classification

ACTIVATION_LAYERS = {"sigmoid": "Sigmoid", "hardsigmoid": "Hardsigmoid", "relu": "ReLU", "tanh": "Tanh"}
OPTIMIZER_CLASSES = {"sgd": "SGD", "momentum": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop", "adam": "Adam"}
MIN_FACTOR = 0.01  # decay and warmup end at 1 % of the lr


def name(settings):
    return f"play-{settings['data'].replace('_', '-')}"


def layers(settings):
    """The layer list: ``layers`` × (Linear(width), activation[, Dropout(p)]), then Linear(1)[, Sigmoid]."""
    out = []
    for _ in range(settings["layers"]):
        out += [f"Linear({settings['width']})", ACTIVATION_LAYERS[settings["activation"]]]
        if settings["dropout"] > 0:
            out.append(f"Dropout({settings['dropout']!r})")
    out.append("Linear(1)")
    if is_classification(settings) and settings["loss"] == "mse":
        out.append("Sigmoid")
    return out


def loss_section(settings):
    return {"name": "BCEWithLogitsLoss" if settings["loss"] == "cross_entropy" else "MSELoss"}


def optimizer_section(settings):
    section = {"name": OPTIMIZER_CLASSES[settings["optimizer"]], "lr": settings["lr"],
               "weight_decay": settings["l2"]}
    if settings["optimizer"] == "momentum":
        section["momentum"] = settings["momentum"]
    return section


def scheduler_section(settings):
    if settings["schedule"] == "constant":
        return {"name": "none"}
    warmup = settings["warmup"] if settings["schedule"] == "warmup" else 0
    return {"name": "warmup_cosine", "interval": "batch", "warmup_steps": warmup,
            "total_steps": settings["horizon"], "min_factor": MIN_FACTOR}


def data_section(settings):
    if settings["data"] == "views":
        section = datasets.views_section()
        section.update(standardize=True, valid_fraction=settings["valid"])
        return section
    return {"kind": "csv", "path": f"{name(settings)}.csv", "target": datasets.target_name(settings["data"]),
            "standardize": False, "valid_fraction": settings["valid"]}


def raw_config(settings, epochs=1):
    """The config as a plain dict (what the TOML file holds)."""
    return {
        "name": name(settings),
        "seed": settings["seed"],
        "epochs": int(epochs),
        "batch_size": settings["batch"],
        "data": data_section(settings),
        "model": {"layers": layers(settings)},
        "loss": loss_section(settings),
        "optimizer": optimizer_section(settings),
        "scheduler": scheduler_section(settings),
    }


def epochs_for(steps, steps_per_epoch):
    """Whole epochs covering ``steps`` updates (at least one)."""
    return max(1, math.ceil(int(steps) / max(1, int(steps_per_epoch))))


def train_rows(settings):
    """How many rows the training split holds (what sets the number of updates per epoch)."""
    from ..train.session import pool_split
    config = resolve(raw_config(settings))
    return len(pool_split(config, datasets.bundle(settings, config["data"]))[0])


def toml_text(settings, steps=0, switches=()):
    """The config as TOML, checked: it parses back to the same dict and ``resolve`` accepts it.

    ``steps``: the updates the page has made, rounded up to whole epochs for ``epochs``.  ``switches``: lines
    describing settings changed mid-run (the config trains with the current settings from the start)."""
    per_epoch = math.ceil(train_rows(settings) / settings["batch"])
    raw = raw_config(settings, epochs_for(steps, per_epoch))
    header = [f"# relulab play: {settings['data']}, {_model_words(settings)}, "
              f"{raw['optimizer']['name']} lr {settings['lr']:g}, batch {settings['batch']}"]
    if settings["data"] == "views":
        header.append(f"# Run it with:  relulab train {name(settings)}.toml")
    else:
        header.append(f"# Save the data as {name(settings)}.csv beside this file (the page's 'data CSV' link), "
                      f"then run:  relulab train {name(settings)}.toml")
    header.append(f"# epochs = {raw['epochs']}: the page's {int(steps)} updates at {per_epoch} updates per epoch.")
    for line in switches:
        header.append(f"# Changed during the page's run: {line}; this config uses the final settings throughout.")
    text = "\n".join(header) + "\n\n" + dumps(raw)
    if tomllib.loads(text) != raw:
        raise AssertionError("play export: the TOML does not read back to the config")  # a bug, not bad input
    resolve(raw)
    return text


def _model_words(settings):
    if settings["layers"] == 0:
        return "no hidden layer"
    return f"{settings['layers']} hidden layer{'s' if settings['layers'] > 1 else ''} of {settings['width']} " \
           f"{settings['activation']}"


# ------------------------------------------------------------------------------------------------ TOML
def dumps(config):
    """TOML for a config of top-level scalars and one level of tables (strings, numbers, booleans, lists)."""
    lines = [f"{key} = {_value(value)}" for key, value in config.items() if not isinstance(value, dict)]
    for key, table in config.items():
        if isinstance(table, dict):
            lines += ["", f"[{key}]"] + [f"{k} = {_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"play export: {value!r} has no TOML form")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string (same escapes)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"play export: cannot write {type(value).__name__} to TOML")
