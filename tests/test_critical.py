"""Critical points: classify's three eigenvalue bins at their tolerance, and a finder that says what it found,
checked on cases with known answers, including ones built to fool it (gradient-flat points, runaway valleys)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import relulab as rl
from relulab import analysis as A, nn

TOL = A.ZERO_TOLERANCE


def _quadratic(eigenvalues):
    """f(θ) = ½ Σ λᵢ θᵢ²: its Hessian is exactly diag(λ) in float64."""
    lam = rl.tensor(np.asarray(eigenvalues, dtype=np.float64))
    return lambda t: 0.5 * (lam * t * t).sum()


# ------------------------------------------------------------------------------------------------ classify
@pytest.mark.parametrize("fn,dims,kind,positive,negative,near_zero,ratio,ratio_nonzero", [
    (lambda t: t[0] ** 2 - t[1] ** 2, 2, "saddle", 1, 1, 0, 0.5, 0.5),
    (lambda t: t[0] ** 2 + t[1] ** 2, 2, "local minimum", 2, 0, 0, 1.0, 1.0),
    (lambda t: -t[0] ** 2 - t[1] ** 2, 2, "local maximum", 0, 2, 0, 0.0, 0.0),
    (lambda t: t[0] ** 4 + t[1] ** 2, 2, "degenerate", 1, 0, 1, 0.5, 1.0),   # a true minimum second order can't see
    (lambda t: t[0] ** 3 + t[1] ** 2, 2, "degenerate", 1, 0, 1, 0.5, 1.0),   # not a minimum: same spectrum
    (lambda t: t[0] ** 4 - t[1] ** 2 + t[2] ** 2, 3, "saddle", 1, 1, 1, 1 / 3, 0.5),
])
def test_known_points(fn, dims, kind, positive, negative, near_zero, ratio, ratio_nonzero):
    point = A.classify(fn, np.zeros(dims))
    assert (point.kind, point.positive, point.negative, point.near_zero) == (kind, positive, negative, near_zero)
    assert point.minimum_ratio == pytest.approx(ratio) and point.ratio_nonzero == pytest.approx(ratio_nonzero)
    assert point.gradient_norm == 0.0 and point.tolerance == TOL
    text = point.describe()
    assert kind in text and f"{near_zero} near zero" in text and "1e-06" in text


def test_a_flat_hessian_is_degenerate_with_no_signed_ratio():
    point = A.classify(lambda t: t[0] ** 4 + t[1] ** 4, [0.0, 0.0])
    assert point.kind == "degenerate" and point.near_zero == 2 and math.isnan(point.ratio_nonzero)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_bins_at_the_tolerance_boundary(sign):
    top = 4.0
    at = sign * TOL * top             # exactly on the cut: near zero (|λ| ≤ tol·max|λ|)
    above = sign * TOL * top * 1.001  # just past it: signed
    point = A.classify(_quadratic([top, at, 1.0]), np.zeros(3))
    assert point.near_zero == 1 and point.kind == "degenerate"
    point = A.classify(_quadratic([top, above, 1.0]), np.zeros(3))
    assert point.near_zero == 0
    assert point.kind == ("local minimum" if sign > 0 else "saddle")
    assert point.minimum_ratio == pytest.approx(1.0 if sign > 0 else 2 / 3)


def test_tolerance_is_a_parameter_and_is_checked():
    spectrum = [10.0, 1e-3, -1e-3]
    assert A.classify(_quadratic(spectrum), np.zeros(3)).kind == "saddle"
    loose = A.classify(_quadratic(spectrum), np.zeros(3), tol=1e-3)   # 1e-3 ≤ 1e-3·10: both now near zero
    assert loose.kind == "degenerate" and loose.near_zero == 2 and loose.tolerance == 1e-3
    with pytest.raises(ValueError, match="zero tolerance"):
        A.classify(_quadratic(spectrum), np.zeros(3), tol=-1)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=8),
       st.sampled_from([0.0, 1e-8, 1e-6, 1e-3, 0.1]))
def test_bins_partition_the_spectrum(values, tol):
    s = A.Spectrum.of(values, tol)
    assert s.positive + s.negative + s.near_zero == len(values)
    cut = tol * max(abs(v) for v in values)
    assert s.near_zero == sum(abs(v) <= cut for v in values)
    assert (s.kind == "saddle") == (s.positive > 0 and s.negative > 0)
    assert s.minimum_ratio == s.positive / len(values)


def test_escape_saddle_ignores_round_off_negative_curvature():
    # λ = −1e-12 relative to 1 is round-off, not a way down: no escape direction, and escape_saddle says so.
    point = A.classify(_quadratic([1.0, -1e-12]), [0.0, 0.0])
    assert point.kind == "degenerate" and point.escape_direction is None
    with pytest.raises(ValueError, match="not a saddle"):
        A.escape_saddle(_quadratic([1.0, -1e-12]), [0.0, 0.0])


# ------------------------------------------------------------------------------------------- the finder
def test_finder_reaches_a_saddle_and_reports_it():
    f = lambda t: t[0] ** 2 - t[1] ** 2 + 0.1 * t[0] ** 4 + 0.1 * t[1] ** 4  # noqa: E731 (saddle at 0)
    search = A.find_critical_point(f, [0.03, 0.02], train_steps=0)
    assert search.status == "critical point" and search.is_critical
    assert search.gradient_norm <= 1e-8 < search.start_gradient_norm
    assert A.classify(f, search.theta).kind == "saddle"
    assert search.drift == pytest.approx(np.linalg.norm(search.theta - [0.03, 0.02]) / 1.0)
    assert "critical point" in search.describe() and "|Δθ|/|θ|" in search.describe()
    # From farther out the same search lands on the minima at y = ±√5: critical, but not near the start.
    far = A.find_critical_point(f, [0.3, 0.2], train_steps=0)
    assert far.status == "drifted" and far.drift > 0.1 and not far.is_critical


def test_finder_on_the_two_weight_net_saddle():
    x = rl.tensor([[1.0], [2.0]], dtype=rl.float64)
    model = nn.Sequential(nn.Linear(1, 1, bias=False), nn.Linear(1, 1, bias=False)).double()
    with rl.no_grad():
        model[0].weight.fill_(0.4)
        model[1].weight.fill_(-0.4)   # on the anti-diagonal: gradient descent slides into the saddle at 0
    search = A.find_critical_point(model, nn.MSELoss(), (x, 2 * x), train_steps=5000, lr=0.02)
    assert search.is_critical and search.steps["train"] > 0
    assert A.classify(model, nn.MSELoss(), (x, 2 * x), theta=search.theta).kind == "saddle"


@pytest.mark.parametrize("epsilon", [1.0, 1e-4])
def test_gradient_flat_point_is_not_called_critical(epsilon):
    # Frye et al.'s trap: f = εx + y².  ‖∇f‖² = ε² + 4y² is minimized on y = 0, where ∇f = (ε, 0) is not zero
    # but lies in the kernel of H = diag(0, 2): a ‖∇L‖² minimizer converges there.
    f = lambda t: epsilon * t[0] + t[1] ** 2  # noqa: E731
    search = A.find_critical_point(f, [0.0, 0.5], train_steps=0)
    assert search.status == "gradient-flat" and not search.is_critical
    assert search.gradient_norm == pytest.approx(epsilon, rel=1e-6)
    assert search.flatness < 1e-6


def test_gradient_flat_point_in_a_network():
    # A ReLU unit that is dead on every sample has zero gradient for its input weights; give the output bias a
    # gradient it cannot remove by making the loss linear in it: f = b (a "loss" with no minimum along b) + the
    # net's MSE.  Its ‖∇L‖² minimum has ∇L = (…, 1) in the kernel of H.
    x = rl.tensor(np.linspace(-1, 1, 8)[:, None])
    y = rl.tensor(np.sin(3 * np.linspace(-1, 1, 8))[:, None])
    rl.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    obj = A.Objective.from_model(model, nn.MSELoss(), (x, y))
    trained = A.find_critical_point(obj, train_steps=3000, lr=0.1).theta
    shift = A.Objective(lambda t: obj.fn(t[:-1]) + t[-1], np.append(trained, 0.0))
    search = A.find_critical_point(shift, train_steps=0)
    assert search.status == "gradient-flat" and search.gradient_norm == pytest.approx(1.0, rel=1e-3)


def test_a_runaway_valley_is_not_a_critical_point_near_training():
    # f = e^(−x) + y² has no critical point: ‖∇f‖ → 0 only as x → ∞.  Whatever the finder reaches, it must not
    # be reported as a critical point near where training ended.
    f = lambda t: (-t[0]).exp() + t[1] ** 2  # noqa: E731
    search = A.find_critical_point(f, [0.0, 0.5], train_steps=0)
    assert not search.is_critical and search.status in ("drifted", "gradient-flat", "not converged")
    assert search.theta[0] > 1.0


def test_newton_stage_never_raises_the_gradient_norm():
    rng = np.random.default_rng(0)
    x, y = rl.tensor(rng.normal(size=(20, 2))), rl.tensor(rng.normal(size=(20, 1)))
    for seed in range(3):
        rl.manual_seed(seed)
        model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)).double()
        search = A.find_critical_point(model, nn.MSELoss(), (x, y), train_steps=200, lr=0.05, polish_steps=20)
        norms = search.gradient_norms
        assert all(b <= a for a, b in zip(norms, norms[1:])), norms
        assert search.start_loss >= search.loss - 1e-12 or search.gradient_norm < search.start_gradient_norm


def test_finder_rejects_an_empty_objective():
    with pytest.raises(ValueError, match="no parameters"):
        A.find_critical_point(lambda t: t.sum(), np.zeros(0))


# ---------------------------------------------------------------------------------------------- the study
def test_study_counts_only_verified_points(tmp_path):
    study = A.minimum_ratio_study(nets=2, train_steps=300, polish_steps=20, newton_steps=3)
    rows = study.table()
    assert len(rows) == 2 and {"search", "‖g‖ start", "‖g‖ end", "|Δθ|/|θ|", "near zero", "counted"} <= set(rows[0])
    for row, p in zip(rows, study.points):
        assert row["counted"] == (p.trained_low and p.search.status == "critical point")
        assert row["positive"] + row["negative"] + row["near zero"] == 19
    summary = study.summary()
    assert summary["counted"] == sum(r["counted"] for r in rows) and summary["tolerance"] == A.ZERO_TOLERANCE
    study.plot(tmp_path / "ratio.png")
    assert (tmp_path / "ratio.png").stat().st_size > 1000


def test_study_control_on_a_convex_model_finds_only_minima():
    study = A.minimum_ratio_study(nets=2, hidden=0, train_steps=200, low_loss=1.0)
    summary = study.summary()
    assert summary["counted"] == 2 and summary["kinds"] == {"local minimum": 2}
    assert summary["share_ratio_1"] == 1.0
    assert all(row["local minimum"] == 2 for row in study.sensitivity())


def test_study_checks_its_data():
    with pytest.raises(ValueError, match="shapes"):
        A.minimum_ratio_study(nets=1, data=(np.zeros(5), np.zeros(5)))
    with pytest.raises(ValueError, match="init_seeds"):
        A.minimum_ratio_study(nets=2, init_seeds=[1])
