"""A small learning-rate search: each model the doctor trains gets its own, so no model is judged at a bad lr.

Successive halving (Jamieson & Talwalkar 2016) over a log grid: every candidate lr trains for a quarter of the
budget from the same seeded initialisation and the same batch order; the best ``keep`` by training loss continue
to the full budget; the winner is the lowest training loss at the end.  "Trained well" here means exactly this:
the lowest training loss that this many updates reach at the best lr of the grid.

The budget is counted in optimizer updates per candidate, rounded to whole epochs of the doctor's batches (at
least one); when the first rung is the whole budget, every candidate trains to it.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from ... import random as rl_random
from ...train.loop import evaluate, fit
from .budget import make_optimizer

# Adam's useful range for small networks on standardized data, in half-decade steps: below 1e-4 a few hundred
# updates barely move the weights; above 1e-1 Adam's steps (about lr per weight) overshoot.
ADAM_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
# A scan around the run's own lr, in decades (extended while the edge keeps winning, see ``lr_scan``).
SCAN_FACTORS = (1e-2, 1e-1, 1.0, 1e1, 1e2)
# At most this many decades added beyond the scan's edge while the edge keeps winning.
SCAN_EXTEND = 2
# Candidates that continue from the first rung to the full budget.
KEEP = 2


@dataclass
class Candidate:
    """One learning rate's training: its losses at the cut (a quarter of the budget) and at the end."""

    lr: float
    updates: int                  # updates it was trained for
    rung_updates: int             # updates at the cut
    rung_loss: float              # training loss (fit rows, eval mode) at the cut
    train_loss: float             # training loss at the end (= rung_loss if it was cut)
    holdout_loss: float = math.nan
    curve: list = field(default_factory=list, repr=False)  # per-epoch training loss, as the fit loop recorded it
    model: object = field(default=None, repr=False)
    finished: bool = True         # trained to the full budget (False: cut at the first rung)

    @property
    def diverged(self):
        return not math.isfinite(self.train_loss)

    @property
    def tail_loss(self):
        """The mean training loss over the last quarter of its epochs: where this lr keeps the loss, robust to
        where an oscillating trajectory happens to stop."""
        return tail_mean(self.curve)


@dataclass
class Search:
    """The outcome of one model's learning-rate search."""

    optimizer: str
    options: dict
    candidates: list              # in increasing lr
    updates: int                  # the full budget, in updates
    by_tail: bool = False         # rank by ``tail_loss`` (the lr scan) rather than the final training loss

    @property
    def best(self):
        """The lowest final training loss among the candidates trained longest (all of them if none was)."""
        longest = max(c.updates for c in self.candidates)
        finalists = [c for c in self.candidates if c.updates == longest]
        return min(finalists, key=lambda c: (_key(self.score(c)), c.lr))

    def score(self, candidate):
        return candidate.tail_loss if self.by_tail else candidate.train_loss

    def candidate(self, lr):
        return next((c for c in self.candidates if math.isclose(c.lr, lr, rel_tol=1e-9)), None)

    def describe(self):
        """'1e-3: 0.41 | 3e-3: 0.12* ...' (* = trained to the full budget; others were cut at the first rung)."""
        return " | ".join(f"{c.lr:.2g}: {self.score(c):.4g}{'*' if c.finished else ''}" for c in self.candidates)


def lr_search(build, loss_fn, data, lrs, *, optimizer="Adam", options=None, updates=500, seed=0, keep=KEEP,
              control=None):
    """Train ``build()`` at each lr of ``lrs`` with successive halving; returns a ``Search``.

    ``build`` makes a fresh model (it is called right after ``relulab.manual_seed(seed)``, so every candidate
    starts from the same weights); ``data`` is a ``DoctorData`` (fit rows, held-out rows, batch size).
    ``control``: an lr of ``lrs`` that always trains to the full budget besides the ``keep`` best (the run's own
    lr in a scan around it, so the others are compared with it after the same number of updates).
    """
    plan = _Plan(build, loss_fn, data, optimizer, options, updates, seed)
    trials = [plan.start(lr) for lr in sorted(float(lr) for lr in lrs)]
    if plan.full_epochs > plan.rung_epochs:
        ranked = sorted(trials, key=lambda r: (_key(r.rung_loss), r.lr))
        controls = [r for r in trials if control is not None and math.isclose(r.lr, control, rel_tol=1e-9)]
        for trial in controls + [r for r in ranked if all(r is not c for c in controls)][:keep]:
            plan.finish(trial)
    return plan.search(trials)


def lr_scan(build, loss_fn, data, lr, *, optimizer, options=None, updates=500, seed=0, extend=SCAN_EXTEND,
            settled=None):
    """The run's optimizer at ``lr`` × ``SCAN_FACTORS`` (the run's own lr always trained to the full budget, with
    the best other), then extended a decade at a time past the grid's edge while the edge keeps winning (at most
    ``extend`` decades), so a lr that is 1000x off is still found, then refined by the half decades either side of
    the best, unless ``settled(best_loss, control_loss)`` says the best already clearly beats the run's own lr.
    A log-lr line search, with the run's own lr as the control.  The full-budget candidates are ranked by the mean
    training loss over their last quarter of epochs (``tail_loss``), so an oscillating lr is judged by where it
    keeps the loss, not by where it stopped.  Returns a ``Search``."""
    plan = _Plan(build, loss_fn, data, optimizer, options, updates, seed)
    trials = [plan.start(lr * f) for f in SCAN_FACTORS]
    if plan.full_epochs > plan.rung_epochs:
        control = next(r for r in trials if math.isclose(r.lr, lr, rel_tol=1e-9))
        plan.finish(control)
        plan.finish(min((r for r in trials if r is not control), key=lambda r: (_key(r.rung_loss), r.lr)))
    for _ in range(extend):
        finished = [r for r in trials if r.finished(plan)]
        best = min(finished, key=lambda r: (_key(r.tail), r.lr))
        edge = [r.lr for r in trials]
        if not math.isfinite(best.tail) or best.lr not in (min(edge), max(edge)):
            break
        step = 10.0 if best.lr == max(edge) else 0.1
        trial = plan.finish(plan.start(best.lr * step))
        trials.append(trial)
        if not _key(trial.tail) < _key(best.tail):
            break
    # Refine: the half decades either side of the best, unless the run's own lr is best (then the lr is cleared).
    finished = [r for r in trials if r.finished(plan)]
    best = min(finished, key=lambda r: (_key(r.tail), r.lr)) if finished else None
    control = next((r for r in finished if math.isclose(r.lr, lr, rel_tol=1e-9)), None)
    done = settled is not None and best is not None and control is not None and settled(best.tail, control.tail)
    if best is not None and math.isfinite(best.tail) and best is not control and not done:
        for factor in (10 ** -0.5, 10 ** 0.5):
            if not any(math.isclose(r.lr, best.lr * factor, rel_tol=1e-6) for r in trials):
                trials.append(plan.finish(plan.start(best.lr * factor)))
    return plan.search(sorted(trials, key=lambda r: r.lr), by_tail=True)


def epochs_for(updates, per_epoch):
    """(rung, full) in whole epochs of ``per_epoch`` batches: a quarter of ``updates``, and all of it (at least 1)."""
    rung = max(1, round(updates / 4 / per_epoch))
    return rung, max(rung, round(updates / per_epoch))


class _Trial:
    """One lr's model, optimizer and batches, trained to the rung and perhaps on to the full budget."""

    def __init__(self, lr, model, optimizer, loader, state, rung_loss):
        self.lr, self.model, self.optimizer, self.loader, self.state = lr, model, optimizer, loader, state
        self.rung_loss = self.final_loss = rung_loss

    @property
    def tail(self):
        return tail_mean([h["train_loss"] for h in self.state.history])

    def finished(self, plan):
        return self.state.epoch == plan.full_epochs


class _Plan:
    """What every trial of one search shares: the model builder, data, optimizer, budget and seed."""

    def __init__(self, build, loss_fn, data, optimizer, options, updates, seed):
        self.build, self.loss_fn, self.data, self.seed = build, loss_fn, data, seed
        self.optimizer, self.options = optimizer, dict(options or {})
        self.per_epoch = data.batches_per_epoch
        self.rung_epochs, self.full_epochs = epochs_for(updates, self.per_epoch)

    def start(self, lr):
        with np.errstate(all="ignore"):  # a diverging candidate overflows; its loss becomes inf, not a warning
            rl_random.manual_seed(self.seed)
            model = self.build()
            optimizer = make_optimizer(self.optimizer, model.parameters(), lr, self.options)
            loader = self.data.fit_loader(self.seed)
            state = fit(model, self.loss_fn, optimizer, loader, self.rung_epochs, progress=False)
            return _Trial(lr, model, optimizer, loader, state, self.data.fit_loss(model, self.loss_fn))

    def finish(self, trial):
        with np.errstate(all="ignore"):
            fit(trial.model, self.loss_fn, trial.optimizer, trial.loader, self.full_epochs, progress=False,
                state=trial.state)
            trial.final_loss = self.data.fit_loss(trial.model, self.loss_fn)
        return trial

    def search(self, trials, by_tail=False):
        with np.errstate(all="ignore"):
            candidates = [Candidate(r.lr, r.state.epoch * self.per_epoch, self.rung_epochs * self.per_epoch,
                                    r.rung_loss, r.final_loss, self.data.holdout_loss(r.model, self.loss_fn),
                                    [h["train_loss"] for h in r.state.history], r.model, r.finished(self))
                          for r in trials]
        search = Search(self.optimizer, self.options, candidates, self.full_epochs * self.per_epoch, by_tail)
        for c in candidates:  # keep only the winner's weights: the rest would hold memory for nothing
            if c is not search.best:
                c.model = None
        return search


class DoctorData:
    """The rows the doctor trains on (``fit``) and the rows it holds out to check generalization (``holdout``)."""

    def __init__(self, fit_xy, holdout_xy, batch_size):
        from ...utils.data import TensorDataset
        from ...autograd.tensor import Tensor
        self.fit_xy, self.holdout_xy = fit_xy, holdout_xy
        self.batch_size = max(1, min(int(batch_size or len(fit_xy[0])), len(fit_xy[0])))
        self._dataset = TensorDataset(Tensor._make(fit_xy[0]), Tensor._make(fit_xy[1]))
        self._fit_eval = [(Tensor._make(fit_xy[0]), Tensor._make(fit_xy[1]))]
        self._holdout_eval = ([(Tensor._make(holdout_xy[0]), Tensor._make(holdout_xy[1]))]
                              if holdout_xy is not None and len(holdout_xy[0]) else None)

    @property
    def batches_per_epoch(self):
        return math.ceil(len(self.fit_xy[0]) / self.batch_size)

    @property
    def holdout_rows(self):
        return 0 if self._holdout_eval is None else len(self.holdout_xy[0])

    def fit_loader(self, seed):
        """Shuffled batches with a generator of their own: every candidate sees the same batch order."""
        from ...utils.data import DataLoader
        return DataLoader(self._dataset, batch_size=self.batch_size, shuffle=True,
                          generator=rl_random.Generator().manual_seed(seed))

    def fit_loss(self, model, loss_fn):
        return _finite_or_inf(evaluate(model, self._fit_eval, loss_fn)["loss"])

    def holdout_loss(self, model, loss_fn):
        if self._holdout_eval is None:
            return math.nan
        return _finite_or_inf(evaluate(model, self._holdout_eval, loss_fn)["loss"])


def tail_mean(curve):
    """Mean of the last quarter (at least one) of a per-epoch loss curve; inf if any of it is not finite."""
    tail = np.asarray(curve[-max(1, len(curve) // 4):], dtype=np.float64)
    return float(tail.mean()) if tail.size and np.isfinite(tail).all() else math.inf


def _key(loss):
    return loss if math.isfinite(loss) else math.inf


def _finite_or_inf(value):
    value = float(value)
    return value if math.isfinite(value) else math.inf
