"""Error surfaces, loss-landscape slices, training trajectories and their pictures (lectures 1–2)."""
import numpy as np
import pytest

import relulab as rl
from relulab import nn
from relulab.analysis.objective import Objective
from relulab.analysis.surface import (Surface, Trajectory, error_surface, filter_normalized_direction,
                                      linear_surface, plot_contour, plot_surface_3d, slice_2d)
from relulab.train import fit
from relulab.utils.data import DataLoader, TensorDataset


def _line_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(n, 1))
    y = 0.7 + 1.8 * x + 0.3 * rng.normal(size=(n, 1))
    return x, y


def _tensors(*arrays):
    return tuple(rl.tensor(a) for a in arrays)


def _mlp(seed=0, inputs=3, hidden=5, outputs=1):
    rl.manual_seed(seed)
    return nn.Sequential(nn.Linear(inputs, hidden), nn.Tanh(), nn.Linear(hidden, outputs))


def _mlp_data(n=24, inputs=3, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, inputs))
    return x, np.sin(x.sum(1, keepdims=True))


def _brute_force(model, loss_fn, data, surface, slots):
    """The same grid, one Objective.value per point: the reference the batched paths must match."""
    obj = Objective.from_model(model, loss_fn, data)
    out = np.empty_like(surface.loss)
    for j, yv in enumerate(surface.ys):
        for i, xv in enumerate(surface.xs):
            theta = obj.point.copy()
            theta[slots[0]], theta[slots[1]] = xv, yv
            out[j, i] = obj.value(theta)
    return out


# ------------------------------------------------------------------------------------------- error_surface
def test_linear_model_surface_matches_lecture_formula_and_brute_force():
    x, y = _line_data()
    model = nn.Linear(1, 1)
    data = _tensors(x, y)
    surf = error_surface(model, nn.MSELoss(), data, ("weight", "bias"), ranges=((-1, 4), (-2, 3)), steps=(9, 7))
    lecture = linear_surface(x, y, b_range=(-2, 3), w_range=(-1, 4), steps=(9, 7))
    assert surf.loss.shape == lecture.loss.shape == (7, 9)
    np.testing.assert_allclose(surf.xs, lecture.xs)
    np.testing.assert_allclose(surf.ys, lecture.ys)
    np.testing.assert_allclose(surf.loss, lecture.loss, rtol=0, atol=1e-10)
    # θ = (weight, bias) in named_parameters order
    np.testing.assert_allclose(surf.loss, _brute_force(model, nn.MSELoss(), data, surf, (0, 1)), rtol=0, atol=1e-10)
    assert surf.names == ("weight", "bias")
    assert surf.origin == (float(model.weight.detach().numpy()[0, 0]), float(model.bias.detach().numpy()[0]))


def test_linear_surface_mae_and_grid_minimum_near_least_squares():
    x, y = _line_data(n=200)
    surf = linear_surface(x, y, b_range=(-1, 2), w_range=(0, 3), steps=(61, 61))
    w_ls, b_ls = np.polyfit(x.ravel(), y.ravel(), 1)
    w_min, b_min, _ = surf.minimum
    assert abs(w_min - w_ls) <= 0.05 + 1e-12 and abs(b_min - b_ls) <= 0.05 + 1e-12  # one grid step
    mae = linear_surface(x, y, (-1, 2), (0, 3), steps=5, loss="mae")
    b, w = mae.ys[1], mae.xs[3]
    assert mae.loss[1, 3] == pytest.approx(np.abs(b + w * x - y).mean(), abs=1e-12)
    with pytest.raises(ValueError, match="loss must be"):
        linear_surface(x, y, (-1, 2), (0, 3), loss="huber")


def test_error_surface_minimum_near_least_squares_through_a_loader():
    x, y = _line_data(n=64)
    loader = DataLoader(TensorDataset(*_tensors(x, y)), batch_size=10)  # uneven batches: size-weighted mean
    surf = error_surface(nn.Linear(1, 1), nn.MSELoss(), loader, ranges=((0, 3), (-1, 2)), steps=(61, 61))
    w_ls, b_ls = np.polyfit(x.ravel(), y.ravel(), 1)
    w_min, b_min, _ = surf.minimum
    assert abs(w_min - w_ls) <= 0.05 + 1e-12 and abs(b_min - b_ls) <= 0.05 + 1e-12


@pytest.mark.parametrize("loss_fn,classes", [(nn.MSELoss(), 0), (nn.L1Loss(reduction="sum"), 0),
                                             (nn.CrossEntropyLoss(), 3), (lambda out, y: ((out - y) ** 4).mean(), 0)])
def test_batched_mlp_surface_matches_per_point(loss_fn, classes):
    x, y = _mlp_data()
    model = _mlp(outputs=classes or 1)
    if classes:
        y = (np.abs(x[:, 0] * 2).astype(np.int64) % classes)
    data = _tensors(x, y)
    params = (("0.weight", (1, 2)), ("2.bias", 0))
    fast = error_surface(model, loss_fn, data, params, ranges=0.8, steps=(6, 5), batched=True, max_rows=50)
    slow = error_surface(model, loss_fn, data, params, ranges=0.8, steps=(6, 5), batched=False)
    np.testing.assert_allclose(fast.loss, slow.loss, rtol=0, atol=1e-10)
    # θ layout: 0.weight (5×3) then 0.bias (5), 2.weight (1×5) | (3×5), 2.bias
    out_w = 5 * (classes or 1)
    np.testing.assert_allclose(fast.loss, _brute_force(model, loss_fn, data, fast, (1 * 3 + 2, 15 + 5 + out_w)),
                               rtol=0, atol=1e-10)
    assert fast.names == ("0.weight[5]", "2.bias[0]")


def test_error_surface_falls_back_for_other_layers_and_reports_bad_params():
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.s = nn.Parameter(np.array([1.5]))

        def forward(self, x):
            return x * self.s * self.s  # not linear in s: cannot be batched

    model = nn.Sequential(nn.Linear(2, 1), Scale())
    x, y = _mlp_data(inputs=2)
    data = _tensors(x, y)
    auto = error_surface(model, nn.MSELoss(), data, (("0.weight", 0), "1.s"), steps=4)
    np.testing.assert_allclose(auto.loss, _brute_force(model, nn.MSELoss(), data, auto, (0, 3)), atol=1e-12)
    with pytest.raises(ValueError, match="not known to be linear"):
        error_surface(model, nn.MSELoss(), data, (("0.weight", 0), "1.s"), steps=4, batched=True)
    with pytest.raises(KeyError, match="no parameter 'nope'"):
        error_surface(model, nn.MSELoss(), data, ("nope", "1.s"))
    with pytest.raises(ValueError, match="has 2 entries"):
        error_surface(model, nn.MSELoss(), data, ("0.weight", "1.s"))
    with pytest.raises(IndexError, match="out of range"):
        error_surface(model, nn.MSELoss(), data, (("0.weight", 7), "1.s"))


# ------------------------------------------------------------------------------------------------ slice_2d
def test_slice_through_theta_and_batched_matches_per_point():
    x, y = _mlp_data()
    model, data = _mlp(), _tensors(x, y)
    loss_at_theta = Objective.from_model(model, nn.MSELoss(), data).value()
    surf = slice_2d(model, nn.MSELoss(), data, "random", span=0.5, steps=5)
    assert surf.loss[2, 2] == pytest.approx(loss_at_theta, abs=1e-12)  # (a, b) = (0, 0)
    slow = slice_2d(model, nn.MSELoss(), data, "random", span=0.5, steps=5, batched=False)
    np.testing.assert_allclose(surf.loss, slow.loss, rtol=0, atol=1e-10)
    obj = Objective.from_model(model, nn.MSELoss(), data)
    assert surf.loss[4, 1] == pytest.approx(obj.value(surf.point(surf.xs[1], surf.ys[4])), abs=1e-10)


def test_batched_slice_of_a_cnn_with_batch_norm_matches_per_point():
    rng = np.random.default_rng(2)
    rl.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(48, 4))
    bn = model[1]
    bn.running_mean._data = rng.normal(size=3).astype(np.float32)  # non-trivial eval statistics and scales
    bn.running_var._data = rng.uniform(0.5, 2, size=3).astype(np.float32)
    bn.weight._data = rng.normal(size=3).astype(np.float32)
    data = _tensors(rng.normal(size=(10, 1, 6, 6)).astype(np.float32), rng.integers(0, 4, size=10))
    loss_fn = nn.CrossEntropyLoss(weight=rl.tensor([1.0, 2.0, 0.5, 1.0]), label_smoothing=0.1)
    fast = slice_2d(model, loss_fn, data, span=0.5, steps=4, batched=True, max_rows=25)
    slow = slice_2d(model, loss_fn, data, span=0.5, steps=4, batched=False)
    np.testing.assert_allclose(fast.loss, slow.loss, rtol=0, atol=1e-10)
    setattr(model, "1", nn.BatchNorm2d(3, track_running_stats=False))  # batch statistics mix grid points
    with pytest.raises(ValueError, match="batch statistics"):
        slice_2d(model, loss_fn, data, steps=3, batched=True)


def test_filter_normalized_directions_match_the_parameters_rows():
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    d = filter_normalized_direction(model, seed=3)
    start = 0
    for name, p in model.named_parameters():
        w = p.detach().numpy().astype(np.float64)
        piece = d[start:start + w.size].reshape(w.shape)
        start += w.size
        if w.ndim == 1:
            assert not piece.any(), name  # biases zeroed (Li et al.'s default)
        else:
            np.testing.assert_allclose(np.linalg.norm(piece, axis=1), np.linalg.norm(w, axis=1), rtol=1e-12)
            assert not np.allclose(piece, w)
    conv = nn.Conv2d(2, 3, 3)
    d = filter_normalized_direction(conv, seed=0, zero_1d=False)
    w = conv.weight.detach().numpy().astype(np.float64)
    piece = d[:w.size].reshape(w.shape)
    np.testing.assert_allclose(np.sqrt((piece ** 2).sum((1, 2, 3))), np.sqrt((w ** 2).sum((1, 2, 3))), rtol=1e-12)
    np.testing.assert_allclose(d[w.size:], conv.bias.detach().numpy(), rtol=1e-6)  # 1-D kept equal to the parameter


def test_hessian_directions_are_unit_and_orthogonal():
    x, y = _mlp_data()
    surf = slice_2d(_mlp(), nn.MSELoss(), _tensors(x, y), "hessian", span=0.3, steps=3)
    d1, d2 = surf.directions
    assert np.linalg.norm(d1) == pytest.approx(1.0, abs=1e-8)
    assert np.linalg.norm(d2) == pytest.approx(1.0, abs=1e-8)
    assert abs(d1 @ d2) < 1e-8
    assert surf.info["eigenvalues"][0] >= surf.info["eigenvalues"][1]


def test_checkpoint_plane_passes_through_both_checkpoints():
    x, y = _mlp_data()
    data = _tensors(x, y)
    model = _mlp()
    state_a = {k: v.clone() for k, v in model.state_dict().items()}
    loss_a = Objective.from_model(model, nn.MSELoss(), data).value()
    data32 = _tensors(x.astype(np.float32), y.astype(np.float32))
    fit(model, nn.MSELoss(), rl.optim.SGD(model.parameters(), lr=0.1), [data32], epochs=15)
    state_b = model.state_dict()
    loss_b = Objective.from_model(model, nn.MSELoss(), data).value()
    assert loss_b < loss_a
    surf = slice_2d(model, nn.MSELoss(), data, (state_a, state_b), span=1.0, steps=(5, 3))
    np.testing.assert_allclose(surf.xs, [-0.5, 0, 0.5, 1.0, 1.5])
    assert surf.loss[1, 1] == pytest.approx(loss_a, abs=1e-10)  # (a, b) = (0, 0): checkpoint a
    assert surf.loss[1, 3] == pytest.approx(loss_b, abs=1e-10)  # (1, 0): checkpoint b
    d1, d2 = surf.directions
    assert abs(d1 @ d2) < 1e-10 * np.linalg.norm(d1) * np.linalg.norm(d2)
    with pytest.raises(ValueError, match="identical"):
        slice_2d(model, nn.MSELoss(), data, (state_b, state_b))


def test_slice_2d_rejects_bad_directions():
    x, y = _mlp_data()
    with pytest.raises(ValueError, match="directions must be"):
        slice_2d(_mlp(), nn.MSELoss(), _tensors(x, y), "pca")
    with pytest.raises(ValueError, match="d2 has 3 values"):
        slice_2d(_mlp(), nn.MSELoss(), _tensors(x, y), (np.ones(26), np.ones(3)))


# ---------------------------------------------------------------------------------------------- Trajectory
def test_trajectory_in_fit_records_one_point_per_epoch():
    x, y = _line_data()
    model = nn.Linear(1, 1)
    loader = DataLoader(TensorDataset(*_tensors(x.astype(np.float32), y.astype(np.float32))), batch_size=8)
    full, tracked = Trajectory(model), Trajectory(model, params=("weight", "bias"))
    state = fit(model, nn.MSELoss(), rl.optim.SGD(model.parameters(), lr=0.05), loader, epochs=4,
                callbacks=[full, tracked])
    assert len(full) == len(tracked) == 4 and full.steps == [1, 2, 3, 4]
    assert full.points.shape == (4, 2) and tracked.points.shape == (4, 2)
    final = [model.weight.detach().numpy()[0, 0], model.bias.detach().numpy()[0]]
    np.testing.assert_allclose(tracked.points[-1], final)
    assert full.losses == [r["train_loss"] for r in state.history]
    assert all(g > 0 for g in full.grad_norms)
    with pytest.raises(ValueError, match="pass the model"):
        fit(model, nn.MSELoss(), rl.optim.SGD(model.parameters(), lr=0.05), loader, epochs=1,
            callbacks=[Trajectory()])


def test_trajectory_in_a_manual_loop():
    x, y = _tensors(*_line_data())
    model = nn.Linear(1, 1)
    opt = rl.optim.SGD(model.parameters(), lr=0.1)
    path = Trajectory(params=("weight", "bias"))
    for _ in range(7):
        loss = nn.MSELoss()(model(x.float()), y.float())
        opt.zero_grad()
        loss.backward()
        grad = np.sqrt(sum((p.grad.numpy().astype(np.float64) ** 2).sum() for p in model.parameters()))
        opt.step()
        path.record(model, loss)
        assert path.grad_norms[-1] == pytest.approx(grad)
        assert path.losses[-1] == pytest.approx(loss.item())
    assert len(path) == 7 and path.steps == list(range(7))
    assert path.losses[-1] < path.losses[0]


def test_project_recovers_known_plane_coordinates():
    model = _mlp()
    theta = np.concatenate([p.detach().numpy().reshape(-1).astype(np.float64) for p in model.parameters()])
    rng = np.random.default_rng(0)
    d1, d2 = rng.normal(size=theta.size), rng.normal(size=theta.size)  # not orthogonal
    coords = np.array([[0.0, 0.0], [0.3, -0.2], [1.0, 0.5], [-0.4, 0.9]])
    path = Trajectory()
    for a, b in coords:
        point = theta + a * d1 + b * d2
        start = 0
        for p in model.parameters():
            p._data = point[start:start + p.numel()].reshape(p.shape).astype(p.dtype)
            start += p.numel()
        path.record(model, 0.0)
    np.testing.assert_allclose(path.project(d1, d2, theta), coords, atol=1e-5)  # float32 parameters
    surface = Surface(np.zeros(2), np.zeros(2), np.zeros((2, 2)), ("a", "b"), theta=theta, directions=(d1, d2))
    np.testing.assert_allclose(path.project(surface), coords, atol=1e-5)
    with pytest.raises(ValueError, match="two scalars"):
        Trajectory(params=(("0.bias", 0), ("2.bias", 0))).project(surface)


# ---------------------------------------------------------------------------------------------------- plots
def test_plots_write_png_files(tmp_path):
    x, y = _line_data()
    model = nn.Linear(1, 1)
    data = _tensors(x.astype(np.float32), y.astype(np.float32))
    path = Trajectory(model, params=("weight", "bias"))
    opt = rl.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(5):
        loss = nn.MSELoss()(model(data[0]), data[1])
        opt.zero_grad()
        loss.backward()
        opt.step()
        path.record(model, loss)
    surf = error_surface(model, nn.MSELoss(), data, ranges=((-1, 4), (-2, 3)), steps=(20, 15))
    files = [tmp_path / "contour.png", tmp_path / "multi.png", tmp_path / "surface3d.png", tmp_path / "slice.png"]
    fig = plot_contour(surf, path, path=files[0])
    assert fig is not None
    plot_contour(surf, [("SGD", path), ("straight", [[0, 0], [1, 1]])], path=files[1], log=True)
    plot_surface_3d(surf, path=files[2])
    mlp = _mlp()
    traj = Trajectory(mlp)
    traj.record(mlp, 0.0)
    xm, ym = _mlp_data()
    sl = slice_2d(mlp, nn.MSELoss(), _tensors(xm, ym), steps=5)
    plot_contour(sl, {"start": traj}, path=files[3])
    for f in files:
        assert f.exists() and f.stat().st_size > 1000
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
