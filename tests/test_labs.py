"""The lab framework, the statistics helpers and the report writer, on small stand-in experiments."""
import json

import numpy as np
import pytest

from relulab.labs import VERDICTS, Control, Result, experiment, run_experiments
from relulab.labs import stats
from relulab.labs.framework import Context
from relulab.report import write_report

EXPERIMENTS = []


def _coin_judge(rows):
    """Reproduced when every seed's mean is within 0.1 of one half."""
    k = sum(abs(r["mean"] - 0.5) < 0.1 for r in rows)
    return stats.seed_verdict(k, len(rows), full=1.0, partly=0.5), f"{k} of {len(rows)} seeds within 0.1 of 0.5"


@experiment(EXPERIMENTS, "coin", "A seeded coin", "The mean of many coin flips is near one half.")
def _coin(ctx):
    import matplotlib.pyplot as plt
    rows = []
    for seed in ctx.progress(ctx.seeds(), "seeds"):
        flips = np.random.default_rng(seed).integers(0, 2, ctx.pick(200, 2000))
        rows.append({"seed": seed, "mean": float(flips.mean())})
    verdict, because = _coin_judge(rows)
    biased = [{"seed": s, "mean": float(np.random.default_rng(s).integers(0, 2, 200).mean() * 0.2)}
              for s in ctx.seeds()]
    cv, cb = _coin_judge(biased)
    fig, ax = plt.subplots()
    ax.hist([r["mean"] for r in rows])
    ax.set_title("coin")
    return Result(method="flips per seed", numbers={"n": ctx.pick(200, 2000)}, verdict=verdict, because=because,
                  table=rows + [stats.spread_row(rows)], figures=[ctx.figure(fig, "hist")], seeds=ctx.seeds(),
                  settings="flip count fixed a priori",
                  controls=[Control("biased coin", "heads kept with probability 0.2", cv, cb)])


@experiment(EXPERIMENTS, "old", "An old-style experiment", "Old Result(reproduced=bool) still works.")
def _old(ctx):
    return Result("nothing run", {"x": 1.0}, True, "always")


@experiment(EXPERIMENTS, "broken", "A broken experiment", "Errors are reported, not hidden.")
def _broken(ctx):
    raise ArithmeticError("boom")


def test_results_and_reports(tmp_path):
    outcomes = run_experiments(EXPERIMENTS, tmp_path, quick=True, seed=3)
    coin, old, broken = (o[1] for o in outcomes)
    assert coin.verdict == "reproduced" and coin.numbers["n"] == 200 and len(coin.seeds) == 3
    assert coin.controls[0].verdict == "not reproduced" and coin.controls[0].passed
    assert old.verdict == "reproduced" and old.reproduced
    assert broken.verdict == "not reproduced" and "boom" in broken.because
    html = write_report(tmp_path, "Test lab", outcomes, seed=3, quick=True)
    page = html.read_text()
    assert "data:image/png;base64," in page and "<img src=\"figures" not in page  # self-contained
    md = (tmp_path / "report.md").read_text()
    assert "figures/coin-hist.png" in md and "Verdict: reproduced" in md
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["experiments"]) == {"coin", "old", "broken"}
    saved = results["experiments"]["coin"]
    assert saved["seeds"] == coin.seeds and saved["settings"] == "flip count fixed a priori"
    assert saved["controls"][0]["verdict"] == "not reproduced"


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
    one, two = Context(tmp_path, True, 0, "a"), Context(tmp_path, True, 0, "b")
    assert one.seed != two.seed and Context(tmp_path, True, 0, "a").seed == one.seed
    assert np.array_equal(one.rng().normal(size=3), Context(tmp_path, True, 0, "a").rng().normal(size=3))
    full = Context(tmp_path, False, 0, "a").seeds()
    assert len(one.seeds()) == 3 and len(full) == 5 and one.seeds() == full[:3]
    assert len(set(full)) == 5 and set(full).isdisjoint(two.seeds()) and Context(tmp_path, True, 1, "a").seeds() != one.seeds()
    with pytest.raises(ValueError, match=">= 5 in full mode"):
        one.seeds(full=3)


def test_progress_is_quiet_under_pytest(tmp_path, capsys):
    assert list(Context(tmp_path, True, 0, "a").progress(range(3), "seeds")) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_result_checks_its_verdict():
    assert Result("m", {}, verdict="partly reproduced", because="half").verdict == "partly reproduced"
    assert Result("m", {}, reproduced=False).verdict == "not reproduced"
    with pytest.raises(ValueError, match="verdict must be one of"):
        Result("m", {}, verdict="sort of")
    with pytest.raises(ValueError, match="Control 'x'"):
        Control("x", "d", "yes", "b")
    with pytest.raises(ValueError, match="Control objects"):
        Result("m", {}, "reproduced", controls=[("x", "not reproduced")])
    assert set(VERDICTS) == {"reproduced", "partly reproduced", "not reproduced"}


def test_paired_difference_matches_a_t_interval():
    a, b = [1.0, 2.0, 3.0, 4.0, 5.0], [0.5, 1.0, 2.5, 3.0, 4.5]
    mean, low, high = stats.paired_difference(a, b)
    d = np.subtract(a, b)
    half = 2.7764451051977987 * d.std(ddof=1) / np.sqrt(5)  # t_{0.975, 4}
    assert mean == pytest.approx(d.mean()) and low == pytest.approx(d.mean() - half)
    assert high == pytest.approx(d.mean() + half)
    assert stats.paired_difference([1.0, 2.0], [0.0, 1.0]) == (1.0, 1.0, 1.0)  # constant difference
    with pytest.raises(ValueError, match="one value per seed"):
        stats.paired_difference([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        stats.paired_difference([np.nan, 1.0], [1.0, 2.0])


def test_wins_and_seed_verdict():
    assert stats.wins([1, 2, 3], [2, 2, 4]) == 2          # the tie is not a win
    assert stats.wins([1, 2, 3], [1, 2, 3]) == 0
    assert [stats.seed_verdict(k, 5) for k in range(6)] == ["not reproduced"] * 3 + ["partly reproduced"] + \
        ["reproduced"] * 2
    assert [stats.seed_verdict(k, 3) for k in range(4)] == ["not reproduced"] * 2 + ["partly reproduced",
                                                                                     "reproduced"]
    assert stats.seed_verdict(3, 5, full=0.6, partly=0.4) == "reproduced"
    with pytest.raises(ValueError, match="partly <= full"):
        stats.seed_verdict(1, 5, full=0.4, partly=0.6)
    with pytest.raises(ValueError, match="k <= n"):
        stats.seed_verdict(6, 5)


def test_mean_std_and_spread_row():
    assert stats.mean_std([1.0, 2.0, 3.0]) == "2 ± 1"
    assert stats.mean_std([0.123456, 0.123456]) == "0.1235 ± 0"
    assert stats.mean_std([7.0]) == "7"
    row = stats.spread_row([{"seed": 1, "x": 1.0, "tag": "a"}, {"seed": 2, "x": 3.0, "tag": "b"}])
    assert row == {"seed": "mean ± std", "x": "2 ± 1.414", "tag": ""}


def test_unknown_lab_is_refused(tmp_path):
    from relulab.labs import run_lab
    with pytest.raises(ValueError, match="unknown lab 'lecture9'"):
        run_lab("lecture9", out=tmp_path)


def test_section_seeds_are_shared_by_a_section(tmp_path):
    a, b = Context(tmp_path, False, 0, "a"), Context(tmp_path, False, 0, "b")
    assert a.seeds(section="views") == b.seeds(section="views") != a.seeds()
    assert a.section_seed("views") == b.section_seed("views") != a.section_seed("other")
    assert Context(tmp_path, False, 1, "a").seeds(section="views") != a.seeds(section="views")


def test_most():
    assert stats.most([1, 1, 1, 1, 0]) and not stats.most([1, 1, 1, 0, 0]) and stats.most([True, True])
    assert not stats.most([True, False, True]) and stats.most([True, False, True], fraction=0.6)
