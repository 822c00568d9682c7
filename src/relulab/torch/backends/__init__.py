"""``torch.backends``: the cudnn and mps switches, settable and readable (they change nothing on the CPU)."""
from . import cudnn, mps  # noqa: F401
from .._missing import missing_in

__getattr__ = missing_in("torch.backends")
