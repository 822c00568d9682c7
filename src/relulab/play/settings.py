"""What a page may ask for: the playground's settings, each checked against a rule, and the server's limits.

The page sends plain values (JSON, or the strings of a URL query).  Each is checked here against its field's
type and range before anything is built; an unknown key is an error that suggests the closest valid one.  Nothing
the page sends is ever evaluated: the model's layer list is assembled from these checked values (``export``).
"""
import difflib
import math
from dataclasses import asdict, dataclass

CLASSIFICATION_SETS = ("circles", "xor", "spirals", "gaussians")
REGRESSION_SETS = ("red_curve", "sin", "views")
DATASETS = CLASSIFICATION_SETS + REGRESSION_SETS
ACTIVATIONS = ("sigmoid", "hardsigmoid", "relu", "tanh")
LOSSES = ("mse", "cross_entropy")
OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam")
SCHEDULES = ("constant", "decay", "warmup")

# Settings that change the data or the model: changing one rebuilds the run from step 0.  The others (the
# optimizer's) take effect on the current weights, so a student can switch optimizer mid-run.
REBUILDS = ("data", "points", "noise", "valid", "seed", "layers", "width", "activation", "loss", "dropout")


MIN_MEMORY_MB = 64


class SettingsError(ValueError):
    """A setting the page sent is unknown or out of range; the message names the key."""


@dataclass(frozen=True)
class Limits:
    """The server's bounds, so that one student's huge model cannot starve the others."""

    max_sessions: int = 32           # concurrent sessions (each one worker process)
    max_parameters: int = 5000       # model size
    max_points: int = 1000           # generated data set size
    max_layers: int = 6
    max_width: int = 32
    max_steps_per_second: int = 100  # each worker paces its updates to at most this rate
    hessian_max_parameters: int = 200  # the exact Hessian costs one backward pass per parameter
    doctor_updates: int = 100        # the doctor's own training per learning-rate candidate (its --budget)
    memory_mb: int = 512             # address space a worker may add beyond its start (RLIMIT_AS)
    idle_timeout: float = 120.0      # seconds without a request before a session is closed

    def __post_init__(self):
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"play limits: {name} must be a positive number, got {value!r}")
        if self.memory_mb < MIN_MEMORY_MB:
            raise ValueError(f"play limits: memory_mb must be at least {MIN_MEMORY_MB} (a worker's threads and "
                             f"arrays need that much room), got {self.memory_mb}")

    def as_dict(self):
        return asdict(self)


def _integer(low, high):
    def check(key, value):
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise SettingsError(f"setting '{key}' must be a whole number, got {value!r}") from None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SettingsError(f"setting '{key}' must be a whole number from {low} to {high}, got {value!r}")
        return value
    return check


def _number(low, high):
    def check(key, value):
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise SettingsError(f"setting '{key}' must be a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not low <= value <= high:
            raise SettingsError(f"setting '{key}' must be a number from {low:g} to {high:g}, got {value!r}")
        return float(value)
    return check


def _choice(options):
    def check(key, value):
        if value not in options:
            close = difflib.get_close_matches(str(value), options, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise SettingsError(f"setting '{key}' must be one of {', '.join(options)}, got {value!r}{hint}")
        return value
    return check


def _rules(limits):
    return {
        "data": (_choice(DATASETS), "circles"),
        "points": (_integer(20, limits.max_points), min(400, limits.max_points)),
        "noise": (_number(0.0, 1.0), 0.05),
        "valid": (_number(0.05, 0.9), 0.3),
        "seed": (_integer(0, 2 ** 31 - 1), 0),
        "layers": (_integer(0, limits.max_layers), min(2, limits.max_layers)),
        "width": (_integer(1, limits.max_width), min(6, limits.max_width)),
        "activation": (_choice(ACTIVATIONS), "tanh"),
        "loss": (_choice(LOSSES), "cross_entropy"),
        "l2": (_number(0.0, 1.0), 0.0),
        "dropout": (_number(0.0, 0.9), 0.0),
        "optimizer": (_choice(OPTIMIZERS), "adam"),
        "lr": (_number(1e-6, 10.0), 0.03),
        "momentum": (_number(0.0, 0.999), 0.9),
        "schedule": (_choice(SCHEDULES), "constant"),
        "warmup": (_integer(0, 100_000), 100),
        "horizon": (_integer(2, 1_000_000), 2000),
        "batch": (_integer(1, limits.max_points), 32),
        "speed": (_integer(1, limits.max_steps_per_second), min(50, limits.max_steps_per_second)),
    }


def defaults(limits=Limits()):
    return {key: default for key, (_, default) in _rules(limits).items()}


def validate(given, limits=Limits()):
    """The page's settings, checked and completed with defaults: a new dict of plain values.

    ``given`` maps keys to values (JSON values or URL-query strings); missing keys take their defaults."""
    if not isinstance(given, dict):
        raise SettingsError(f"settings must be an object of key: value pairs, got {type(given).__name__}")
    rules = _rules(limits)
    out = defaults(limits)
    for key, value in given.items():
        if key not in rules:
            close = difflib.get_close_matches(str(key), rules, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid: {', '.join(rules)}"
            raise SettingsError(f"unknown setting '{key}'{hint}")
        out[key] = rules[key][0](key, value)
    _check_together(out, limits)
    return out


def is_classification(settings):
    return settings["data"] in CLASSIFICATION_SETS


def input_width(settings):
    return 2 if is_classification(settings) else 1


def parameter_count(settings):
    """Weights and biases of the network the settings describe (``export.layers`` builds it)."""
    width, total = input_width(settings), 0
    for _ in range(settings["layers"]):
        total += width * settings["width"] + settings["width"]
        width = settings["width"]
    return total + width + 1


def _check_together(s, limits):
    if s["loss"] == "cross_entropy" and not is_classification(s):
        raise SettingsError(f"setting 'loss' = 'cross_entropy' needs a classification data set "
                            f"({', '.join(CLASSIFICATION_SETS)}); {s['data']!r} is regression: use 'mse'")
    if s["schedule"] == "warmup" and not 1 <= s["warmup"] < s["horizon"]:
        raise SettingsError(f"setting 'warmup' = {s['warmup']} must be from 1 to horizon - 1 "
                            f"(horizon = {s['horizon']}): the warmup ends before the schedule does")
    count = parameter_count(s)
    if count > limits.max_parameters:
        raise SettingsError(f"the model has {count:,} parameters ({s['layers']} hidden layers of {s['width']}); "
                            f"this server allows at most {limits.max_parameters:,}: use fewer layers or units")
