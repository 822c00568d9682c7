"""Shared by the lab tests: run a lab's experiments once in --quick mode, check numbers are finite, and check
that a result follows the method (seeds, verdict, settings, negative controls)."""
import math

from relulab.labs import VERDICTS, run_experiments


def run_quick(experiments, tmp_path_factory, name, seed=0):
    """(output folder, {key: Result}) for one --quick run of ``experiments``."""
    out = tmp_path_factory.mktemp(name)
    return out, {exp.key: result for exp, result, _ in run_experiments(experiments, out, quick=True, seed=seed)}


def finite_leaves(value):
    """True when every number inside ``value`` (nested dicts, lists, tuples) is finite."""
    if isinstance(value, dict):
        return all(finite_leaves(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(finite_leaves(v) for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return math.isfinite(value)
    return True


def method_problems(result, out=None, quick=True):
    """What a --quick result lacks against the method (empty when it follows it): a verdict in VERDICTS with a
    reason, 2-3 seeds (>= 5 in full mode), a table, the settings' provenance, finite numbers, figures
    on disk, and at least one negative control that came out "not reproduced"."""
    problems = []
    if result.verdict not in VERDICTS:
        problems.append(f"verdict {result.verdict!r}")
    if not result.because:
        problems.append("no reason for the verdict")
    low, high = (2, 3) if quick else (5, 1000)
    if not low <= len(result.seeds) <= high:
        problems.append(f"{len(result.seeds)} seeds")
    if not result.table:
        problems.append("no table")
    if not result.settings:
        problems.append("no settings provenance")
    if not finite_leaves(result.numbers) or not finite_leaves(result.table):
        problems.append("non-finite numbers")
    if out is not None:
        problems += [f"missing figure {name}" for name in result.figures if not (out / "figures" / name).exists()]
    if not result.controls:
        problems.append("no negative control")
    problems += [f"control {c.name!r} came out {c.verdict!r}" for c in result.controls if c.verdict != "not reproduced"]
    return problems


def assert_follows_method(outcomes, key, expected):
    """One experiment of a quick run: no error, nothing missing against the method, the expected verdict, and
    every negative control "not reproduced"."""
    out, results = outcomes
    result = results[key]
    assert "error" not in result.numbers, result.because
    assert not method_problems(result, out), method_problems(result, out)
    assert result.verdict == expected, result.because
    assert all(c.verdict == "not reproduced" for c in result.controls), [c.because for c in result.controls]
