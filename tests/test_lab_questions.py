"""The questions lab (the notes' 12 疑问): every experiment runs once in --quick mode without error, its method
opens with the Chinese question, its numbers are finite, its verdict is one of VERDICTS and its negative controls
come out "not reproduced"; each criterion (_judge) is unit-tested on constructed per-seed numbers, and the certified
bounds of questions_common are checked against brute force."""
import re

import numpy as np
import pytest
from labcheck import finite_leaves, run_quick

from relulab.labs import questions
from relulab.labs import questions_classify as classify
from relulab.labs import questions_models as models
from relulab.labs import questions_optim as optim
from relulab.labs.framework import VERDICTS
from relulab.labs.questions_common import hinge_optimum, segments_lower_bound

KEYS = ["negative_loss", "per_parameter_lr", "what_is_hard_sigmoid", "why_depth", "elasticity_bias", "read_contours",
        "parallel_batches", "explosion_fix", "output_vector", "softmax2_training", "ce_vs_mse_network",
        "new_class_shift"]
WITH_FIGURES = {"per_parameter_lr", "what_is_hard_sigmoid", "why_depth", "elasticity_bias", "read_contours",
                "parallel_batches", "explosion_fix", "new_class_shift"}
LECTURE_KEYS = {"hard_sigmoid", "adaptive_explosion", "softmax2_sigmoid", "ce_vs_mse"}   # never re-run here


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    return run_quick(questions.EXPERIMENTS, tmp_path_factory, "questions")


def test_twelve_questions_in_order_none_rerunning_a_lecture_experiment():
    assert [e.key for e in questions.EXPERIMENTS] == KEYS
    assert not LECTURE_KEYS & set(KEYS)


def test_runs_are_sound(outcomes):
    out, results = outcomes
    for key, result in results.items():
        assert "error" not in result.numbers, f"{key}: {result.because}"
        assert finite_leaves(result.numbers), key
        assert result.method.startswith("疑问") and re.search(r"[\u4e00-\u9fff]", result.method), key
        assert result.verdict in VERDICTS and result.because and result.settings, key
        assert 2 <= len(result.seeds) <= 3, key
        assert bool(result.figures) == (key in WITH_FIGURES), key
        for name in result.figures:
            assert (out / "figures" / name).stat().st_size > 0


def test_every_control_comes_out_not_reproduced(outcomes):
    for key, result in outcomes[1].items():
        assert result.controls, key
        for control in result.controls:
            assert control.verdict == "not reproduced", f"{key} / {control.name}: {control.because}"


def test_constructions_and_identities_hold_in_quick_mode(outcomes):
    """Constructions, identities and certified bounds cannot honestly fail: their quick verdicts are asserted."""
    for key in ("negative_loss", "per_parameter_lr", "what_is_hard_sigmoid", "why_depth", "read_contours",
                "softmax2_training"):
        assert outcomes[1][key].verdict == "reproduced", outcomes[1][key].because


# ------------------------------------------------------------------------------------------- certified bounds
def test_hinge_optimum_is_exact_and_the_segment_bound_is_below_it():
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(-1, 1, 30))
    y = np.sin(2 * np.pi * x) + 0.5 * x
    best = np.inf
    for sign in (1, -1):
        for t in np.linspace(-1.1, 1.1, 4001):
            design = np.stack([np.ones_like(x), np.maximum(sign * (x - t), 0)], 1)
            residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
            best = min(best, residual @ residual / len(x))
    exact = hinge_optimum(x, y)
    assert exact <= best + 1e-12 and exact == pytest.approx(best, rel=1e-4)
    bounds = [segments_lower_bound(x, y, k) for k in (1, 2, 3, 5)]
    assert bounds[1] <= exact and all(b <= a + 1e-15 for a, b in zip(bounds, bounds[1:]))
    assert bounds[0] == pytest.approx(np.var(y - np.polyval(np.polyfit(x, y, 1), x)), rel=1e-9)
    hinge = 2 * np.maximum(x - 0.3, 0) - 1
    assert hinge_optimum(x, hinge) < 1e-20 and segments_lower_bound(x, hinge, 2) < 1e-20


def test_the_deep_sawtooth_net_is_exact():
    x = np.linspace(0, 1, 513)
    net, parameters = models.deep_sawtooth_net(5)
    assert parameters == 31
    assert np.abs(net(x) - models.sawtooth(x, 5)).max() < 1e-12


# ------------------------------------------------------------------------------------------- the criteria
def test_negative_loss_judge():
    good = {"trained NLL": -1.5, "max |Δθ| vs shifted loss": 0.0}
    assert models._judge_negative([good] * 3)[0] == "reproduced"
    assert models._judge_negative([dict(good, **{"trained NLL": 0.9})] * 3)[0] == "partly reproduced"
    assert models._judge_negative([{"trained NLL": 0.9, "max |Δθ| vs shifted loss": 0.1}] * 3)[0] == "not reproduced"


def test_hard_sigmoid_and_depth_judges():
    good = {"two ReLUs max error": 1e-16, "best sigmoid max error / height": 0.06}
    assert models._judge_hard_sigmoid([good] * 3)[0] == "reproduced"
    assert models._judge_hard_sigmoid([{"two ReLUs max error": 0.05, "best sigmoid max error / height": 1e-4}] * 3)[0] \
        == "not reproduced"
    deep = {"deep MSE": 0.0, "shallow lower bound": 0.04}
    assert models._judge_depth([deep] * 3)[0] == "reproduced"
    assert models._judge_depth([dict(deep, **{"shallow lower bound": 1e-15})] * 3)[0] == "not reproduced"
    assert models._judge_depth([dict(deep, **{"deep MSE": 0.1})] * 3)[0] == "partly reproduced"


def test_model_bias_judge():
    def row(trained, bound, exact):
        r = {f"{k} units: trained": t for k, t in zip(models.BIAS_SIZES, trained)}
        r.update({f"{k} units: bound": b for k, b in zip(models.BIAS_SIZES, bound)})
        r["1 unit: exact optimum"] = exact
        return r
    bound = [0.25, 0.09, 0.004, 4e-4, 1e-5]
    good = row([0.35, 0.2, 0.05, 0.01, 0.003], bound, 0.35)
    assert models._judge_bias([good] * 5)[0] == "reproduced"
    stuck = row([0.45, 0.2, 0.05, 0.01, 0.003], bound, 0.35)          # the 1-unit net missed its optimum
    assert models._judge_bias([stuck] * 5)[0] == "partly reproduced"
    no_bias = row([1e-6, 1e-6, 1e-6, 1e-6, 1e-6], [0.0] * 5, 0.0)       # the target is in the smallest family
    assert models._judge_bias([no_bias] * 5)[0] == "not reproduced"


def test_optimization_judges():
    hand = {"param groups: group ratio": 10.0, "RMSProp: spread across parameters": 20.0,
            "RMSProp: smallest change over time": 3.0}
    assert optim._judge_own_lr([hand] * 3)[0] == "reproduced"
    single = {k: 1.0 for k in hand}
    assert optim._judge_own_lr([single] * 3)[0] == "not reproduced"
    assert optim._judge_own_lr([dict(single, **{"param groups: group ratio": 10.0})] * 3)[0] == "partly reproduced"
    fast = {f"B={b} samples/s": 100.0 * b for b in optim.BATCHES}
    fast[f"speed-up B={optim.BATCHES[-1]} vs 1"] = float(optim.BATCHES[-1])
    assert optim._judge_parallel([fast] * 5)[0] == "reproduced"
    flat = {f"B={b} samples/s": 100.0 for b in optim.BATCHES}
    flat[f"speed-up B={optim.BATCHES[-1]} vs 1"] = 1.0
    assert optim._judge_parallel([flat] * 5)[0] == "not reproduced"
    jitter = [0.0, 0.1, -0.1, 0.05, -0.05]
    burst = [{"bursts, constant": 50, "bursts, decay": 0, "test MSE, constant": 2e-3 * 10 ** j,
              "test MSE, decay": 1e-3 * 10 ** j} for j in jitter]
    assert optim._judge_bursts(burst)[0] == "reproduced"
    calm = [dict(b, **{"bursts, constant": 0, "test MSE, decay": b["test MSE, constant"]}) for b in burst]
    assert optim._judge_bursts(calm)[0] == "not reproduced"


def test_contour_reading():
    loss, rotation = optim.double_well(1.0, 2.0, 0.3)
    grad, eig, changes, ring = optim.read_point(loss, rotation @ np.array([1.0, 0.0]))
    assert grad < 1e-12 and eig.min() > 0 and ring and changes == 0
    grad, eig, changes, ring = optim.read_point(loss, np.zeros(2))
    assert grad < 1e-12 and eig.min() < 0 < eig.max() and changes == 4 and not ring
    grad, _, changes, _ = optim.read_point(loss, rotation @ np.array([0.5, 0.3]))
    assert grad > 0.1 and changes == 2


def test_classification_judges():
    good = {"output shape": "(600, 3)", "max |Σ softmax − 1|": 1e-7, "test accuracy": 0.99}
    assert classify._judge_vector([good] * 3)[0] == "reproduced"
    assert classify._judge_vector([dict(good, **{"test accuracy": 0.33})] * 3)[0] == "not reproduced"
    assert classify._judge_pair([{"max |p_softmax − p_sigmoid|": 1e-15}] * 3)[0] == "reproduced"
    assert classify._judge_pair([{"max |p_softmax − p_sigmoid|": 0.1}] * 3)[0] == "not reproduced"
    steps = [{"bad start: CE steps to 0.9": 10 + j, "bad start: MSE steps to 0.9": 80 + 3 * j} for j in range(5)]
    assert classify._judge_network(steps)[0] == "reproduced"
    tie = [{"bad start: CE steps to 0.9": 10 + j, "bad start: MSE steps to 0.9": 10 + j} for j in range(5)]
    assert classify._judge_network(tie)[0] == "not reproduced"
    shift = [{"matched accuracy": 0.99, "swapped accuracy": 0.3}] * 5
    assert classify._judge_shift(shift)[0] == "reproduced"
    assert classify._judge_shift([{"matched accuracy": 0.98, "swapped accuracy": 0.97}] * 5)[0] == "not reproduced"
