"""``relulab lab``: each lecture's claims as experiments with numbers, figures and computed verdicts."""
import importlib
from pathlib import Path

from .draws import RANDOMNESS
from .framework import VERDICTS, Context, Control, Experiment, Result, experiment, run_experiments

# lab name → (module holding EXPERIMENTS, report title)
LABS = {
    "lecture1": ("relulab.labs.lecture1", "Lecture 1: what is machine learning"),
    "lecture2": ("relulab.labs.lecture2", "Lecture 2: how to train well"),
    "lecture3": ("relulab.labs.lecture3", "Lecture 3: convolutional networks"),
    "questions": ("relulab.labs.questions", "The notes' open questions (疑问), each answered by an experiment"),
}


def experiments_of(name):
    module_name, _ = LABS[name]
    return importlib.import_module(module_name).EXPERIMENTS


def run_lab(names, out="lab-report", quick=False, seed=0, progress=print):
    """Run the named labs ("all" for every one) and write a report per lab, then the index linking every
    report under ``out``; returns {lab: report path}."""
    from ..report import write_index, write_report
    if names == "all" or names == ["all"]:
        names = list(LABS)
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        if name not in LABS:
            raise ValueError(f"unknown lab {name!r}; choose from {', '.join(list(LABS) + ['all'])}")
    reports = {}
    for name in names:
        out_dir = Path(out) / name
        out_dir.mkdir(parents=True, exist_ok=True)
        if progress:
            progress(f"lab {name}{' (quick)' if quick else ''}")
        outcomes = run_experiments(experiments_of(name), out_dir, quick, seed, progress)
        reports[name] = write_report(out_dir, LABS[name][1], outcomes, seed, quick, randomness=RANDOMNESS)
        write_index(out, list(LABS))  # after each lab, so an interrupted `lab all` still links what finished
    return reports


__all__ = ["VERDICTS", "Context", "Control", "Experiment", "LABS", "Result", "experiment", "experiments_of", "run_experiments", "run_lab"]
