"""Higher-order tools built on double backprop: ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``, ``vhp``.

Signatures follow ``torch.autograd.functional``: ``inputs`` is a Tensor or a tuple of Tensors, and results
mirror that structure.
"""
from ..backend import xp
from .grad_mode import enable_grad
from .tensor import Tensor


def _tuple(x):
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _fresh(inputs, create_graph):
    """The inputs as the function will see them.  With ``create_graph`` an input that requires grad stays
    linked to the caller's graph (through an identity op), so the result differentiates back to it, as in
    PyTorch; otherwise each is a new leaf cut off from any graph."""
    with enable_grad():
        return tuple(t.clone() if create_graph and t.requires_grad else t.detach().requires_grad_(True)
                     for t in inputs)


def _grads(outputs, inputs, grad_outputs, create_graph):
    from . import grad
    gs = grad(outputs, inputs, grad_outputs, retain_graph=True, create_graph=create_graph, allow_unused=True)
    return tuple(Tensor._make(xp.zeros_like(t._data)) if g is None else g for t, g in zip(inputs, gs))


def _out(result, create_graph):
    return result if create_graph else result.detach()


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    is_tuple = not isinstance(inputs, Tensor)
    xs = _fresh(_tuple(inputs), create_graph)
    with enable_grad():
        out = func(*xs)
        grads = _grads([out], xs, None if v is None else [v], create_graph)
    grads = tuple(_out(g, create_graph) for g in grads)
    return _out(out, create_graph), grads if is_tuple else grads[0]


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """J[i][j] = d out_i / d in_j, shape out.shape + in.shape.

    One reverse pass per output element; with ``vectorize=True`` one batched pass (``autograd.grad`` with
    ``is_grads_batched``) pushes the whole identity through the graph at once, in blocks of rows bounded in
    memory.  Same numbers either way.
    """
    if vectorize and strict:
        raise RuntimeError("jacobian: `strict=True` and `vectorize=True` are not supported together. Please either "
                           "set `strict=False` or `vectorize=False`.")
    in_tuple = not isinstance(inputs, Tensor)
    xs = _fresh(_tuple(inputs), create_graph)
    with enable_grad():
        outs = func(*xs)
        out_tuple = not isinstance(outs, Tensor)
        outs = _tuple(outs)
        jac = []
        for out in outs:
            flat = out.reshape(-1)
            n = flat.shape[0]
            if n == 0 or not flat.requires_grad:
                blocks = [Tensor._make(xp.zeros((n,) + tuple(x.shape), dtype=x.dtype)) for x in xs]
            elif vectorize:
                blocks = _rows_batched(flat, xs, create_graph)
            else:
                from ..ops.shape import stack
                rows = [_grads([flat[k]], xs, None, create_graph) for k in range(n)]
                blocks = [stack([r[j] for r in rows]) for j in range(len(xs))]
            per_input = [_out(b.reshape(tuple(out.shape) + tuple(x.shape)), create_graph) for b, x in zip(blocks, xs)]
            jac.append(tuple(per_input) if in_tuple else per_input[0])
    return tuple(jac) if out_tuple else jac[0]


# Elements of the largest intermediate a batched backward may make: bounds the rows pushed at once.
BATCH_ELEMENTS = 1 << 23


def _rows_batched(flat, xs, create_graph):
    """Every row of d flat / d xs, for a 1-D ``flat``: blocks of the identity through one batched backward each."""
    from . import grad
    from .engine import _topological_order
    from ..ops.shape import cat
    n = flat.shape[0]
    largest = max(max(node._data.size for node in _topological_order([flat])[0]), 1)
    chunk = max(1, BATCH_ELEMENTS // largest)
    blocks = []
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        basis = xp.zeros((stop - start, n), dtype=flat.dtype)
        basis[xp.arange(stop - start), xp.arange(start, stop)] = 1
        gs = grad([flat], xs, [Tensor._make(basis)], retain_graph=True, create_graph=create_graph,
                  allow_unused=True, is_grads_batched=True)
        blocks.append([Tensor._make(xp.zeros((stop - start,) + tuple(x.shape), dtype=x.dtype)) if g is None else g
                       for g, x in zip(gs, xs)])
    if len(blocks) == 1:
        return blocks[0]
    return [cat([b[j] for b in blocks]) for j in range(len(xs))]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The exact Hessian of a scalar ``func`` by differentiating its gradient (double backprop); with
    ``vectorize=True`` the outer Jacobian is one batched backward through the gradient's graph."""
    is_tuple = not isinstance(inputs, Tensor)

    def gradient(*xs):
        with enable_grad():
            out = func(*xs)
            if out.numel() != 1:
                raise RuntimeError(f"hessian: func must return a single-element tensor, got shape {tuple(out.shape)}")
            g = _grads([out.reshape(())], xs, None, create_graph=True)
        return g if is_tuple else g[0]

    return jacobian(gradient, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize)


def hvp(func, inputs, v, create_graph=False, strict=False):
    """(func(inputs), H v): one gradient, then the gradient of <grad, v>.  Never forms H."""
    is_tuple = not isinstance(inputs, Tensor)
    xs, vs = _fresh(_tuple(inputs), create_graph), _tuple(v)
    for x, vi in zip(xs, vs):
        if tuple(x.shape) != tuple(vi.shape):
            raise RuntimeError(f"hvp: v has shape {tuple(vi.shape)} but the input has shape {tuple(x.shape)}")
    with enable_grad():
        out = func(*xs)
        gs = _grads([out], xs, None, create_graph=True)
        dot = sum((g * vi).sum() for g, vi in zip(gs, vs))
        hv = _grads([dot], xs, None, create_graph) if dot.requires_grad else tuple(
            Tensor._make(xp.zeros_like(x._data)) for x in xs)
    hv = tuple(_out(h, create_graph) for h in hv)
    return _out(out, create_graph), hv if is_tuple else hv[0]


def vhp(func, inputs, v, create_graph=False, strict=False):
    """vᵀH; equal to Hv because the Hessian of a smooth scalar function is symmetric."""
    return hvp(func, inputs, v, create_graph, strict)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """J v via the double-vjp trick: differentiate uᵀJ with respect to u."""
    is_tuple = not isinstance(inputs, Tensor)
    xs = _fresh(_tuple(inputs), create_graph)
    with enable_grad():
        outs = func(*xs)
        out_tuple = not isinstance(outs, Tensor)
        outs = _tuple(outs)
        vs = _tuple(v) if v is not None else tuple(Tensor._make(xp.ones_like(x._data)) for x in xs)
        us = tuple(Tensor._make(xp.zeros_like(o._data)).requires_grad_(True) for o in outs)
        gs = _grads(list(outs), xs, list(us), create_graph=True)
        dot = sum((g * vi).sum() for g, vi in zip(gs, vs))
        jv = _grads([dot], us, None, create_graph)
    jv = tuple(_out(j, create_graph) for j in jv)
    outs = tuple(_out(o, create_graph) for o in outs)
    return (outs if out_tuple else outs[0]), (jv if out_tuple else jv[0])
