"""``torch.serialization``: ``load`` and ``save`` of PyTorch's own checkpoint files (``relulab.save`` stays
safetensors)."""
from ._missing import missing_in
from .pt_reader import RefusedGlobal, load  # noqa: F401
from .pt_writer import save  # noqa: F401

__getattr__ = missing_in("torch.serialization")
