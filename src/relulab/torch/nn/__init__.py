"""``torch.nn``: relulab's modules, layers, losses and ``Parameter``, with ``functional``, ``init`` and ``utils``."""
from ... import nn as _nn
from .._missing import missing_in, reexport
from . import functional, init, utils  # noqa: F401

reexport(globals(), _nn, skip=("plot", "inspect", "module", "layers", "conv", "loss", "parameter",
                               "receptive_field", "parameter_count", "activation", "norm"))

__getattr__ = missing_in("torch.nn")
