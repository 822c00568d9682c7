"""One session's run on the real engine, one update at a time, and the lecture's tools on its current state.

The run is built exactly as ``relulab train`` builds it, from the config the settings export
(``resolve`` → ``pool_split`` → ``build_job``: the same split, seeded weights and shuffling), and each update is
``fit``'s: forward, loss, ``zero_grad``, ``backward``, ``optimizer.step()``, ``scheduler.step()`` per batch.
So after k epochs the weights are those of ``relulab train`` run for k epochs.  Everything the page shows is
computed by the public API on that state: ``train.evaluate`` for the losses, ``analysis.classify`` /
``escape_saddle`` for the Hessian panel, ``analysis.error_surface`` for L(b, w), ``analysis.diagnose`` for the
doctor.  Nothing here knows about threads, processes or HTTP (``worker`` does).
"""
import inspect
import math

import numpy as np

from .. import analysis
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..nn import Hardsigmoid, ReLU, Sigmoid, Tanh
from ..serialization import dumps
from ..train.builders import build_optimizer, build_scheduler
from ..train.config import resolve
from ..random import fork_rng
from ..train.loop import evaluate
from ..train.session import build_job, pool_split
from ..utils.data import DataLoader
from . import datasets, export
from .settings import REBUILDS, is_classification, parameter_count

GRID = 40             # the decision boundary's grid, per side
UNIT_GRID = 16        # each hidden unit's response map, per side (2-D)
CURVE_POINTS = 200    # the fitted curve's x values (1-D)
MAX_CURVE = 400       # loss-curve points kept; beyond, every other old one is dropped
MAX_PATH = 2000       # (w, b) points kept of a 2-parameter model's path
SURFACE_STEPS = 41    # the L(b, w) grid, per side
ACTIVATION_MODULES = (Sigmoid, Hardsigmoid, ReLU, Tanh)
# A critical point as find_critical_point counts one: ‖∇L‖ at most its default gradient_tol.
CRITICAL_GRADIENT = inspect.signature(analysis.find_critical_point).parameters["gradient_tol"].default


class PlayError(ValueError):
    """A tool cannot run on this state (too many parameters for the exact Hessian, no negative curvature ...)."""


class Playground:
    """A run the page drives: ``step``, ``configure`` (new settings), and the tools."""

    def __init__(self, settings, limits):
        self.limits = limits
        self.settings = dict(settings)
        self.data_version = 0
        self._build()

    # ------------------------------------------------------------------------------------------- building
    def _build(self):
        s = self.settings
        self.config = resolve(export.raw_config(s))
        bundle = datasets.bundle(s, self.config["data"])
        self.job = build_job(self.config, bundle, *pool_split(self.config, bundle))
        self.train_x, self.train_y = self.job.loaders["train"].dataset.tensors
        # the full training loss is measured on its own unshuffled loader: iterating the training loader would
        # draw from its shuffling generator and change the batches of the updates that follow
        self._train_eval = DataLoader(self.job.loaders["train"].dataset, batch_size=1024)
        self.valid_x, self.valid_y = self.job.loaders["valid"].dataset.tensors
        self.parameters = sum(int(p.numel()) for p in self.job.model.parameters())
        if self.parameters != parameter_count(s):  # settings.parameter_count is what the limits check
            raise AssertionError(f"play: built {self.parameters} parameters, expected {parameter_count(s)}")
        self.steps, self.epoch = 0, 0
        self._new_epoch()
        self.epochs = []                      # one record per epoch, as fit writes them (the doctor reads these)
        self.curve = {key: [] for key in ("step", "train", "valid", "accuracy", "grad_norm", "lr")}
        self._grad_sum, self._grad_count = 0.0, 0
        self.switches = []                    # settings changed mid-run: (step, what)
        self.path, self._surface = [], None
        self.hessian_result = self.escape_result = self.doctor_result = None
        self.data_version += 1
        x = np.concatenate([self.train_x.numpy(), self.valid_x.numpy()]).astype(np.float64)
        pad = 0.1 * max(float(x.max() - x.min()), 1e-6)
        self.bounds = [(float(x[:, j].min()) - pad, float(x[:, j].max()) + pad) for j in range(x.shape[1])]
        self._record_path()
        self.record_curve()

    def reset(self):
        """Back to step 0 with the current settings: the same seeded weights, split and shuffling."""
        self._build()

    def _new_epoch(self):
        self._batches = iter(self.job.loaders["train"])
        self._in_epoch, self._epoch_total, self._epoch_count = 0, 0.0, 0

    def configure(self, settings):
        """Apply new settings: data or model changes rebuild the run at step 0; optimizer changes take effect on
        the current weights (a new optimizer and schedule, and a new epoch for a new batch size)."""
        settings = dict(settings)
        changed = [k for k in settings if settings[k] != self.settings.get(k)]
        if any(k in REBUILDS for k in changed):
            self.settings = settings
            self._build()
            return {"reset": True, "changed": changed}
        before, self.settings = self.settings, settings
        self.config = resolve(export.raw_config(settings))
        if "batch" in changed:
            old = self.job.loaders["train"]
            self.job.loaders["train"] = DataLoader(old.dataset, batch_size=settings["batch"],
                                                   shuffle=self.config["data"]["shuffle"], generator=old.generator)
            self._new_epoch()
        if any(k in changed for k in ("optimizer", "lr", "momentum", "l2", "schedule", "warmup", "horizon")):
            self.job.optimizer = build_optimizer(self.config["optimizer"], self.job.model.parameters())
            self.job.scheduler = build_scheduler(self.config["scheduler"], self.job.optimizer,
                                                 len(self.job.loaders["train"]), self.config["epochs"])
        trained = [k for k in changed if k != "speed"]
        if trained and self.steps:
            self.switches.append((self.steps, ", ".join(f"{k} {before[k]} → {settings[k]}" for k in trained)))
        return {"reset": False, "changed": changed}

    # ------------------------------------------------------------------------------------------- training
    def step(self, n=1):
        """``n`` updates, each one of fit's: a batch, its loss, backward, the optimizer's step, the schedule's."""
        job = self.job
        model, loss_fn, optimizer, scheduler = job.model, job.loss_fn, job.optimizer, job.scheduler
        per_epoch = len(job.loaders["train"])
        model.train()
        for _ in range(n):
            inputs, targets = next(self._batches)
            loss = loss_fn(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            self._grad_sum += _gradient_norm(model)
            self._grad_count += 1
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            rows = int(targets.shape[0])
            self._epoch_total += loss.item() * rows
            self._epoch_count += rows
            self._in_epoch += 1
            self.steps += 1
            self._record_path()
            if self._in_epoch == per_epoch:
                self._end_epoch()

    def _end_epoch(self):
        self.epoch += 1
        record = {"epoch": self.epoch, "lr": self.lr, "train_loss": self._epoch_total / self._epoch_count}
        for key, value in evaluate(self.job.model, self.job.loaders["valid"], self.job.loss_fn).items():
            record[f"valid_{key}"] = value
        self.epochs.append(record)
        self._new_epoch()

    @property
    def lr(self):
        return float(self.job.optimizer.param_groups[0]["lr"])

    def record_curve(self):
        """One point of the live curves: the full training and validation loss (eval mode, as ``evaluate``),
        the mean minibatch gradient norm since the last point, the lr; accuracy for classification."""
        job = self.job
        with fork_rng():  # watching must not draw from the training's stream (each loader epoch draws a seed)
            point = {"step": self.steps, "train": evaluate(job.model, self._train_eval, job.loss_fn)["loss"],
                     "valid": evaluate(job.model, job.loaders["valid"], job.loss_fn)["loss"],
                     "grad_norm": self._grad_sum / self._grad_count if self._grad_count else None, "lr": self.lr,
                     "accuracy": self.accuracy(self.valid_x, self.valid_y)}
        self._grad_sum, self._grad_count = 0.0, 0
        if self.curve["step"] and self.curve["step"][-1] == self.steps:
            for key in self.curve:  # the same step again (after escape or θ = 0): replace it
                self.curve[key][-1] = point[key]
        else:
            for key in self.curve:
                self.curve[key].append(point[key])
        n = len(self.curve["step"])
        if n > MAX_CURVE:  # thin out the old points, keeping the first and the latest
            keep = list(range(0, n - 1, 2)) + [n - 1]
            for key in self.curve:
                self.curve[key] = [self.curve[key][i] for i in keep]
        return point

    def curve_shown(self):
        """The live curves as drawn (5 significant digits); the numbers in ``status`` keep full precision."""
        return {key: values if key == "step" else _shown(np.array(values, dtype=np.float64))
                for key, values in self.curve.items()}

    # ------------------------------------------------------------------------------------------- outputs
    def outputs(self, x):
        """The model's prediction at the float64 points ``x`` (eval mode): the probability of class 1 for
        classification (sigmoid of the logit for cross-entropy; the Sigmoid layer's output for MSE), else ŷ."""
        out = self._forward(x)[-1][:, 0].astype(np.float64)
        if is_classification(self.settings) and self.settings["loss"] == "cross_entropy":
            return 1.0 / (1.0 + np.exp(-out))
        return out

    def accuracy(self, x, y):
        if not is_classification(self.settings):
            return None
        return float(((self.outputs(x.numpy()) > 0.5) == (y.numpy()[:, 0] > 0.5)).mean())

    def _forward(self, x):
        """Each activation layer's output, then the model's output, at the points ``x``."""
        model = self.job.model
        was_training = model.training
        model.eval()
        try:
            with no_grad():
                h, seen = Tensor._make(np.asarray(x, dtype=self.train_x.numpy().dtype)), []
                for module in model:
                    h = module(h)
                    if isinstance(module, ACTIVATION_MODULES) and len(seen) < self.settings["layers"]:
                        seen.append(h.numpy())
        finally:
            model.train(was_training)
        return seen + [h.numpy()]

    def _grid(self, side):
        (x0, x1), (y0, y1) = self.bounds
        xs, ys = np.linspace(x0, x1, side), np.linspace(y0, y1, side)
        gx, gy = np.meshgrid(xs, ys)
        return xs, ys, np.stack([gx.ravel(), gy.ravel()], axis=1)

    def prediction(self):
        """2-D: the probability over a grid (rows follow y); 1-D: the fitted curve."""
        if len(self.bounds) == 2:
            xs, ys, points = self._grid(GRID)
            return {"xs": xs.tolist(), "ys": ys.tolist(),
                    "z": _shown(self.outputs(points).reshape(GRID, GRID))}
        xs = np.linspace(*self.bounds[0], CURVE_POINTS)
        return {"x": xs.tolist(), "y": _shown(self.outputs(xs[:, None]))}

    def units(self, layer):
        """Each unit's response (after the activation) in hidden layer ``layer`` (1-based) over the input."""
        if not 1 <= layer <= self.settings["layers"]:
            return None
        if len(self.bounds) == 2:
            xs, ys, points = self._grid(UNIT_GRID)
            h = self._forward(points)[layer - 1]
            maps = [_shown(h[:, j].reshape(UNIT_GRID, UNIT_GRID)) for j in range(h.shape[1])]
            return {"layer": layer, "xs": xs.tolist(), "ys": ys.tolist(), "maps": maps}
        xs = np.linspace(*self.bounds[0], CURVE_POINTS // 2)
        h = self._forward(xs[:, None])[layer - 1]
        return {"layer": layer, "x": xs.tolist(), "curves": [_shown(h[:, j]) for j in range(h.shape[1])]}

    def points(self):
        """The data, as the model sees it (views: the standardized inputs)."""
        return {"train": {"x": self.train_x.numpy().tolist(), "y": self.train_y.numpy()[:, 0].tolist()},
                "valid": {"x": self.valid_x.numpy().tolist(), "y": self.valid_y.numpy()[:, 0].tolist()},
                "bounds": self.bounds, "version": self.data_version}

    # ------------------------------------------------------------------------------------------- L(b, w)
    @property
    def two_parameters(self):
        return self.parameters == 2

    def _record_path(self):
        if self.two_parameters:
            layer = self.job.model[0]
            self.path.append((float(layer.weight.detach().numpy().reshape(-1)[0]),
                              float(layer.bias.detach().numpy().reshape(-1)[0])))
            if len(self.path) > MAX_PATH:
                self.path = self.path[:1] + self.path[1:][::2]

    def surface(self):
        """Lecture 1's L(b, w) of the 2-parameter model y = b + w·x over a box around its path and the least-
        squares optimum (``analysis.error_surface``); recomputed when the path leaves the box."""
        if not self.two_parameters:
            return None
        path = np.asarray(self.path)
        if self._surface is None or not _inside(path, self._surface["box"]):
            x, y = self.train_x.numpy()[:, 0].astype(np.float64), self.train_y.numpy()[:, 0].astype(np.float64)
            w_best, b_best = np.polyfit(x, y, 1)
            corners = np.vstack([path, [[w_best, b_best]]])
            lo, hi = corners.min(axis=0), corners.max(axis=0)
            pad = 0.3 * np.maximum(hi - lo, 0.5)
            box = ((lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1]))
            grid = analysis.error_surface(self.job.model, self.job.loss_fn, (self.train_x, self.train_y),
                                          params=("0.weight", "0.bias"), ranges=box, steps=SURFACE_STEPS)
            self._surface = {"box": box, "w": grid.xs.tolist(), "b": grid.ys.tolist(), "loss": grid.loss.tolist(),
                             "best": [float(w_best), float(b_best)]}
        return {**self._surface, "path": {"w": path[:, 0].tolist(), "b": path[:, 1].tolist()}}

    # ------------------------------------------------------------------------------------------- the tools
    def objective(self):
        """L(θ) on the training split, as ``analysis`` sees it: float64, eval mode, one batch of all rows."""
        return analysis.Objective.from_model(self.job.model, self.job.loss_fn, (self.train_x, self.train_y))

    def hessian(self):
        """``analysis.classify`` at the current θ: the exact Hessian's spectrum and its verdict."""
        if self.parameters > self.limits.hessian_max_parameters:
            raise PlayError(f"the exact Hessian needs one backward pass per parameter: this model has "
                            f"{self.parameters}, this server computes it for at most "
                            f"{self.limits.hessian_max_parameters}; use fewer layers or units")
        with np.errstate(all="ignore"):
            point = analysis.classify(self.objective())
        s = point.spectrum
        self.hessian_result = {
            "step": self.steps, "kind": point.kind, "positive": point.positive, "negative": point.negative,
            "near_zero": point.near_zero, "minimum_ratio": point.minimum_ratio, "ratio_nonzero": point.ratio_nonzero,
            "tolerance": point.tolerance, "threshold": s.threshold, "gradient_norm": point.gradient_norm,
            "loss": point.loss, "eigenvalues": point.eigenvalues.tolist(), "describe": point.describe(),
            "parameters": self.parameters, "escapable": point.escape_direction is not None,
            "critical": point.gradient_norm <= CRITICAL_GRADIENT, "critical_gradient": CRITICAL_GRADIENT}
        return self.hessian_result

    def escape(self):
        """``analysis.escape_saddle``: L(θ + η·u) along the most negative eigenvector u for η in [0, 1]; θ moves
        to the η of the lowest loss (it stays if no η lowers L)."""
        if self.parameters > self.limits.hessian_max_parameters:
            raise PlayError(f"escaping needs the exact Hessian, computed here for at most "
                            f"{self.limits.hessian_max_parameters} parameters; this model has {self.parameters}")
        obj = self.objective()
        try:
            with np.errstate(all="ignore"):
                found = analysis.escape_saddle(obj)
        except ValueError as e:
            raise PlayError(str(e)) from None
        best = int(np.argmin(found.losses))
        eta = float(found.step_sizes[best]) if found.lowered else 0.0
        if found.lowered:
            self._set_theta(obj.point + eta * found.direction)
            self.switches.append((self.steps, f"escaped the saddle: θ += {eta:g}·u (λ = {found.eigenvalue:.3g})"))
        self.escape_result = {
            "step": self.steps, "eigenvalue": found.eigenvalue, "eta": eta, "lowered": found.lowered,
            "start_loss": found.start_loss, "best_loss": float(found.losses[best]),
            "loss_after": self.objective().value(), "step_sizes": found.step_sizes.tolist(),
            "losses": found.losses.tolist()}
        self._after_move()
        return self.escape_result

    def origin(self):
        """θ = 0.  For a tanh network on balanced classes every gradient vanishes there (a critical point,
        usually a saddle): training cannot leave it, escaping along negative curvature can."""
        self._set_theta(np.zeros(self.parameters))
        self.switches.append((self.steps, "θ set to 0"))
        self._after_move()

    def _after_move(self):
        self.hessian_result = None
        self._record_path()
        self.record_curve()

    def _set_theta(self, theta):
        """Write a flat θ (``named_parameters`` order, as ``Objective``) into the model, in its own dtype."""
        start = 0
        with no_grad():
            for _, p in self.job.model.named_parameters():
                size = int(p.numel())
                values = np.asarray(theta[start:start + size]).reshape(p.shape).astype(p.detach().numpy().dtype)
                p.copy_(Tensor._make(values))
                start += size

    def doctor(self):
        """``analysis.diagnose`` on the run as it stands: the model, both splits, the epoch records, and how
        it is being trained (optimizer, lr, batch, epochs); the doctor trains its references with
        ``limits.doctor_updates`` updates per learning-rate candidate."""
        job = self.job
        budget = analysis.Budget.from_optimizer(job.optimizer, epochs=self.epoch or None,
                                                batch_size=self.settings["batch"], scheduler=job.scheduler)
        with np.errstate(all="ignore"):
            found = analysis.diagnose(job.model, job.loss_fn, (self.train_x, self.train_y),
                                      (self.valid_x, self.valid_y), history=[dict(r) for r in self.epochs],
                                      budget=budget, budget_updates=self.limits.doctor_updates,
                                      seed=self.settings["seed"], title=f"the page's run at step {self.steps}")
        self.doctor_result = {"step": self.steps, "verdict": found.verdict, "reason": found.reason,
                              "remedies": list(found.remedies), "notes": list(found.notes), "report": found.report()}
        return self.doctor_result

    def weights(self):
        """The model's state_dict as safetensors bytes (what ``relulab.save`` writes)."""
        return dumps(self.job.model.state_dict())

    def status(self):
        job = self.job
        last = {key: values[-1] for key, values in self.curve.items()}
        return {"step": self.steps, "epoch": self.epoch, "steps_per_epoch": len(job.loaders["train"]),
                "lr": self.lr, "parameters": self.parameters, "train_rows": int(self.train_y.shape[0]),
                "valid_rows": int(self.valid_y.shape[0]), "classification": is_classification(self.settings),
                "train_loss": last["train"], "valid_loss": last["valid"], "accuracy": last["accuracy"],
                "switches": [{"step": step, "what": what} for step, what in self.switches],
                "hessian_allowed": self.parameters <= self.limits.hessian_max_parameters,
                "layer_names": export.layers(self.settings)}


def _gradient_norm(model):
    total = 0.0
    for p in model.parameters():
        if p.grad is not None:
            g = p.grad.numpy().astype(np.float64)
            total += float((g * g).sum())
    return math.sqrt(total)


def _shown(values):
    """Values only drawn, never compared: 5 significant digits (of the largest) keep the page's JSON small.
    An integer divided by a power of ten rounds to the double nearest the decimal, which prints short."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 0.0
    digits = 4 - int(np.floor(np.log10(top))) if top > 0 else 4
    with np.errstate(all="ignore"):
        if digits >= 0:
            rounded = np.rint(values * 10.0 ** digits) / 10.0 ** digits
        else:
            rounded = np.rint(values / 10.0 ** -digits) * 10.0 ** -digits
    return [v if math.isfinite(v) else None for v in rounded.tolist()] if rounded.ndim == 1 else \
        [[v if math.isfinite(v) else None for v in row] for row in rounded.tolist()]


def _inside(path, box):
    """Whether every (w, b) of the path lies in the box (a point may have left it and come back)."""
    (w0, w1), (b0, b1) = box
    return bool(w0 <= path[:, 0].min() and path[:, 0].max() <= w1 and b0 <= path[:, 1].min() and
                path[:, 1].max() <= b1)
