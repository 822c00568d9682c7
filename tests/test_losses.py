"""Losses against torch in float64: forward, gradient w.r.t. the input, and double backward.

Every configuration is run in two forms: the ``relulab.nn`` module (``CrossEntropyLoss(...)(x, t)``) and the
``relulab.nn.functional`` function (``F.cross_entropy(x, t, ...)``), against ``torch.nn.functional``.
torch only ever comes from the ``torch`` fixture / ``conftest.require_torch``.
"""
import warnings

import numpy as np
import pytest

import relulab
import relulab.nn as rnn
import relulab.nn.functional as F
from opcheck import check_op, gradcheck, gradgradcheck

REDUCTIONS = ["mean", "sum", "none"]
FORMS = ["module", "functional"]
ATOL = RTOL = 1e-9


# ---------------------------------------------------------------------------------------------- helpers


def rl64(a):
    return relulab.tensor(np.asarray(a, dtype=np.float64), dtype=relulab.float64)


def rl_long(a):
    return relulab.tensor(np.asarray(a, dtype=np.int64))


def t64(torch, a):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64)


def t_long(torch, a):
    return torch.tensor(np.asarray(a, dtype=np.int64))


def softmax_np(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def rl_loss(name, form, reduction, **kw):
    """A relulab loss callable(input, target) in module or functional form."""
    kw = {k: v for k, v in kw.items() if v is not None}
    modules = {"l1": rnn.L1Loss, "mse": rnn.MSELoss, "ce": rnn.CrossEntropyLoss, "nll": rnn.NLLLoss,
               "bcel": rnn.BCEWithLogitsLoss, "bce": rnn.BCELoss}
    funcs = {"l1": F.l1_loss, "mse": F.mse_loss, "ce": F.cross_entropy, "nll": F.nll_loss,
             "bcel": F.binary_cross_entropy_with_logits, "bce": F.binary_cross_entropy}
    if form == "module":
        return modules[name](reduction=reduction, **kw)
    fn = funcs[name]
    return lambda x, t: fn(x, t, reduction=reduction, **kw)


def torch_loss(torch, name, reduction, **kw):
    kw = {k: v for k, v in kw.items() if v is not None}
    tf = torch.nn.functional
    funcs = {"l1": tf.l1_loss, "mse": tf.mse_loss, "ce": tf.cross_entropy, "nll": tf.nll_loss,
             "bcel": tf.binary_cross_entropy_with_logits, "bce": tf.binary_cross_entropy}
    fn = funcs[name]
    return lambda x, t: fn(x, t, reduction=reduction, **kw)


def class_shape(shape):
    """The index-target shape for an input shape: (C,) -> (), (N, C, d...) -> (N, d...)."""
    return () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])


def class_dim(shape):
    return 0 if len(shape) == 1 else 1


# ---------------------------------------------------------------------------------------------- L1 / MSE


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["l1", "mse"])
@pytest.mark.parametrize("shape", [(7,), (4, 3), (2, 3, 4)])
def test_regression_losses_match_torch(torch, name, shape, reduction, form):
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, shape)
    y = x + rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 1.0, shape)  # |x - y| >= 0.1: clear of l1's kink
    tgt_rl, tgt_t = rl64(y), t64(torch, y)
    rl_fn, t_fn = rl_loss(name, form, reduction), torch_loss(torch, name, reduction)
    check_op(lambda a: rl_fn(a, tgt_rl), lambda a: t_fn(a, tgt_t), x, atol=ATOL, rtol=RTOL)
    # gradient w.r.t. both input and target
    check_op(lambda a, b: rl_fn(a, b), lambda a, b: t_fn(a, b), x, y, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("name", ["l1", "mse"])
def test_regression_losses_broadcast_warns_like_torch(torch, name):
    x, y = np.ones((4, 1)), np.arange(4.0)
    fn = {"l1": F.l1_loss, "mse": F.mse_loss}[name]
    tfn = {"l1": torch.nn.functional.l1_loss, "mse": torch.nn.functional.mse_loss}[name]
    with pytest.warns(UserWarning, match="size"):
        got = fn(rl64(x), rl64(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = tfn(t64(torch, x), t64(torch, y))
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-12)


# ---------------------------------------------------------------------------------------------- cross-entropy, indices

CE_SHAPES = [(5,), (6, 5), (2, 4, 3, 2)]


def _ce_index_case(shape, ignore, seed=3):
    rng = np.random.default_rng(seed)
    C = shape[class_dim(shape)]
    x = rng.normal(0, 1.5, shape)
    tgt = rng.integers(0, C, class_shape(shape))
    if ignore and tgt.ndim:
        flat = tgt.reshape(-1)
        flat[::3] = 1 if ignore == "class" else -100  # ignore roughly a third of the targets
    return x, np.asarray(tgt, dtype=np.int64), C


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("shape", CE_SHAPES)
def test_cross_entropy_indices(torch, shape, smoothing, use_weight, reduction, form):
    x, tgt, C = _ce_index_case(shape, ignore=False)
    w = np.linspace(0.3, 2.0, C) if use_weight else None
    rl_fn = rl_loss("ce", form, reduction, weight=None if w is None else rl64(w), label_smoothing=smoothing)
    t_fn = torch_loss(torch, "ce", reduction, weight=None if w is None else t64(torch, w), label_smoothing=smoothing)
    tr, tt = rl_long(tgt), t_long(torch, tgt)
    check_op(lambda a: rl_fn(a, tr), lambda a: t_fn(a, tt), x, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("shape", [(6, 5), (2, 4, 3, 2)])
def test_cross_entropy_ignore_index(torch, shape, ignore_index, smoothing, use_weight, reduction, form):
    x, tgt, C = _ce_index_case(shape, ignore="class" if ignore_index == 1 else "default")
    assert (tgt == ignore_index).any() and (tgt != ignore_index).any()
    w = np.linspace(0.3, 2.0, C) if use_weight else None
    kw = dict(ignore_index=ignore_index, label_smoothing=smoothing)
    rl_fn = rl_loss("ce", form, reduction, weight=None if w is None else rl64(w), **kw)
    t_fn = torch_loss(torch, "ce", reduction, weight=None if w is None else t64(torch, w), **kw)
    tr, tt = rl_long(tgt), t_long(torch, tgt)
    check_op(lambda a: rl_fn(a, tr), lambda a: t_fn(a, tt), x, atol=ATOL, rtol=RTOL)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy warns on log(0) and 0/0
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_all_targets_ignored(torch, reduction):
    x = np.random.default_rng(0).normal(size=(3, 4))
    tgt = np.full(3, -100)
    got = F.cross_entropy(rl64(x), rl_long(tgt), reduction=reduction)
    want = torch.nn.functional.cross_entropy(t64(torch, x), t_long(torch, tgt), reduction=reduction)
    np.testing.assert_allclose(got.detach().numpy(), want.numpy())  # mean: nan (0/0) in both


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("shape", CE_SHAPES)
def test_cross_entropy_probabilities(torch, shape, smoothing, use_weight, reduction, form):
    rng = np.random.default_rng(5)
    cd = class_dim(shape)
    C = shape[cd]
    x = rng.normal(0, 1.5, shape)
    p = softmax_np(rng.normal(0, 2.0, shape), axis=cd)
    w = np.linspace(0.3, 2.0, C) if use_weight else None
    rl_fn = rl_loss("ce", form, reduction, weight=None if w is None else rl64(w), label_smoothing=smoothing)
    t_fn = torch_loss(torch, "ce", reduction, weight=None if w is None else t64(torch, w), label_smoothing=smoothing)
    pr, pt = rl64(p), t64(torch, p)
    check_op(lambda a: rl_fn(a, pr), lambda a: t_fn(a, pt), x, atol=ATOL, rtol=RTOL)
    # soft targets are differentiable too: gradient w.r.t. input and target
    check_op(lambda a, b: rl_fn(a, b), lambda a, b: t_fn(a, b), x, p, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("form", FORMS)
def test_cross_entropy_extreme_logits_finite(torch, form):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, -1e4], [1e4, 1e4, 1e4]])
    tgt = np.array([1, 0, 2, 2])
    for reduction in REDUCTIONS:
        rl_fn = rl_loss("ce", form, reduction)
        xr = rl64(x).requires_grad_(True)
        out = rl_fn(xr, rl_long(tgt))
        assert np.all(np.isfinite(out.detach().numpy())), out
        check_op(lambda a: rl_fn(a, rl_long(tgt)),
                 lambda a: torch_loss(torch, "ce", reduction)(a, t_long(torch, tgt)), x, atol=1e-6, rtol=1e-9)
        # probability targets with the same logits
        p = np.array([[0.2, 0.5, 0.3]] * 4)
        check_op(lambda a: rl_fn(a, rl64(p)),
                 lambda a: torch_loss(torch, "ce", reduction)(a, t64(torch, p)), x, atol=1e-6, rtol=1e-9)
    big = F.cross_entropy(rl64(x).requires_grad_(True), rl_long(tgt))
    big.backward()
    assert np.isfinite(big.item())


def test_cross_entropy_module_holds_options(torch):
    w = rl64([1.0, 2.0, 0.5])
    m = rnn.CrossEntropyLoss(weight=w, ignore_index=2, reduction="sum", label_smoothing=0.1)
    assert m.reduction == "sum" and m.ignore_index == 2 and m.label_smoothing == 0.1 and m.weight is w
    d = rnn.CrossEntropyLoss()
    assert d.reduction == "mean" and d.ignore_index == -100 and d.label_smoothing == 0.0 and d.weight is None
    assert str(d) == str(torch.nn.CrossEntropyLoss())
    assert list(d.parameters()) == []


# ---------------------------------------------------------------------------------------------- NLL


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("shape,ignore", [(s, i) for s in CE_SHAPES for i in (False, True)
                                          if not (i and len(s) == 1)])  # one unbatched target: no partial ignore
def test_nll_loss(torch, shape, ignore, use_weight, reduction, form):
    x, tgt, C = _ce_index_case(shape, ignore="default" if ignore else False, seed=11)
    logp = np.log(softmax_np(x, axis=class_dim(shape)))
    w = np.linspace(0.3, 2.0, C) if use_weight else None
    rl_fn = rl_loss("nll", form, reduction, weight=None if w is None else rl64(w))
    t_fn = torch_loss(torch, "nll", reduction, weight=None if w is None else t64(torch, w))
    tr, tt = rl_long(tgt), t_long(torch, tgt)
    check_op(lambda a: rl_fn(a, tr), lambda a: t_fn(a, tt), logp, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_custom_ignore_index_with_weight(torch, reduction):
    x, tgt, C = _ce_index_case((8, 4), ignore="class", seed=12)
    w = np.array([0.5, 3.0, 1.0, 2.0])
    check_op(lambda a: F.nll_loss(a, rl_long(tgt), rl64(w), ignore_index=1, reduction=reduction),
             lambda a: torch.nn.functional.nll_loss(a, t_long(torch, tgt), t64(torch, w), ignore_index=1,
                                                    reduction=reduction),
             x, atol=ATOL, rtol=RTOL)


def test_log_softmax_then_nll_equals_cross_entropy(torch):
    x, tgt, _ = _ce_index_case((6, 5), ignore=False)
    xr = rl64(x)
    a = F.nll_loss(F.log_softmax(xr, dim=1), rl_long(tgt))
    b = F.cross_entropy(xr, rl_long(tgt))
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-12)


# ---------------------------------------------------------------------------------------------- BCE


def _bce_case(seed=7):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 2.0, (5, 4))
    x[0, :] = 0.0  # logits exactly 0
    x[2, 1] = 0.0
    y = rng.uniform(0, 1, (5, 4))
    y[1, :] = [0.0, 1.0, 0.0, 1.0]  # hard labels too
    y[0, :2] = [0.0, 1.0]
    return x, y


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, "per_class", "full"])
@pytest.mark.parametrize("pos_weight", [None, "per_class", "scalar_like"])
def test_bce_with_logits(torch, pos_weight, weight, reduction, form):
    x, y = _bce_case()
    w = {None: None, "per_class": np.array([0.5, 1.0, 2.0, 3.0]),
         "full": np.random.default_rng(8).uniform(0.2, 2.0, (5, 4))}[weight]
    pw = {None: None, "per_class": np.array([1.0, 2.5, 0.3, 4.0]), "scalar_like": np.array([3.0])}[pos_weight]
    rl_fn = rl_loss("bcel", form, reduction, weight=None if w is None else rl64(w),
                    pos_weight=None if pw is None else rl64(pw))
    t_fn = torch_loss(torch, "bcel", reduction, weight=None if w is None else t64(torch, w),
                      pos_weight=None if pw is None else t64(torch, pw))
    yr, yt = rl64(y), t64(torch, y)
    check_op(lambda a: rl_fn(a, yr), lambda a: t_fn(a, yt), x, atol=ATOL, rtol=RTOL)
    # gradient w.r.t. input and target
    check_op(lambda a, b: rl_fn(a, b), lambda a, b: t_fn(a, b), x, y, atol=ATOL, rtol=RTOL)


def test_bce_with_logits_zero_logits_value(torch):
    x = rl64(np.zeros(4)).requires_grad_(True)
    y = rl64([0.0, 1.0, 0.5, 1.0])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), np.full(4, np.log(2.0)), rtol=1e-14)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.5 - y.numpy(), rtol=1e-14)


def test_bce_with_logits_extreme_logits_finite(torch):
    x = np.array([1e4, -1e4, 800.0, -800.0, 0.0])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    for reduction in REDUCTIONS:
        got = F.binary_cross_entropy_with_logits(rl64(x), rl64(y), reduction=reduction)
        assert np.all(np.isfinite(got.numpy()))
        check_op(lambda a: F.binary_cross_entropy_with_logits(a, rl64(y), reduction=reduction),
                 lambda a: torch.nn.functional.binary_cross_entropy_with_logits(a, t64(torch, y),
                                                                                reduction=reduction),
                 x, atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("use_weight", [False, True])
def test_bce(torch, use_weight, reduction, form):
    rng = np.random.default_rng(9)
    p = rng.uniform(0.05, 0.95, (5, 4))
    y = rng.uniform(0, 1, (5, 4))
    y[0] = [0.0, 1.0, 1.0, 0.0]
    w = np.array([0.5, 1.0, 2.0, 3.0]) if use_weight else None
    rl_fn = rl_loss("bce", form, reduction, weight=None if w is None else rl64(w))
    t_fn = torch_loss(torch, "bce", reduction, weight=None if w is None else t64(torch, w))
    yr, yt = rl64(y), t64(torch, y)
    check_op(lambda a: rl_fn(a, yr), lambda a: t_fn(a, yt), p, atol=ATOL, rtol=RTOL)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy warns on log(0) and 0/0
def test_bce_saturated_probabilities_clamped_like_torch(torch):
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    got = F.binary_cross_entropy(rl64(p), rl64(y), reduction="none")
    want = torch.nn.functional.binary_cross_entropy(t64(torch, p), t64(torch, y), reduction="none")
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)  # logs clamped at -100
    assert np.all(np.isfinite(got.numpy()))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy warns on log(0) and 0/0
def test_bce_saturated_probabilities_gradient_finite(torch):
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    pr = rl64(p).requires_grad_(True)
    F.binary_cross_entropy(pr, rl64(y)).backward()
    pt = t64(torch, p).requires_grad_(True)
    torch.nn.functional.binary_cross_entropy(pt, t64(torch, y)).backward()
    assert np.all(np.isfinite(pr.grad.numpy())), pr.grad
    # the confident-and-right entries (p == y) get exactly torch's zero gradient, the others torch's finite one
    np.testing.assert_allclose(pr.grad.numpy()[2:], pt.grad.numpy()[2:], atol=1e-12)


# ---------------------------------------------------------------------------------------------- finite differences


GRADCHECK_CASES = {
    "ce_idx_weight_smooth_ignore": lambda: (
        lambda a: F.cross_entropy(a, rl_long([0, 2, -100, 1]), rl64([0.5, 2.0, 1.0]), label_smoothing=0.1),
        np.random.default_rng(0).normal(size=(4, 3))),
    "ce_idx_4d_sum": lambda: (
        lambda a: F.cross_entropy(a, rl_long(np.random.default_rng(1).integers(0, 3, (2, 2, 2))), reduction="sum"),
        np.random.default_rng(1).normal(size=(2, 3, 2, 2))),
    "ce_probs_none": lambda: (
        lambda a: F.cross_entropy(a, rl64(softmax_np(np.arange(12.0).reshape(4, 3) / 5, 1)), reduction="none",
                                  weight=rl64([1.0, 0.3, 2.0])),
        np.random.default_rng(2).normal(size=(4, 3))),
    "nll_weight": lambda: (
        lambda a: F.nll_loss(a, rl_long([0, 2, 1, 2]), rl64([0.5, 2.0, 1.0])),
        np.random.default_rng(3).normal(size=(4, 3))),
    "bcel_pos_weight": lambda: (
        lambda a: F.binary_cross_entropy_with_logits(a, rl64([[0.0, 1.0, 0.3], [1.0, 0.2, 0.0]]),
                                                     rl64([1.0, 0.5, 2.0]), pos_weight=rl64([2.0, 0.5, 3.0])),
        np.array([[0.0, 1.5, -2.0], [0.7, 0.0, -0.3]])),
    "bce_weight": lambda: (
        lambda a: F.binary_cross_entropy(a, rl64([[0.0, 1.0, 0.3], [1.0, 0.2, 0.0]]), rl64([1.0, 0.5, 2.0])),
        np.array([[0.2, 0.6, 0.9], [0.4, 0.5, 0.1]])),
    "mse_sum": lambda: (lambda a: F.mse_loss(a, rl64(np.ones((3, 2))), reduction="sum"),
                        np.random.default_rng(4).normal(size=(3, 2))),
    "l1_mean": lambda: (lambda a: F.l1_loss(a, rl64(np.zeros((3, 2)))),
                        np.array([[0.5, -0.3], [1.2, -2.0], [0.1, 0.7]])),
}


@pytest.mark.parametrize("case", sorted(GRADCHECK_CASES))
def test_gradcheck_finite_differences(case):
    fn, x = GRADCHECK_CASES[case]()
    gradcheck(fn, x)
    gradgradcheck(fn, x)


# ---------------------------------------------------------------------------------------------- errors


def test_cross_entropy_probability_target_wrong_shape():
    x = rl64(np.zeros((4, 3)))
    with pytest.raises((ValueError, RuntimeError), match=r"\(4, 5\)") as e:
        F.cross_entropy(x, rl64(np.full((4, 5), 0.2)))
    assert "(4, 3)" in str(e.value)
    with pytest.raises((ValueError, RuntimeError), match=r"\(4, 5\)"):
        rnn.CrossEntropyLoss()(x, rl64(np.full((4, 5), 0.2)))


def test_cross_entropy_float_target_where_indices_expected():
    # a float target shaped like index labels: neither valid probabilities nor valid indices
    x = rl64(np.zeros((4, 3)))
    with pytest.raises((ValueError, RuntimeError), match=r"\(4,\)") as e:
        F.cross_entropy(x, rl64([0.0, 1.0, 2.0, 1.0]))
    assert "(4, 3)" in str(e.value)


def test_nll_loss_float_target_rejected():
    x = rl64(np.zeros((4, 3)))
    with pytest.raises((ValueError, RuntimeError), match="int"):
        F.nll_loss(x, rl64([0.0, 1.0, 2.0, 1.0]))


def test_index_target_wrong_shape():
    x = rl64(np.zeros((4, 3)))
    with pytest.raises((ValueError, RuntimeError), match=r"\(5,\)"):
        F.cross_entropy(x, rl_long([0, 1, 2, 1, 0]))
    with pytest.raises((ValueError, RuntimeError), match=r"\(4, 1\)"):
        F.nll_loss(x, rl_long([[0], [1], [2], [1]]))


@pytest.mark.parametrize("bad", [3, 7, -1, -5])
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_target_index_out_of_range(fn, bad):
    x = rl64(np.zeros((4, 3)))
    with pytest.raises(IndexError, match=str(bad)):
        getattr(F, fn)(x, rl_long([0, bad, 1, 2]))
    with pytest.raises(IndexError, match=str(bad)):
        getattr(F, fn)(rl64(np.zeros((2, 3, 2))), rl_long([[0, 1], [bad, 2]]))


def test_target_out_of_range_but_ignored_is_fine(torch):
    x = np.random.default_rng(0).normal(size=(3, 4))
    got = F.cross_entropy(rl64(x), rl_long([0, 7, 2]), ignore_index=7)
    want = torch.nn.functional.cross_entropy(t64(torch, x), t_long(torch, [0, 7, 2]), ignore_index=7)
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-12)


LOSS_CLASSES = [rnn.L1Loss, rnn.MSELoss, rnn.CrossEntropyLoss, rnn.NLLLoss, rnn.BCEWithLogitsLoss, rnn.BCELoss]


@pytest.mark.parametrize("cls", LOSS_CLASSES, ids=lambda c: c.__name__)
def test_invalid_reduction_module(cls):
    with pytest.raises(ValueError, match="avg"):
        cls(reduction="avg")


@pytest.mark.parametrize("name", ["l1_loss", "mse_loss", "cross_entropy", "nll_loss",
                                  "binary_cross_entropy_with_logits", "binary_cross_entropy"])
def test_invalid_reduction_functional(name):
    x = rl64(np.full((2, 3), 0.5))
    t = rl_long([0, 1]) if name in ("cross_entropy", "nll_loss") else rl64(np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match="elementwise"):
        getattr(F, name)(x, t, reduction="elementwise")


@pytest.mark.parametrize("weight_shape", [(4,), (2,), (3, 1), (1, 3)])
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_wrong_weight_shape(fn, weight_shape):
    x = rl64(np.zeros((4, 3)))
    with pytest.raises((ValueError, RuntimeError), match=r"weight"):
        getattr(F, fn)(x, rl_long([0, 1, 2, 1]), weight=rl64(np.ones(weight_shape)))


def test_wrong_weight_shape_probability_target():
    x = rl64(np.zeros((4, 3)))
    with pytest.raises((ValueError, RuntimeError), match=r"weight"):
        F.cross_entropy(x, rl64(np.full((4, 3), 1 / 3)), weight=rl64(np.ones(4)))


@pytest.mark.parametrize("fn", ["binary_cross_entropy_with_logits", "binary_cross_entropy"])
def test_bce_target_wrong_shape(fn):
    x = rl64(np.full((4, 3), 0.5))
    with pytest.raises((ValueError, RuntimeError), match=r"\(4, 1\)"):
        getattr(F, fn)(x, rl64(np.full((4, 1), 0.5)))


def test_label_smoothing_out_of_range():
    x = rl64(np.zeros((2, 3)))
    for eps in (-0.1, 1.5):
        with pytest.raises(ValueError, match="label_smoothing"):
            F.cross_entropy(x, rl_long([0, 1]), label_smoothing=eps)


def test_zero_dim_input_rejected():
    with pytest.raises((ValueError, RuntimeError)):
        F.cross_entropy(rl64(1.0), rl_long(0))


def test_ignore_index_with_probability_target_rejected(torch):
    x = np.random.default_rng(0).normal(size=(3, 4))
    p = np.full((3, 4), 0.25)
    with pytest.raises(RuntimeError, match="ignore_index"):
        torch.nn.functional.cross_entropy(t64(torch, x), t64(torch, p), ignore_index=1)
    with pytest.raises((ValueError, RuntimeError), match="ignore_index"):
        F.cross_entropy(rl64(x), rl64(p), ignore_index=1)
