"""``torch.nn.init``: PyTorch's initialisers."""
from ...nn import init as _init
from .._missing import missing_in, reexport

reexport(globals(), _init, skip=("math", "np", "backend", "Tensor", "no_grad"))

__getattr__ = missing_in("torch.nn.init")
