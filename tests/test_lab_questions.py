"""The questions lab (the student's 12 疑问): every experiment runs in --quick mode without error, its method
opens with the Chinese question, its numbers are finite, its verdict follows from its own numbers, and its
figures exist."""
import re

import pytest
from labcheck import finite_leaves, run_quick

from relulab.labs import questions

KEYS = ["negative_loss", "per_parameter_lr", "hard_sigmoid", "why_depth", "elasticity_bias", "read_contours",
        "parallel_batches", "adaptive_explosion", "output_vector", "softmax2_sigmoid", "ce_vs_mse", "new_class_shift"]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    return run_quick(questions.EXPERIMENTS, tmp_path_factory, "questions")


def test_twelve_questions_in_order(outcomes):
    assert [e.key for e in questions.EXPERIMENTS] == KEYS


def test_no_errors_finite_numbers_chinese_method(outcomes):
    _, results = outcomes
    for key, result in results.items():
        assert "error" not in result.numbers, f"{key}: {result.because}"
        for name, value in result.numbers.items():
            assert finite_leaves(value), f"{key}.{name} = {value!r}"
        assert re.search(r"[\u4e00-\u9fff]", result.method), key
        assert result.method.startswith("疑问"), key
        assert result.because


def test_figures_exist(outcomes):
    out, results = outcomes
    for key in ("hard_sigmoid", "why_depth", "read_contours", "parallel_batches", "adaptive_explosion", "ce_vs_mse",
                "new_class_shift"):
        assert results[key].figures, key
    for result in results.values():
        for name in result.figures:
            assert (out / "figures" / name).stat().st_size > 0


# Each verdict recomputed from the experiment's own numbers, with the criterion its `because` states.
def _ce_vs_mse(n):
    mse_first = n["mse_first_step_p1_over_half"]
    mse_first = n["long_steps"] + 1 if mse_first is None else mse_first
    ce_first = n["ce_first_step_p1_over_half"]
    return (n["ce_grad_norm_at_start"] >= 10 * n["mse_grad_norm_at_start"] and ce_first is not None
            and mse_first >= 5 * ce_first)


def _elasticity(n):
    floors = n["train_mse_floor"]
    return all(b <= a * 1.05 for a, b in zip(floors, floors[1:])) and floors[0] >= 10 * floors[-1]


CRITERIA = {
    "negative_loss": lambda n: n["final_gaussian_nll"] < 0 and n["max_param_diff"] <= 1e-12,
    "per_parameter_lr": lambda n: (abs(n["move_ratio"] - n["lr_group_a"] / n["lr_group_b"]) < 1e-8
                                   and n["sigma_y"] > 2 * n["sigma_x"]),
    "hard_sigmoid": lambda n: n["max_abs_diff"] < n["tolerance"],
    "why_depth": lambda n: (n["deep_mse"] < 1e-12 and n["shallow_trained_mse"] > 1e-3
                            and n["deep_parameters"] == n["shallow_parameters"]
                            and n["very_deep_train_mse"] > 2 * n["moderate_train_mse"]),
    "elasticity_bias": _elasticity,
    "read_contours": lambda n: (n["left_kind"] == n["right_kind"] == "local minimum" and n["middle_kind"] == "saddle"
                                and all(v > 0 for v in n["left_eigenvalues"] + n["right_eigenvalues"])
                                and min(n["middle_eigenvalues"]) < 0 < max(n["middle_eigenvalues"])),
    "parallel_batches": lambda n: (all(b > a for a, b in zip(n["samples_per_second"], n["samples_per_second"][1:]))
                                   and n["samples_per_second"][-1] >= 10 * n["samples_per_second"][0]),
    "adaptive_explosion": lambda n: (n["late_max_step_constant"] >= 3 * n["late_max_step_decay"]
                                     and n["max_step_constant"] >= 3 * n["max_step_warmup"]),
    "output_vector": lambda n: (n["output_shape"] == [n["n"], n["classes"]] and n["one_hot_shape"] == n["output_shape"]
                                and n["max_abs_probability_sum_minus_one"] < 1e-5 and n["train_accuracy"] > 0.9),
    "softmax2_sigmoid": lambda n: max(n["max_abs_value_diff"], n["max_abs_grad_diff"],
                                      n["max_abs_grad_vs_formula"]) < 1e-12,
    "ce_vs_mse": _ce_vs_mse,
    "new_class_shift": lambda n: (n["train_accuracy"] >= 0.95 and n["accuracy_drop"] >= 0.3
                                  and n["unseen_class_mean_max_probability"] >= 0.8),
}


@pytest.mark.parametrize("key", KEYS)
def test_verdict_follows_from_numbers(outcomes, key):
    result = outcomes[1][key]
    assert result.reproduced == CRITERIA[key](result.numbers), result.because
