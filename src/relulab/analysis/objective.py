"""A loss as a function of one flat float64 parameter vector: the common ground of every analysis tool.

``Objective.from_model(model, loss_fn, data)`` copies the model to float64, puts it in ``eval()`` mode (dropout
off, batch norm on its running statistics) and averages the loss over the data's batches, weighted by batch
size, so the Hessian is the Hessian of the full-data loss.  ``Objective(fn, point)`` wraps any function of a
1-D Tensor, e.g. the lecture's toy surfaces.
"""
import copy
from contextlib import contextmanager

import numpy as np

from ..autograd import grad as autograd_grad
from ..autograd.grad_mode import enable_grad, no_grad
from ..autograd.tensor import Tensor
from ..nn.module import Module


def batches(data):
    """(inputs, targets) batches from a DataLoader, a Dataset or an (x, y) pair."""
    if isinstance(data, tuple) and len(data) == 2 and all(isinstance(d, (Tensor, np.ndarray)) for d in data):
        return [(_as_tensor(data[0]), _as_tensor(data[1]))]
    if hasattr(data, "batch_size") or hasattr(data, "batch_sampler"):  # a DataLoader
        return [(_as_tensor(x), _as_tensor(y)) for x, y in data]
    from ..utils.data import DataLoader
    return [(_as_tensor(x), _as_tensor(y)) for x, y in DataLoader(data, batch_size=1024)]


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor._make(np.asarray(x))


def _double(t):
    return t.double() if t.dtype.kind == "f" else t


@contextmanager
def parameters_replaced(model, values):
    """Run ``model`` with its parameters swapped for the given tensors (a functional call), then restore."""
    saved = []
    try:
        for (module, name), value in zip(_slots(model), values):
            saved.append((module, name, module._parameters[name]))
            module._parameters[name] = value
        yield model
    finally:
        for module, name, original in saved:
            module._parameters[name] = original


def _slots(model):
    """(module, parameter name) for every parameter, in ``named_parameters`` order, shared ones once."""
    seen, out = set(), []
    for module in model.modules():
        for name, p in module._parameters.items():
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                out.append((module, name))
    return out


class Objective:
    """L(θ) for a flat θ ∈ ℝⁿ, with value, gradient, Hessian-vector products and the dense Hessian (float64)."""

    def __init__(self, fn, point, names=None, shapes=None):
        self.fn = fn
        self.point = np.asarray(point._data if isinstance(point, Tensor) else point, dtype=np.float64).reshape(-1).copy()
        self.names, self.shapes = names, shapes

    @property
    def size(self):
        return self.point.size

    @classmethod
    def from_model(cls, model, loss_fn, data):
        if not isinstance(model, Module):
            raise TypeError(f"Objective.from_model: expected a relulab Module, got {type(model).__name__}")
        twin = copy.deepcopy(model).double().eval()  # float64 and eval semantics, without touching the original
        data = [(_double(x), _double(y)) for x, y in batches(data)]
        total = sum(int(y.shape[0]) if y.ndim else 1 for _, y in data)
        if total == 0:
            raise ValueError("Objective.from_model: the data holds no samples")
        names = [n for n, _ in twin.named_parameters()]
        params = [p for _, p in twin.named_parameters()]
        shapes = [tuple(p.shape) for p in params]
        sizes = [int(np.prod(s)) for s in shapes]

        def fn(theta):
            pieces, start = [], 0
            for shape, size in zip(shapes, sizes):
                pieces.append(theta[start:start + size].reshape(shape))
                start += size
            with parameters_replaced(twin, pieces):
                loss = None
                for x, y in data:
                    weight = (int(y.shape[0]) if y.ndim else 1) / total
                    term = loss_fn(twin(x), y)
                    if weight != 1:  # one batch: no node for a product by 1 (it costs in every pass of an HVP)
                        term = term * weight
                    loss = term if loss is None else loss + term
            return loss

        point = np.concatenate([p._data.reshape(-1) for p in params]) if params else np.zeros(0)
        obj = cls(fn, point, names, shapes)
        obj.model = twin
        return obj

    @classmethod
    def of(cls, target, *args):
        """An Objective from (Objective) | (fn, point) | (model, loss_fn, data)."""
        if isinstance(target, Objective):
            return target
        if isinstance(target, Module):
            if len(args) < 2:
                raise TypeError("analysis: a model needs loss_fn and data, e.g. hessian(model, loss_fn, data)")
            return cls.from_model(target, args[0], args[1])
        if callable(target):
            if not args:
                raise TypeError("analysis: a function needs the point to evaluate it at, e.g. classify(f, [0, 0])")
            return cls(target, args[0])
        raise TypeError(f"analysis: expected an Objective, a Module or a function, got {type(target).__name__}")

    # ------------------------------------------------------------------------------------------------ evaluation
    def _theta(self, theta, requires_grad):
        theta = self.point if theta is None else np.asarray(theta, dtype=np.float64).reshape(-1)
        if theta.shape != self.point.shape:
            raise ValueError(f"Objective: θ has {theta.size} values, the objective has {self.size} parameters")
        t = Tensor._make(theta.copy())
        return t.requires_grad_(True) if requires_grad else t

    def value(self, theta=None):
        with no_grad():
            return float(self.fn(self._theta(theta, False)).item())

    def gradient(self, theta=None):
        with enable_grad():
            t = self._theta(theta, True)
            (g,) = autograd_grad(self.fn(t), t, allow_unused=True)
        return np.zeros(self.size) if g is None else g._data.copy()

    def hvp(self, v, theta=None):
        """H(θ)·v by double backprop: the gradient of ⟨∇L, v⟩.  Never forms H."""
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        with enable_grad():
            t = self._theta(theta, True)
            (g,) = autograd_grad(self.fn(t), t, create_graph=True, allow_unused=True)
            if g is None or not g.requires_grad:
                return np.zeros(self.size)
            # vᵀ(∂g/∂θ) = (Hᵀv)ᵀ = Hv: v enters as the gradient's cotangent, so no dot product is recorded.
            (hv,) = autograd_grad(g, t, Tensor._make(v), allow_unused=True)
        return np.zeros(self.size) if hv is None else hv._data.copy()

    def hessian(self, theta=None):
        """The exact dense Hessian: one gradient with its graph, then one batched backward through that graph
        for all rows at once (``autograd.functional.hessian`` with ``vectorize=True``)."""
        from ..autograd.functional import hessian
        h = hessian(self.fn, self._theta(theta, False), vectorize=True)._data
        return (h + h.T) / 2  # exact up to rounding; symmetrise the last bits
