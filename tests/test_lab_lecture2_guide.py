"""Lecture 2's guide lab (training guide, critical points, batch size), run once in --quick mode: every
experiment finishes, its numbers are finite, and each verdict follows from its own numbers."""
import math

import numpy as np
import pytest

from relulab.labs import run_experiments
from relulab.labs import lecture2_guide


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    out = tmp_path_factory.mktemp("lecture2_guide")
    return out, {exp.key: result for exp, result, _ in
                 run_experiments(lecture2_guide.EXPERIMENTS, out, quick=True, seed=0)}


# Each claim's criterion, recomputed from the numbers independently of the experiment's own code.
CRITERIA = {
    "deeper_worse": lambda n: n["deep_train_loss"] > n["shallow_train_loss"] and n["deep_verdict"] == "optimization",
    "model_bias": lambda n: (n["linear_verdict"] == "model bias"
                             and n["bigger_train_loss"] < 0.25 * n["linear_train_loss"]),
    "overfitting": lambda n: (n["gap_n400"] < n["gap_n100"] < n["gap_n25"])
    or n["gap_n25"] == max(n["gap_n400"], n["gap_n100"], n["gap_n25"]),
    "kfold": lambda n: n["cv_mean_test_mse"] <= n["one_split_mean_test_mse"],
    "batch_time": lambda n: n["update_time_ratio_b1000_over_b1"] < 10 and n["epoch_speedup_b1_over_b1000"] > 5,
    "batch_generalization": lambda n: n["small_test_accuracy_mean"] > n["large_test_accuracy_mean"],
}


def _finite_numbers(numbers):
    for key, value in numbers.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, (bool, str)):
                continue
            assert math.isfinite(float(v)), f"{key} = {v!r}"


def test_every_experiment_is_registered():
    assert [e.key for e in lecture2_guide.EXPERIMENTS] == list(CRITERIA)


@pytest.mark.parametrize("key", list(CRITERIA))
def test_verdict_follows_from_numbers(outcomes, key):
    out, results = outcomes
    result = results[key]
    assert "error" not in result.numbers, result.because
    _finite_numbers(result.numbers)
    assert result.reproduced == CRITERIA[key](result.numbers), result.because
    assert result.because and result.method and result.table
    assert result.figures and all((out / "figures" / name).is_file() for name in result.figures)


def test_sanity_of_key_numbers(outcomes):
    _, results = outcomes
    assert 0 <= results["kfold"].numbers["share_one_split_worse"] <= 1
    batch = results["batch_generalization"].numbers
    assert batch["small_batch_flatter"] == (batch["small_lambda_max_mean"] < batch["large_lambda_max_mean"])
