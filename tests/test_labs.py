"""The lab framework and report writer, on small stand-in experiments."""
import json

import numpy as np
import pytest

from relulab.labs import Result, experiment, run_experiments
from relulab.report import write_report

EXPERIMENTS = []


@experiment(EXPERIMENTS, "coin", "A seeded coin", "The mean of many coin flips is near one half.")
def _coin(ctx):
    import matplotlib.pyplot as plt
    flips = ctx.rng().integers(0, 2, ctx.pick(200, 2000))
    mean = float(flips.mean())
    fig, ax = plt.subplots()
    ax.hist(flips)
    return Result(method=f"{flips.size} flips", numbers={"mean": mean, "n": int(flips.size)},
                  reproduced=abs(mean - 0.5) < 0.1, because=f"|mean − 0.5| = {abs(mean - 0.5):.3f} < 0.1",
                  table=[{"flips": int(flips.size), "mean": mean}], figures=[ctx.figure(fig, "hist")])


@experiment(EXPERIMENTS, "broken", "A broken experiment", "Errors are reported, not hidden.")
def _broken(ctx):
    raise ArithmeticError("boom")


def test_results_and_reports(tmp_path):
    outcomes = run_experiments(EXPERIMENTS, tmp_path, quick=True, seed=3)
    coin, broken = outcomes[0][1], outcomes[1][1]
    assert coin.verdict == "reproduced" and coin.numbers["n"] == 200
    assert broken.verdict == "not reproduced" and "boom" in broken.because
    html = write_report(tmp_path, "Test lab", outcomes, seed=3, quick=True)
    page = html.read_text()
    assert "data:image/png;base64," in page and "<img src=\"figures" not in page  # self-contained
    md = (tmp_path / "report.md").read_text()
    assert "figures/coin-hist.png" in md and "Verdict: reproduced" in md
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["experiments"]) == {"coin", "broken"}
    assert results["experiments"]["coin"]["numbers"]["mean"] == pytest.approx(coin.numbers["mean"])


def test_reports_are_deterministic_for_a_seed(tmp_path):
    def results(folder, seed):
        outcomes = run_experiments(EXPERIMENTS[:1], folder, quick=True, seed=seed)
        write_report(folder, "Test lab", outcomes, seed=seed, quick=True)
        data = json.loads((folder / "results.json").read_text())
        data.pop("timing")  # wall-clock times are kept apart because they vary
        return data, (folder / "report.md").read_text(), (folder / "figures" / "coin-hist.png").read_bytes()

    a, b, c = results(tmp_path / "a", 1), results(tmp_path / "b", 1), results(tmp_path / "c", 2)
    assert a == b
    assert a[0] != c[0]


def test_per_experiment_seeds_differ_and_are_stable(tmp_path):
    from relulab.labs.framework import Context
    one, two = Context(tmp_path, True, 0, "a"), Context(tmp_path, True, 0, "b")
    assert one.seed != two.seed and Context(tmp_path, True, 0, "a").seed == one.seed
    assert np.array_equal(one.rng().normal(size=3), Context(tmp_path, True, 0, "a").rng().normal(size=3))


def test_unknown_lab_is_refused(tmp_path):
    from relulab.labs import run_lab
    with pytest.raises(ValueError, match="unknown lab 'lecture9'"):
        run_lab("lecture9", out=tmp_path)
