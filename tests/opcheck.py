"""Op-checking helpers: relulab against torch (forward, gradient, double backward) and against finite differences.

Every check works in float64 on NumPy input arrays:

* ``check_op(rl_fn, torch_fn, *arrays)`` runs the op in both libraries and compares the forward values, the
  gradient of a random projection ``sum(out * R)`` with respect to every input, and the double backward: the
  gradient of ``sum(grad * V)`` for a random ``V`` (``create_graph=True`` in both libraries).
* ``gradcheck(rl_fn, *arrays)`` compares relulab's analytic gradient of ``sum(out * R)`` with float64 central
  differences, element by element.
* ``gradgradcheck(rl_fn, *arrays)`` is the second-order check in the style of HIPS/autograd: the directional
  derivative of ``phi(x) = <grad(x), v>`` along a random direction ``u``, by central differences, against
  ``<d phi / dx, u>`` from relulab's double backward.

``rl_fn``/``torch_fn`` may return one tensor or a tuple (namedtuples included, e.g. ``max(dim)``); non-floating
outputs (indices) are compared exactly and left out of the gradients.

The input builders (``smooth``, ``away``, ``distinct``, ``positive``, ``split_distinct``) keep values clear of kinks
(relu/abs/clamp thresholds) and of ties (max/min), so that finite differences with ``eps=1e-6`` are valid.

torch is never imported at module level: it comes from ``conftest.require_torch`` when a check needs it, so that
with CI=true a missing torch fails instead of skipping.
"""
import numpy as np

import relulab

# ---------------------------------------------------------------------------------------------- input builders


def _rng(seed):
    return np.random.default_rng(seed)


def smooth(shape, seed=0, low=-2.0, high=2.0):
    """Uniform float64 values: for ops that are smooth everywhere."""
    return _rng(seed).uniform(low, high, size=shape).astype(np.float64)


def positive(shape, seed=0, low=0.5, high=2.0):
    """Strictly positive values (log, sqrt, pow with a real exponent, positive bases)."""
    return smooth(shape, seed, low, high)


def away(shape, kinks=(0.0,), seed=0, low=-2.0, high=2.0, margin=0.05):
    """Uniform values that stay at least ``margin`` away from every point in ``kinks``."""
    rng = _rng(seed)
    out = rng.uniform(low, high, size=shape)
    kinks = np.asarray(kinks, dtype=np.float64)
    for _ in range(1000):
        bad = np.zeros(out.shape, dtype=bool)
        for k in kinks:
            bad |= np.abs(out - k) < margin
        if not bad.any():
            return out.astype(np.float64)
        out[bad] = rng.uniform(low, high, size=int(bad.sum()))
    raise ValueError("away: could not sample values clear of the kinks; widen the range or shrink the margin")


def distinct(shape, seed=0, low=-2.0, high=2.0):
    """All values pairwise distinct, at least ``(high - low) / (2 n)`` apart: max/min/argmax have no ties."""
    return split_distinct([shape], seed, low, high)[0]


def split_distinct(shapes, seed=0, low=-2.0, high=2.0):
    """Several arrays whose values, taken together, are pairwise distinct (maximum/minimum without ties,
    even after broadcasting)."""
    rng = _rng(seed)
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    n = sum(sizes)
    if n == 0:
        return [np.zeros(s, dtype=np.float64) for s in shapes]
    step = (high - low) / n
    grid = low + step * (np.arange(n) + 0.5)
    vals = rng.permutation(grid) + rng.uniform(-0.25 * step, 0.25 * step, size=n)
    out, start = [], 0
    for s, k in zip(shapes, sizes):
        out.append(vals[start:start + k].reshape(s).astype(np.float64))
        start += k
    return out


# ---------------------------------------------------------------------------------------------- plumbing


def _torch():
    from conftest import require_torch
    return require_torch()


def _outputs(out):
    """One output or a tuple/namedtuple of outputs, as a list."""
    if isinstance(out, tuple):
        return list(out)
    return [out]


def _np_rl(t):
    return np.asarray(t.detach()._data)


def _np_torch(t):
    return t.detach().cpu().numpy(force=True)


def _is_float(arr):
    return arr.dtype.kind == "f"


def _zeros_for_none(grads, like):
    return [np.zeros(np.shape(x)) if g is None else g for g, x in zip(grads, like)]


def _assert_close(got, want, atol, rtol, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: relulab shape {got.shape} != torch shape {want.shape}"
    np.testing.assert_allclose(got, want, atol=atol, rtol=rtol, err_msg=what)


def _randoms(rng, shapes):
    return [rng.standard_normal(s) for s in shapes]


def _rl_grads(outs, xs, gouts, create_graph):
    """relulab.autograd.grad with None (unused input) turned into zeros."""
    grads = relulab.autograd.grad(outs, xs, gouts, create_graph=create_graph, allow_unused=True)
    return list(grads)


def _rl_leaves(arrays):
    return [relulab.tensor(np.array(a, dtype=np.float64), dtype=relulab.float64, requires_grad=True)
            for a in arrays]


def _rl_float_outputs(out):
    """The outputs that carry a gradient (floating, recorded in the graph)."""
    return [o for o in _outputs(out) if _is_float(np.asarray(o._data)) and o.requires_grad]


# ---------------------------------------------------------------------------------------------- check_op


def check_op(rl_fn, torch_fn, *arrays, atol=1e-6, rtol=1e-6, seed=1234, double_backward=True):
    """Compare relulab with torch: forward, gradient of sum(out * R), and double backward of sum(grad * V)."""
    torch = _torch()
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    rng = _rng(seed)

    xs = _rl_leaves(arrays)
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    r_outs = _outputs(rl_fn(*xs))
    t_outs = _outputs(torch_fn(*ts))
    assert len(r_outs) == len(t_outs), f"relulab gave {len(r_outs)} outputs, torch {len(t_outs)}"

    # (1) forward: values, shapes, and which outputs are floating / differentiable
    diff = []
    for k, (ro, to) in enumerate(zip(r_outs, t_outs)):
        got, want = _np_rl(ro), _np_torch(to)
        if _is_float(want):
            assert _is_float(got), f"output {k}: relulab dtype {got.dtype}, torch dtype {want.dtype}"
            _assert_close(got, want, atol, rtol, f"forward output {k}")
            assert bool(ro.requires_grad) == bool(to.requires_grad), (
                f"output {k}: relulab requires_grad={ro.requires_grad}, torch requires_grad={to.requires_grad}")
            if to.requires_grad:
                diff.append(k)
        else:
            assert got.shape == want.shape, f"output {k}: relulab shape {got.shape} != torch shape {want.shape}"
            np.testing.assert_array_equal(got, want, err_msg=f"forward output {k} (non-floating)")
            assert not ro.requires_grad, f"output {k}: a non-floating output must not require grad"
    if not diff:
        return

    # (2) gradient of sum(out * R) w.r.t. every input
    Rs = _randoms(rng, [np.shape(_np_torch(t_outs[k])) for k in diff])
    r_grads = _rl_grads([r_outs[k] for k in diff], xs,
                        [relulab.tensor(R, dtype=relulab.float64) for R in Rs], create_graph=double_backward)
    t_grads = list(torch.autograd.grad([t_outs[k] for k in diff], ts,
                                       [torch.tensor(R, dtype=torch.float64) for R in Rs],
                                       create_graph=double_backward, allow_unused=True))
    for i, (rg, tg, a) in enumerate(zip(r_grads, t_grads, arrays)):
        got = np.zeros(a.shape) if rg is None else _np_rl(rg)
        want = np.zeros(a.shape) if tg is None else _np_torch(tg)
        _assert_close(got, want, atol, rtol, f"gradient w.r.t. input {i}")
    if not double_backward:
        return

    # (3) double backward: d/dx sum_i <grad_i, V_i>
    Vs = _randoms(rng, [a.shape for a in arrays])
    r_terms = [(g * relulab.tensor(V, dtype=relulab.float64)).sum()
               for g, V in zip(r_grads, Vs) if g is not None and g.requires_grad]
    t_terms = [(g * torch.tensor(V, dtype=torch.float64)).sum()
               for g, V in zip(t_grads, Vs) if g is not None and g.requires_grad]
    r_gg = [None] * len(xs)
    if r_terms:
        total = r_terms[0]
        for term in r_terms[1:]:
            total = total + term
        r_gg = relulab.autograd.grad(total, xs, allow_unused=True)
    t_gg = [None] * len(ts)
    if t_terms:
        t_gg = torch.autograd.grad(sum(t_terms), ts, allow_unused=True)
    for i, (rg, tg, a) in enumerate(zip(r_gg, t_gg, arrays)):
        got = np.zeros(a.shape) if rg is None else _np_rl(rg)
        want = np.zeros(a.shape) if tg is None else _np_torch(tg)
        _assert_close(got, want, atol, rtol, f"double backward w.r.t. input {i}")


# ---------------------------------------------------------------------------------------------- finite differences


def _projection(rl_fn, arrays, Rs):
    """sum_k <out_k, R_k> over the floating outputs, evaluated without recording a graph."""
    with relulab.no_grad():
        xs = [relulab.tensor(a, dtype=relulab.float64) for a in arrays]
        outs = [o for o in _outputs(rl_fn(*xs)) if _is_float(np.asarray(o._data))]
        return float(sum(np.sum(_np_rl(o) * R) for o, R in zip(outs, Rs)))


def _setup(rl_fn, arrays, seed):
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    rng = _rng(seed)
    xs = _rl_leaves(arrays)
    out = rl_fn(*xs)
    floats = [o for o in _outputs(out) if _is_float(np.asarray(o._data))]
    Rs = _randoms(rng, [o.shape for o in floats])
    return arrays, rng, xs, floats, Rs


def gradcheck(rl_fn, *arrays, eps=1e-6, atol=1e-5, rtol=1e-5, seed=4321):
    """relulab's gradient of sum(out * R) against central differences, every input element."""
    arrays, rng, xs, floats, Rs = _setup(rl_fn, arrays, seed)
    used = [(o, R) for o, R in zip(floats, Rs) if o.requires_grad]
    if used:
        analytic = _rl_grads([o for o, _ in used], xs,
                             [relulab.tensor(R, dtype=relulab.float64) for _, R in used], create_graph=False)
    else:
        analytic = [None] * len(xs)
    for i, a in enumerate(arrays):
        got = np.zeros(a.shape) if analytic[i] is None else _np_rl(analytic[i])
        assert got.shape == a.shape, f"gradient w.r.t. input {i} has shape {got.shape}, input has {a.shape}"
        numeric = np.zeros(a.shape)
        flat = numeric.reshape(-1)
        for j in range(a.size):
            plus = [b.copy() for b in arrays]
            minus = [b.copy() for b in arrays]
            plus[i].reshape(-1)[j] += eps
            minus[i].reshape(-1)[j] -= eps
            flat[j] = (_projection(rl_fn, plus, Rs) - _projection(rl_fn, minus, Rs)) / (2 * eps)
        np.testing.assert_allclose(got, numeric, atol=atol, rtol=rtol,
                                   err_msg=f"analytic vs numerical gradient w.r.t. input {i}")


def _directional(rl_fn, arrays, Rs, Vs):
    """phi(x) = sum_i <d sum(out * R) / dx_i, V_i> from relulab's analytic gradient (a plain number)."""
    xs = _rl_leaves(arrays)
    outs = [o for o in _outputs(rl_fn(*xs)) if _is_float(np.asarray(o._data))]
    used = [(o, R) for o, R in zip(outs, Rs) if o.requires_grad]
    if not used:
        return 0.0
    grads = _rl_grads([o for o, _ in used], xs,
                      [relulab.tensor(R, dtype=relulab.float64) for _, R in used], create_graph=False)
    return float(sum(np.sum(_np_rl(g) * V) for g, V in zip(grads, Vs) if g is not None))


def gradgradcheck(rl_fn, *arrays, eps=1e-6, atol=1e-5, rtol=1e-5, seed=9876, directions=2):
    """Second order, HIPS/autograd style: along random directions u, the central difference of
    phi(x) = <grad(x), v> must equal <d phi/dx, u> computed by relulab's double backward."""
    arrays, rng, xs, floats, Rs = _setup(rl_fn, arrays, seed)
    used = [(o, R) for o, R in zip(floats, Rs) if o.requires_grad]
    Vs = _randoms(rng, [a.shape for a in arrays])
    if used:
        grads = _rl_grads([o for o, _ in used], xs,
                          [relulab.tensor(R, dtype=relulab.float64) for _, R in used], create_graph=True)
    else:
        grads = [None] * len(xs)
    terms = [(g * relulab.tensor(V, dtype=relulab.float64)).sum()
             for g, V in zip(grads, Vs) if g is not None and g.requires_grad]
    hv = [None] * len(xs)
    if terms:
        phi = terms[0]
        for t in terms[1:]:
            phi = phi + t
        hv = relulab.autograd.grad(phi, xs, allow_unused=True)
    hv = [np.zeros(a.shape) if h is None else _np_rl(h) for h, a in zip(hv, arrays)]
    for i, (h, a) in enumerate(zip(hv, arrays)):
        assert h.shape == a.shape, f"double backward w.r.t. input {i} has shape {h.shape}, input has {a.shape}"
    for _ in range(directions):
        Us = _randoms(rng, [a.shape for a in arrays])
        analytic = float(sum(np.sum(h * U) for h, U in zip(hv, Us)))
        plus = [a + eps * U for a, U in zip(arrays, Us)]
        minus = [a - eps * U for a, U in zip(arrays, Us)]
        numeric = (_directional(rl_fn, plus, Rs, Vs) - _directional(rl_fn, minus, Rs, Vs)) / (2 * eps)
        scale = float(sum(np.sum(np.abs(h * U)) for h, U in zip(hv, Us)))
        assert abs(analytic - numeric) <= atol + rtol * max(abs(numeric), scale), (
            f"second order: analytic <Hv, u> = {analytic!r}, numerical = {numeric!r}")
