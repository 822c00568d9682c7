"""Verdict rules shared by the lecture-2 optimizer/classification experiments and the questions lab, built on
``stats``: a paired "arm A beats arm B over seeds" rule, a "holds on k of n seeds" rule, and the combination of a
claim's parts.  Each returns ``(verdict, because)``; the experiments' ``_judge`` functions are compositions of
these, fixed before any run is looked at."""
import math

import numpy as np

from .stats import fmt, paired_difference, seed_verdict, wins


def beats(claimed, baseline, what, higher_is_better=False, margin=0.0):
    """The claimed arm is better than the baseline on a per-seed measure ``what``.

    Rule: the paired difference (baseline − claimed, or claimed − baseline when higher is better) has a 95 %
    t-interval above ``margin`` AND the claimed arm wins on >= 80 % of the seeds -> reproduced; the interval is
    above 0 but the effect falls short of that (below the margin, or not consistent across seeds) -> partly
    reproduced; an interval that reaches 0 (a tie within the seeds' spread) or the wrong direction -> not
    reproduced.  A null effect therefore comes out "not reproduced" about 97.5 % of the time."""
    claimed, baseline = np.asarray(claimed, float), np.asarray(baseline, float)
    good, bad = (claimed, baseline) if higher_is_better else (baseline, claimed)
    mean, low, high = paired_difference(good, bad)
    k = wins(-claimed, -baseline) if higher_is_better else wins(claimed, baseline)
    n = claimed.size
    if low > margin and seed_verdict(k, n) == "reproduced":
        verdict = "reproduced"
    elif low > 0:
        verdict = "partly reproduced"
    else:
        verdict = "not reproduced"
    sign = "higher" if higher_is_better else "lower"
    because = (f"{what}: the claimed arm is {sign} by {fmt(mean)} on average (95% t-interval [{fmt(low)}, "
               f"{fmt(high)}], needed > {fmt(margin)}), better on {k} of {n} seeds")
    return verdict, because


def holds_on_seeds(flags, what, full=0.8, partly=0.5):
    """A per-seed yes/no condition: reproduced on >= ``full`` of the seeds, partly on >= ``partly``."""
    flags = [bool(f) for f in flags]
    k, n = sum(flags), len(flags)
    verdict = seed_verdict(k, n, full=full, partly=partly)
    return verdict, f"{what}: holds on {k} of {n} seeds (needed {math.ceil(full * n - 1e-9)})"


def combine(parts, core=None):
    """A claim made of parts, each ``(name, (verdict, because))``: reproduced when every part is; not reproduced
    when none is, or when the ``core`` part (the claim's point, if named) is not; else partly reproduced,
    naming the parts that failed."""
    verdicts = {name: verdict for name, (verdict, _) in parts}
    details = "; ".join(f"[{name}] {because} → {verdict}" for name, (verdict, because) in parts)
    if all(v == "reproduced" for v in verdicts.values()):
        return "reproduced", details
    if all(v == "not reproduced" for v in verdicts.values()) or (core and verdicts[core] == "not reproduced"):
        return "not reproduced", details
    failed = [name for name, v in verdicts.items() if v != "reproduced"]
    return "partly reproduced", f"not all parts hold ({', '.join(failed)} short): " + details


def log_ratio(a, b, floor=1e-300):
    """log10(a / b) elementwise, with both floored (a loss that reached exactly 0 stays finite)."""
    return np.log10(np.maximum(np.asarray(a, float), floor)) - np.log10(np.maximum(np.asarray(b, float), floor))
