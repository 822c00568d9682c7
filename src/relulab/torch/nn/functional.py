"""``torch.nn.functional``: relulab's activations, losses, convolution, pooling, dropout and padding."""
from ...nn import functional as _F
from .._missing import missing_in, reexport

reexport(globals(), _F, skip=("warnings", "np", "backend", "xp", "Function", "no_grad", "Tensor", "const",
                              "operands", "BinaryCrossEntropy"))

__getattr__ = missing_in("torch.nn.functional")
