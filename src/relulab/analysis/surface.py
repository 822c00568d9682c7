"""Error surfaces (lectures 1–2): the loss over a plane of parameter space, the path training takes across it.

- ``linear_surface``: lecture 1's L(b, w) for y = b + w·x, in NumPy.
- ``error_surface``: the loss over a grid of two named scalars of any model, everything else fixed.
- ``slice_2d``: L(θ + a·d1 + b·d2) for random filter-normalized, Hessian or checkpoint directions.
- ``Trajectory``: records the parameters during training (a ``fit`` callback or by hand) for drawing the path.
- ``plot_contour`` / ``plot_surface_3d``: the pictures.

How a grid is evaluated in one go.  Linear, Conv2d and eval-mode BatchNorm compute outputs that are *linear in
their own parameters* for a fixed input: f(x; p₀ + a·d₁ + b·d₂) = f(x; p₀) + a·f(x; d₁) + b·f(x; d₂).  So the
data is stacked K times along the batch axis (one copy per grid point), and each layer that owns a moving
parameter runs at its copy's parameters: a Linear layer with one weight matrix per copy (a batched matmul, or
only the moving output columns when a grid moves a single weight), other layers by adding a·f(x; d₁) + b·f(x; d₂).
Every other layer runs unchanged, so any model works whose layers treat samples independently in eval mode
(no batch-statistics BatchNorm); the leading layers of a Sequential that no grid point changes run once per
batch, before the stacking.  When a moving parameter lives in another kind of module, or is shared between
modules, the grid is evaluated point by point with ``Objective.value`` instead (``batched=False`` forces that;
``batched=True`` forbids the fallback).  Batching removes the per-point Python overhead, which dominates for
the lectures' small data sets (a 101×101 grid of y = b + w·x is ~50× faster); with thousands of samples the
arithmetic dominates and both ways take about as long.
"""
import copy
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..nn.conv import BatchNorm1d, BatchNorm2d, Conv2d, _BatchNorm
from ..nn.layers import Linear, Sequential
from ..nn.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from ..nn.module import Module
from ..train.loop import Callback
from .objective import Objective, batches

# Layers whose output is linear in their parameters jointly (no parameter-free offset): the batched grid trick.
# Exact types only: a subclass may override forward with something that is not.
LINEAR_IN_PARAMETERS = (Linear, Conv2d, BatchNorm1d, BatchNorm2d)

# Most stacked samples (grid points × batch rows) per batched forward pass: bounds the memory and keeps the
# arrays cache-sized (larger chunks measured no faster).
MAX_ROWS = 4096


@dataclass
class Surface:
    """A loss over a 2-D grid: ``loss[j, i]`` is the loss at ``(xs[i], ys[j])`` (rows follow y, as contour plots).

    ``origin`` is where the model's own parameters sit in these coordinates (error_surface: the two parameters'
    values; slice_2d: (0, 0)).  Slices also carry the plane, θ(a, b) = ``theta`` + a·d1 + b·d2.
    """

    xs: np.ndarray
    ys: np.ndarray
    loss: np.ndarray
    names: tuple
    origin: tuple = None
    theta: np.ndarray = field(default=None, repr=False)
    directions: tuple = field(default=None, repr=False)
    marks: dict = field(default_factory=dict)  # extra labelled points to draw, e.g. the two checkpoints
    info: dict = field(default_factory=dict)

    @property
    def minimum(self):
        """(x, y, loss) of the lowest grid point."""
        j, i = np.unravel_index(np.nanargmin(self.loss), self.loss.shape)
        return float(self.xs[i]), float(self.ys[j]), float(self.loss[j, i])

    def point(self, a, b):
        """The flat parameter vector θ + a·d1 + b·d2 at plane coordinates (a, b) (slices only)."""
        if self.directions is None:
            raise ValueError("Surface.point: this surface has no plane directions (only slice_2d surfaces do)")
        d1, d2 = self.directions
        return self.theta + a * d1 + b * d2


# ================================================================================================ lecture 1
def linear_surface(x, y, b_range, w_range, steps=(101, 101), loss="mse"):
    """Lecture 1's error surface L(b, w) of the model y = b + w·x, with w along x and b along y (as the
    lecture's figure).  ``steps`` = (number of w values, number of b values) or one int for both.
    ``loss``: 'mse' (mean squared error) or 'mae' (mean absolute error)."""
    if loss not in ("mse", "mae"):
        raise ValueError(f"linear_surface: loss must be 'mse' or 'mae', got {loss!r}")
    x, y = _flat_array(x), _flat_array(y)
    if x.size != y.size or x.size == 0:
        raise ValueError(f"linear_surface: x and y need the same, non-zero number of samples, got {x.size} and "
                         f"{y.size}")
    nw, nb = _steps(steps, "linear_surface")
    ws = np.linspace(*_range(w_range, "w_range", "linear_surface"), nw)
    bs = np.linspace(*_range(b_range, "b_range", "linear_surface"), nb)
    out = np.empty((nb, nw))
    chunk = max(1, 4_000_000 // (nw * x.size))  # rows of b per step: keeps the (b, w, sample) block ~32 MB
    for start in range(0, nb, chunk):
        b = bs[start:start + chunk, None, None]
        err = b + ws[None, :, None] * x[None, None, :] - y[None, None, :]
        out[start:start + chunk] = (err * err if loss == "mse" else np.abs(err)).mean(axis=2)
    return Surface(ws, bs, out, ("w", "b"), info={"loss": loss})


def _flat_array(v):
    v = v.detach().numpy() if isinstance(v, Tensor) else v
    return np.asarray(v, dtype=np.float64).reshape(-1)


# ================================================================================================ two scalars
def error_surface(model, loss_fn, data, params=("weight", "bias"), ranges=1.0, steps=(41, 41), batched=None,
                  max_rows=MAX_ROWS):
    """The loss over a grid of two scalar parameters of ``model``, every other parameter fixed.

    - ``params``: two parameter names, each of a one-element parameter (``("weight", "bias")`` of
      ``nn.Linear(1, 1)``), or ``(name, index)`` pairs for entries of larger ones (``("0.weight", 3)``, flat
      index, or ``("0.weight", (1, 2))``).
    - ``ranges``: per parameter an absolute ``(lo, hi)`` or a number s meaning value ± s; one number for both.
    - ``steps``: ``(nx, ny)`` or one int.

    The loss is the data-size-weighted average over ``data``'s batches in float64 and eval mode, as
    ``Objective``.  Returns a ``Surface`` whose ``origin`` holds the two parameters' current values.
    """
    obj = Objective.from_model(model, loss_fn, data)
    slots = [_scalar_slot(obj, spec, "error_surface") for spec in _pair(params, "params", "error_surface")]
    if slots[0][0] == slots[1][0]:
        raise ValueError(f"error_surface: both params name the same scalar {slots[0][1]!r}")
    nx, ny = _steps(steps, "error_surface")
    values = [float(obj.point[index]) for index, _ in slots]
    spans = _pair(ranges, "ranges", "error_surface", allow_scalar=True)
    xs = np.linspace(*_centred(spans[0], values[0], "error_surface"), nx)
    ys = np.linspace(*_centred(spans[1], values[1], "error_surface"), ny)
    d1, d2 = np.zeros(obj.size), np.zeros(obj.size)
    d1[slots[0][0]], d2[slots[1][0]] = 1.0, 1.0
    # the plane through θ along the two unit axes: coefficient = grid value − current value
    coeffs = np.stack(np.broadcast_arrays(xs[None, :] - values[0], ys[:, None] - values[1]), -1).reshape(-1, 2)
    loss = _plane_losses(obj, loss_fn, data, obj.point, d1, d2, coeffs, batched, max_rows, "error_surface")
    return Surface(xs, ys, loss.reshape(ny, nx), (slots[0][1], slots[1][1]), tuple(values))


def _pair(value, what, fn, allow_scalar=False):
    if allow_scalar and np.isscalar(value):
        return (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{fn}: {what} must be a pair, got {value!r}")
    return tuple(value)


def _steps(steps, fn):
    nx, ny = _pair(steps, "steps", fn, allow_scalar=True)
    if int(nx) != nx or int(ny) != ny or nx < 2 or ny < 2:
        raise ValueError(f"{fn}: steps must be whole numbers >= 2, got {steps!r}")
    return int(nx), int(ny)


def _range(r, what, fn):
    lo, hi = _pair(r, what, fn)
    if not float(lo) < float(hi):
        raise ValueError(f"{fn}: {what} must be (lo, hi) with lo < hi, got {r!r}")
    return float(lo), float(hi)


def _centred(spec, value, fn):
    """An absolute (lo, hi), or value ± spec for a number."""
    if np.isscalar(spec):
        if not float(spec) > 0:
            raise ValueError(f"{fn}: a centred span must be > 0, got {spec!r}")
        return value - float(spec), value + float(spec)
    return _range(spec, "range", fn)


def _scalar_slot(obj, spec, fn):
    """(index into the flat θ, display name) for a parameter name or a (name, index) pair."""
    name, index = (spec, None) if isinstance(spec, str) else _pair(spec, "each params entry", fn)
    offsets, start = {}, 0
    for n, shape in zip(obj.names, obj.shapes):
        offsets[n] = (start, shape)
        start += int(np.prod(shape))
    if name not in offsets:
        raise KeyError(f"{fn}: the model has no parameter {name!r}; its parameters are {list(offsets)}")
    start, shape = offsets[name]
    size = int(np.prod(shape))
    if index is None:
        if size != 1:
            raise ValueError(f"{fn}: parameter {name!r} has {size} entries (shape {shape}); name one as "
                             f"({name!r}, index)")
        return start, name
    flat = int(np.ravel_multi_index(index, shape)) if isinstance(index, (tuple, list)) else int(index)
    if not 0 <= flat < size:
        raise IndexError(f"{fn}: index {index!r} is out of range for {name!r} with {size} entries")
    return start + flat, f"{name}[{flat}]"


# ================================================================================================ planes
def slice_2d(model, loss_fn, data, directions="random", span=1.0, steps=21, seed=0, batched=None,
             max_rows=MAX_ROWS):
    """The loss on a plane through parameter space, L(θ + a·d1 + b·d2), on a grid of (a, b).

    ``directions``:
    - ``'random'``: two filter-normalized Gaussian directions (Li et al. 2018, see
      ``filter_normalized_direction``), centred on the model's θ;
    - ``'hessian'``: the top-2 Hessian eigenvectors (unit, orthogonal), via ``curvature.eigs``;
    - ``(d1, d2)``: two flat arrays of the parameter count, in ``named_parameters`` order;
    - ``(state_dict_a, state_dict_b)``: the plane through two checkpoints, centred on θ_a with d1 = θ_b − θ_a
      (so a = 0 is checkpoint a and a = 1 checkpoint b) and d2 a filter-normalized random direction made
      orthogonal to d1 (and rescaled to its former norm).

    ``span``: a number s for a, b ∈ [−s, s] (checkpoints: a ∈ [−s/2, 1 + s/2]), or ((a_lo, a_hi), (b_lo, b_hi)).
    """
    obj = Objective.from_model(model, loss_fn, data)
    theta, d1, d2, names, marks, info, default_a = _plane(obj, directions, seed)
    nx, ny = _steps(steps, "slice_2d")
    if np.isscalar(span):
        if not float(span) > 0:
            raise ValueError(f"slice_2d: span must be > 0, got {span!r}")
        a_range, b_range = default_a(float(span)), (-float(span), float(span))
    else:
        a_range, b_range = (_range(r, "span", "slice_2d") for r in _pair(span, "span", "slice_2d"))
    xs, ys = np.linspace(*a_range, nx), np.linspace(*b_range, ny)
    coeffs = np.stack(np.broadcast_arrays(xs[None, :], ys[:, None]), -1).reshape(-1, 2)
    loss = _plane_losses(obj, loss_fn, data, theta, d1, d2, coeffs, batched, max_rows, "slice_2d")
    return Surface(xs, ys, loss.reshape(ny, nx), names, (0.0, 0.0), theta, (d1, d2), marks, info)


def _plane(obj, directions, seed):
    """(origin θ, d1, d2, axis names, marks, info, default a-range from a span) for slice_2d's ``directions``."""
    centred = lambda s: (-s, s)  # noqa: E731
    if isinstance(directions, str):
        if directions == "random":
            rng = np.random.default_rng(seed)
            arrays = _unflatten(obj.point, obj.shapes)
            d1, d2 = _filter_normalized(arrays, rng, True), _filter_normalized(arrays, rng, True)
            return obj.point, d1, d2, ("random direction 1", "random direction 2"), {}, {}, centred
        if directions == "hessian":
            from .curvature import eigs
            values, vectors, _, _ = eigs(obj, k=2, seed=seed)
            if vectors.shape[1] < 2:
                raise ValueError(f"slice_2d: 'hessian' needs at least 2 parameters, the model has {obj.size}")
            names = tuple(f"Hessian eigenvector {i + 1} (λ={values[i]:.3g})" for i in range(2))
            return (obj.point, vectors[:, 0].copy(), vectors[:, 1].copy(), names, {},
                    {"eigenvalues": values[:2].copy()}, centred)
        raise ValueError(f"slice_2d: directions must be 'random', 'hessian', (d1, d2) or two state_dicts, got "
                         f"{directions!r}")
    first, second = _pair(directions, "directions", "slice_2d")
    if isinstance(first, Mapping) and isinstance(second, Mapping):
        theta_a, theta_b = _flat_state(obj, first, "a"), _flat_state(obj, second, "b")
        d1 = theta_b - theta_a
        if not np.any(d1):
            raise ValueError("slice_2d: the two checkpoints hold identical parameters; there is no line between them")
        d2 = _filter_normalized(_unflatten(theta_a, obj.shapes), np.random.default_rng(seed), True)
        norm = np.linalg.norm(d2)
        d2 = d2 - (d2 @ d1) / (d1 @ d1) * d1
        d2 *= norm / max(np.linalg.norm(d2), 1e-300)
        marks = {"checkpoint a": (0.0, 0.0), "checkpoint b": (1.0, 0.0)}
        return (theta_a, d1, d2, ("checkpoint a → b", "random direction ⟂"), marks, {},
                lambda s: (-s / 2, 1 + s / 2))
    d1, d2 = (_flat_array(d) for d in (first, second))
    for i, d in enumerate((d1, d2)):
        if d.size != obj.size:
            raise ValueError(f"slice_2d: direction d{i + 1} has {d.size} values, the model has {obj.size} "
                             f"parameters")
    return obj.point, d1, d2, ("d1", "d2"), {}, {}, centred


def _flat_state(obj, state, which):
    pieces = []
    for name, shape in zip(obj.names, obj.shapes):
        if name not in state:
            raise KeyError(f"slice_2d: checkpoint {which} has no entry {name!r}")
        value = state[name]
        array = np.asarray(value.detach().numpy() if isinstance(value, Tensor) else value, dtype=np.float64)
        if array.shape != tuple(shape):
            raise ValueError(f"slice_2d: checkpoint {which}'s {name!r} has shape {array.shape}, the model's is "
                             f"{tuple(shape)}")
        pieces.append(array.reshape(-1))
    return np.concatenate(pieces) if pieces else np.zeros(0)


def _unflatten(theta, shapes):
    out, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(theta[start:start + size].reshape(shape))
        start += size
    return out


def filter_normalized_direction(model, seed=0, zero_1d=True):
    """A random direction scaled filter by filter to the parameters (Li et al. 2018), as one flat float64 array
    in ``named_parameters`` order.

    Each filter of the Gaussian direction — a row of a Linear weight, an output channel of a Conv2d weight —
    is rescaled to the norm of the same filter of the parameter, so the plot's scale means the same for every
    layer whatever its weights' scale.  1-D parameters (biases, batch-norm scales) are zeroed (their
    ``ignore='biasbn'`` default) or, with ``zero_1d=False``, set equal to the parameter itself.
    ``model``: a Module or a list of arrays / Tensors.
    """
    params = model.parameters() if isinstance(model, Module) else model
    arrays = [np.asarray(p.detach().numpy() if isinstance(p, Tensor) else p, dtype=np.float64) for p in params]
    return _filter_normalized(arrays, np.random.default_rng(seed), zero_1d)


def _filter_normalized(arrays, rng, zero_1d):
    pieces = []
    for p in arrays:
        if p.ndim <= 1:
            d = np.zeros(p.shape) if zero_1d else p.copy()
        else:
            d = rng.normal(size=p.shape)
            axes = tuple(range(1, p.ndim))
            d_norm = np.sqrt((d * d).sum(axis=axes, keepdims=True))
            p_norm = np.sqrt((p * p).sum(axis=axes, keepdims=True))
            d = d * (p_norm / np.where(d_norm > 0, d_norm, 1.0))
        pieces.append(d.reshape(-1))
    return np.concatenate(pieces) if pieces else np.zeros(0)


# ================================================================================================ evaluation
class _NotBatchable(Exception):
    """The model broke an assumption of the batched grid (it does not treat samples independently)."""


def _plane_losses(obj, loss_fn, data, theta, d1, d2, coeffs, batched, max_rows, fn):
    """L(θ + a·d1 + b·d2) for every (a, b) row of ``coeffs``: batched when the model allows, else point by point."""
    if batched is not False:
        twin = copy.deepcopy(obj.model)  # the objective's float64 eval copy; patched freely below
        plan, reason = _batch_plan(twin, obj, theta, d1, d2)
        if plan is None and batched:
            raise ValueError(f"{fn}: batched=True but the grid cannot be batched: {reason}")
        if plan is not None:
            try:
                return _batched_losses(twin, plan, loss_fn, data, coeffs, max_rows)
            except _NotBatchable as e:
                if batched:
                    raise ValueError(f"{fn}: batched=True but the grid cannot be batched: {e}") from None
    return np.array([obj.value(theta + a * d1 + b * d2) for a, b in coeffs])


def _batch_plan(twin, obj, theta, d1, d2):
    """Set ``twin`` to θ and list, per module owning a moving parameter, that module's parameters along d1 and
    d2.  Returns (plan, None) or (None, why not)."""
    owners = {}
    for module in twin.modules():
        for name, p in module._parameters.items():
            if p is not None:
                owners.setdefault(id(p), []).append((module, name))
    for module in twin.modules():
        if isinstance(module, _BatchNorm) and module.running_mean is None:
            return None, f"{module!r} normalises with batch statistics, which mixes the stacked grid points"
    plan, start = {}, 0
    for (name, p), shape in zip(twin.named_parameters(), obj.shapes):
        size = int(np.prod(shape))
        p._data = theta[start:start + size].reshape(shape).copy()
        moves = [d[start:start + size].reshape(shape) for d in (d1, d2)]
        start += size
        if not any(np.any(m) for m in moves):
            continue
        if len(owners[id(p)]) > 1:
            return None, f"parameter {name!r} is shared between modules"
        module, attr = owners[id(p)][0]
        if type(module) not in LINEAR_IN_PARAMETERS:
            return None, (f"parameter {name!r} belongs to {type(module).__name__}, whose output is not known to "
                          f"be linear in its parameters (batched: {[t.__name__ for t in LINEAR_IN_PARAMETERS]})")
        plan.setdefault(id(module), (module, [{}, {}]))
        for k in range(2):
            plan[id(module)][1][k][attr] = moves[k]
    # each direction replaces ALL of a module's parameters (zeros where they do not move): f(x; d) must not
    # keep the module's own weights
    out = []
    for module, moves in plan.values():
        pieces = []
        for k in range(2):
            if not any(np.any(m) for m in moves[k].values()):
                pieces.append(None)
                continue
            pieces.append({attr: Tensor._make(np.asarray(moves[k].get(attr, np.zeros(p.shape)), dtype=np.float64))
                           for attr, p in module._parameters.items() if p is not None})
        out.append((module, pieces))
    return out, None


def _batched_losses(twin, plan, loss_fn, data, coeffs, max_rows):
    data = [(_float64(x), _float64(y)) for x, y in batches(data)]
    sizes = [int(y.shape[0]) if y.ndim else 1 for _, y in data]
    total = sum(sizes)
    if any(x.ndim == 0 for x, _ in data):
        raise _NotBatchable("the inputs have no batch axis to stack grid points along")
    rows = {}  # the current stacked batch's per-row (a, b): read by the patched forwards
    originals = []
    for module, pieces in plan:
        originals.append(module)
        module.__dict__["forward"] = _moving_forward(module, type(module).forward.__get__(module), pieces, rows)
    fixed, moving = _split_fixed_prefix(twin, {id(module) for module, _ in plan})
    losses = np.zeros(len(coeffs))
    try:
        with no_grad():
            for (x, y), n in zip(data, sizes):
                h = fixed(x)  # identical for every grid point: computed once, then stacked
                if h.ndim == 0:
                    raise _NotBatchable("the model's leading layers return a 0-d tensor")
                copies = max(1, max_rows // max(int(h.shape[0]), 1))
                for start in range(0, len(coeffs), copies):
                    chunk = coeffs[start:start + copies]
                    rows["ab"], rows["per_copy"] = np.repeat(chunk, int(h.shape[0]), axis=0), chunk
                    out = moving(_stack(h, len(chunk)))
                    losses[start:start + len(chunk)] += _copy_losses(loss_fn, out, y, len(chunk)) * (n / total)
    finally:
        for module in originals:
            del module.__dict__["forward"]
    return losses


def _split_fixed_prefix(model, moving_ids):
    """(leading layers no grid point changes, the rest) of a Sequential model; ((identity), model) otherwise."""
    if type(model) is not Sequential:
        return (lambda x: x), model
    children = list(model)
    first = next((i for i, child in enumerate(children) if any(id(m) in moving_ids for m in child.modules())),
                 len(children))
    return model[:first], model[first:]


def _float64(t):
    t = t if isinstance(t, Tensor) else Tensor._make(np.asarray(t))
    return t.double() if t.dtype.kind == "f" else t


def _stack(t, copies):
    """``copies`` copies of a batch, one after another along the batch axis."""
    return Tensor._make(np.concatenate([t._data] * copies, axis=0))


def _moving_forward(module, forward, pieces, rows):
    """``module``'s forward at per-row parameters p₀ + a·d₁ + b·d₂, exact by linearity in the parameters."""
    def moving(*args, **kwargs):
        ab = rows["ab"]
        x = args[0] if args else None
        if type(module) is Linear and isinstance(x, Tensor) and x.ndim >= 2 and x.shape[0] == ab.shape[0]:
            if x.shape[-1] == module.in_features:  # else let forward raise its own error
                return Tensor._make(_moving_linear(module, pieces, x._data, rows["per_copy"]))
        out = forward(*args, **kwargs)
        if out.ndim == 0 or out.shape[0] != ab.shape[0]:
            raise _NotBatchable(f"{module!r} returned {tuple(out.shape)} for {ab.shape[0]} stacked rows")
        data = out._data.copy()
        for k, piece in enumerate(pieces):
            if piece is not None:
                c = ab[:, k].reshape((-1,) + (1,) * (data.ndim - 1))
                data += c * _forward_with(module, forward, piece, args, kwargs)._data
        return Tensor._make(data)
    return moving


# Per-copy weight matrices of at most this many numbers in all; beyond it Linear adds x·Dᵀ terms instead.
_MAX_COPY_WEIGHTS = 1 << 22


def _moving_linear(module, pieces, x, per_copy):
    """A Linear layer at per-copy parameters.  When only a few output rows move (a grid over one weight), the
    layer runs once at p₀ and only the moving output columns get a·(x·D₁ᵀ + d₁) + b·(x·D₂ᵀ + d₂); otherwise
    each copy gets its own weight matrix W₀ + a·D₁ + b·D₂ and one batched matmul does the lot (one layer's
    arithmetic, where adding x·Dᵀ terms would cost three)."""
    w0 = module._parameters["weight"]._data
    b0 = module._parameters["bias"]._data if module._parameters.get("bias") is not None else np.zeros(w0.shape[0])
    moves = [None if p is None else (p["weight"]._data, p["bias"]._data if "bias" in p else np.zeros(w0.shape[0]))
             for p in pieces]
    moving_rows = np.zeros(w0.shape[0], dtype=bool)
    for m in moves:
        if m is not None:
            moving_rows |= m[0].any(axis=1) | (m[1] != 0)
    copies = len(per_copy)
    if moving_rows.sum() * 4 > w0.shape[0] and copies * w0.size <= _MAX_COPY_WEIGHTS:
        w, b = np.broadcast_to(w0, (copies,) + w0.shape).copy(), np.broadcast_to(b0, (copies,) + b0.shape).copy()
        for k, m in enumerate(moves):
            if m is not None:
                w += per_copy[:, k, None, None] * m[0]
                b += per_copy[:, k, None] * m[1]
        grouped = x.reshape(copies, -1, x.shape[-1])  # rows are copy-major: copy k holds rows k·N … (k+1)·N − 1
        out = grouped @ w.transpose(0, 2, 1) + b[:, None, :]
        return out.reshape(x.shape[:-1] + (w0.shape[0],))
    out = x @ w0.T + b0
    columns = np.flatnonzero(moving_rows)
    per_row = np.repeat(per_copy, x.shape[0] // copies, axis=0)
    for k, m in enumerate(moves):
        if m is not None:
            c = per_row[:, k].reshape((-1,) + (1,) * (x.ndim - 1))
            out[..., columns] += c * (x @ m[0][columns].T + m[1][columns])
    return out


def _forward_with(module, forward, piece, args, kwargs):
    saved = dict(module._parameters)
    module._parameters.update(piece)
    try:
        return forward(*args, **kwargs)
    finally:
        module._parameters.update(saved)


_ELEMENTWISE_LOSSES = (MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss)
_CLASS_LOSSES = (CrossEntropyLoss, NLLLoss)


def _copy_losses(loss_fn, out, y, copies):
    """``loss_fn(out_k, y)`` for each of the ``copies`` consecutive row blocks of ``out``: in one call for the
    built-in losses (per-element losses, then each block's sum or mean), otherwise one call per block."""
    fast = _fast_copy_losses(loss_fn, out, y, copies)
    if fast is not None:
        return fast
    n = out.shape[0] // copies
    return np.array([float(loss_fn(out[k * n:(k + 1) * n], y).item()) for k in range(copies)])


def _fast_copy_losses(loss_fn, out, y, copies):
    if type(loss_fn) not in _ELEMENTWISE_LOSSES + _CLASS_LOSSES or loss_fn.reduction not in ("mean", "sum"):
        return None
    if y.ndim == 0 or out.ndim == 0:
        return None
    weight = getattr(loss_fn, "weight", None)
    class_index = type(loss_fn) in _CLASS_LOSSES and y.dtype.kind in "iu"
    if type(loss_fn) in _ELEMENTWISE_LOSSES:
        if weight is not None or tuple(out.shape) != (copies * y.shape[0],) + tuple(y.shape[1:]):
            return None  # per-sample weights or broadcasting targets: leave those to the loss itself
    elif not class_index and (out.ndim < 2 or tuple(out.shape[1:]) != tuple(y.shape[1:])):
        return None
    per_element = copy.copy(loss_fn)
    object.__setattr__(per_element, "reduction", "none")
    per = per_element(out, _stack(y, copies)).numpy().reshape(copies, -1)
    sums = per.sum(axis=1)
    if loss_fn.reduction == "sum":
        return sums
    if class_index:  # PyTorch's weighted mean: divide by the summed class weights of the non-ignored targets
        labels = y.numpy().reshape(-1)
        labels = labels[labels != loss_fn.ignore_index]
        denominator = labels.size if weight is None else float(_flat_array(weight)[labels].sum())
    else:
        denominator = per.shape[1]
    return sums / denominator


# ================================================================================================ trajectories
class Trajectory(Callback):
    """The path training takes: parameters, loss and gradient norm after each step (or epoch).

    By hand: call ``trajectory.record(model, loss)`` after each optimizer step.  In ``fit``:
    ``fit(..., callbacks=[Trajectory(model)])`` records once per epoch, with that epoch's mean training loss and
    the gradient norm of its last mini-batch (what ``.grad`` holds then).  ``params`` as in ``error_surface``
    records just those two scalars, so ``points`` can be drawn on that error surface; without it every
    parameter is stored, flattened, and ``project`` places the path on a ``slice_2d`` plane.
    """

    def __init__(self, model=None, params=None):
        self.model = model
        self.params = None if params is None else _pair(params, "params", "Trajectory")
        self.steps, self._points, self.losses, self.grad_norms = [], [], [], []

    def __len__(self):
        return len(self._points)

    @property
    def points(self):
        """(T, P) array: one row per record (P = 2 tracked scalars, or every parameter)."""
        return np.array(self._points) if self._points else np.zeros((0, 0))

    def record(self, model=None, loss=float("nan"), step=None, grad_norm=None):
        model = model if model is not None else self.model
        if not isinstance(model, Module):
            raise TypeError(f"Trajectory.record: expected a relulab Module, got {type(model).__name__}")
        named = list(model.named_parameters())
        if self.params is None:
            point = np.concatenate([p.detach().numpy().reshape(-1).astype(np.float64) for _, p in named])
        else:
            point = np.array([_read_scalar(named, spec) for spec in self.params])
        if grad_norm is None:
            grads = [p.grad.numpy().astype(np.float64) for _, p in named if p.grad is not None]
            grad_norm = float(np.sqrt(sum((g * g).sum() for g in grads))) if grads else float("nan")
        self.steps.append(len(self._points) if step is None else step)
        self._points.append(point)
        self.losses.append(float(loss.item() if isinstance(loss, Tensor) else loss))
        self.grad_norms.append(float(grad_norm))

    # ---------------------------------------------------------------- fit callback
    def on_train_begin(self, state):
        if self.model is None:
            raise ValueError("Trajectory: pass the model, Trajectory(model), to use it as a fit callback")

    def on_epoch_end(self, state, record):
        self.record(self.model, record["train_loss"], step=record["epoch"])
        return False

    def project(self, d1, d2=None, origin=None):
        """(T, 2) plane coordinates (a, b) of the path: the least-squares solution of θ_t − origin = a·d1 + b·d2
        (exact when the path lies in the plane; d1 and d2 need not be orthogonal).  Pass a ``slice_2d``
        ``Surface`` alone to use its plane."""
        if isinstance(d1, Surface):
            if d1.directions is None:
                raise ValueError("Trajectory.project: the surface has no plane directions (use a slice_2d surface)")
            (d1, d2), origin = d1.directions, d1.theta
        if d2 is None or origin is None:
            raise ValueError("Trajectory.project: give d1, d2 and origin, or a slice_2d Surface")
        if self.params is not None:
            raise ValueError("Trajectory.project: this trajectory tracks only two scalars; build it without "
                             "params to record every parameter")
        basis = np.stack([_flat_array(d1), _flat_array(d2)], axis=1)
        offsets = self.points - _flat_array(origin)[None, :]
        if offsets.shape[1] != basis.shape[0]:
            raise ValueError(f"Trajectory.project: the path has {offsets.shape[1]} parameters, the directions "
                             f"{basis.shape[0]}")
        coords, *_ = np.linalg.lstsq(basis, offsets.T, rcond=None)
        return coords.T


def _read_scalar(named, spec):
    name, index = (spec, 0) if isinstance(spec, str) else spec
    for n, p in named:
        if n == name:
            flat = p.detach().numpy().reshape(-1)
            i = int(np.ravel_multi_index(index, p.shape)) if isinstance(index, (tuple, list)) else int(index)
            if isinstance(spec, str) and flat.size != 1:
                raise ValueError(f"Trajectory: parameter {name!r} has {flat.size} entries; name one as "
                                 f"({name!r}, index)")
            return float(flat[i])
    raise KeyError(f"Trajectory: the model has no parameter {name!r}; its parameters are {[n for n, _ in named]}")


# ================================================================================================ pictures
def _pyplot():
    import matplotlib
    matplotlib.use("Agg")  # files, never windows: works on machines without a display
    import matplotlib.pyplot as plt
    return plt


def _finish(plt, fig, path):
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig


def plot_contour(surface, trajectory_xy=None, path=None, levels=30, log=False, title=None):
    """Filled contours of the surface (the lecture's L(b, w) picture), its grid minimum (★) and current point (●).

    ``trajectory_xy``: one path or several — (T, 2) arrays, ``Trajectory`` objects (tracking the surface's two
    scalars, or full ones projected onto a slice_2d plane), a list of those or of (label, path) pairs, or a
    {label: path} dict.  ``log``: contour log10(loss), for surfaces spanning orders of magnitude.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 5.0))
    z = np.log10(np.maximum(surface.loss, 1e-300)) if log else surface.loss
    filled = ax.contourf(surface.xs, surface.ys, z, levels=levels, cmap="RdYlBu_r")
    ax.contour(surface.xs, surface.ys, z, levels=levels, colors="k", linewidths=0.3, alpha=0.5)
    fig.colorbar(filled, ax=ax, label="log10 loss" if log else "loss")
    for label, xy in _paths(trajectory_xy, surface):
        line, = ax.plot(xy[:, 0], xy[:, 1], ".-", lw=1.2, ms=3, label=label)
        ax.plot(xy[-1, 0], xy[-1, 1], "o", color=line.get_color(), ms=6, mec="k")
    _mark_points(ax, surface, lambda x, y, **kw: ax.plot([x], [y], **kw))
    ax.set_xlabel(surface.names[0])
    ax.set_ylabel(surface.names[1])
    ax.set_title(title or "error surface")
    ax.legend(fontsize=7, loc="best")
    return _finish(plt, fig, path)


def plot_surface_3d(surface, path=None, title=None):
    """The surface as a 3-D landscape, with its grid minimum marked."""
    plt = _pyplot()
    fig = plt.figure(figsize=(6.4, 5.0))
    ax = fig.add_subplot(projection="3d")
    gx, gy = np.meshgrid(surface.xs, surface.ys)
    ax.plot_surface(gx, gy, surface.loss, cmap="RdYlBu_r", linewidth=0, antialiased=True, alpha=0.85)
    x, y, value = surface.minimum
    ax.scatter([x], [y], [value], marker="*", s=160, color="gold", edgecolors="k", depthshade=False,
               label=f"grid minimum {value:.4g}")
    ax.set_xlabel(surface.names[0])
    ax.set_ylabel(surface.names[1])
    ax.set_zlabel("loss")
    ax.set_title(title or "error surface")
    ax.legend(fontsize=7)
    return _finish(plt, fig, path)


def _mark_points(ax, surface, plot):
    x, y, value = surface.minimum
    plot(x, y, marker="*", ms=15, color="gold", mec="k", ls="none", label=f"grid minimum {value:.4g}")
    if surface.origin is not None:
        plot(*surface.origin, marker="o", ms=7, color="white", mec="k", ls="none", label="current parameters")
    for i, (label, (mx, my)) in enumerate(surface.marks.items()):
        plot(mx, my, marker="Ds^v"[i % 4], ms=7, color="black", ls="none", label=label)


def _paths(spec, surface):
    """[(label, (T, 2) array)] from plot_contour's ``trajectory_xy``."""
    if spec is None:
        return []
    if isinstance(spec, Mapping):
        items = list(spec.items())
    elif isinstance(spec, Trajectory) or _is_one_path(spec):
        items = [(None, spec)]
    else:
        items = [item if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) else (None, item)
                 for item in spec]
    return [(label or ("path" if len(items) == 1 else f"path {i + 1}"), _xy(p, surface))
            for i, (label, p) in enumerate(items)]


def _is_one_path(spec):
    try:
        a = np.asarray(spec, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.ndim == 2 and a.shape[1] == 2


def _xy(p, surface):
    if isinstance(p, Trajectory):
        if p.params is not None:
            return p.points
        if surface.directions is None:
            raise ValueError("plot_contour: a full-parameter Trajectory can only be drawn on a slice_2d surface; "
                             "track the two scalars with Trajectory(model, params=...) for an error_surface")
        return p.project(surface)
    xy = np.asarray(p, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) == 0:
        raise ValueError(f"plot_contour: a path must be a non-empty (T, 2) array, got shape {xy.shape}")
    return xy
