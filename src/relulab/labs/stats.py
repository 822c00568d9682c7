"""Statistics over seeds for the labs' criteria: a paired t-interval, win counts, a k-of-n verdict rule, and
"mean ± std" formatting.  Each experiment states its rule with these and applies it to all of its seeds."""
import math

import numpy as np

CONFIDENCE = 0.95


def _values(name, values):
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise ValueError(f"{name}: no values (one per seed expected)")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: every value must be finite, got {array.tolist()}")
    return array


def _pair(name, a, b):
    a, b = _values(name, a), _values(name, b)
    if a.shape != b.shape:
        raise ValueError(f"{name}: the two arms need one value per seed each, got {a.size} and {b.size}")
    return a, b


def paired_difference(a, b, confidence=CONFIDENCE):
    """(mean of a − b, low, high): the mean per-seed difference and its two-sided t-interval over seeds
    (``confidence`` level, n − 1 degrees of freedom).  With one seed the interval is unbounded; when every
    seed gives the same difference it shrinks to that difference."""
    from scipy import stats
    a, b = _pair("paired_difference", a, b)
    if not 0 < confidence < 1:
        raise ValueError(f"paired_difference: confidence must be in (0, 1), got {confidence}")
    diff = a - b
    mean = float(diff.mean())
    if diff.size < 2:
        return mean, -math.inf, math.inf
    half = float(stats.t.ppf(0.5 + confidence / 2, diff.size - 1) * diff.std(ddof=1) / math.sqrt(diff.size))
    return mean, mean - half, mean + half


def wins(a, b):
    """k: the number of seeds where a < b (strictly; a tie is not a win)."""
    a, b = _pair("wins", a, b)
    return int(np.sum(a < b))


def seed_verdict(k, n, full=0.8, partly=0.5):
    """The verdict from "k of n seeds" rules: "reproduced" when k >= ceil(full·n), "partly reproduced" when
    k >= ceil(partly·n), else "not reproduced".  ``full`` and ``partly`` are fractions of the seeds, with
    0 < partly <= full <= 1 (the defaults: 4 of 5 or 3 of 3 reproduce, 3 of 5 or 2 of 3 partly)."""
    if not (isinstance(n, (int, np.integer)) and n >= 1 and 0 <= k <= n):
        raise ValueError(f"seed_verdict: need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    if not 0 < partly <= full <= 1:
        raise ValueError(f"seed_verdict: need 0 < partly <= full <= 1, got partly={partly}, full={full}")
    # The small epsilon keeps e.g. 0.6·5 = 3.0000000000000004 from demanding 4 seeds.
    if k >= math.ceil(full * n - 1e-9):
        return "reproduced"
    if k >= math.ceil(partly * n - 1e-9):
        return "partly reproduced"
    return "not reproduced"


def most(flags, fraction=0.8):
    """True when at least ceil(fraction·n) of the per-seed ``flags`` are true (default: 4 of 5, 3 of 3, 2 of 2):
    the rule by which one part of a claim "holds over the seeds"."""
    flags = [bool(f) for f in flags]
    if not flags:
        raise ValueError("most: no per-seed flags")
    return seed_verdict(sum(flags), len(flags), full=fraction, partly=fraction) == "reproduced"


def fmt(value, digits=4):
    """A number at ``digits`` significant digits (ints stay ints)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def mean_std(values, digits=4):
    """ "m ± s": the mean and the sample standard deviation (ddof = 1) over seeds, at ``digits`` significant
    digits; a single value is shown alone."""
    array = _values("mean_std", values)
    if array.size == 1:
        return fmt(float(array[0]), digits)
    return f"{fmt(float(array.mean()), digits)} ± {fmt(float(array.std(ddof=1)), digits)}"


def spread_row(rows, label="mean ± std", label_key=None):
    """A summary row for a per-seed table: "mean ± std" of every numeric column of ``rows`` (dicts with the same
    keys); non-numeric columns are left blank, and ``label`` goes in ``label_key`` (default: the first column)."""
    if not rows:
        raise ValueError("spread_row: no per-seed rows")
    keys = list(rows[0])
    label_key = keys[0] if label_key is None else label_key
    summary = {}
    for key in keys:
        column = [row.get(key) for row in rows]
        numeric = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
                      for v in column)
        summary[key] = mean_std(column) if numeric and key != label_key else ""
    summary[label_key] = label
    return summary
