"""``torch.optim``: relulab's optimizers (PyTorch's numerics) and ``lr_scheduler``."""
from ... import optim as _optim
from .._missing import missing_in, reexport
from . import lr_scheduler  # noqa: F401

reexport(globals(), _optim, names=_optim.__all__)

__getattr__ = missing_in("torch.optim")
