"""Turn a resolved config into objects: the model (from a layer list), the loss, optimizer and scheduler.

Every failure is a ``ConfigError`` that names the config section and the value that caused it.
"""
import ast
import difflib
import inspect
import os

import numpy as np

from .. import nn, optim
from ..optim import lr_scheduler
from .config import ConfigError, check_kwargs

# Constructors raise these for bad arguments; anything else is a bug and propagates.
_BAD_ARGUMENT = (TypeError, ValueError, IndexError, KeyError, RuntimeError, ZeroDivisionError, OverflowError)


def parse_layer(spec):
    """'Linear(64)' / 'Dropout(p=0.2)' / 'ReLU' / {type = "Linear", out_features = 64} → (name, args, kwargs).

    Strings are parsed with ``ast`` and only literal arguments are accepted, so a config can never run code.
    """
    if isinstance(spec, dict):
        spec = dict(spec)
        if "type" not in spec or not isinstance(spec["type"], str):
            raise ConfigError(f"layer {spec} needs a 'type' key naming the layer")
        return spec.pop("type"), [], spec
    if not isinstance(spec, str):
        raise ConfigError(f"layer {spec!r} must be a string like 'Linear(64)' or a table with a 'type' key")
    try:
        node = ast.parse(spec.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        raise ConfigError(f"layer {spec!r} is not of the form Name(arg, key=value)") from None
    if isinstance(node, ast.Name):
        return node.id, [], {}
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)) or \
            any(k.arg is None for k in node.keywords) or any(isinstance(a, ast.Starred) for a in node.args):
        raise ConfigError(f"layer {spec!r} is not of the form Name(arg, key=value)")
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ConfigError(f"layer {spec!r}: arguments must be literal numbers, strings or tuples") from None
    return node.func.id, args, kwargs


# How many positional arguments each layer takes when its input size is written out; one fewer means
# "infer the input size from the previous layer" (Linear(64), Conv2d(16, 3), BatchNorm2d()).
_INFERRED_INPUT = {"Linear": ("in_features", 2), "Conv2d": ("in_channels", 3), "BatchNorm1d": ("num_features", 1),
                   "BatchNorm2d": ("num_features", 1)}
# Arguments that are sizes: each must be a positive integer.
_SIZES = {"Linear": ("in_features", "out_features"), "Conv2d": ("in_channels", "out_channels", "kernel_size"),
          "BatchNorm1d": ("num_features",), "BatchNorm2d": ("num_features",)}


def _memory_bytes():
    """This machine's memory, the bound on a model's size (training holds about 4 copies of the weights)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 2 ** 30


def _sizes_and_count(name, cls, args, kwargs, spec):
    """Check the layer's size arguments; return its parameter count (0 for layers without size arguments)."""
    if name not in _SIZES:
        return 0
    try:
        bound = inspect.signature(cls).bind(*args, **kwargs).arguments
    except TypeError as e:
        raise ConfigError(f"layer {spec!r}: {e}") from None
    for key in _SIZES[name]:
        values = bound.get(key)
        values = values if isinstance(values, (tuple, list)) else (values,)
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in values):
            raise ConfigError(f"layer {spec!r}: {key} must be a positive integer, got {bound.get(key)!r}")
    if name == "Linear":
        return bound["in_features"] * bound["out_features"] + bound["out_features"]
    if name == "Conv2d":
        k = bound["kernel_size"]
        kh, kw = (k, k) if isinstance(k, (int, np.integer)) else tuple(k)
        groups = bound.get("groups", 1) if isinstance(bound.get("groups", 1), int) else 1
        return bound["out_channels"] * (bound["in_channels"] // max(groups, 1)) * kh * kw + bound["out_channels"]
    return 2 * bound["num_features"]


def build_model(layers, input_shape):
    """A ``Sequential`` from the layer list; each layer's input size may be left out and is inferred by
    running a dummy sample through the layers built so far."""
    from ..autograd.grad_mode import no_grad
    from ..factory import zeros
    if not layers:
        raise ConfigError("model.layers is empty: list the layers, e.g. [\"Linear(64)\", \"ReLU\", \"Linear(1)\"]")
    shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else tuple(input_shape)
    sample = zeros(2, *shape)  # batch of 2 so that batch norm can run in training mode
    modules, parameters, budget = [], 0, _memory_bytes()
    for spec in layers:
        name, args, kwargs = parse_layer(spec)
        cls = getattr(nn, name, None)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)) or name.endswith("Loss") or \
                name in ("Module", "Sequential", "ModuleList"):
            valid = [n for n in dir(nn) if isinstance(getattr(nn, n), type) and issubclass(getattr(nn, n), nn.Module)
                     and not n.endswith("Loss") and n not in ("Module", "Sequential", "ModuleList")]
            close = difflib.get_close_matches(name, valid, n=1)
            raise ConfigError(f"unknown layer '{name}'" + (f"; did you mean '{close[0]}'?" if close else
                                                             f"; known layers: {', '.join(sorted(valid))}"))
        if name in _INFERRED_INPUT:
            key, full = _INFERRED_INPUT[name]
            if key not in kwargs and len(args) == full - 1:
                width = sample.shape[-1] if name == "Linear" else sample.shape[1]
                args = [int(width)] + list(args)
        parameters += _sizes_and_count(name, cls, args, kwargs, spec)
        if 4 * 4 * parameters > budget:  # float32 weights, gradients and two optimizer moments
            raise ConfigError(f"layer {spec!r} brings the model to {parameters:,} parameters: training it needs "
                              f"about {16 * parameters / 2 ** 30:.1f} GiB, more than this machine's "
                              f"{budget / 2 ** 30:.1f} GiB of memory")
        try:
            module = cls(*args, **kwargs)
            with no_grad():  # eval mode: the shape probe must not draw dropout noise or touch batch statistics
                sample = module.eval()(sample)
            module.train()
        except MemoryError:
            raise ConfigError(f"layer {spec!r}: not enough memory to build it") from None
        except _BAD_ARGUMENT as e:
            raise ConfigError(f"layer {spec!r} on input of shape {tuple(sample.shape[1:])}: {e}") from None
        modules.append(module)
    return nn.Sequential(*modules)


def build_loss(section):
    kwargs = {k: v for k, v in section.items() if k != "name"}
    cls = _lookup("loss", section["name"], nn, lambda n: n.endswith("Loss") and n != "_Loss")
    return _construct("loss", cls, [], check_kwargs("loss", cls, kwargs))


def build_optimizer(section, parameters):
    kwargs = {k: v for k, v in section.items() if k != "name"}
    cls = _lookup("optimizer", section["name"], optim, lambda n: n[0].isupper() and n != "Optimizer")
    check_kwargs("optimizer", cls, kwargs)
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    return _construct("optimizer", cls, [parameters], kwargs)


# Schedulers whose arguments are Python objects (functions, other schedulers), which a config cannot give.
_NEEDS_OBJECTS = {"LambdaLR": "a Python function (lr_lambda)", "MultiplicativeLR": "a Python function (lr_lambda)",
                  "SequentialLR": "scheduler objects", "ChainedScheduler": "scheduler objects"}


def _is_scheduler(name):
    return (name.endswith("LR") or name in ("ReduceLROnPlateau", "warmup_cosine", "noam", "ChainedScheduler",
                                            "CosineAnnealingWarmRestarts")) and name != "LRScheduler"


def build_scheduler(section, optimizer, steps_per_epoch, epochs):
    """None for name 'none'.  OneCycleLR's total_steps default to the run's length."""
    name = section["name"]
    if name in ("none", ""):
        extra = [k for k in section if k not in ("name", "interval")]
        if extra:  # arguments for no scheduler would be silently ignored
            raise ConfigError(f"config key 'scheduler.{extra[0]}' is set, but scheduler.name is {name!r}; remove it "
                              "(on the command line, --set scheduler=none drops the whole section)")
        return None
    factory = _lookup("scheduler", name, lr_scheduler, _is_scheduler)
    if name in _NEEDS_OBJECTS:
        raise ConfigError(f"scheduler {name} takes {_NEEDS_OBJECTS[name]}, which a config file cannot give; "
                          "use relulab.train.fit from a script, or warmup_cosine / noam for warmup schedules")
    kwargs = {k: v for k, v in section.items() if k not in ("name", "interval")}
    if name == "OneCycleLR" and "total_steps" not in kwargs and "epochs" not in kwargs:
        per_batch = section.get("interval", "epoch") == "batch"
        kwargs["total_steps"] = epochs * (steps_per_epoch if per_batch else 1)
    return _construct("scheduler", factory, [optimizer], check_kwargs("scheduler", factory, kwargs))


def _construct(section, cls, args, kwargs):
    try:
        return cls(*args, **kwargs)
    except _BAD_ARGUMENT as e:
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise ConfigError(f"{section} {cls.__name__}({shown}): {e}") from None


def _lookup(section, name, module, accept):
    obj = getattr(module, name, None)
    if obj is None or not accept(name):
        valid = [n for n in dir(module) if not n.startswith("_") and accept(n)]
        close = difflib.get_close_matches(name, valid, n=1)
        raise ConfigError(f"unknown {section} '{name}'" + (f"; did you mean '{close[0]}'?" if close else
                                                           f"; choose one of {', '.join(sorted(valid))}"))
    return obj
