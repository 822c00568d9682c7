"""Curvature and critical points: exact Hessians vs torch, Lanczos ends, trace/density, classification."""
import numpy as np
import pytest

import relulab as rl
from relulab import analysis as A, nn
from relulab.utils.data import DataLoader, TensorDataset


def _mlp(sizes, act=nn.Tanh, seed=0):
    rl.manual_seed(seed)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers[:-1]).double()


def _data(n, d_in, d_out, seed=0):
    rng = np.random.default_rng(seed)
    return rl.tensor(rng.normal(size=(n, d_in))), rl.tensor(rng.normal(size=(n, d_out)))


@pytest.mark.parametrize("sizes,act", [((3, 5, 2), nn.Tanh), ((4, 6, 6, 1), nn.Sigmoid), ((2, 8, 3), nn.Softplus)])
def test_hessian_matches_torch(torch, sizes, act):
    model = _mlp(sizes, act)
    x, y = _data(12, sizes[0], sizes[-1])
    h = A.hessian(model, nn.MSELoss(), (x, y))

    tmodel = torch.nn.Sequential(*[m for pair in zip(
        [torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])],
        [getattr(torch.nn, act.__name__)() for _ in sizes[1:]]) for m in pair][:-1]).double()
    params = [p.detach().numpy() for p in model.parameters()]
    shapes = [p.shape for p in params]
    theta = torch.tensor(np.concatenate([p.ravel() for p in params]))
    tx, ty = torch.tensor(x.numpy()), torch.tensor(y.numpy())

    def loss(flat):
        pieces, start = {}, 0
        for (name, _), shape in zip(tmodel.named_parameters(), shapes):
            size = int(np.prod(shape))
            pieces[name] = flat[start:start + size].reshape(shape)
            start += size
        out = torch.func.functional_call(tmodel, pieces, (tx,))
        return torch.nn.functional.mse_loss(out, ty)

    expected = torch.autograd.functional.hessian(loss, theta).numpy()
    np.testing.assert_allclose(h, expected, atol=1e-8, rtol=0)


def test_saddle_escape_direction_is_y_and_lowers_the_loss():
    f = lambda t: t[0] ** 2 - t[1] ** 2  # noqa: E731
    point = A.classify(f, [0.0, 0.0])
    np.testing.assert_allclose(np.abs(point.escape_direction), [0.0, 1.0], atol=1e-12)
    escape = A.escape_saddle(f, [0.0, 0.0])
    assert escape.lowered and escape.losses[-1] == pytest.approx(-1.0) and escape.eigenvalue == pytest.approx(-2)
    with pytest.raises(ValueError, match="not a saddle"):
        A.escape_saddle(lambda t: t[0] ** 2 + t[1] ** 2, [0.0, 0.0])


def test_escape_saddle_on_a_network_lowers_the_loss():
    # At w = 0 a 1-hidden-unit linear net f(x) = w2·w1·x has zero gradient and a saddle (Hessian [[0, -c], [-c, 0]]).
    x = rl.tensor([[1.0], [2.0], [3.0]], dtype=rl.float64)
    y = 2.0 * x
    model = nn.Sequential(nn.Linear(1, 1, bias=False), nn.Linear(1, 1, bias=False)).double()
    with rl.no_grad():
        for p in model.parameters():
            p.zero_()
    point = A.classify(model, nn.MSELoss(), (x, y))
    assert point.kind == "saddle" and point.gradient_norm < 1e-12
    escape = A.escape_saddle(model, nn.MSELoss(), (x, y))
    assert escape.lowered and escape.losses.min() < escape.start_loss - 1.0


def test_eigs_matches_dense_eigh_at_both_ends():
    model = _mlp((20, 40, 20, 10))  # 840 + 820 + 210 = 1,870 parameters
    x, y = _data(64, 20, 10)
    obj = A.Objective.from_model(model, nn.MSELoss(), (x, y))
    assert 1800 < obj.size < 2200
    dense = np.linalg.eigvalsh(obj.hessian())
    top, top_vec, low, low_vec = A.eigs(obj, k=2)
    np.testing.assert_allclose(top, dense[::-1][:2], rtol=1e-6)
    np.testing.assert_allclose(low, dense[:2], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(obj.hvp(top_vec[:, 0]), top[0] * top_vec[:, 0], atol=1e-6)


def test_trace_and_density():
    model = _mlp((3, 6, 2))
    x, y = _data(20, 3, 2)
    obj = A.Objective.from_model(model, nn.MSELoss(), (x, y))
    h = obj.hessian()
    mean, stderr = A.trace(obj, samples=400)
    assert abs(mean - np.trace(h)) < 4 * stderr + 1e-9
    xs, dens, nodes, weights = A.density(obj, steps=obj.size, samples=3)
    assert weights.sum() == pytest.approx(1.0)
    ev = np.linalg.eigvalsh(h)
    assert nodes.min() >= ev.min() - 1e-8 and nodes.max() <= ev.max() + 1e-8
    assert np.trapezoid(dens, xs) == pytest.approx(1.0, abs=0.05)


def test_objective_averages_batches_and_uses_eval_mode():
    rl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.5), nn.BatchNorm1d(8), nn.Linear(8, 1))
    x, y = _data(30, 3, 1)
    full = A.Objective.from_model(model, nn.MSELoss(), (x.float(), y.float()))
    loader = DataLoader(TensorDataset(x.float(), y.float()), batch_size=7)
    batched = A.Objective.from_model(model, nn.MSELoss(), loader)
    assert full.value() == pytest.approx(batched.value(), rel=1e-12)  # weighted by batch size
    assert full.value() == full.value()  # dropout is off: deterministic
    np.testing.assert_allclose(full.gradient(), batched.gradient(), rtol=1e-10, atol=1e-14)
    assert model[0].weight.dtype == rl.float32 and model.training  # the original model is untouched


def test_hvp_matches_the_dense_hessian_where_a_search_ends():
    model = _mlp((1, 4, 1))
    x, y = _data(16, 1, 1)
    obj = A.Objective.from_model(model, nn.MSELoss(), (x, y))
    search = A.find_critical_point(obj, train_steps=200, lr=0.05, polish_steps=20, newton_steps=2)
    # Random targets: the tanh net keeps sliding down a flat valley, so the search must not claim a critical point.
    assert search.status in A.STATUSES and not (search.is_critical and search.gradient_norm > 1e-8)
    assert search.gradient_norm <= search.start_gradient_norm
    v = np.random.default_rng(1).normal(size=obj.size)
    np.testing.assert_allclose(A.hvp(obj, v=v, theta=search.theta), obj.hessian(search.theta) @ v, atol=1e-10)
