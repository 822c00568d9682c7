"""Lecture 2's training guide as a tool: ``diagnose`` a trained model and name what to fix.

The guide asks "is the training loss large?" and, to answer why, compares the model with models trained by the
doctor itself, each at its own best learning rate (a small Adam search, never the run's settings):

- ``guide``: ``diagnose`` / ``diagnose_run``: collect the evidence and apply the flowchart;
- ``verdict``: the flowchart (``VERDICTS``), the learning-rate finding and the lecture's remedies;
- ``references``: the retrained, linear, shallow and bigger models, and what "contained" means per activation;
- ``lr_search``: the learning-rate search (log grid, successive halving) and the doctor's data split;
- ``curve``: the loss curve's shape (diverging, oscillating, plateau, still falling);
- ``scale``: the trivial-predictor scale and the nearest-neighbour noise estimate;
- ``budget``: how the run was trained (optimizer, lr, epochs, batch), as read from it;
- ``thresholds``: every number judged by, with its reason; ``report``: the ``Diagnosis`` text and figure.
"""
from .budget import Budget
from .curve import CurveShape, curve_shape
from .guide import DEFAULT_UPDATES, diagnose, diagnose_run
from .lr_search import ADAM_GRID, Candidate, Search, lr_search
from .references import PASS_THROUGH, Reference
from .report import Diagnosis
from .scale import loss_scale, nearest_neighbour_noise
from .thresholds import THRESHOLDS, Thresholds
from .verdict import REMEDIES, VERDICTS, LearningRateFinding

__all__ = ["ADAM_GRID", "Budget", "Candidate", "CurveShape", "DEFAULT_UPDATES", "Diagnosis", "LearningRateFinding",
           "PASS_THROUGH", "REMEDIES", "Reference", "Search", "THRESHOLDS", "Thresholds", "VERDICTS", "curve_shape",
           "diagnose", "diagnose_run", "loss_scale", "lr_search", "nearest_neighbour_noise"]
