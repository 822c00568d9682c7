"""The graph walk: idempotence, depth, grad(), higher order, grad modes, in-place detection, functional tools."""
import numpy as np
import pytest

import relulab as rl
from relulab import nn
from relulab.autograd import functional as AF


def _leaf(rng, *shape):
    return rl.tensor(rng.normal(size=shape), requires_grad=True)


def test_backward_accumulates_only_in_leaves_and_is_idempotent(rng):
    x = _leaf(rng, 3)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)  # exactly twice: intermediates keep no gradient
    x.grad = None
    (x * x).sum().backward()  # a fresh graph gives the same gradient again
    np.testing.assert_allclose(x.grad.numpy(), first)


def test_shared_subexpression_gets_summed_gradient(rng):
    x = _leaf(rng, 4)
    a = x.exp()
    y = (a * a + a).sum()
    y.backward()
    e = np.exp(x.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), 2 * e * e + e, rtol=1e-12)


def test_deep_graph_needs_no_recursion_limit():
    x = rl.tensor(1.0, dtype=rl.float64, requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 20000, rel=1e-9)


def test_second_backward_without_retain_graph_raises(rng):
    x = _leaf(rng, 3)
    y = x.exp().sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_on_non_scalar_needs_gradient(rng):
    x = _leaf(rng, 3, 2)
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\(3, 2\)"):
        (x * 2).backward()
    (x * 2).backward(rl.ones(3, 2, dtype=rl.float64))
    np.testing.assert_allclose(x.grad.numpy(), 2.0)


def test_backward_gradient_shape_mismatch_is_named(rng):
    x = _leaf(rng, 3)
    with pytest.raises(RuntimeError, match=r"\(2,\).*\(3,\)"):
        (x * 2).backward(rl.ones(2, dtype=rl.float64))


def test_leaf_gradients_do_not_alias_each_other(rng):
    a, b = _leaf(rng, 3), _leaf(rng, 3)
    (a + b).sum().backward()
    a.grad.zero_()
    np.testing.assert_allclose(b.grad.numpy(), 1.0)


def test_grad_returns_without_accumulating(rng):
    x = _leaf(rng, 3)
    (g,) = rl.autograd.grad((x ** 3).sum(), x)
    np.testing.assert_allclose(g.numpy(), 3 * x.detach().numpy() ** 2)
    assert x.grad is None


def test_grad_to_any_order():
    x = rl.tensor(0.7, dtype=rl.float64, requires_grad=True)
    y = x.exp() * x  # f(x) = x e^x, so f^(n)(x) = (x + n) e^x
    g = y
    for n in range(1, 5):
        (g,) = rl.autograd.grad(g, x, create_graph=True)
        assert g.item() == pytest.approx((0.7 + n) * np.exp(0.7), rel=1e-12)


def test_grad_without_create_graph_records_nothing(rng):
    x = _leaf(rng, 3)
    (g,) = rl.autograd.grad(x.sigmoid().sum(), x)
    assert not g.requires_grad and g.grad_fn is None
    (g2,) = rl.autograd.grad(x.sigmoid().sum(), x, create_graph=True)
    assert g2.requires_grad and g2.grad_fn is not None


def test_grad_unused_input(rng):
    x, z = _leaf(rng, 3), _leaf(rng, 2)
    with pytest.raises(RuntimeError, match="not used"):
        rl.autograd.grad(x.sum(), [x, z])
    gx, gz = rl.autograd.grad(x.sum(), [x, z], allow_unused=True)
    assert gz is None
    np.testing.assert_allclose(gx.numpy(), 1.0)


def test_grad_outputs_weighting(rng):
    x = _leaf(rng, 3)
    v = rl.tensor([1.0, 2.0, 3.0], dtype=rl.float64)
    (g,) = rl.autograd.grad(x * 5, x, grad_outputs=v)
    np.testing.assert_allclose(g.numpy(), 5 * v.numpy())


def test_no_grad_context_and_decorator(rng):
    x = _leaf(rng, 3)
    with rl.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None

    @rl.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad
    assert rl.is_grad_enabled()
    with rl.no_grad():
        with rl.enable_grad():
            assert (x * 2).requires_grad
    rl.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        rl.set_grad_enabled(True)


def test_requires_grad_only_for_floats():
    with pytest.raises(RuntimeError, match="floating"):
        rl.tensor([1, 2, 3]).requires_grad_()
    t = rl.zeros(2).requires_grad_()
    assert t.requires_grad and t.is_leaf


def test_inplace_after_save_is_detected_by_version_counter(rng):
    w = _leaf(rng, 3)
    x = rl.tensor(rng.normal(size=3))
    y = (w * x).sum()
    x.add_(1.0)  # x was saved for w's gradient
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*\(3,\)"):
        y.backward()


def test_inplace_through_view_is_detected(rng):
    w = _leaf(rng, 2, 3)
    x = rl.tensor(rng.normal(size=(2, 3)))
    xv = x.reshape(6)
    y = (w.reshape(6) * xv).sum()
    x.mul_(2.0)  # the view shares x's version counter
    with pytest.raises(RuntimeError, match="inplace"):
        y.backward()


def test_parameter_update_between_forward_and_backward_is_detected(rng):
    w = _leaf(rng, 3)
    y = (w * w).sum()
    with rl.no_grad():
        w -= 0.1
    with pytest.raises(RuntimeError, match="inplace"):
        y.backward()


def test_inplace_on_leaf_requiring_grad_is_refused(rng):
    w = _leaf(rng, 3)
    with pytest.raises(RuntimeError, match="add_.*leaf"):
        w.add_(1.0)
    with rl.no_grad():
        w.add_(1.0)
    assert w._vc[0] == 1


def test_zero_and_data_setter(rng):
    w = _leaf(rng, 3)
    (w * 3).sum().backward()
    w.grad.zero_()
    np.testing.assert_array_equal(w.grad.numpy(), 0.0)
    w.data = rl.zeros(3, dtype=rl.float64)
    np.testing.assert_array_equal(w.detach().numpy(), 0.0)


def test_retain_grad_on_intermediate(rng):
    x = _leaf(rng, 3)
    h = x * 2
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.detach().numpy())


def test_backward_inputs_restricts_accumulation(rng):
    a, b = _leaf(rng, 2), _leaf(rng, 2)
    (a * b).sum().backward(inputs=[a])
    assert b.grad is None
    np.testing.assert_allclose(a.grad.numpy(), b.detach().numpy())


# ---------------------------------------------------------------------------- functional, against torch
def _mlp_loss_fn(x, y, shapes):
    sizes = [int(np.prod(s)) for s in shapes]

    def loss(flat):
        parts, start = [], 0
        for s, n in zip(shapes, sizes):
            parts.append(flat[start:start + n].reshape(s))
            start += n
        w1, b1, w2, b2 = parts
        h = (x @ w1.T + b1).tanh()
        return ((h @ w2.T + b2 - y) ** 2).mean()
    return loss, sum(sizes)


def test_hessian_of_two_layer_mlp_equals_torch(torch, rng):
    shapes = [(5, 3), (5,), (2, 5), (2,)]
    xn, yn = rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    loss_rl, n = _mlp_loss_fn(rl.tensor(xn), rl.tensor(yn), shapes)
    loss_pt, _ = _mlp_loss_fn(torch.tensor(xn), torch.tensor(yn), shapes)
    theta = rng.normal(size=n)
    h_rl = AF.hessian(loss_rl, rl.tensor(theta)).numpy()
    h_pt = torch.autograd.functional.hessian(loss_pt, torch.tensor(theta)).numpy()
    assert h_rl.shape == (n, n)
    np.testing.assert_allclose(h_rl, h_pt, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(h_rl, h_rl.T, atol=1e-12)


def test_hessian_tuple_inputs_and_hvp_jacobian_match_torch(torch, rng):
    a0, b0, v0 = rng.normal(size=3), rng.normal(size=2), rng.normal(size=3)

    def f(lib):
        return lambda a, b: (a.exp().sum() * (b * b).sum() + (a[:2] * b).sum() ** 2)

    h_rl = AF.hessian(f(rl), (rl.tensor(a0), rl.tensor(b0)))
    h_pt = torch.autograd.functional.hessian(f(torch), (torch.tensor(a0), torch.tensor(b0)))
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(h_rl[i][j].numpy(), h_pt[i][j].numpy(), rtol=1e-10)

    g = lambda a: (a.sigmoid() * a).sum()  # noqa: E731
    _, hv_rl = AF.hvp(g, rl.tensor(a0), rl.tensor(v0))
    _, hv_pt = torch.autograd.functional.hvp(g, torch.tensor(a0), torch.tensor(v0))
    np.testing.assert_allclose(hv_rl.numpy(), hv_pt.numpy(), rtol=1e-10)

    m = rng.normal(size=(2, 3))
    j_rl = AF.jacobian(lambda a: (a * a) @ rl.tensor(m.T), rl.tensor(a0)).numpy()
    j_pt = torch.autograd.functional.jacobian(lambda a: (a * a) @ torch.tensor(m.T), torch.tensor(a0)).numpy()
    np.testing.assert_allclose(j_rl, j_pt, rtol=1e-10)

    _, jv_rl = AF.jvp(lambda a: a.tanh() * 3, rl.tensor(a0), rl.tensor(v0))
    _, jv_pt = torch.autograd.functional.jvp(lambda a: a.tanh() * 3, torch.tensor(a0), torch.tensor(v0))
    np.testing.assert_allclose(jv_rl.numpy(), jv_pt.numpy(), rtol=1e-10)
    _, vj_rl = AF.vjp(lambda a: a.tanh() * 3, rl.tensor(a0), rl.tensor(v0))
    _, vj_pt = torch.autograd.functional.vjp(lambda a: a.tanh() * 3, torch.tensor(a0), torch.tensor(v0))
    np.testing.assert_allclose(vj_rl.numpy(), vj_pt.numpy(), rtol=1e-10)


def test_model_hessian_via_double_backward_is_symmetric_and_matches_hvp(rng):
    rl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 1)).double()
    x, y = rl.tensor(rng.normal(size=(6, 3))), rl.tensor(rng.normal(size=(6, 1)))
    params = list(model.parameters())
    loss = nn.MSELoss()(model(x), y)
    grads = rl.autograd.grad(loss, params, create_graph=True)
    flat = rl.cat([g.reshape(-1) for g in grads])
    rows = [rl.cat([h.reshape(-1) for h in rl.autograd.grad(flat[i], params, retain_graph=True)])
            for i in range(flat.shape[0])]
    H = rl.stack(rows).numpy()
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    v = rng.normal(size=H.shape[0])
    dot = (flat * rl.tensor(v)).sum()
    hv = rl.cat([h.reshape(-1) for h in rl.autograd.grad(dot, params)]).numpy()
    np.testing.assert_allclose(hv, H @ v, rtol=1e-10, atol=1e-12)
