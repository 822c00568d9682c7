"""Run configuration: a TOML file, defaults filled in, ``--set key=value`` overrides, and checked keys.

An unknown or mistyped key is an error that names it and suggests the closest valid key, so a typo never
silently falls back to a default.
"""
import copy
import difflib
import inspect
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
        "early_stopping": {"patience": 0, "min_delta": 0.0, "restore_best": True, "monitor": "valid_loss"},
    },
}

# Sections whose keys are the keyword arguments of the class named by "name".
_OPEN_SECTIONS = {"loss", "optimizer", "scheduler"}


class ConfigError(ValueError):
    pass


def _suggest(key, valid):
    close = difflib.get_close_matches(key, list(valid), n=1)
    return f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(sorted(valid))}"


def _merge(defaults, given, where):
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
        elif not _type_ok(value, defaults[key]):
            raise ConfigError(f"config key '{path}' expects a {type(defaults[key]).__name__}, got {value!r}")
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


def _type_ok(value, default):
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, str) and default in ("all",):
        return isinstance(value, (str, list))
    if isinstance(default, list):
        return isinstance(value, list)
    return isinstance(value, type(default))


def parse_override(text):
    """``a.b=value`` → (['a', 'b'], value); the value is read as TOML (numbers, booleans, lists, strings)."""
    if "=" not in text:
        raise ConfigError(f"--set expects key=value, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is a string
    return key.strip().split("."), value


def apply_overrides(raw, overrides):
    raw = copy.deepcopy(raw)
    for text in overrides or []:
        keys, value = parse_override(text)
        node = raw
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {text}: '{k}' is not a table")
        node[keys[-1]] = value
    return raw


def resolve(raw, overrides=None):
    """Defaults + file + overrides, every key checked."""
    config = _merge(DEFAULTS, apply_overrides(raw, overrides), "")
    for key in ("epochs", "batch_size"):
        if config[key] <= 0:
            raise ConfigError(f"config key '{key}' must be a positive integer, got {config[key]}")
    if not 0.0 <= config["data"]["valid_fraction"] < 1.0:
        raise ConfigError(f"config key 'data.valid_fraction' must be in [0, 1), got {config['data']['valid_fraction']}")
    return config


def load_config(path, overrides=None):
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
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


def check_kwargs(section, cls, kwargs, skip=("params", "optimizer", "self")):
    """Keyword arguments for ``cls`` from a config section: unknown names get a suggestion."""
    valid = [p for p in inspect.signature(cls).parameters if p not in skip]
    for key in kwargs:
        if key not in valid:
            raise ConfigError(f"unknown key '{section}.{key}' for {cls.__name__}{_suggest(key, valid)}")
    return kwargs
