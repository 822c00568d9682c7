"""Batched backward (``autograd.grad(..., is_grads_batched=True)``) and the vectorized Hessian/Jacobian.

Oracles: PyTorch's own ``is_grads_batched`` / ``vectorize=True``, and relulab's one-vector-at-a-time walk.
Every op with an array-level rule (ops/array_vjp.py) is pushed through a batched walk here; the unbatched
array rules are covered by every float64 gradcheck of tests/test_ops.py, which now runs through them.
"""
import numpy as np
import pytest

import relulab as rl
from relulab import nn
from relulab.autograd import functional as AF
from relulab.ops.array_vjp import RULES

B = 4  # vectors per batch


def _cases(lib):
    """(name, fn(x) -> Tensor, input shape): together they reach every op that has a batched rule."""
    F = lib.nn.functional
    w = lib.tensor(np.random.default_rng(5).normal(size=(3, 4)))
    m3 = lib.tensor(np.random.default_rng(6).normal(size=(2, 4, 3)))
    return [
        ("add_sub_broadcast", lambda x: (x + x[0]) - x.sum(0, keepdim=True) * 0.5, (3, 4)),
        ("mul_div_broadcast", lambda x: x * x[:, :1] / (x[1] * x[1] + 1.0), (3, 4)),
        ("neg_exp_log_sqrt", lambda x: -(x.exp() + (x * x + 1.0).log() + (x * x + 0.5).sqrt()), (3, 4)),
        ("sigmoid_tanh_pow", lambda x: x.sigmoid() * x.tanh() + x ** 3 + x ** 2 + x ** 1 + x ** 0, (3, 4)),
        ("piecewise", lambda x: F.relu(x) + F.leaky_relu(x, 0.1) + x.clamp(-0.3, 0.4) + F.hardtanh(x, -0.2, 0.5),
         (3, 4)),
        ("hardsigmoid", lambda x: F.hardsigmoid(x * 4), (3, 4)),
        ("where", lambda x: lib.where(x > 0, x * x, x * 3.0), (3, 4)),
        ("sum_dims", lambda x: x.sum(dim=1, keepdim=True) * x.sum(dim=(0, 2), keepdim=True) + x.sum(), (2, 3, 4)),
        ("softmax_family", lambda x: x.softmax(dim=1) * x.log_softmax(dim=0), (3, 4)),
        ("shapes", lambda x: x.reshape(4, 3).permute(1, 0) * x.unsqueeze(0).expand(2, 3, 4).sum(0), (3, 4)),
        ("getitem_basic", lambda x: x[1:, ::2] * x[0, 1:3], (3, 4)),
        ("getitem_advanced", lambda x: x[lib.tensor([2, 0, 2]), lib.tensor([1, 1, 1])] * x[:, lib.tensor([3, 0])].sum(), (3, 4)),
        ("getitem_mask", lambda x: x[x > 0] * 2.0, (3, 4)),
        ("getitem_separated", lambda x: x[lib.tensor([0, 1]), :, lib.tensor([1, 2])], (2, 3, 4)),
        ("linear", lambda x: F.linear(x, w, w[:, 0]) + F.linear(x.reshape(1, 3, 4), w).sum(0)
         + F.linear(x, x * 0.5 + w), (3, 4)),
        ("linear_1d", lambda x: F.linear(x, w, w[:, 1]), (4,)),
        ("matmul", lambda x: (m3 @ x).sum((0, 1))[:3] + (x @ x.T).sum(0) + x[0] @ x.T + x @ x[0], (3, 4)),
        ("cast_clone", lambda x: x.float().double().clone() * x, (3, 4)),
        ("no_batched_rule", lambda x: x.abs() + F.softplus(x) + lib.maximum(x, x * 0.5), (3, 4)),
    ]


def _pairs(torch):
    return [(a, b) for a, b in zip(_cases(rl), _cases(torch))]


@pytest.mark.parametrize("k", range(len(_cases(rl))), ids=[c[0] for c in _cases(rl)])
def test_batched_vjp_matches_torch_and_one_vector_at_a_time(torch, k):
    (name, f_rl, shape), (_, f_pt, _) = _cases(rl)[k], _cases(torch)[k]
    rng = np.random.default_rng(k)
    x0 = rng.normal(size=shape)
    x_rl = rl.tensor(x0, requires_grad=True)
    out_rl = f_rl(x_rl)
    vs = rng.normal(size=(B,) + tuple(out_rl.shape))
    (batched,) = rl.autograd.grad(out_rl, x_rl, rl.tensor(vs), retain_graph=True, is_grads_batched=True)
    one_by_one = np.stack([rl.autograd.grad(out_rl, x_rl, rl.tensor(v), retain_graph=True)[0].numpy() for v in vs])
    x_pt = torch.tensor(x0, requires_grad=True)
    (expected,) = torch.autograd.grad(f_pt(x_pt), x_pt, torch.tensor(vs), is_grads_batched=True)
    assert batched.shape == (B,) + shape
    np.testing.assert_allclose(batched.numpy(), one_by_one, rtol=1e-13, atol=1e-13)
    # torch's hardsigmoid slope is the float constant 1/6 even in float64; relulab's is exact
    tol = 1e-7 if name == "hardsigmoid" else 1e-12
    np.testing.assert_allclose(batched.numpy(), expected.numpy(), rtol=tol, atol=tol)


def test_the_cases_reach_every_batched_rule(torch):
    """The parametrized cases above must exercise every op that has a rule (else a rule goes untested)."""
    from relulab.autograd.engine import _topological_order
    seen = set()
    for name, f, shape in _cases(rl):
        x = rl.tensor(np.random.default_rng(0).normal(size=shape), requires_grad=True)
        out = f(x)
        seen |= {type(n._ctx) for n in _topological_order([out])[0] if n._ctx is not None}
        with rl.enable_grad():
            (g,) = rl.autograd.grad(out.sum(), x, create_graph=True)
        seen |= {type(n._ctx) for n in _topological_order([g])[0] if n._ctx is not None}
    missing = sorted(c.__name__ for c in RULES if c not in seen)
    assert not missing, f"no batched test reaches {missing}"


def _mlp_objective(lib, x, y, shapes):
    def loss(flat):
        parts, start = [], 0
        for s in shapes:
            n = int(np.prod(s))
            parts.append(flat[start:start + n].reshape(s))
            start += n
        w1, b1, w2, b2 = parts
        return lib.nn.functional.mse_loss(lib.tanh(lib.nn.functional.linear(x, w1, b1)) @ w2.T + b2, y)
    return loss


def test_vectorized_hessian_of_an_mlp_equals_torch_and_the_row_by_row_one(torch, rng):
    shapes = [(6, 3), (6,), (2, 6), (2,)]
    n = sum(int(np.prod(s)) for s in shapes)
    xn, yn, theta = rng.normal(size=(9, 3)), rng.normal(size=(9, 2)), rng.normal(size=n) * 0.5
    f_rl = _mlp_objective(rl, rl.tensor(xn), rl.tensor(yn), shapes)
    f_pt = _mlp_objective(torch, torch.tensor(xn), torch.tensor(yn), shapes)
    h_vec = AF.hessian(f_rl, rl.tensor(theta), vectorize=True).numpy()
    h_rows = AF.hessian(f_rl, rl.tensor(theta)).numpy()
    h_pt = torch.autograd.functional.hessian(f_pt, torch.tensor(theta), vectorize=True).numpy()
    assert h_vec.shape == (n, n)
    np.testing.assert_allclose(h_vec, h_pt, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h_vec, h_rows, rtol=1e-13, atol=1e-14)


def test_vectorized_hessian_in_blocks_equals_one_block(monkeypatch, rng):
    """Rows pushed in several memory-bounded blocks give the same Hessian as one block."""
    f = _mlp_objective(rl, rl.tensor(rng.normal(size=(5, 3))), rl.tensor(rng.normal(size=(5, 2))),
                       [(4, 3), (4,), (2, 4), (2,)])
    theta = rl.tensor(rng.normal(size=26))
    whole = AF.hessian(f, theta, vectorize=True).numpy()
    monkeypatch.setattr(AF, "BATCH_ELEMENTS", 50)  # blocks of a couple of rows
    np.testing.assert_array_equal(AF.hessian(f, theta, vectorize=True).numpy(), whole)


def test_vectorized_jacobian_tuples_and_unused_inputs_match_torch(torch, rng):
    a0, b0, c0 = rng.normal(size=3), rng.normal(size=(2, 2)), rng.normal(size=2)

    def f(a, b, c):
        return (a * a).sum() * b, a[:2] @ b

    j_rl = AF.jacobian(f, (rl.tensor(a0), rl.tensor(b0), rl.tensor(c0)), vectorize=True)
    j_pt = torch.autograd.functional.jacobian(f, (torch.tensor(a0), torch.tensor(b0), torch.tensor(c0)),
                                              vectorize=True)
    for i in range(2):
        for j in range(3):
            assert tuple(j_rl[i][j].shape) == tuple(j_pt[i][j].shape)
            np.testing.assert_allclose(j_rl[i][j].numpy(), j_pt[i][j].numpy(), rtol=1e-13, atol=1e-15)


def test_vectorized_hessian_with_create_graph_differentiates_again(torch, rng):
    """create_graph=True keeps the batched result in the graph: a third derivative matches torch."""
    a0 = rng.normal(size=3)
    g = lambda a: ((a * a * a).sum() * a.tanh().sum())  # noqa: E731
    a_rl = rl.tensor(a0, requires_grad=True)
    h_rl = AF.hessian(g, a_rl, create_graph=True, vectorize=True)
    assert h_rl.requires_grad
    (t_rl,) = rl.autograd.grad((h_rl * h_rl).sum(), a_rl)
    a_pt = torch.tensor(a0, requires_grad=True)
    h_pt = torch.autograd.functional.hessian(g, a_pt, create_graph=True, vectorize=True)
    (t_pt,) = torch.autograd.grad((h_pt * h_pt).sum(), a_pt)
    np.testing.assert_allclose(h_rl.detach().numpy(), h_pt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(t_rl.numpy(), t_pt.numpy(), rtol=1e-12)


def test_batched_grad_with_create_graph_is_differentiable(torch, rng):
    x0, vs = rng.normal(size=3), rng.normal(size=(2, 3))
    results = []
    for lib in (rl, torch):
        x = lib.tensor(x0, requires_grad=True)
        y = x.tanh() * x
        (g,) = lib.autograd.grad(y, x, lib.tensor(vs), create_graph=True, is_grads_batched=True)
        (gg,) = lib.autograd.grad((g * g).sum(), x)
        results.append((g.detach().numpy(), gg.numpy()))
    for mine, theirs in zip(*results):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12)


def test_objective_hessian_matches_torch(torch, rng):
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    from relulab import analysis
    obj = analysis.Objective.from_model(model, nn.MSELoss(), (rl.tensor(x), rl.tensor(y)))
    f_pt = _mlp_objective(torch, torch.tensor(x), torch.tensor(y), [(5, 3), (5,), (2, 5), (2,)])
    h_pt = torch.autograd.functional.hessian(f_pt, torch.tensor(obj.point), vectorize=True).numpy()
    np.testing.assert_allclose(obj.hessian(), (h_pt + h_pt.T) / 2, rtol=1e-12, atol=1e-14)
    v = rng.normal(size=obj.size)
    np.testing.assert_allclose(obj.hvp(v), h_pt @ v, rtol=1e-11, atol=1e-13)


def test_batched_grad_errors_name_the_problem():
    x = rl.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    with pytest.raises(RuntimeError, match="needs grad_outputs"):
        rl.autograd.grad(y.sum(), x, is_grads_batched=True)
    with pytest.raises(RuntimeError, match=r"\(batch,\) \+ \(2,\)"):
        rl.autograd.grad(y, x, rl.tensor([1.0, 1.0]), is_grads_batched=True)
    z = x.sum()
    with pytest.raises(RuntimeError, match="same batch size"):
        rl.autograd.grad([y, z], x, [rl.ones(3, 2), rl.ones(2)], is_grads_batched=True)
    with pytest.raises(RuntimeError, match="strict=True"):
        AF.jacobian(lambda a: a * 2, rl.tensor([1.0]), strict=True, vectorize=True)


def test_batched_grad_materializes_unused_inputs_with_the_batch():
    x, u = rl.tensor([1.0, 2.0], requires_grad=True), rl.tensor([3.0], requires_grad=True)
    gx, gu = rl.autograd.grad(x * x, [x, u], rl.ones(3, 2), is_grads_batched=True, materialize_grads=True)
    np.testing.assert_array_equal(gx.numpy(), np.tile([2.0, 4.0], (3, 1)))
    assert tuple(gu.shape) == (3, 1) and not gu.numpy().any()
