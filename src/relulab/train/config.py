"""Run configuration: a TOML file, defaults filled in, ``--set key=value`` overrides, and every value checked.

An unknown or mistyped key is an error that names it and suggests the closest valid key, so a typo never
silently falls back to a default.  Every value is checked for its type and range here, before anything is
built or written; the loss, optimizer and scheduler sections are checked against their class's signature when
the class is looked up (``check_kwargs``).
"""
import copy
import datetime
import difflib
import inspect
import math
import os

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

DEFAULTS = {
    "name": "run",
    "seed": 0,
    "epochs": 100,
    "batch_size": 64,
    "out_dir": "runs",
    "data": {
        "kind": "csv",            # csv | digits | views
        "path": "",               # csv: the training file
        "target": "last",         # csv: 'last' or a column name
        "columns": "all",         # csv: 'all' or a list of feature names / 0-based feature indices
        "standardize": True,      # csv/views: fit mean and std on the training split only
        "valid_fraction": 0.2,    # share of the training data held out for validation
        "test_fraction": 0.2,     # digits: share held out as the test split
        "days": 7,                # views: previous days per sample
        "test_year": 0,           # views: 0 means the last year
        "shuffle": True,          # reshuffle the training batches every epoch
        "flatten": True,          # digits: (n, 64) vectors; false gives (n, 1, 8, 8) images for CNNs
    },
    "model": {"layers": []},
    "loss": {"name": "MSELoss"},
    "optimizer": {"name": "Adam", "lr": 1e-3},
    "scheduler": {"name": "none", "interval": "epoch"},
    "train": {
        "l1": 0.0,
        "clip_grad_norm": 0.0,
        "clip_grad_value": 0.0,
        "log_every": 0,           # print one line every N epochs; 0: about ten lines per run
        "early_stopping": {"patience": 0, "min_delta": 0.0, "restore_best": True, "monitor": "valid_loss"},
    },
}

# Sections whose keys are the keyword arguments of the class named by "name".
_OPEN_SECTIONS = {"loss", "optimizer", "scheduler"}
# What a run records each epoch, and so what early stopping and the "best" checkpoint can monitor.
MONITORS = {"regression": ("train_loss", "valid_loss", "valid_mse", "valid_mae"),
            "classification": ("train_loss", "valid_loss", "valid_accuracy")}
_MAX_SEED = 2 ** 63 - 1


class ConfigError(ValueError):
    pass


def _suggest(key, valid):
    close = difflib.get_close_matches(str(key), [str(v) for v in valid], n=1)
    return f"; did you mean '{close[0]}'?" if close else f"; valid: {', '.join(sorted(map(str, valid)))}"


# ------------------------------------------------------------------------------------------ value checks
def _bad(path, value, expected):
    return ConfigError(f"config key '{path}' must be {expected}, got {value!r}")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def integer(low=None, high=None):
    def check(path, value):
        if not _is_int(value) or (low is not None and value < low) or (high is not None and value > high):
            span = (f"an integer >= {low}" if high is None else f"an integer from {low} to {high}") \
                if low is not None else "an integer"
            raise _bad(path, value, span)
        return value
    return check


def number(low=None, high=None, low_open=False, high_open=False):
    def check(path, value):
        ok = _is_number(value) and math.isfinite(value)
        if ok and low is not None:
            ok = value > low if low_open else value >= low
        if ok and high is not None:
            ok = value < high if high_open else value <= high
        if not ok:
            if low is not None and high is not None:
                span = f"a number in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
            elif low is not None:
                span = f"a number {'>' if low_open else '>='} {low}"
            else:
                span = "a finite number"
            raise _bad(path, value, span)
        return float(value)
    return check


def boolean(path, value):
    if not isinstance(value, bool):
        raise _bad(path, value, "true or false")
    return value


def text(path, value):
    if not isinstance(value, str):
        raise _bad(path, value, "a string")
    return value


def nonempty_text(path, value):
    if not isinstance(value, str) or not value.strip():
        raise _bad(path, value, "a non-empty string")
    return value


def choice(*options):
    def check(path, value):
        if value not in options:
            hint = _suggest(value, options) if isinstance(value, str) else f"; choose one of {', '.join(options)}"
            raise ConfigError(f"config key '{path}' must be one of {', '.join(options)}, got {value!r}"
                              + (hint if isinstance(value, str) else ""))
        return value
    return check


def run_name(path, value):
    """A plain folder name: the run goes inside ``out_dir`` and nowhere else."""
    if not isinstance(value, str) or not value.strip():
        raise _bad(path, value, "a non-empty folder name")
    if any(c in value for c in "/\\\0") or value.startswith(".") or os.path.isabs(value) or value != value.strip():
        raise _bad(path, value, "a plain folder name (no '/', '\\', leading '.' or surrounding spaces), "
                                "so that the run stays inside out_dir")
    return value


def columns(path, value):
    if value == "all":
        return value
    if not isinstance(value, list) or not value or not all(isinstance(c, str) or _is_int(c) for c in value):
        raise _bad(path, value, "'all' or a non-empty list of column names or 0-based feature indices")
    return value


def layers(path, value):
    if not isinstance(value, list) or not all(isinstance(v, (str, dict)) for v in value):
        raise _bad(path, value, "a list of layers like [\"Linear(64)\", \"ReLU\", \"Linear(1)\"]")
    return value


def monitor(path, value):
    known = sorted(set(MONITORS["regression"]) | set(MONITORS["classification"]))
    if value not in known:
        raise ConfigError(f"config key '{path}' must be one of {', '.join(known)}, got {value!r}"
                          + (_suggest(value, known) if isinstance(value, str) else ""))
    return value


SCHEMA = {
    "name": run_name,
    "seed": integer(0, _MAX_SEED),
    "epochs": integer(1, 10 ** 9),
    "batch_size": integer(1),
    "out_dir": nonempty_text,
    "data": {
        "kind": choice("csv", "digits", "views"),
        "path": text,
        "target": nonempty_text,
        "columns": columns,
        "standardize": boolean,
        "valid_fraction": number(0.0, 1.0, high_open=True),
        "test_fraction": number(0.0, 1.0, low_open=True, high_open=True),
        "days": integer(1),
        "test_year": integer(0),
        "shuffle": boolean,
        "flatten": boolean,
    },
    "model": {"layers": layers},
    "loss": {"name": nonempty_text},
    "optimizer": {"name": nonempty_text},
    "scheduler": {"name": nonempty_text, "interval": choice("epoch", "batch")},
    "train": {
        "l1": number(0.0),
        "clip_grad_norm": number(0.0),
        "clip_grad_value": number(0.0),
        "log_every": integer(0),
        "early_stopping": {"patience": integer(0), "min_delta": number(0.0), "restore_best": boolean,
                           "monitor": monitor},
    },
}


def _keyword_value(path, value):
    """A class keyword argument from a config: plain numbers, strings, booleans and lists of them."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            _keyword_value(f"{path}[{i}]", item)
    elif isinstance(value, (dict, datetime.date, datetime.time)):
        raise _bad(path, value, "a number, string, boolean or list")
    elif _is_number(value) and not math.isfinite(value):
        raise _bad(path, value, "a finite number")
    return value


# ------------------------------------------------------------------------------------------ merging
def _merge(defaults, given, where):
    if not isinstance(given, dict):
        raise ConfigError(f"config key '{where}' must be a table, got {given!r}")
    out = copy.deepcopy(defaults)
    for key, value in given.items():
        path = f"{where}.{key}" if where else key
        if key not in defaults:
            raise ConfigError(f"unknown config key '{path}'{_suggest(key, defaults)}")
        if not where and key in _OPEN_SECTIONS:
            out[key] = _open_section(key, value, defaults[key])
        elif isinstance(defaults[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config key '{path}' must be a table, got {value!r}")
            out[key] = _merge(defaults[key], value, path)
        else:
            out[key] = value
    return out


def _open_section(key, value, default):
    """A class name plus its keyword arguments; the defaults' kwargs apply only to the default class."""
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict):
        raise ConfigError(f"config key '{key}' must be a table or a class name, got {value!r}")
    same_class = value.get("name", default["name"]) == default["name"]
    base = dict(default) if same_class else {"name": default["name"]}
    if key == "scheduler":
        base.setdefault("interval", default["interval"])
    return {**base, **value}


def _check(schema, config, where):
    for key, rule in schema.items():
        path = f"{where}.{key}" if where else key
        if isinstance(rule, dict):
            _check(rule, config[key], path)
        else:
            config[key] = rule(path, config[key])
    return config


def parse_override(text_):
    """``a.b=value`` → (['a', 'b'], value); the value is read as TOML (numbers, booleans, lists, strings)."""
    if "=" not in text_:
        raise ConfigError(f"--set expects key=value, got {text_!r}")
    key, raw = text_.split("=", 1)
    keys = key.strip().split(".")
    if not all(k.strip() for k in keys):
        raise ConfigError(f"--set {text_!r}: the key must be like optimizer.lr")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is a string
    return [k.strip() for k in keys], value


def apply_overrides(raw, overrides):
    raw = copy.deepcopy(raw)
    for text_ in overrides or []:
        keys, value = parse_override(text_)
        node = raw
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {text_}: '{k}' is not a table")
        node[keys[-1]] = value
    return raw


def resolve(raw, overrides=None):
    """Defaults + file + overrides, every key and value checked; raises ``ConfigError`` naming the key."""
    config = _merge(DEFAULTS, apply_overrides(raw, overrides), "")
    for section in _OPEN_SECTIONS:
        for key, value in config[section].items():
            _keyword_value(f"{section}.{key}", value)
    _check(SCHEMA, config, "")
    data, stopping = config["data"], config["train"]["early_stopping"]
    if data["kind"] == "csv" and not data["path"].strip():
        raise ConfigError("config key 'data.path' is required for data.kind = 'csv'")
    if stopping["patience"] > 0 and stopping["monitor"].startswith("valid_") and data["valid_fraction"] == 0:
        raise ConfigError(f"config key 'train.early_stopping.monitor' = {stopping['monitor']!r} needs a validation "
                          "split, but data.valid_fraction = 0; hold out some data or monitor 'train_loss'")
    return config


def load_config(path, overrides=None):
    try:
        with open(path, "rb") as handle:
            raw = tomllib.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder, not a TOML file") from None
    except OSError as e:
        raise ConfigError(f"config file {path}: cannot read it ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {e.start}): is it a TOML file?") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML ({e})") from None
    data_path = raw.get("data", {}).get("path") if isinstance(raw.get("data"), dict) else None
    if isinstance(data_path, str) and data_path and not os.path.isabs(data_path):
        # Paths in a config file are relative to the file; --set paths stay relative to the working directory.
        raw["data"]["path"] = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), data_path))
    try:
        return resolve(raw, overrides)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


# ------------------------------------------------------------------------------------------ class kwargs
def check_kwargs(section, cls, kwargs, skip=("params", "optimizer", "self")):
    """Keyword arguments for ``cls`` from a config section, checked against its signature: unknown names get a
    suggestion, required ones must be there, and a value must have the type of the parameter's default
    (a number for a number, true/false for a flag, a list as long as a tuple default)."""
    parameters = {name: p for name, p in inspect.signature(cls).parameters.items()
                  if name not in skip and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    for key in kwargs:
        if key not in parameters:
            raise ConfigError(f"unknown key '{section}.{key}' for {cls.__name__}{_suggest(key, parameters)}")
    missing = [name for name, p in parameters.items() if p.default is p.empty and name not in kwargs]
    if missing:
        raise ConfigError(f"{cls.__name__} needs '{section}.{missing[0]}' (required: "
                          f"{', '.join(section + '.' + m for m in missing)})")
    for key, value in kwargs.items():
        _like_default(f"{section}.{key}", value, parameters[key].default, cls.__name__)
    return kwargs


def _like_default(path, value, default, owner):
    def fail(expected):
        raise ConfigError(f"config key '{path}' must be {expected} (the default of {owner} is {default!r}), "
                          f"got {value!r}")
    if default is None or default is inspect.Parameter.empty:
        return
    if isinstance(default, bool):
        if not isinstance(value, bool):
            fail("true or false")
    elif _is_number(default):
        if not _is_number(value):
            fail("a number")
    elif isinstance(default, str):
        if not isinstance(value, str):
            fail("a string")
    elif isinstance(default, (tuple, list)):
        if not isinstance(value, list) or len(value) != len(default):
            fail(f"a list of {len(default)} values")
        for i, (item, item_default) in enumerate(zip(value, default)):
            _like_default(f"{path}[{i}]", item, item_default, owner)
