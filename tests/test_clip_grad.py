"""relulab.nn.utils.clip_grad_norm_ / clip_grad_value_ against torch.nn.utils in float64: norm types, small and
large max_norm, a single tensor / a list / a generator, parameters without gradients, non-finite gradients, the
returned total norm, and in-place clipping.

torch only ever comes from the ``torch`` fixture / ``conftest.require_torch``.
"""
import math

import numpy as np
import pytest

import relulab
from relulab.nn.utils import clip_grad_norm_, clip_grad_value_

_RNG = np.random.default_rng(7)
SHAPES = [(4, 3), (3,), (2, 2), ()]
GRADS = [_RNG.normal(0.0, 1.5, s) for s in SHAPES]
NORM_TYPES = [pytest.param(1, id="norm1"), pytest.param(2, id="norm2"), pytest.param(2.0, id="norm2.0"),
              pytest.param(3.5, id="norm3.5"), pytest.param(math.inf, id="norm-inf"),
              pytest.param("inf", id="norm-'inf'")]
MAX_NORMS = [pytest.param(0.05, id="small"), pytest.param(1.0, id="medium"), pytest.param(1e6, id="large")]


def make_params(lib, grads=GRADS, without_grad=True):
    """Parameters with the given gradients, plus (optionally) one parameter that has none."""
    params = []
    for g in grads:
        p = lib.tensor(np.zeros(g.shape), requires_grad=True)
        p.grad = lib.tensor(np.array(g, dtype=np.float64))
        params.append(p)
    if without_grad:
        params.insert(1, lib.tensor(np.ones(5), requires_grad=True))
    return params


def grads_of(params):
    return [None if p.grad is None else np.array(p.grad.numpy()) for p in params]


def assert_grads_equal(got, want, equal_nan=False):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        if w is None:
            assert g is None
        else:
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-300, equal_nan=equal_nan)


def _wrap(params, form):
    if form == "list":
        return params
    if form == "tuple":
        return tuple(params)
    if form == "generator":
        return (p for p in params)
    raise ValueError(form)


# ---------------------------------------------------------------------------------------------- clip_grad_norm_
@pytest.mark.parametrize("max_norm", MAX_NORMS)
@pytest.mark.parametrize("norm_type", NORM_TYPES)
@pytest.mark.parametrize("form", ["list", "tuple", "generator"])
def test_clip_grad_norm_matches_torch(torch, norm_type, max_norm, form):
    rp, tp = make_params(relulab), make_params(torch)
    total = clip_grad_norm_(_wrap(rp, form), max_norm, norm_type=norm_type)
    want = torch.nn.utils.clip_grad_norm_(_wrap(tp, form), max_norm, norm_type=norm_type)
    assert total.dtype == relulab.float64 and tuple(total.shape) == ()
    np.testing.assert_allclose(total.item(), want.item(), rtol=1e-12)
    assert_grads_equal(grads_of(rp), grads_of(tp))
    assert rp[1].grad is None  # the parameter without a gradient is ignored and left alone


@pytest.mark.parametrize("max_norm", MAX_NORMS)
@pytest.mark.parametrize("norm_type", NORM_TYPES)
def test_clip_grad_norm_single_tensor_matches_torch(torch, norm_type, max_norm):
    rp, tp = make_params(relulab, GRADS[:1], False)[0], make_params(torch, GRADS[:1], False)[0]
    total = clip_grad_norm_(rp, max_norm, norm_type)
    want = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type)
    np.testing.assert_allclose(total.item(), want.item(), rtol=1e-12)
    np.testing.assert_allclose(rp.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("norm_type", NORM_TYPES)
def test_returned_total_norm_is_the_norm_before_clipping(norm_type):
    rp = make_params(relulab)
    flat = np.concatenate([g.ravel() for g in GRADS])
    p = float(norm_type)
    expected = np.max(np.abs(flat)) if math.isinf(p) else np.sum(np.abs(flat) ** p) ** (1 / p)
    total = clip_grad_norm_(rp, 0.1, norm_type)
    np.testing.assert_allclose(total.item(), expected, rtol=1e-12)
    clipped = np.concatenate([p_.grad.numpy().ravel() for p_ in rp if p_.grad is not None])
    after = np.max(np.abs(clipped)) if math.isinf(p) else np.sum(np.abs(clipped) ** p) ** (1 / p)
    assert after <= 0.1 * (1 + 1e-9)
    np.testing.assert_allclose(after, 0.1 * expected / (expected + 1e-6), rtol=1e-12)  # scale max/(total+1e-6)
    np.testing.assert_allclose(clipped / flat, 0.1 / (expected + 1e-6), rtol=1e-12)  # one common scale


def test_large_max_norm_leaves_grads_untouched():
    rp = make_params(relulab)
    clip_grad_norm_(rp, 1e9)
    assert_grads_equal(grads_of(rp), [GRADS[0], None, *GRADS[1:]])
    for got, want in zip([p for p in rp if p.grad is not None], GRADS):
        assert np.array_equal(got.grad.numpy(), want)  # exactly: the scale is capped at 1


def test_clip_grad_norm_is_in_place():
    rp = make_params(relulab)
    refs = [p.grad for p in rp]
    arrays = [None if g is None else g.numpy() for g in refs]
    clip_grad_norm_(rp, 0.1)
    for p, ref, arr in zip(rp, refs, arrays):
        assert p.grad is ref
        if ref is not None:
            assert np.array_equal(arr, ref.numpy())  # the array seen through an earlier .numpy() changed too
    before = np.concatenate([g.ravel() for g in GRADS])
    after = np.concatenate([p.grad.numpy().ravel() for p in rp if p.grad is not None])
    assert np.linalg.norm(after) < np.linalg.norm(before)


def test_clip_grad_norm_zero_grads(torch):
    zeros = [np.zeros(s) for s in SHAPES]
    rp, tp = make_params(relulab, zeros), make_params(torch, zeros)
    total = clip_grad_norm_(rp, 1.0)
    want = torch.nn.utils.clip_grad_norm_(tp, 1.0)
    assert total.item() == want.item() == 0.0
    assert_grads_equal(grads_of(rp), grads_of(tp))


def test_clip_grad_norm_no_grads_returns_zero(torch):
    p = relulab.tensor(np.ones(3), requires_grad=True)
    total = clip_grad_norm_([p], 1.0)
    want = torch.nn.utils.clip_grad_norm_([torch.ones(3, requires_grad=True)], 1.0)
    assert total.item() == want.item() == 0.0
    assert p.grad is None
    assert clip_grad_norm_([], 1.0).item() == 0.0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("norm_type", [1, 2, 3.5, math.inf])
def test_nonfinite_grad_with_error_if_nonfinite_raises(torch, bad, norm_type):
    grads = [g.copy() for g in GRADS]
    grads[0][1, 2] = bad
    rp, tp = make_params(relulab, grads), make_params(torch, grads)
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(tp, 1.0, norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="nan|inf"):
        clip_grad_norm_(rp, 1.0, norm_type, error_if_nonfinite=True)
    assert_grads_equal(grads_of(rp), grads_of(make_params(relulab, grads)), equal_nan=True)  # left untouched


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply:RuntimeWarning")  # inf * 0 -> nan
@pytest.mark.parametrize("bad", [math.nan, math.inf])
@pytest.mark.parametrize("norm_type", [1, 2, math.inf])
def test_nonfinite_grad_without_error_matches_torch(torch, bad, norm_type):
    grads = [g.copy() for g in GRADS]
    grads[2][0, 1] = bad
    rp, tp = make_params(relulab, grads), make_params(torch, grads)
    total = clip_grad_norm_(rp, 1.0, norm_type)  # error_if_nonfinite defaults to False
    want = torch.nn.utils.clip_grad_norm_(tp, 1.0, norm_type)
    np.testing.assert_equal(total.item(), want.item())
    assert_grads_equal(grads_of(rp), grads_of(tp), equal_nan=True)


def test_clip_grad_norm_through_a_module(torch):
    """The everyday call: clip_grad_norm_(model.parameters(), max_norm) after backward."""
    rng = np.random.default_rng(3)
    state = {"weight": rng.normal(size=(4, 6)), "bias": rng.normal(size=(4,))}
    x = rng.normal(size=(8, 6))
    rm = relulab.nn.Linear(6, 4).double()
    rm.load_state_dict(state)
    tm = torch.nn.Linear(6, 4).double()
    tm.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    (rm(relulab.tensor(x)) ** 2).sum().backward()
    (tm(torch.tensor(x)) ** 2).sum().backward()
    total = clip_grad_norm_(rm.parameters(), 0.5)
    want = torch.nn.utils.clip_grad_norm_(tm.parameters(), 0.5)
    np.testing.assert_allclose(total.item(), want.item(), rtol=1e-12)
    for p, q in zip(rm.parameters(), tm.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------------------------- clip_grad_value_
@pytest.mark.parametrize("clip_value", [0.0, 0.05, 0.7, 2, 100.0])
@pytest.mark.parametrize("form", ["list", "tuple", "generator"])
def test_clip_grad_value_matches_torch(torch, clip_value, form):
    rp, tp = make_params(relulab), make_params(torch)
    assert clip_grad_value_(_wrap(rp, form), clip_value) is None
    torch.nn.utils.clip_grad_value_(_wrap(tp, form), clip_value)
    assert_grads_equal(grads_of(rp), grads_of(tp))
    for p in rp:
        if p.grad is not None:
            assert np.abs(p.grad.numpy()).max() <= clip_value


def test_clip_grad_value_single_tensor_matches_torch(torch):
    rp, tp = make_params(relulab, GRADS[:1], False)[0], make_params(torch, GRADS[:1], False)[0]
    clip_grad_value_(rp, 0.5)
    torch.nn.utils.clip_grad_value_(tp, 0.5)
    np.testing.assert_array_equal(rp.grad.numpy(), tp.grad.numpy())


def test_clip_grad_value_is_in_place():
    rp = make_params(relulab)
    refs = [p.grad for p in rp]
    arrays = [None if g is None else g.numpy() for g in refs]
    clip_grad_value_(rp, 0.3)
    for p, ref, arr in zip(rp, refs, arrays):
        assert p.grad is ref
        if ref is not None:
            assert np.abs(ref.numpy()).max() <= 0.3
            assert np.array_equal(arr, ref.numpy())
    assert rp[1].grad is None


def test_clip_grad_value_nan_passes_through(torch):
    grads = [g.copy() for g in GRADS]
    grads[0][0, 0] = math.nan
    grads[0][0, 1] = math.inf
    rp, tp = make_params(relulab, grads), make_params(torch, grads)
    clip_grad_value_(rp, 0.5)
    torch.nn.utils.clip_grad_value_(tp, 0.5)
    assert_grads_equal(grads_of(rp), grads_of(tp), equal_nan=True)
