"""Lecture 2's model selection: choose by k-fold cross-validation rather than one split (kfold), and never by the
public test score (public_test).  Both use one task, noisy samples of sin(3x) fitted by least-squares polynomials,
cheap enough for hundreds of data sets per seed; the statistics are over those data sets, the verdict over seeds."""
import functools
import math

import numpy as np

from ..data import KFold
from .criteria import combine, holds_on_seeds
from .framework import Control, Result, experiment
from .lecture2_common import plt
from .stats import fmt, paired_difference, spread_row

EXPERIMENTS = []

NOISE, DEGREES, TEST_POINTS = 0.3, tuple(range(1, 13)), 2000
Z_ONE_SIDED = 1.645  # a one-sided sign test at the 5 % level


def truth(x):
    return np.sin(3 * x)


def sample(rng, n):
    x = rng.uniform(-1, 1, n)
    return x, truth(x) + NOISE * rng.normal(size=n)


def design(x):
    """Legendre features up to the largest degree (well conditioned on [-1, 1], where raw powers x^k are not)."""
    return np.polynomial.legendre.legvander(x, DEGREES[-1])


@functools.lru_cache(maxsize=8)
def _blocks(candidates, width):
    """Per candidate: which entries of the normal equations it uses, its ridge term, and its used columns."""
    used = np.array([degree + 1 for degree, _ in candidates])[:, None]
    index = np.arange(width)
    columns = index[None, :] < used
    inside = columns[:, :, None] & columns[:, None, :]
    ridge = np.array([lam for _, lam in candidates])[:, None, None] * np.eye(width) * inside
    outside = np.eye(width) * ~inside
    return inside, ridge + outside, columns


def fit_all(a, y, candidates):
    """Every candidate (degree, λ) fit at once: least squares on the first degree + 1 columns of the design ``a``
    plus λ·‖β‖² (λ = 0: plain least squares), by the normal equations of all candidates in one batched solve.
    The unused coefficients get identity rows and a zero right-hand side, so they come out exactly 0.
    Returns β (candidates, columns)."""
    inside, extra, columns = _blocks(candidates, a.shape[1])
    systems = np.where(inside, a.T @ a, 0.0) + extra
    rhs = np.where(columns, a.T @ y, 0.0)
    return np.linalg.solve(systems, rhs[..., None])[..., 0]


def mse_all(beta, a, y):
    """Each candidate's MSE on the points with design ``a``: (candidates,)."""
    return np.mean((a @ beta.T - y[:, None]) ** 2, axis=0)


PLAIN = tuple((d, 0.0) for d in DEGREES)  # the degree choice of the kfold experiment: no ridge


def sign_test(wins, losses):
    """z of the sign test over untied pairs (0 when all are ties)."""
    untied = wins + losses
    return (wins - losses) / math.sqrt(untied) if untied else 0.0


# ---------------------------------------------------------------------------------------------- k-fold CV
N_KFOLD, FOLDS = 30, 5


def _kfold_seed(seed, data_sets):
    """One seed: ``data_sets`` independent data sets.  On each, 5-fold CV picks the degree with the lowest mean
    validation MSE; "one split" picks by fold 0 alone (an 80/20 split); a second split (fold 1 alone) is the
    control's arm.  Every pick is refit on all n points and scored on fresh test points."""
    rng = np.random.default_rng(seed)
    x_test, y_test = sample(rng, TEST_POINTS)
    a_test = design(x_test)
    picks = {"cv": [], "split": [], "other split": []}
    for d in range(data_sets):
        x, y = sample(rng, N_KFOLD)
        a = design(x)
        folds = list(KFold(FOLDS, shuffle=True, seed=seed + d).split(N_KFOLD))
        valid = np.array([mse_all(fit_all(a[tr], y[tr], PLAIN), a[va], y[va]) for tr, va in folds])
        test = mse_all(fit_all(a, y, PLAIN), a_test, y_test)  # every degree refit on all n points
        for name, scores in (("cv", valid.mean(axis=0)), ("split", valid[0]), ("other split", valid[1])):
            best = int(np.argmin(scores))
            picks[name].append((DEGREES[best], test[best]))
    return {name: np.array(values) for name, values in picks.items()}


def _kfold_row(seed, picks, claimed, baseline):
    a, b = picks[claimed][:, 1], picks[baseline][:, 1]
    wins, losses = int(np.sum(a < b)), int(np.sum(a > b))
    return {"seed": seed, "data sets": len(a), f"{claimed} wins": wins, f"{baseline} wins": losses,
            "ties": len(a) - wins - losses, "sign-test z": sign_test(wins, losses),
            f"{claimed} median test MSE": float(np.median(a)), f"{baseline} median test MSE": float(np.median(b)),
            f"{claimed} mean test MSE": float(np.mean(a)), f"{baseline} mean test MSE": float(np.mean(b))}


def _judge_kfold(rows, claimed="cv", baseline="split"):
    """CV wins (the core): on each seed's data sets, CV's pick has the lower test MSE more often than one split's,
    with a one-sided sign test at 5 % (z ≥ 1.645, ties dropped), on ≥ 80 % of the seeds; and CV's median test
    MSE is lower, on ≥ 80 % of the seeds.  (Means are reported, not judged: a few exploding high-degree picks
    dominate them.)"""
    return combine([
        ("CV wins more data sets", holds_on_seeds([r["sign-test z"] >= Z_ONE_SIDED for r in rows],
                                                  f"sign test of {claimed} vs {baseline} picks, z >= {Z_ONE_SIDED}")),
        ("CV's median is lower", holds_on_seeds(
            [r[f"{claimed} median test MSE"] < r[f"{baseline} median test MSE"] for r in rows],
            f"median test MSE of {claimed} picks below {baseline}'s")),
    ], core="CV wins more data sets")


@experiment(EXPERIMENTS, "kfold", "k-fold cross-validation picks models more reliably than one split",
            "Choosing a model by one validation split is noisy; k-fold cross-validation averages over k splits and "
            "picks a model that does better on new data.")
def kfold(ctx):
    seeds = ctx.seeds(section="selection")
    data_sets = ctx.pick(100, 200)
    picks = {seed: _kfold_seed(seed, data_sets) for seed in ctx.progress(seeds, "seeds")}
    rows = [_kfold_row(seed, picks[seed], "cv", "split") for seed in seeds]
    verdict, because = _judge_kfold(rows)
    control_rows = [_kfold_row(seed, picks[seed], "other split", "split") for seed in seeds]
    cv, cb = _judge_kfold(control_rows, "other split", "split")

    pyplot = plt()
    fig, (hist, ratio) = pyplot.subplots(1, 2, figsize=(10.5, 3.6))
    first = picks[seeds[0]]
    bins = np.arange(0.5, DEGREES[-1] + 1.5)
    hist.hist([first["split"][:, 0], first["cv"][:, 0]], bins=bins,
              label=["one split's pick", f"{FOLDS}-fold CV's pick"])
    hist.set_xlabel("polynomial degree picked")
    hist.set_ylabel(f"data sets (seed {seeds[0]})")
    hist.legend(loc="upper right", fontsize=8)
    log_ratio = np.log10(first["split"][:, 1] / first["cv"][:, 1])
    ratio.hist(log_ratio[log_ratio != 0], bins=30, color="tab:gray")
    ratio.axvline(0, color="k", linewidth=0.8)
    ratio.set_xlabel("log10(one split's test MSE / CV's), untied data sets")
    ratio.set_ylabel("data sets")
    ratio.set_title("right of 0: CV's pick was better")
    fig.tight_layout()
    return Result(
        method=(f"Per seed {data_sets} data sets of {N_KFOLD} samples of sin(3x) + N(0, {NOISE}²) on [−1, 1]; "
                f"polynomial degrees {DEGREES[0]}–{DEGREES[-1]} by least squares (Legendre basis). {FOLDS}-fold CV "
                "picks the degree with the lowest mean validation MSE; 'one split' picks by the first fold alone "
                f"(train on 80 %, validate on 20 %). Each pick is refit on all points and scored on {TEST_POINTS} "
                "fresh points; CV and one split are compared data set by data set."),
        numbers={"cv_win_share": float(np.mean([r["cv wins"] / max(r["cv wins"] + r["split wins"], 1)
                                                for r in rows])),
                 "cv_median_test_mse": float(np.median([r["cv median test MSE"] for r in rows])),
                 "split_median_test_mse": float(np.median([r["split median test MSE"] for r in rows])),
                 "cv_mean_test_mse": float(np.mean([r["cv mean test MSE"] for r in rows])),
                 "split_mean_test_mse": float(np.mean([r["split mean test MSE"] for r in rows]))},
        verdict=verdict, because=because, table=rows + [spread_row(rows)],
        figures=[ctx.figure(fig, "picks")], seeds=seeds,
        settings=(f"the task, n = {N_KFOLD}, k = {FOLDS} and the degree range fixed in the previous session; "
                  f"{data_sets} data sets per seed; the sign test's 5 % level and the 80 % rule fixed before "
                  "the run; no tuning (least squares has no learning rate)."),
        controls=[Control("one split vs another", "the second fold's one-split pick in place of CV's: two "
                          "exchangeable one-split choices", cv, cb)])


# -------------------------------------------------------------------------------------- the public test trap
N_TRAIN, N_VALID, N_PUBLIC = 40, 20, 20
RIDGES = (0.0, 1e-3, 1e-2, 1e-1, 1.0)
CANDIDATES = tuple((d, lam) for d in DEGREES for lam in RIDGES)
ONE_CANDIDATE = ((5, 1e-2),)  # the control's single model, fixed a priori


def _public_seed(seed, repeats, candidates):
    """One seed: ``repeats`` draws of train / validation / public test / private test.  Every candidate is fit
    on the training points; one pick by the public test score, one by the validation score.  Returns arrays of
    (private − public) per repeat for both picks, and their private scores."""
    rng = np.random.default_rng(seed)
    out = {key: [] for key in ("public pick gap", "valid pick gap", "public pick private", "valid pick private")}
    for _ in range(repeats):
        (x, y), (xv, yv), (xp, yp), (xq, yq) = (sample(rng, n) for n in (N_TRAIN, N_VALID, N_PUBLIC, TEST_POINTS))
        beta = fit_all(design(x), y, candidates)
        scores = {"valid": mse_all(beta, design(xv), yv), "public": mse_all(beta, design(xp), yp)}
        private = mse_all(beta, design(xq), yq)
        for name in ("public", "valid"):
            best = int(np.argmin(scores[name]))
            out[f"{name} pick gap"].append(private[best] - scores["public"][best])
            out[f"{name} pick private"].append(private[best])
    return {key: np.array(values) for key, values in out.items()}


def _public_row(seed, found):
    gap, low, _ = paired_difference(found["public pick gap"], np.zeros_like(found["public pick gap"]))
    excess, excess_low, _ = paired_difference(found["public pick gap"], found["valid pick gap"])
    return {"seed": seed, "repeats": len(found["public pick gap"]),
            "public pick: private − public": gap, "its 95 % low": low,
            "valid pick: private − public": float(np.mean(found["valid pick gap"])),
            "excess optimism": excess, "excess 95 % low": excess_low,
            # medians, reported beside the criterion: a few exploding picks can dominate the means
            "public pick: median gap": float(np.median(found["public pick gap"])),
            "valid pick: median gap": float(np.median(found["valid pick gap"])),
            "public pick private MSE": float(np.mean(found["public pick private"])),
            "valid pick private MSE": float(np.mean(found["valid pick private"]))}


def _judge_public(rows):
    """Optimism (the core): over each seed's repeats, the public-test pick's private MSE exceeds its public MSE
    (the 95 % t-interval over repeats above 0), on ≥ 80 % of the seeds; and more than for the validation pick,
    whose public score it did not use (the paired interval of the two gaps above 0), on ≥ 80 % of the seeds."""
    return combine([
        ("the public score of the public pick is optimistic", holds_on_seeds(
            [r["its 95 % low"] > 0 for r in rows], "private − public MSE of the public pick, interval above 0")),
        ("more than when picking by validation", holds_on_seeds(
            [r["excess 95 % low"] > 0 for r in rows], "its gap minus the validation pick's, interval above 0")),
    ], core="the public score of the public pick is optimistic")


def _public_note(rows, found):
    """Beside the verdict: the medians, which a few exploding picks cannot move, and the worst pick."""
    worst = max(float(f["public pick private"].max()) for f in found.values())
    return (f"Median private − public gap over the seeds: public pick "
            f"{fmt(float(np.median([r['public pick: median gap'] for r in rows])))}, validation pick "
            f"{fmt(float(np.median([r['valid pick: median gap'] for r in rows])))}; the worst public pick's private "
            f"MSE was {fmt(worst)} (noise variance {fmt(NOISE ** 2)}): such exploding picks dominate the means")


@experiment(EXPERIMENTS, "public_test", "Choosing by the public test score overfits to it",
            "Picking the best of many models by their public test score (a leaderboard) makes that score "
            "optimistic: on the private test the pick does worse than its public score said. Choose by "
            "validation data, whose score the test never saw.")
def public_test(ctx):
    seeds = ctx.seeds(section="selection")
    repeats = ctx.pick(100, 200)
    found = {seed: _public_seed(seed, repeats, CANDIDATES) for seed in ctx.progress(seeds, "seeds")}
    rows = [_public_row(seed, found[seed]) for seed in seeds]
    verdict, because = _judge_public(rows)
    control_rows = [_public_row(seed, _public_seed(seed, repeats, ONE_CANDIDATE)) for seed in seeds]
    cv, cb = _judge_public(control_rows)

    pyplot = plt()
    fig, ax = pyplot.subplots(figsize=(6.5, 3.8))
    first = found[seeds[0]]
    bins = np.linspace(-0.3, 0.4, 36)
    ax.hist([first["public pick gap"], first["valid pick gap"]], bins=bins,
            label=["picked by public test", "picked by validation"])
    ax.axvline(0, color="k", linewidth=0.8)
    ax.set_xlabel("private − public test MSE of the pick")
    ax.set_ylabel(f"repeats (seed {seeds[0]})")
    ax.set_title("right of 0: the public score flattered the pick")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return Result(
        method=(f"Per seed {repeats} repeats: {N_TRAIN} training, {N_VALID} validation, {N_PUBLIC} 'public test' "
                f"and {TEST_POINTS} 'private test' samples of sin(3x) + N(0, {NOISE}²). {len(CANDIDATES)} "
                f"candidates (degree {DEGREES[0]}–{DEGREES[-1]} × ridge λ ∈ {RIDGES}) fit on the training points; "
                "one pick by the lowest public score, one by the lowest validation score; each pick's private − "
                "public MSE is its optimism."),
        numbers={"public_pick_gap_mean": float(np.mean([r["public pick: private − public"] for r in rows])),
                 "valid_pick_gap_mean": float(np.mean([r["valid pick: private − public"] for r in rows])),
                 "public_pick_private_mse": float(np.mean([r["public pick private MSE"] for r in rows])),
                 "valid_pick_private_mse": float(np.mean([r["valid pick private MSE"] for r in rows]))},
        verdict=verdict, because=f"{because}. {_public_note(rows, found)}", table=rows + [spread_row(rows)],
        figures=[ctx.figure(fig, "gaps")], seeds=seeds,
        settings=(f"the task (the kfold experiment's), the split sizes, the candidate grid and the repeats fixed "
                  "a priori; the 95 % intervals and the 80 % rule fixed before the run; no learning rates."),
        controls=[Control("one candidate", f"a single candidate {ONE_CANDIDATE[0]} (degree, λ): nothing to "
                          "choose, so no score can be flattered by the choice", cv, cb)])
