"""``torch.utils``: ``data`` (datasets, samplers, DataLoader) and ``tensorboard`` (SummaryWriter)."""
from . import data  # noqa: F401
from .._missing import missing_in

_missing = missing_in("torch.utils")


def __getattr__(name):
    if name == "tensorboard":  # loaded on first use: it may bring in tensorboardX
        import importlib
        return importlib.import_module(f"{__name__}.tensorboard")
    return _missing(name)
