"""Reverse-mode autodiff to any order: ``grad``, ``backward`` and ``functional`` (jacobian, hessian, hvp)."""
from .function import Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor


def _as_list(x):
    return [x] if isinstance(x, Tensor) else list(x)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False,
         is_grads_batched=False, materialize_grads=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated into ``.grad``).

    With ``create_graph=True`` the returned gradients are themselves differentiable.  With
    ``is_grads_batched=True`` the first dimension of each grad_output indexes a batch of vectors, and each
    result holds one vector-Jacobian product per vector, stacked the same way (PyTorch's semantics).
    """
    from .engine import run_backward
    from .tensor import _as_tensor_like
    from ..backend import xp
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    grad_outputs = _as_list(grad_outputs) if not isinstance(grad_outputs, (list, tuple)) else list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"autograd.grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    gouts = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:
            raise RuntimeError(f"autograd.grad: output {i} does not require grad and has no grad_fn")
        if g is None:
            if out.numel() != 1:
                raise RuntimeError(f"autograd.grad: grad can be implicitly created only for scalar outputs; "
                                   f"output {i} has shape {tuple(out.shape)}")
            if is_grads_batched:
                raise RuntimeError("autograd.grad: is_grads_batched=True needs grad_outputs")
            g = Tensor._make(xp.ones_like(out._data))
        gouts.append(_batched_like(g, out) if is_grads_batched else _as_tensor_like(g, out, "autograd.grad"))
    if is_grads_batched and len({int(g.shape[0]) for g in gouts}) > 1:
        raise RuntimeError(f"autograd.grad: with is_grads_batched=True every grad_output needs the same batch size, "
                           f"got {[int(g.shape[0]) for g in gouts]}")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"autograd.grad: input {i} (shape {tuple(t.shape)}) does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outputs, gouts, inputs, retain_graph, create_graph,
                          allow_unused or materialize_grads, accumulate=False, batched=is_grads_batched)
    if materialize_grads:
        batch = (gouts[0].shape[0],) if is_grads_batched else ()
        result = tuple(Tensor._make(xp.zeros(batch + tuple(t.shape), dtype=t.dtype)) if r is None else r
                       for t, r in zip(inputs, result))
    return result


def _batched_like(g, out):
    from .tensor import Tensor as _T
    t = g if isinstance(g, _T) else _T(g, dtype=out.dtype)
    if t.ndim == 0 or tuple(t.shape[1:]) != tuple(out.shape):
        raise RuntimeError(f"autograd.grad: with is_grads_batched=True each grad_output needs shape (batch,) + "
                           f"{tuple(out.shape)}, got {tuple(t.shape)}")
    return t


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    tensors = _as_list(tensors)
    grad_tensors = [None] * len(tensors) if grad_tensors is None else _as_list(grad_tensors)
    for t, g in zip(tensors, grad_tensors):
        t.backward(g, retain_graph=True if len(tensors) > 1 else retain_graph, create_graph=create_graph,
                   inputs=inputs)


from . import functional  # noqa: E402
