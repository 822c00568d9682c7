"""How the diagnosed run was trained: its optimizer, learning rate, epochs and batch size, as the run used them.

The doctor reports these, scans the learning rate around the run's own, and trains with the run's batch size.  It
never trains its reference models with them: each reference gets its own learning-rate search (``lr_search``).
"""
import inspect
from dataclasses import dataclass, field

from ... import optim

# Optimizer keyword arguments that are implementation switches, not settings of the method.
_SWITCHES = ("lr", "foreach", "maximize", "capturable", "differentiable", "fused")


@dataclass
class Budget:
    """The run's training settings.  ``None`` means unknown: the doctor then says so rather than assume a default.

    ``batch_size=None`` takes the training DataLoader's batch size, or the full batch for an (x, y) pair.
    ``source`` says where the numbers came from (the run's config, its optimizer, its history, or the caller).
    """

    epochs: int = None
    optimizer: str = None
    lr: float = None
    batch_size: int = None
    options: dict = field(default_factory=dict)  # the optimizer's other keyword arguments (momentum, betas ...)
    scheduler: str = None                        # the run's lr scheduler, if any (the doctor's scans do not replay it)
    source: str = "given"

    @classmethod
    def from_config(cls, config, epochs=None):
        """The settings of a config-driven run; an lr the config leaves out is the optimizer class's default."""
        section = dict(config["optimizer"])
        name = section.pop("name")
        lr = section.pop("lr", None)
        if lr is None:
            lr = default_lr(name)
        scheduler = config.get("scheduler", {}).get("name", "none")
        return cls(int(epochs or config["epochs"]), name, None if lr is None else float(lr), int(config["batch_size"]),
                   section, None if scheduler in ("none", "") else scheduler, "the run's config")

    @classmethod
    def from_optimizer(cls, optimizer, epochs=None, batch_size=None, scheduler=None):
        """The settings of a live optimizer: its class, its first group's initial lr and its other settings."""
        group = optimizer.param_groups[0]
        accepted = inspect.signature(type(optimizer)).parameters
        options = {k: group.get(k, v) for k, v in optimizer.defaults.items() if k in accepted and k not in _SWITCHES}
        lr = group.get("initial_lr", group["lr"])  # a scheduler may have moved "lr"; "initial_lr" is where it began
        scheduler = type(scheduler).__name__ if scheduler is not None and not isinstance(scheduler, str) else scheduler
        return cls(None if epochs is None else int(epochs), type(optimizer).__name__, float(lr), batch_size, options,
                   scheduler, "the run's optimizer")

    @property
    def known(self):
        """True when the optimizer and lr are both known, so the run's own settings can be replayed."""
        return self.optimizer is not None and self.lr is not None

    def make_optimizer(self, parameters, lr=None):
        """The run's optimizer class and settings on new parameters, at ``lr`` (default: the run's lr)."""
        return make_optimizer(self.optimizer, parameters, self.lr if lr is None else lr, self.options)

    def describe(self):
        if self.optimizer is None:
            name = "optimizer unknown"
        else:
            settings = [f"lr={self.lr:g}" if self.lr is not None else "lr unknown"]
            defaults = _defaults(self.optimizer)
            settings += [f"{k}={_value(v)}" for k, v in sorted(self.options.items())
                         if k not in defaults or _plain(defaults[k]) != _plain(v)]  # only what differs
            name = f"{self.optimizer}({', '.join(settings)})"
        parts = [name]
        if self.scheduler:
            parts.append(f"scheduler {self.scheduler}")
        if self.epochs is not None:
            parts.append(f"{self.epochs} epochs")
        parts.append("full batch" if self.batch_size is None else f"batch {self.batch_size}")
        return ", ".join(parts)


def make_optimizer(name, parameters, lr, options=None):
    """``relulab.optim.<name>(parameters, lr=lr, **options)``; a clear error for an unknown name."""
    cls = getattr(optim, name, None) if name else None
    if not (isinstance(cls, type) and issubclass(cls, optim.Optimizer)):
        raise ValueError(f"diagnose: unknown optimizer {name!r}; expected a class of relulab.optim such as 'Adam'")
    options = dict(options or {})
    if "betas" in options:
        options["betas"] = tuple(options["betas"])
    return cls(parameters, lr=lr, **options)


def default_lr(name):
    """The default lr of ``relulab.optim.<name>``, or None if it has none."""
    cls = getattr(optim, name, None)
    if cls is None:
        return None
    default = inspect.signature(cls).parameters.get("lr")
    return None if default is None or default.default is inspect.Parameter.empty else float(default.default)


def _defaults(name):
    cls = getattr(optim, name, None)
    if cls is None:
        return {}
    return {k: p.default for k, p in inspect.signature(cls).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _plain(v):
    if v is None:
        return False  # None is the "off" default of switches such as decoupled_weight_decay
    return tuple(v) if isinstance(v, (list, tuple)) else v


def _value(v):
    return f"{v:g}" if isinstance(v, float) else (str(tuple(v)) if isinstance(v, list) else str(v))
