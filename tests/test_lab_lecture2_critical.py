"""Lecture 2's critical-point lab: the saddle of the two-weight net and the minimum ratio of trained nets.
Both criteria are tested on constructed per-seed numbers, and both controls must come out "not reproduced"."""
import pytest

from relulab.labs import lecture2_critical as lab
from relulab.labs.framework import VERDICTS
from labcheck import finite_leaves, run_quick


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    return run_quick(lab.EXPERIMENTS, tmp_path_factory, "lecture2_critical")


@pytest.mark.parametrize("key", ["critical_points", "minimum_ratio"])
def test_runs_with_seeds_a_verdict_and_a_failing_control(outcomes, key):
    out, results = outcomes
    result = results[key]
    assert "error" not in result.numbers, result.because
    assert result.verdict in VERDICTS and result.because and result.settings
    assert len(result.seeds) >= 2 and len([r for r in result.table if r.get("seed") in result.seeds]) == len(result.seeds)
    assert result.controls and all(c.verdict == "not reproduced" for c in result.controls), result.controls
    assert finite_leaves({k: v for k, v in result.numbers.items() if not k.startswith("median")})
    assert result.figures and all((out / "figures" / name).is_file() for name in result.figures)


def test_saddle_of_the_two_weight_net(outcomes):
    _, results = outcomes
    result = results["critical_points"]
    # The lecture's surface L = (1 − w1·w2)² has Hessian [[0, −2], [−2, 0]] at the origin: eigenvalues ±2.
    assert result.numbers["saddle_eigenvalue_min"] == pytest.approx(-2.0, abs=1e-6)
    assert result.numbers["saddle_eigenvalue_max"] == pytest.approx(2.0, abs=1e-6)
    assert result.verdict == "reproduced", result.because
    assert result.numbers["valley_kind"] == "degenerate" and result.numbers["valley_near_zero"] == 1


def _saddle_row(search="critical point", kind="saddle", escaped=True):
    return {"search": search, "kind": kind, "escaped": escaped}


def test_saddle_criterion_both_sides():
    assert lab._judge_saddle([_saddle_row()] * 5)[0] == "reproduced"
    assert lab._judge_saddle([_saddle_row(kind="local minimum", escaped=False)] * 5)[0] == "not reproduced"
    assert lab._judge_saddle([_saddle_row(search="drifted")] * 5)[0] == "not reproduced"  # unverified: not counted
    assert lab._judge_saddle([_saddle_row()] * 3 + [_saddle_row(escaped=False)] * 2)[0] == "partly reproduced"


def _census(verified, minima, saddles, nets=4):
    return {"nets": nets, "verified": verified, "local minima": minima, "saddles": saddles,
            "degenerate": verified - minima - saddles, "not converged": nets - verified, "gradient-flat": 0,
            "drifted": 0}


def test_minimum_ratio_criterion_both_sides():
    judge = lambda rows: lab._judge_minimum_ratio(rows)[0]  # noqa: E731
    assert judge([_census(4, 0, 3)] * 5) == "reproduced"                      # saddles, no minima
    assert judge([_census(4, 4, 0)] * 5) == "not reproduced"                  # all minima: the convex control
    assert judge([_census(4, 0, 1)] * 5) == "partly reproduced"               # no minima, but mostly degenerate
    assert judge([_census(4, 2, 2)] * 5) == "partly reproduced"               # saddle majority, minima not rare
    verdict, because = lab._judge_minimum_ratio([_census(0, 0, 0)] * 5)       # nothing verified: untestable
    assert verdict == "not reproduced" and "could not be tested" in because
    assert judge([_census(1, 0, 1)] * 5) == "not reproduced"                  # one point per seed is not enough
