"""``Parameter``: a leaf tensor that a Module registers as learnable; ``Buffer``: state that is not learned."""
import numpy as np

from ..autograd.tensor import Tensor


def _array(data):
    return data._data if isinstance(data, Tensor) else np.asarray(data)


class Parameter(Tensor):
    """A Tensor that requires grad by default and is collected by ``Module.parameters()``."""

    def __init__(self, data=None, requires_grad=True):
        self._init_leaf(_array(np.empty((0,), np.float32) if data is None else data), requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """Marks a tensor assigned to a Module as a buffer (``self.running_mean = Buffer(...)``)."""

    def __init__(self, data, persistent=True):
        self._init_leaf(_array(data), False)
        self.persistent = persistent
