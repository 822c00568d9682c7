"""Lecture 2's model-selection lab (kfold, public_test): one --quick run follows the method, each control comes
out "not reproduced", each criterion is checked on constructed per-seed numbers, and the batched least squares
matches numpy's."""
import numpy as np
import pytest
from labcheck import assert_follows_method, run_quick

from relulab.labs import VERDICTS, lecture2_selection as selection

EXPECTED = {"kfold": "reproduced", "public_test": "reproduced"}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    return run_quick(selection.EXPERIMENTS, tmp_path_factory, "lecture2_selection")


def test_every_experiment_is_registered():
    assert [e.key for e in selection.EXPERIMENTS] == list(EXPECTED)


@pytest.mark.parametrize("key", list(EXPECTED))
def test_quick_run_follows_the_method(outcomes, key):
    assert EXPECTED[key] in VERDICTS
    assert_follows_method(outcomes, key, EXPECTED[key])


def test_kfold_counts_add_up(outcomes):
    _, results = outcomes
    for row in results["kfold"].table[:-1]:
        assert row["cv wins"] + row["split wins"] + row["ties"] == row["data sets"]


def test_fit_all_matches_least_squares_and_ridge():
    rng = np.random.default_rng(0)
    x, y = selection.sample(rng, 30)
    a = selection.design(x)
    candidates = ((1, 0.0), (4, 0.0), (7, 0.1), (12, 1e-3))
    beta = selection.fit_all(a, y, candidates)
    for (degree, lam), b in zip(candidates, beta):
        used = a[:, :degree + 1]
        want = np.linalg.solve(used.T @ used + lam * np.eye(degree + 1), used.T @ y) if lam else \
            np.linalg.lstsq(used, y, rcond=None)[0]
        np.testing.assert_allclose(b[:degree + 1], want, rtol=1e-5, atol=1e-7)
        assert np.all(b[degree + 1:] == 0)
    np.testing.assert_allclose(selection.mse_all(beta, a, y)[1], np.mean((a[:, :5] @ beta[1, :5] - y) ** 2))


def test_sign_test():
    assert selection.sign_test(0, 0) == 0.0
    assert selection.sign_test(30, 10) == pytest.approx(20 / np.sqrt(40))


def _kfold_rows(z, cv_median, split_median, n=5):
    return [{"sign-test z": z, "cv median test MSE": cv_median, "split median test MSE": split_median}] * n


def test_judge_kfold():
    assert selection._judge_kfold(_kfold_rows(3.0, 0.10, 0.12))[0] == "reproduced"
    assert selection._judge_kfold(_kfold_rows(0.2, 0.12, 0.12))[0] == "not reproduced"
    assert selection._judge_kfold(_kfold_rows(3.0, 0.13, 0.12))[0] == "partly reproduced"


def _public_rows(low, excess_low, n=5):
    return [{"its 95 % low": low, "excess 95 % low": excess_low}] * n


def test_judge_public():
    assert selection._judge_public(_public_rows(0.01, 0.01))[0] == "reproduced"
    assert selection._judge_public(_public_rows(-0.01, -0.01))[0] == "not reproduced"
    assert selection._judge_public(_public_rows(0.01, -0.01))[0] == "partly reproduced"


def test_one_candidate_has_no_excess_optimism():
    found = selection._public_seed(3, 20, selection.ONE_CANDIDATE)
    np.testing.assert_array_equal(found["public pick gap"], found["valid pick gap"])
