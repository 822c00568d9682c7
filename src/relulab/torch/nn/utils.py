"""``torch.nn.utils``: gradient clipping."""
from ...nn.utils import clip_grad_norm_, clip_grad_value_  # noqa: F401
from .._missing import missing_in

__getattr__ = missing_in("torch.nn.utils")
