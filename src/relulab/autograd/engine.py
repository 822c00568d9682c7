"""Reverse-mode graph walk shared by ``Tensor.backward`` and ``autograd.grad``.

The walk is iterative (no recursion limit).  Gradients of intermediate nodes live only in a local dict during
the walk, so only leaves accumulate: calling backward twice adds exactly twice (micrograd's issue #102 cannot
happen here).

With ``create_graph`` each op's ``backward`` runs in Tensor ops and is recorded, so the result can be
differentiated again.  Without it nothing is recorded, and the walk carries bare arrays: each op's
array-level rule (``ops/array_vjp.py``) runs where one exists, its Tensor ``backward`` under ``no_grad``
otherwise.  Cotangents may then carry a leading batch dimension (``batched``): one walk computes a whole
block of vector-Jacobian products, as ``torch.autograd.grad(..., is_grads_batched=True)`` does with vmap.
"""
import numpy as np

from .grad_mode import set_grad_enabled


def _topological_order(roots, targets=None):
    """Non-recursive post-order DFS: every node appears after all nodes it depends on.

    With ``targets`` (ids of the requested inputs) also returns the ids of the nodes from which one of
    them can be reached; only those need walking into.
    """
    order, visited = [], set()
    needed = None if targets is None else set()
    stack = [(r, False) for r in roots]
    push, pop = stack.append, stack.pop
    while stack:
        node, expanded = pop()
        ctx = node._ctx
        if expanded:
            order.append(node)
            if needed is not None:  # post-order: the node's inputs are already decided
                key = id(node)
                if key in targets:
                    needed.add(key)
                elif ctx is not None:
                    for i in ctx.inputs:
                        if id(i) in needed:
                            needed.add(key)
                            break
            continue
        key = id(node)
        if key in visited:
            continue
        visited.add(key)
        push((node, True))
        if ctx is not None:
            for inp in ctx.inputs:
                if inp.requires_grad and id(inp) not in visited:
                    push((inp, False))
    return order, needed


def _check_saved(node):
    ctx = node._ctx
    if ctx.freed:
        raise RuntimeError(
            f"{ctx.name}: trying to backward through the graph a second time; its buffers were freed. "
            "Pass retain_graph=True to the first backward() or autograd.grad() call."
        )
    for inp, version in zip(ctx.inputs, ctx.versions):
        if inp._vc[0] != version:
            raise RuntimeError(
                f"{ctx.name}: one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: a tensor of shape {tuple(inp.shape)} and dtype {inp.dtype} is at version "
                f"{inp._vc[0]}; expected version {version}"
            )
    # An op that reads its own output in backward (exp, sigmoid, tanh, softmax...) must see it unchanged too.
    # Outputs are made at version 0, so any bump since (through no_grad, a view or .detach()) means a change.
    if node._vc[0] and getattr(ctx, "saves_output", False):
        raise RuntimeError(
            f"{ctx.name}: one of the variables needed for gradient computation has been modified by an inplace "
            f"operation: a tensor of shape {tuple(node.shape)} and dtype {node.dtype}, which is output 0 of "
            f"{ctx.name}Backward, is at version {node._vc[0]}; expected version 0 instead"
        )


def _tensor_vjp(ctx, g, node):
    return ctx.backward(g, node)


def _array_vjp(rules):
    from .tensor import Tensor

    def own_backward(ctx, g, node):
        return [None if t is None else t._data for t in ctx.backward(Tensor._make(g), node)]

    def vjp(ctx, g, node):
        rule = rules.get(type(ctx))
        if rule is not None:
            grads = rule(ctx, g, node._data)
            if grads is not None:
                return grads
        lead = g.ndim - node._data.ndim
        if not lead:
            return own_backward(ctx, g, node)
        # A batch of cotangents through an op without a batched rule: one backward per vector.
        rows = [own_backward(ctx, r, node) for r in g.reshape((-1,) + node._data.shape)]
        grads = []
        for j, inp in enumerate(ctx.inputs):
            column = [r[j] if j < len(r) else None for r in rows]
            some = next((c for c in column if c is not None), None)
            if some is None:
                grads.append(None)
                continue
            zero = np.zeros_like(some)
            grads.append(np.stack([zero if c is None else c for c in column]).reshape(g.shape[:lead] + inp._data.shape))
        return grads
    return vjp


def run_backward(outputs, grad_outputs, inputs=None, retain_graph=False, create_graph=False,
                 allow_unused=False, accumulate=True, batched=False):
    """Propagate ``grad_outputs`` from ``outputs`` back through the graph.

    With ``accumulate`` the gradients land in leaves' ``.grad`` (``Tensor.backward``); otherwise the gradients
    of ``inputs`` are returned (``autograd.grad``) and nothing is accumulated.  With ``batched`` each
    grad_output has one leading batch dimension, and so has each returned gradient.
    """
    if batched and create_graph:
        return _batched_by_rows(outputs, grad_outputs, inputs, retain_graph, allow_unused)
    from .tensor import Tensor
    targets = None if inputs is None else {id(t): i for i, t in enumerate(inputs)}
    # Prune: only walk into nodes from which some requested input can be reached.
    order, needed = _topological_order(outputs, targets)
    results = [None] * (len(inputs) if inputs is not None else 0)

    if create_graph:
        vjp, start = _tensor_vjp, list(grad_outputs)
    else:
        from ..ops.array_vjp import RULES
        vjp, start = _array_vjp(RULES), [g._data for g in grad_outputs]
    grads = {}
    for out, g in zip(outputs, start):
        grads[id(out)] = grads[id(out)] + g if id(out) in grads else g
    handed_out = {id(g._data) for g in grad_outputs}  # arrays owned by the caller are copied before storing

    with set_grad_enabled(create_graph):
        pop = order.pop
        while order:
            node = pop()  # dropping the walk's reference lets a finished activation be freed
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if targets is not None:
                slot = targets.get(id(node))
                if slot is not None:
                    results[slot] = g
            ctx = node._ctx
            if ctx is None:
                if accumulate:
                    _accumulate(node, g, create_graph, handed_out)
                continue
            if accumulate and node._retains_grad:
                _accumulate(node, g, create_graph, handed_out)
            _check_saved(node)
            for inp, ig in zip(ctx.inputs, vjp(ctx, g, node)):
                if ig is None or not inp.requires_grad:
                    continue
                key = id(inp)
                if needed is not None and key not in needed:
                    continue
                prev = grads.get(key)
                grads[key] = ig if prev is None else prev + ig
            if not retain_graph:
                ctx.freed = True
                ctx.inputs = ()  # release what this op saved as soon as its gradient is out (PyTorch frees too)
            del node, ctx, g

    if inputs is not None:
        for i, (t, r) in enumerate(zip(inputs, results)):
            if r is None and not allow_unused:
                raise RuntimeError(
                    f"autograd.grad: input {i} (shape {tuple(t.shape)}) was not used in the graph; "
                    "pass allow_unused=True to get None for it"
                )
        if create_graph:
            return tuple(results)
        return tuple(None if r is None else Tensor._make(r) for r in results)
    return None


def _batched_by_rows(outputs, grad_outputs, inputs, retain_graph, allow_unused):
    """A recorded (differentiable) batched backward: one walk per vector of the batch, stacked."""
    from ..ops.shape import stack
    n = grad_outputs[0].shape[0]
    rows = [run_backward(outputs, [g[i] for g in grad_outputs], inputs, retain_graph or i < n - 1, True,
                         allow_unused, accumulate=False) for i in range(n)]
    if not rows:
        from .tensor import Tensor
        return tuple(Tensor._make(np.zeros((0,) + tuple(t.shape), dtype=t.dtype)) for t in inputs)
    return tuple(None if col[0] is None else stack(list(col)) for col in zip(*rows))


def _accumulate(leaf, g, create_graph, handed_out):
    if create_graph:
        leaf.grad = g if leaf.grad is None else leaf.grad + g
        return
    arr = getattr(g, "_data", g)
    if leaf.grad is None:
        # Take ownership of a fresh array; copy views and arrays already handed to another leaf or the caller.
        if not arr.flags.owndata or not arr.flags.writeable or id(arr) in handed_out:
            arr = arr.copy()
        handed_out.add(id(arr))
        from .tensor import Tensor
        leaf.grad = Tensor._make(arr)
    else:
        leaf.grad._data = leaf.grad._data + arr
