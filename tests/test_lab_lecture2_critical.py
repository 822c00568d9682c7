"""Lecture 2's critical-point lab: the saddle of the two-weight net and the minimum ratio of trained nets."""
import pytest

from relulab.labs import lecture2_critical
from labcheck import finite_leaves, run_quick


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    return run_quick(lecture2_critical.EXPERIMENTS, tmp_path_factory, "lecture2_critical")


def test_saddle_of_the_two_weight_net(outcomes):
    out, results = outcomes
    result = results["critical_points"]
    assert "error" not in result.numbers, result.because
    saddle = result.numbers
    # The lecture's surface L = (1 − w1·w2)² has Hessian [[0, −2], [−2, 0]] at the origin: eigenvalues ±2.
    assert saddle["saddle_eigenvalue_min"] == pytest.approx(-2.0, abs=1e-6)
    assert saddle["saddle_eigenvalue_max"] == pytest.approx(2.0, abs=1e-6)
    assert result.reproduced == (saddle["saddle_kind"] == "saddle" and saddle["escape_best_loss"] < saddle["saddle_loss"])
    assert finite_leaves(result.numbers)
    assert result.figures and all((out / "figures" / name).is_file() for name in result.figures)
