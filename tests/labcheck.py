"""Shared by the lab tests: run a lab's experiments once in --quick mode, and check numbers are finite."""
import math

from relulab.labs import run_experiments


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
