"""The op contract (after needle): an op computes on arrays and differentiates in Tensor ops.

``forward(*arrays)`` returns the output array.  ``backward(grad, out)`` receives the output's gradient and the
output tensor itself and returns one gradient Tensor (or None) per input.  Because backward is written with
Tensor ops, the engine can record it when asked (``create_graph=True``) and differentiate again, to any order.
"""
from .grad_mode import is_grad_enabled


class Function:
    __slots__ = ("inputs", "versions", "freed")

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad, out):
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__

    def apply(self, *inputs):
        """Run forward on the inputs' arrays; record this op in the graph if any input needs a gradient."""
        out = Tensor._make(self.forward(*[t._data for t in inputs]))
        # Plain data (no input requires grad) is the common case in data pipelines: one attribute test per
        # input and no grad-mode lookup.
        for t in inputs:
            if t.requires_grad:
                if is_grad_enabled():
                    out.requires_grad = True
                    out._ctx = self
                    self.inputs = inputs
                    # A version snapshot lets backward detect in-place changes to what it will read.
                    self.versions = [t._vc[0] for t in inputs]
                    self.freed = False
                break
        return out

    def __repr__(self):
        return f"<{self.name}Backward>"


from .tensor import Tensor  # noqa: E402  (Tensor and Function refer to each other)
