"""Turn a resolved config into objects: the model (from a layer list), the loss, optimizer and scheduler."""
import ast

import numpy as np

from .. import nn, optim
from ..optim import lr_scheduler
from .config import ConfigError, check_kwargs

# Layers a config may name, with how each changes the feature width flowing through a plain stack.
_ACTIVATIONS = ("ReLU", "Sigmoid", "Tanh", "LeakyReLU", "Hardsigmoid", "Softplus", "Identity", "Dropout",
                "Softmax", "LogSoftmax")


def parse_layer(spec):
    """'Linear(64)' / 'Dropout(p=0.2)' / 'ReLU' / {type = "Linear", out_features = 64} → (name, args, kwargs).

    Strings are parsed with ``ast`` and only literal arguments are accepted, so a config can never run code.
    """
    if isinstance(spec, dict):
        spec = dict(spec)
        if "type" not in spec:
            raise ConfigError(f"layer {spec} needs a 'type' key")
        return spec.pop("type"), [], spec
    if not isinstance(spec, str):
        raise ConfigError(f"layer {spec!r} must be a string like 'Linear(64)' or a table with a 'type' key")
    try:
        node = ast.parse(spec.strip(), mode="eval").body
    except SyntaxError:
        raise ConfigError(f"layer {spec!r} is not of the form Name(arg, key=value)") from None
    if isinstance(node, ast.Name):
        return node.id, [], {}
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise ConfigError(f"layer {spec!r} is not of the form Name(arg, key=value)")
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except ValueError:
        raise ConfigError(f"layer {spec!r}: arguments must be literal numbers, strings or tuples") from None
    return node.func.id, args, kwargs


# How many positional arguments each layer takes when its input size is written out; one fewer means
# "infer the input size from the previous layer" (Linear(64), Conv2d(16, 3), BatchNorm2d()).
_INFERRED_INPUT = {"Linear": ("in_features", 2), "Conv2d": ("in_channels", 3), "BatchNorm1d": ("num_features", 1),
                   "BatchNorm2d": ("num_features", 1)}


def build_model(layers, input_shape):
    """A ``Sequential`` from the layer list; each layer's input size may be left out and is inferred by
    running a dummy sample through the layers built so far."""
    from ..autograd.grad_mode import no_grad
    from ..factory import zeros
    if not layers:
        raise ConfigError("model.layers is empty: list the layers, e.g. [\"Linear(64)\", \"ReLU\", \"Linear(1)\"]")
    shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else tuple(input_shape)
    sample = zeros(2, *shape)  # batch of 2 so that batch norm can run in training mode
    modules = []
    for spec in layers:
        name, args, kwargs = parse_layer(spec)
        cls = getattr(nn, name, None)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)) or name.endswith("Loss"):
            import difflib
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
        try:
            module = cls(*args, **kwargs)
            with no_grad():  # eval mode: the shape probe must not draw dropout noise or touch batch statistics
                sample = module.eval()(sample)
            module.train()
        except (TypeError, ValueError, RuntimeError) as e:
            raise ConfigError(f"layer {spec!r} on input of shape {tuple(sample.shape[1:])}: {e}") from None
        modules.append(module)
    return nn.Sequential(*modules)


def build_loss(section):
    kwargs = {k: v for k, v in section.items() if k != "name"}
    cls = _lookup("loss", section["name"], nn, lambda n: n.endswith("Loss"))
    return cls(**check_kwargs("loss", cls, kwargs))


def build_optimizer(section, parameters):
    kwargs = {k: v for k, v in section.items() if k != "name"}
    cls = _lookup("optimizer", section["name"], optim, lambda n: n[0].isupper() and n != "Optimizer")
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    return cls(parameters, **check_kwargs("optimizer", cls, kwargs))


def build_scheduler(section, optimizer, steps_per_epoch, epochs):
    """None for name 'none'.  OneCycleLR's total_steps default to the run's length."""
    name = section["name"]
    if name in ("none", ""):
        return None
    kwargs = {k: v for k, v in section.items() if k not in ("name", "interval")}
    factory = _lookup("scheduler", name, lr_scheduler,
                      lambda n: (n.endswith("LR") or n in ("ReduceLROnPlateau", "warmup_cosine", "noam"))
                      and n != "LRScheduler")
    if name == "OneCycleLR" and "total_steps" not in kwargs and "epochs" not in kwargs:
        per_batch = section.get("interval", "epoch") == "batch"
        kwargs["total_steps"] = epochs * (steps_per_epoch if per_batch else 1)
    return factory(optimizer, **check_kwargs("scheduler", factory, kwargs))


def _lookup(section, name, module, accept):
    obj = getattr(module, name, None)
    if obj is None or not accept(name):
        import difflib
        valid = [n for n in dir(module) if not n.startswith("_") and accept(n)]
        close = difflib.get_close_matches(name, valid, n=1)
        raise ConfigError(f"unknown {section} '{name}'" + (f"; did you mean '{close[0]}'?" if close else
                                                           f"; choose one of {', '.join(sorted(valid))}"))
    return obj
