"""Lecture 1's lab in --quick mode: every experiment runs and follows the method (seeds, settings, a verdict with
its reason, negative controls that come out "not reproduced"), and each criterion, called on constructed
per-seed numbers, says "reproduced" for a clear effect, "not reproduced" for a tie, and "partly" for half."""
import json

import pytest
from labcheck import method_problems, run_quick

from relulab.labs import VERDICTS, lecture1

ERROR_MARKER = "(the experiment raised an error)"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    return run_quick(lecture1.EXPERIMENTS, tmp_path_factory, "lecture1")


def test_every_experiment_follows_the_method(outcomes):
    out, results = outcomes
    assert set(results) == {exp.key for exp in lecture1.EXPERIMENTS}
    for key, result in results.items():
        assert result.method != ERROR_MARKER, f"{key}: {result.because}"
        assert result.verdict in VERDICTS and result.figures, key
        assert not method_problems(result, out), (key, method_problems(result, out))


def test_the_views_section_shares_one_data_set_and_its_seeds(outcomes):
    _, results = outcomes
    depth, capacity, pair = results["views_depth"], results["views_capacity"], results["sigmoid_vs_relu"]
    assert depth.seeds == capacity.seeds == pair.seeds
    # the same net (1 hidden layer of 100 ReLUs, same seed, same budget) scores the same in every table
    def row(result, model):
        return next(r for r in result.table if r["model"] == model)
    assert row(depth, "1 layer") == {**row(capacity, "ReLU 100"), "model": "1 layer"} == \
        {**row(pair, "ReLU 1×100"), "model": "1 layer"}
    assert "chosen on validation" in depth.settings


# ------------------------------------------------------------------------------------ criteria on constructed rows
def _views(arms):
    """Two seeds of identical rows: {arm: (train, test)}."""
    return [(seed, {a: {"train": t, "test": v} for a, (t, v) in arms.items()}) for seed in (1, 2)]


def test_judge_days():
    clear = _views({"1d": (0.44, 0.65), "7d": (0.35, 0.54), "28d": (0.30, 0.47), "56d": (0.28, 0.465)})
    assert lecture1._judge_days(clear)[0] == "reproduced"
    flat = _views({d: (0.4, 0.6) for d in ("1d", "7d", "28d", "56d")})
    assert lecture1._judge_days(flat)[0] == "not reproduced"
    test_fails = _views({"1d": (0.44, 0.5), "7d": (0.35, 0.54), "28d": (0.30, 0.55), "56d": (0.28, 0.56)})
    verdict, because = lecture1._judge_days(test_fails)
    assert verdict == "partly reproduced" and "failed: B" in because


def test_judge_capacity():
    names = [f"{f} {u}" for f in ("sigmoid", "ReLU") for u in lecture1.UNITS]
    falling = {n: ({3: 0.4, 10: 0.3, 100: 0.2}[int(n.split()[1])], 0.5) for n in names}
    assert lecture1._judge_capacity(_views(falling))[0] == "reproduced"
    assert lecture1._judge_capacity(_views({n: (0.3, 0.5) for n in names}))[0] == "not reproduced"
    half = {n: (v if n.startswith("ReLU") else 0.3, t) for n, (v, t) in falling.items()}
    assert lecture1._judge_capacity(_views(half))[0] == "partly reproduced"


def test_judge_depth():
    lecture = {"1 layer": (0.28, 0.43), "2 layers": (0.18, 0.39), "3 layers": (0.14, 0.38), "4 layers": (0.10, 0.44)}
    assert lecture1._judge_depth(_views(lecture))[0] == "reproduced"            # the lecture's own numbers
    assert lecture1._judge_depth(_views({k: (0.2, 0.4) for k in lecture}))[0] == "not reproduced"
    rising = {"1 layer": (0.28, 0.41), "2 layers": (0.18, 0.42), "3 layers": (0.14, 0.44), "4 layers": (0.10, 0.44)}
    verdict, because = lecture1._judge_depth(_views(rising))                  # train falls, test rises: only A
    assert verdict == "partly reproduced" and "failed: B, C" in because


def test_judge_activation():
    names = [f"{a} {d}×100" for d in lecture1.PAIR_DEPTHS for a in ("sigmoid", "ReLU")]
    relu_better = {n: (0.2 if n.startswith("ReLU") else 0.3, 0.5) for n in names}
    assert lecture1._judge_activation(_views(relu_better))[0] == "reproduced"
    assert lecture1._judge_activation(_views({n: (0.3, 0.5) for n in names}))[0] == "not reproduced"
    one_depth = {n: (0.2 if n == "ReLU 1×100" else 0.3, 0.5) for n in names}
    assert lecture1._judge_activation(_views(one_depth))[0] == "partly reproduced"


def test_judge_surface():
    def row(small, good, large):
        return {"start distance": 1.0, "start loss": 1.0, "min loss": 0.1, "too small": {"distance": small, "loss": 0.9},
                "good": {"distance": good, "loss": 0.1 + 0.001}, "too large": {"distance": 9.0, "loss": large}}
    assert lecture1._judge_surface([row(0.9, 0.01, float("inf"))] * 3)[0] == "reproduced"
    assert lecture1._judge_surface([row(0.9, 0.01, 0.5)] * 3)[0] == "partly reproduced"   # large did not diverge
    assert lecture1._judge_surface([row(0.01, 0.01, 0.5)] * 3)[0] == "not reproduced"     # every rate the same


def test_judge_curve_and_identity():
    assert lecture1._judge_curve([{"R²": 0.995, "MSE": 1e-4}] * 3)[0] == "reproduced"
    assert lecture1._judge_curve([{"R²": 0.995, "MSE": 1e-4}] * 2 + [{"R²": 0.9, "MSE": 1e-2}])[0] == \
        "partly reproduced"
    assert lecture1._judge_curve([{"R²": 0.5, "MSE": 1e-2}] * 3)[0] == "not reproduced"
    assert lecture1._judge_identity([{"max |diff|": 0.0}] * 3)[0] == "reproduced"
    assert lecture1._judge_identity([{"max |diff|": 0.0}] * 2 + [{"max |diff|": 1e-3}])[0] == "not reproduced"


def test_the_report_carries_verdicts_seeds_and_controls(outcomes):
    from relulab.report import write_index, write_report
    out, results = outcomes
    write_report(out, "Lecture 1", [(exp, results[exp.key], 0.0) for exp in lecture1.EXPERIMENTS], seed=0, quick=True)
    saved = json.loads((out / "results.json").read_text())
    for key, result in results.items():
        entry = saved["experiments"][key]
        assert (entry["verdict"], entry["seeds"]) == (result.verdict, result.seeds), key
        assert [c["verdict"] for c in entry["controls"]] == ["not reproduced"] * len(result.controls), key
    assert "report.html" in write_index(out.parent, [out.name]).read_text()
