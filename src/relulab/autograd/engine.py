"""Reverse-mode graph walk shared by ``Tensor.backward`` and ``autograd.grad``.

The walk is iterative (no recursion limit).  Gradients of intermediate nodes live only in a local dict during
the walk, so only leaves accumulate: calling backward twice adds exactly twice (micrograd's issue #102 cannot
happen here).  Without ``create_graph`` the backward formulas run under ``no_grad``, so they record nothing.
"""
from .grad_mode import set_grad_enabled


def _topological_order(roots):
    """Non-recursive post-order DFS: every node appears after all nodes it depends on."""
    order, visited = [], set()
    stack = [(r, False) for r in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        ctx = node._ctx
        if ctx is not None:
            for inp in ctx.inputs:
                if inp.requires_grad and id(inp) not in visited:
                    stack.append((inp, False))
    return order


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


def run_backward(outputs, grad_outputs, inputs=None, retain_graph=False, create_graph=False,
                 allow_unused=False, accumulate=True):
    """Propagate ``grad_outputs`` from ``outputs`` back through the graph.

    With ``accumulate`` the gradients land in leaves' ``.grad`` (``Tensor.backward``); otherwise the gradients
    of ``inputs`` are returned (``autograd.grad``) and nothing is accumulated.
    """
    order = _topological_order(outputs)
    targets = None
    if inputs is not None:
        targets = {id(t): i for i, t in enumerate(inputs)}
        # Prune: only walk into nodes from which some requested input can be reached.
        needed = set()
        for node in order:
            if id(node) in targets or (node._ctx is not None
                                        and any(id(i) in needed for i in node._ctx.inputs)):
                needed.add(id(node))
    results = [None] * (len(inputs) if inputs is not None else 0)

    grads = {}
    for out, g in zip(outputs, grad_outputs):
        grads[id(out)] = grads[id(out)] + g if id(out) in grads else g
    handed_out = {id(g._data) for g in grad_outputs}  # arrays owned by the caller are copied before storing

    with set_grad_enabled(create_graph):
        while order:
            node = order.pop()  # dropping the walk's reference lets a finished activation be freed
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if targets is not None and id(node) in targets:
                results[targets[id(node)]] = g
            ctx = node._ctx
            if accumulate and (ctx is None or node._retains_grad):
                _accumulate(node, g, create_graph, handed_out)
            if ctx is None:
                continue
            _check_saved(node)
            in_grads = ctx.backward(g, node)
            for inp, ig in zip(ctx.inputs, in_grads):
                if ig is None or not inp.requires_grad:
                    continue
                if targets is not None and id(inp) not in needed:
                    continue
                key = id(inp)
                grads[key] = grads[key] + ig if key in grads else ig
            if not retain_graph:
                ctx.freed = True
                ctx.inputs = ()  # release what this op saved as soon as its gradient is out (PyTorch frees too)
            del node, ctx, in_grads, g

    if inputs is not None:
        for i, (t, r) in enumerate(zip(inputs, results)):
            if r is None and not allow_unused:
                raise RuntimeError(
                    f"autograd.grad: input {i} (shape {tuple(t.shape)}) was not used in the graph; "
                    "pass allow_unused=True to get None for it"
                )
        return tuple(results)
    return None


def _accumulate(leaf, g, create_graph, handed_out):
    if create_graph:
        leaf.grad = g if leaf.grad is None else leaf.grad + g
        return
    if leaf.grad is None:
        arr = g._data
        # Take ownership of a fresh array; copy views and arrays already handed to another leaf or the caller.
        if not arr.flags.owndata or not arr.flags.writeable or id(arr) in handed_out:
            arr = arr.copy()
        handed_out.add(id(arr))
        leaf.grad = type(g)._make(arr)
    else:
        leaf.grad._data = leaf.grad._data + g._data
