"""``torch.utils.tensorboard``: ``SummaryWriter``."""
from ..._missing import missing_in
from .writer import SummaryWriter  # noqa: F401

__getattr__ = missing_in("torch.utils.tensorboard")
