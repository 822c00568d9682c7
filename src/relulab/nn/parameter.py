"""``Parameter``: a leaf tensor that a Module registers as learnable."""
import numpy as np

from ..autograd.tensor import Tensor


class Parameter(Tensor):
    """A Tensor that requires grad by default and is collected by ``Module.parameters()``."""

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), dtype=np.float32)
        array = data._data if isinstance(data, Tensor) else np.asarray(data)
        self._data = array
        self.grad = None
        self._ctx = None
        self._vc = [0]
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """Marks a tensor assigned to a Module as a buffer (``self.running_mean = Buffer(...)``)."""

    def __init__(self, data, persistent=True):
        array = data._data if isinstance(data, Tensor) else np.asarray(data)
        self._data = array
        self.grad = None
        self._ctx = None
        self._vc = [0]
        self._retains_grad = False
        self.requires_grad = False
        self.persistent = persistent
