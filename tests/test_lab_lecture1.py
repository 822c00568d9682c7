"""Lecture 1's lab in --quick mode: every experiment runs, its numbers are finite, its verdict follows from its own
numbers (each criterion recomputed here), its figures exist, and run_lab writes the report."""
import json
import math

import pytest
from labcheck import finite_leaves, run_quick

from relulab.labs import lecture1, run_lab

ERROR_MARKER = "(the experiment raised an error)"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    return run_quick(lecture1.EXPERIMENTS, tmp_path_factory, "lecture1")


def test_every_experiment_ran_with_finite_numbers_and_figures(outcomes):
    out, results = outcomes
    assert set(results) == {exp.key for exp in lecture1.EXPERIMENTS}
    for key, result in results.items():
        assert result.method != ERROR_MARKER, f"{key}: {result.because}"
        assert "error" not in result.numbers, key
        assert result.figures, key
        for name in result.figures:
            assert (out / "figures" / name).is_file(), name
    # the too-large learning rate is allowed to overflow: only its loss may be infinite
    for key, result in results.items():
        numbers = dict(result.numbers)
        if key == "error_surface":
            numbers["runs"] = {k: v for k, v in numbers["runs"].items() if k != "too large"}
        assert finite_leaves(numbers), key


def _views_days(n):
    train, test = n["train"], n["test"]
    return (train["linear 1d"] > train["linear 7d"] > train["linear 28d"]
            and max(test["linear 28d"], test["linear 56d"]) <= test["linear 1d"])


def _views_capacity(n):
    sig = [n["train"][f"sigmoid {u}"] for u in n["sigmoid_units"]]
    relu = [n["train"][f"ReLU {u}"] for u in n["relu_units"]]
    return all(b <= a for a, b in zip(sig, sig[1:])) and sig[-1] < sig[0] and relu[-1] < relu[0]


def _views_depth(n):
    names = list(n["train"])
    best = min(names, key=lambda name: n["test"][name])
    return best == n["best_on_test"] and min(n["train"][m] for m in names[1:]) < n["train"][names[0]] \
        and best != names[-1]


def _sigmoid_vs_relu(n):
    sigmoid = {k.split(" ", 1)[1]: v for k, v in n["train"].items() if k.startswith("sigmoid")}
    relu = {k.split(" ", 1)[1]: v for k, v in n["train"].items() if k.startswith("ReLU")}
    assert sigmoid.keys() == relu.keys()
    return all(relu[k] <= sigmoid[k] for k in sigmoid)


def _error_surface(n):
    runs, d0 = n["runs"], n["start_distance"]
    large = runs["too large"]["final_loss"]
    return (runs["too small"]["distance_to_min"] > 0.5 * d0
            and runs["good"]["distance_to_min"] < 0.05 * d0
            and runs["good"]["final_loss"] - n["min_loss"] < 0.01 * (n["start_loss"] - n["min_loss"])
            and (not math.isfinite(large) or large > n["start_loss"]))


CRITERIA = {
    "views_days": _views_days,
    "views_capacity": _views_capacity,
    "views_depth": _views_depth,
    "sigmoid_vs_relu": _sigmoid_vs_relu,
    "error_surface": _error_surface,
    "red_curve": lambda n: n["mse"] < n["threshold"],
    "hard_sigmoid": lambda n: n["max_abs_diff"] < n["tolerance"],
}


@pytest.mark.parametrize("key", sorted(CRITERIA))
def test_verdict_follows_from_numbers(outcomes, key):
    result = outcomes[1][key]
    assert result.reproduced == CRITERIA[key](result.numbers), result.because


def test_run_lab_writes_the_report(tmp_path):
    reports = run_lab("lecture1", out=tmp_path, quick=True, progress=None)
    assert set(reports) == {"lecture1"}
    folder = tmp_path / "lecture1"
    for name in ("report.html", "report.md", "results.json"):
        assert (folder / name).is_file(), name
    text = (folder / "results.json").read_text()
    json.loads(text)
    for exp in lecture1.EXPERIMENTS:
        assert exp.key in text, exp.key
