"""Lecture 2's remedies lab (remedies, over_constrain): one --quick run follows the method, each control comes out
"not reproduced", and each criterion is checked on constructed per-seed numbers."""
import numpy as np
import pytest
from labcheck import assert_follows_method, run_quick

from relulab.labs import VERDICTS, lecture2_remedies as remedies

# The verdicts of the --quick run at lab seed 0.  remedies was "partly reproduced" (dropout's interval above 0)
# while the labs drew weights and dropout masks from NumPy; with PyTorch's generator (issue 17) no remedy's
# 95 % interval over --quick's 3 seeds lies above 0 (dropout: mean −0.0016, [−0.19, 0.19]).
EXPECTED = {"remedies": "not reproduced", "over_constrain": "reproduced"}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    return run_quick(remedies.EXPERIMENTS, tmp_path_factory, "lecture2_remedies")


def test_every_experiment_is_registered():
    assert [e.key for e in remedies.EXPERIMENTS] == list(EXPECTED)


@pytest.mark.parametrize("key", list(EXPECTED))
def test_quick_run_follows_the_method(outcomes, key):
    assert EXPECTED[key] in VERDICTS
    assert_follows_method(outcomes, key, EXPECTED[key])


def test_chosen_settings_come_from_the_grids(outcomes):
    _, results = outcomes
    for row in results["remedies"].table[:-1]:
        assert float(row["chosen λ"]) in remedies.L2_GRID and float(row["chosen p"]) in remedies.DROPOUT_GRID
    for row in results["over_constrain"].table[:-1]:
        assert float(row["chosen λ"]) in remedies.CONSTRAINT_GRID
        assert float(row["crushed λ"]) == remedies.CONSTRAINT_GRID[-1]


def _remedy_rows(factors, spread=0.02):
    """Five seeds: the baseline test loss and each remedy's at baseline × factor (with a little seed noise)."""
    rows = []
    for i in range(5):
        base = 0.2 * (1 + spread * i)
        rows.append({"baseline test": base, **{f"{name} test": base * f * (1 + spread * ((i * 7 + j) % 3 - 1))
                                               for j, (name, f) in enumerate(zip(remedies.REMEDIES, factors))}})
    return rows


def test_judge_remedies():
    assert remedies._judge_remedies(_remedy_rows((0.7, 0.8, 0.75)))[0] == "reproduced"
    assert remedies._judge_remedies(_remedy_rows((1.0, 1.0, 1.0), spread=0.0))[0] == "not reproduced"
    verdict, because = remedies._judge_remedies(_remedy_rows((0.7, 1.05, 1.1)))
    assert verdict == "partly reproduced" and "L2" in because and "dropout" in because


def _constraint_rows(crushed_train, crushed_test, n=5):
    return [{"variance": 0.6, "chosen train": 0.05, "chosen test": 0.12 + 0.001 * i, "crushed train": crushed_train,
             "crushed test": crushed_test + 0.002 * i} for i in range(n)]


def test_judge_constraint():
    assert remedies._judge_constraint(_constraint_rows(0.58, 0.55))[0] == "reproduced"
    assert remedies._judge_constraint(_constraint_rows(0.05, 0.12))[0] == "not reproduced"
    assert remedies._judge_constraint(_constraint_rows(0.58, 0.115))[0] == "partly reproduced"


def test_member_dropout_is_inverted_dropout():
    import relulab
    drop = remedies.MemberDropout(np.array([0.0, 0.5]), seed=0)
    h = relulab.ones(2, 2000, 3)
    out = drop(h).numpy()
    assert np.all(out[0] == 1.0)                                     # p = 0: untouched
    assert set(np.unique(out[1])) <= {0.0, 2.0} and abs(out[1].mean() - 1.0) < 0.05  # kept units scaled by 2
    drop.eval()
    assert np.all(drop(h).numpy() == 1.0)                            # the identity in eval mode
