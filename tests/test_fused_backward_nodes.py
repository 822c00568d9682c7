"""The backward nodes the HVP work added (TanhBackward, TransposedMatMul) as ops in their own right.

Each function below returns a first derivative built with create_graph=True, so its output *is* one of those
nodes: check_op compares it with torch (forward, backward, double backward), and gradcheck / gradgradcheck take it
to second order against finite differences, so the original op is covered to third order.
"""
import numpy as np

import relulab as rl
from opcheck import check_op, gradcheck, gradgradcheck
from relulab.ops.linalg import TransposedMatMul

RNG = np.random.default_rng(7)
X = RNG.normal(size=(3, 4))
W = RNG.normal(size=(5, 4))
R = RNG.normal(size=(3, 5))


def _leaf(x):
    """Finite differences evaluate the function on plain inputs; a derivative still needs a graph."""
    return x if x.requires_grad else x.detach().requires_grad_(True)


def _tanh_grad(lib, x):
    with lib.enable_grad():
        x = _leaf(x)
        (g,) = lib.autograd.grad((lib.tanh(x) * lib.tensor(X, dtype=lib.float64)).sum(), x, create_graph=True)
    return g


def _linear_weight_grad(lib, x, w):
    with lib.enable_grad():
        w = _leaf(w)
        out = lib.nn.functional.linear(x, w)
        (g,) = lib.autograd.grad((out * lib.tensor(R, dtype=lib.float64)).sum(), w, create_graph=True)
    return g


def test_tanh_backward_node_against_torch(torch):
    check_op(lambda x: _tanh_grad(rl, x), lambda x: _tanh_grad(torch, x), X)


def test_tanh_backward_node_gradients():
    gradcheck(lambda x: _tanh_grad(rl, x), X)
    gradgradcheck(lambda x: _tanh_grad(rl, x), X)


def test_linear_weight_gradient_node_against_torch(torch):
    check_op(lambda x, w: _linear_weight_grad(rl, x, w), lambda x, w: _linear_weight_grad(torch, x, w), X, W)


def test_linear_weight_gradient_node_gradients():
    gradcheck(lambda x, w: _linear_weight_grad(rl, x, w), X, W)
    gradgradcheck(lambda x, w: _linear_weight_grad(rl, x, w), X, W)


def test_transposed_matmul_directly(torch):
    a, b = RNG.normal(size=(6, 3)), RNG.normal(size=(6, 4))
    check_op(lambda a, b: TransposedMatMul().apply(a, b), lambda a, b: a.T @ b, a, b)
    gradcheck(lambda a, b: TransposedMatMul().apply(a, b), a, b)
    gradgradcheck(lambda a, b: TransposedMatMul().apply(a, b), a, b)


def test_the_nodes_are_the_ones_built():
    """The checks above exercise the new nodes, not an older formula."""
    x = rl.tensor(X, requires_grad=True)
    assert type(_tanh_grad(rl, x).grad_fn).__name__ == "TanhBackward"
    w = rl.tensor(W, requires_grad=True)
    assert type(_linear_weight_grad(rl, x, w).grad_fn).__name__ == "TransposedMatMul"
