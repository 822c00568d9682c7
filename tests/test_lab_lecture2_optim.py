"""Lecture 2 lab (momentum, adaptive learning rates, classification): every experiment runs in --quick mode
without error, its numbers are finite, its verdict follows from its own numbers, and its figures exist."""

import pytest
from labcheck import finite_leaves, run_quick

from relulab.labs import lecture2_optim, run_experiments


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    return run_quick(lecture2_optim.EXPERIMENTS, tmp_path_factory, "lecture2_optim")


def test_every_experiment_is_registered(outcomes):
    _, results = outcomes
    assert set(results) == {"momentum", "adaptive_paths", "adaptive_explosion", "one_hot", "softmax", "ce_vs_mse",
                            "softmax2_sigmoid"}


def test_no_errors_andfinite_leaves(outcomes):
    _, results = outcomes
    for key, result in results.items():
        assert "error" not in result.numbers, f"{key}: {result.because}"
        for name, value in result.numbers.items():
            assert finite_leaves(value), f"{key}.{name} = {value!r}"
        assert result.because and result.method


def test_figures_exist(outcomes):
    out, results = outcomes
    for key in ("momentum", "adaptive_paths", "adaptive_explosion", "one_hot", "ce_vs_mse"):
        assert results[key].figures, key
    for result in results.values():
        for name in result.figures:
            assert (out / "figures" / name).stat().st_size > 0


# Each verdict recomputed from the experiment's own numbers, with the criterion its `because` states.
def _momentum(n):
    return n["momentum_final_loss"] < n["gd_final_loss"]


def _adaptive_paths(n):
    return all(n[f"{name}_final_abs_x"] < n["sgd_final_abs_x"] for name in ("adagrad", "rmsprop", "adam"))


def _adaptive_explosion(n):
    return (n["late_max_step_constant"] >= 3 * n["late_max_step_decay"]
            and n["max_step_constant"] >= 3 * n["max_step_warmup"])


def _one_hot(n):
    return n["one_hot_accuracy"] > n["integer_target_accuracy"]


def _softmax(n):
    return (n["max_abs_sum_minus_one"] < 1e-12 and 0 < n["min_probability"] and n["max_probability"] < 1
            and n["stretched_fraction"] == 1.0)


def _ce_vs_mse(n):
    mse_first = n["mse_first_step_p1_over_half"]
    mse_first = n["long_steps"] + 1 if mse_first is None else mse_first
    ce_first = n["ce_first_step_p1_over_half"]
    return (n["ce_grad_norm_at_start"] >= 10 * n["mse_grad_norm_at_start"] and ce_first is not None
            and mse_first >= 5 * ce_first)


def _softmax2_sigmoid(n):
    return max(n["max_abs_value_diff"], n["max_abs_grad_diff"], n["max_abs_grad_vs_formula"]) < 1e-12


CRITERIA = {"momentum": _momentum, "adaptive_paths": _adaptive_paths, "adaptive_explosion": _adaptive_explosion,
            "one_hot": _one_hot, "softmax": _softmax, "ce_vs_mse": _ce_vs_mse, "softmax2_sigmoid": _softmax2_sigmoid}


@pytest.mark.parametrize("key", sorted(CRITERIA))
def test_verdict_follows_from_numbers(outcomes, key):
    result = outcomes[1][key]
    assert result.reproduced == CRITERIA[key](result.numbers), result.because


def test_explosion_ratios_match_their_parts(outcomes):
    n = outcomes[1]["adaptive_explosion"].numbers
    assert n["late_ratio_constant_over_decay"] == pytest.approx(n["late_max_step_constant"] / n["late_max_step_decay"])
    assert n["overall_ratio_constant_over_warmup"] == pytest.approx(n["max_step_constant"] / n["max_step_warmup"])


def test_deterministic_given_seed(tmp_path):
    """Two runs of a cheap, random experiment with the same seed give the same numbers."""
    softmax = [e for e in lecture2_optim.EXPERIMENTS if e.key == "softmax"]
    first = run_experiments(softmax, tmp_path / "a", quick=True, seed=3)[0][1].numbers
    second = run_experiments(softmax, tmp_path / "b", quick=True, seed=3)[0][1].numbers
    assert first == second
