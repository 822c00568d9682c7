"""Convolution, pooling and batch norm against torch (forward, gradient, double backward), in float64.

* ``F.conv2d`` over a table of ~40 configurations (shapes, kernels, stride, padding int/tuple/'same'/'valid',
  dilation, groups incl. depthwise, bias, unbatched input), ``nn.Conv2d`` with every padding mode, finite
  difference checks, and a hypothesis property over random configurations.
* ``max_pool2d`` (overlaps, padding, dilation, ceil mode, indices), ``avg_pool2d`` (count_include_pad,
  divisor_override, ceil mode) and ``adaptive_avg_pool2d`` (dividing and non-dividing sizes).
* ``BatchNorm1d``/``BatchNorm2d``: training steps, running statistics, eval, momentum=None, affine=False,
  track_running_stats=False, gradients and double backward, state_dict keys.
* A LeNet-like CNN: forward, parameter gradients and the exact Hessian w.r.t. a conv weight.
* Error messages and reprs.

torch always comes from the ``torch`` fixture / ``conftest.require_torch`` (never imported at module level).
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import relulab as rl
import relulab.nn as nn
import relulab.nn.functional as F
from conftest import require_torch
from opcheck import check_op, distinct, gradcheck, gradgradcheck, smooth

F64 = np.float64

# torch's own note on padding='same' with an even kernel (it pads a copy); not a relulab matter
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")


def _t(torch, a, requires_grad=False):
    return torch.tensor(np.asarray(a, dtype=F64), dtype=torch.float64, requires_grad=requires_grad)


def _r(a, requires_grad=False):
    return rl.tensor(np.asarray(a, dtype=F64), dtype=rl.float64, requires_grad=requires_grad)


def _np(t):
    """relulab or torch tensor → numpy array."""
    if hasattr(t, "_data"):
        return np.asarray(t.detach()._data)
    return t.detach().cpu().numpy()


def _close(got, want, atol=1e-10, rtol=1e-10, what=""):
    got, want = _np(got), _np(want)
    assert got.shape == want.shape, f"{what}: relulab shape {got.shape} != torch shape {want.shape}"
    np.testing.assert_allclose(got, want, atol=atol, rtol=rtol, err_msg=what)


# ============================================================================================ F.conv2d table
def _conv_case(id, x, w, bias=True, stride=1, padding=0, dilation=1, groups=1, seed=0):
    """x: input shape (3-D = unbatched), w: weight shape (out, in/groups, kh, kw)."""
    return pytest.param(x, w, bias, stride, padding, dilation, groups, seed, id=id)


CONV_CASES = [
    _conv_case("basic", (2, 3, 7, 7), (4, 3, 3, 3)),
    _conv_case("1x1_kernel", (2, 3, 5, 5), (5, 3, 1, 1)),
    _conv_case("1x1_input_1x1_kernel", (3, 2, 1, 1), (3, 2, 1, 1)),
    _conv_case("1x1_input_padded", (1, 2, 1, 1), (3, 2, 3, 3), padding=1),
    _conv_case("kernel_eq_input", (2, 2, 4, 4), (3, 2, 4, 4)),
    _conv_case("nonsquare_input", (2, 3, 5, 9), (2, 3, 3, 3)),
    _conv_case("nonsquare_kernel", (2, 2, 7, 6), (3, 2, 2, 5)),
    _conv_case("nonsquare_both", (1, 3, 9, 4), (2, 3, 5, 2), seed=1),
    _conv_case("no_bias", (2, 3, 6, 6), (4, 3, 3, 3), bias=False),
    _conv_case("stride2", (2, 3, 8, 8), (4, 3, 3, 3), stride=2),
    _conv_case("stride3", (2, 2, 9, 9), (3, 2, 2, 2), stride=3),
    _conv_case("stride_tuple_12", (2, 2, 7, 8), (3, 2, 3, 3), stride=(1, 2)),
    _conv_case("stride_tuple_31", (1, 3, 9, 6), (2, 3, 3, 2), stride=(3, 1)),
    _conv_case("stride_gt_kernel", (2, 2, 9, 9), (2, 2, 1, 1), stride=3),
    _conv_case("stride_leaves_remainder", (2, 2, 8, 7), (3, 2, 3, 2), stride=(2, 3)),
    _conv_case("pad1", (2, 3, 5, 5), (4, 3, 3, 3), padding=1),
    _conv_case("pad2_k5", (2, 2, 6, 6), (3, 2, 5, 5), padding=2),
    _conv_case("pad_tuple", (2, 2, 5, 6), (3, 2, 3, 3), padding=(2, 0)),
    _conv_case("pad_tuple_stride", (2, 2, 7, 5), (3, 2, 3, 4), stride=(2, 3), padding=(1, 2)),
    _conv_case("pad_larger_than_half", (1, 2, 3, 3), (2, 2, 2, 2), padding=3),
    _conv_case("same_k3", (2, 3, 6, 6), (4, 3, 3, 3), padding="same"),
    _conv_case("same_k4_even", (2, 2, 5, 5), (3, 2, 4, 4), padding="same"),
    _conv_case("same_nonsquare_k", (2, 2, 6, 7), (3, 2, 2, 5), padding="same"),
    _conv_case("same_dilated", (2, 2, 7, 7), (2, 2, 3, 2), padding="same", dilation=(2, 3)),
    _conv_case("same_1x1_input", (2, 2, 1, 1), (3, 2, 3, 3), padding="same"),
    _conv_case("valid", (2, 3, 6, 5), (2, 3, 3, 3), padding="valid"),
    _conv_case("valid_stride", (2, 3, 7, 7), (2, 3, 3, 3), stride=2, padding="valid"),
    _conv_case("dilation2", (2, 2, 7, 7), (3, 2, 3, 3), dilation=2),
    _conv_case("dilation3_pad", (1, 2, 6, 6), (2, 2, 3, 3), dilation=3, padding=2),
    _conv_case("dilation_tuple", (2, 2, 8, 9), (2, 2, 2, 3), dilation=(3, 2), stride=(2, 1)),
    _conv_case("dilation_stride_pad", (2, 3, 9, 8), (4, 3, 3, 3), stride=2, padding=1, dilation=2),
    _conv_case("groups2", (2, 4, 6, 6), (6, 2, 3, 3), groups=2),
    _conv_case("groups3", (2, 6, 5, 5), (3, 2, 3, 3), groups=3),
    _conv_case("groups3_out6", (2, 3, 5, 6), (6, 1, 2, 2), groups=3, stride=(1, 2)),
    _conv_case("depthwise", (2, 4, 6, 6), (4, 1, 3, 3), groups=4, padding=1),
    _conv_case("depthwise_multiplier", (2, 3, 5, 5), (6, 1, 3, 3), groups=3),
    _conv_case("depthwise_6ch_no_bias", (1, 6, 7, 5), (6, 1, 3, 2), groups=6, bias=False, dilation=(2, 1)),
    _conv_case("groups2_everything", (3, 4, 9, 8), (2, 2, 3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 3),
               groups=2),
    _conv_case("batch3_channels6", (3, 6, 6, 6), (6, 6, 2, 2), stride=2),
    _conv_case("batch1", (1, 5, 8, 8), (2, 5, 4, 4), padding=1, stride=2),
    _conv_case("unbatched", (3, 6, 6), (4, 3, 3, 3)),
    _conv_case("unbatched_no_bias_same", (2, 5, 4), (3, 2, 3, 2), bias=False, padding="same"),
    _conv_case("unbatched_groups_stride", (4, 7, 7), (4, 2, 3, 3), groups=2, stride=2, padding=1),
]


@pytest.mark.parametrize("x_shape, w_shape, bias, stride, padding, dilation, groups, seed", CONV_CASES)
def test_conv2d_vs_torch(x_shape, w_shape, bias, stride, padding, dilation, groups, seed):
    torch = require_torch()
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    arrays = [smooth(x_shape, seed), smooth(w_shape, seed + 100)]
    if bias:
        arrays.append(smooth((w_shape[0],), seed + 200))
    check_op(lambda *a: F.conv2d(*a, **kw), lambda *a: torch.nn.functional.conv2d(*a, **kw), *arrays,
             atol=1e-10, rtol=1e-10)


GRADCHECK_CASES = [
    pytest.param((1, 2, 4, 4), (2, 2, 2, 2), dict(), id="plain"),
    pytest.param((2, 2, 4, 5), (2, 1, 3, 2), dict(stride=(2, 1), padding=(1, 0), groups=2), id="strided_groups"),
    pytest.param((1, 1, 5, 5), (2, 1, 2, 2), dict(dilation=2, padding="same"), id="same_dilated"),
    pytest.param((3, 3, 4), (2, 3, 2, 2), dict(padding=1), id="unbatched"),
]


@pytest.mark.parametrize("x_shape, w_shape, kw", GRADCHECK_CASES)
def test_conv2d_gradcheck(x_shape, w_shape, kw):
    x, w, b = smooth(x_shape, 1), smooth(w_shape, 2), smooth((w_shape[0],), 3)
    fn = lambda x, w, b: F.conv2d(x, w, b, **kw)  # noqa: E731
    gradcheck(fn, x, w, b)
    gradgradcheck(fn, x, w, b)


def test_conv2d_weight_grad_is_transposed_pairing():
    """<C(x, w), g> = <x, T(g, w)> = <w, W(x, g)>: the three bilinear forms agree (the adjoint identities)."""
    x, w = _r(smooth((2, 4, 7, 6), 5), True), _r(smooth((6, 2, 3, 2), 6), True)
    y = F.conv2d(x, w, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
    g = smooth(tuple(y.shape), 7)
    gx, gw = rl.autograd.grad(y, [x, w], _r(g))
    lhs = float(np.sum(_np(y) * g))
    assert lhs == pytest.approx(float(np.sum(_np(x) * _np(gx))), rel=1e-12)
    assert lhs == pytest.approx(float(np.sum(_np(w) * _np(gw))), rel=1e-12)


# ============================================================================================ nn.Conv2d modules
def _torch_conv_like(torch, m):
    """An identical torch.nn.Conv2d with the relulab module's weights copied in."""
    tm = torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups,
                         bias=m.bias is not None, padding_mode=m.padding_mode, dtype=torch.float64)
    with torch.no_grad():
        tm.weight.copy_(_t(torch, _np(m.weight)))
        if m.bias is not None:
            tm.bias.copy_(_t(torch, _np(m.bias)))
    return tm


MODULE_CASES = [
    pytest.param(dict(kernel_size=3, padding=1), (2, 3, 6, 6), id="k3_p1"),
    pytest.param(dict(kernel_size=(3, 2), padding=(2, 1), stride=(2, 1)), (2, 3, 7, 5), id="nonsquare"),
    pytest.param(dict(kernel_size=3, padding="same", dilation=2), (2, 3, 7, 6), id="same_dilated"),
    pytest.param(dict(kernel_size=4, padding="same"), (1, 3, 5, 5), id="same_even"),
    pytest.param(dict(kernel_size=2, padding=(1, 2), groups=3, bias=False), (2, 3, 4, 5), id="depthwise_no_bias"),
    pytest.param(dict(kernel_size=3, padding=1), (3, 5, 5), id="unbatched"),
]


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("kwargs, x_shape", MODULE_CASES)
def test_conv2d_module_padding_modes(torch, mode, kwargs, x_shape):
    groups = kwargs.get("groups", 1)
    out = 6 if groups == 1 else 2 * groups
    in_ch = x_shape[-3]
    m = nn.Conv2d(in_ch, out, padding_mode=mode, dtype=rl.float64, **kwargs)
    tm = _torch_conv_like(torch, m)
    x = smooth(x_shape, 11)
    rx, tx = _r(x, True), _t(torch, x, True)
    ry, ty = m(rx), tm(tx)
    _close(ry, ty, what=f"forward ({mode})")
    g = np.random.default_rng(3).standard_normal(ty.shape)
    ry.backward(_r(g))
    ty.backward(_t(torch, g))
    _close(rx.grad, tx.grad, what="input gradient")
    _close(m.weight.grad, tm.weight.grad, what="weight gradient")
    if m.bias is not None:
        _close(m.bias.grad, tm.bias.grad, what="bias gradient")


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv2d_padding_mode_double_backward(mode):
    """The functional form with padding_mode, against torch's pad-then-convolve: to second order."""
    torch = require_torch()

    def th(x, w, b):
        x = torch.nn.functional.pad(x, (2, 2, 1, 1), mode=mode)
        return torch.nn.functional.conv2d(x, w, b, stride=(1, 2))

    check_op(lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=(1, 2), padding_mode=mode), th,
             smooth((2, 2, 4, 5), 1), smooth((3, 2, 2, 3), 2), smooth((3,), 3), atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pads", [(1, 2, 0, 3), (2, 0, 1, 1), (1, 1)])
def test_pad_vs_torch(mode, pads):
    torch = require_torch()
    shape = (2, 3, 4, 5) if len(pads) == 4 else (2, 3, 5)  # torch pads only the last dim of 2-D/3-D input by 2
    check_op(lambda x: F.pad(x, pads, mode=mode), lambda x: torch.nn.functional.pad(x, pads, mode=mode),
             smooth(shape, 4), atol=1e-12, rtol=1e-12)


def test_pad_constant_value(torch):
    check_op(lambda x: F.pad(x, (1, 2, 2, 1), value=-1.5),
             lambda x: torch.nn.functional.pad(x, (1, 2, 2, 1), value=-1.5), smooth((2, 3, 3), 4))


# ============================================================================================ hypothesis property
@st.composite
def conv_configs(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    padding = draw(st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)),
                             st.sampled_from(["same", "valid"])))
    stride = (1, 1) if padding == "same" else draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    if isinstance(padding, str):
        ph, pw = 0, 0
    else:
        ph, pw = (padding, padding) if isinstance(padding, int) else padding
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    lo_h = 1 if padding == "same" else max(1, eh - 2 * ph)
    lo_w = 1 if padding == "same" else max(1, ew - 2 * pw)
    h, w = draw(st.integers(lo_h, lo_h + 5)), draw(st.integers(lo_w, lo_w + 5))
    batch = draw(st.sampled_from([None, 1, 2, 3]))
    x_shape = (cin, h, w) if batch is None else (batch, cin, h, w)
    bias = draw(st.booleans())
    seed = draw(st.integers(0, 2 ** 16))
    return x_shape, (cout, cin // groups, kh, kw), bias, dict(stride=stride, padding=padding, dilation=(dh, dw),
                                                               groups=groups), seed


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_configs())
def test_conv2d_property_vs_torch(config):
    torch = require_torch()
    x_shape, w_shape, bias, kw, seed = config
    arrays = [smooth(x_shape, seed), smooth(w_shape, seed + 1)] + ([smooth((w_shape[0],), seed + 2)] if bias else [])
    check_op(lambda *a: F.conv2d(*a, **kw), lambda *a: torch.nn.functional.conv2d(*a, **kw), *arrays,
             atol=1e-10, rtol=1e-10, double_backward=False)


# ============================================================================================ max pooling
MAXPOOL_CASES = [
    pytest.param((2, 3, 7, 7), dict(kernel_size=3, stride=2), id="overlap_k3s2"),
    pytest.param((2, 2, 8, 8), dict(kernel_size=3, stride=2), id="overlap_k3s2_even"),
    pytest.param((2, 2, 8, 8), dict(kernel_size=3, stride=2, ceil_mode=True), id="overlap_ceil"),
    pytest.param((1, 2, 6, 6), dict(kernel_size=2), id="k2_default_stride"),
    pytest.param((1, 2, 7, 5), dict(kernel_size=2, ceil_mode=True), id="k2_ceil_odd"),
    pytest.param((2, 2, 6, 7), dict(kernel_size=3, stride=2, padding=1), id="padding"),
    pytest.param((2, 2, 6, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), id="padding_ceil"),
    pytest.param((1, 2, 5, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True), id="ceil_last_window_drop"),
    pytest.param((2, 2, 9, 9), dict(kernel_size=3, stride=1, dilation=2), id="dilation2"),
    pytest.param((1, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True),
                 id="dilation_padding_ceil"),
    pytest.param((2, 2, 7, 9), dict(kernel_size=(3, 2), stride=(2, 1)), id="nonsquare_kernel"),
    pytest.param((2, 2, 8, 7), dict(kernel_size=(2, 4), stride=(1, 3), padding=(1, 2), dilation=(2, 1)),
                 id="nonsquare_all"),
    pytest.param((2, 2, 5, 8), dict(kernel_size=(3, 3), stride=(3, 2), padding=(1, 0), ceil_mode=True),
                 id="nonsquare_ceil"),
    pytest.param((3, 5, 5), dict(kernel_size=3, stride=2, padding=1), id="unbatched"),
    pytest.param((1, 1, 1, 1), dict(kernel_size=1), id="1x1"),
]


@pytest.mark.parametrize("indices", [False, True], ids=["values", "indices"])
@pytest.mark.parametrize("x_shape, kw", MAXPOOL_CASES)
def test_max_pool2d_vs_torch(x_shape, kw, indices):
    torch = require_torch()
    x = distinct(x_shape, 7)
    check_op(lambda x: F.max_pool2d(x, return_indices=indices, **kw),
             lambda x: torch.nn.functional.max_pool2d(x, return_indices=indices, **kw), x,
             atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("x_shape, kw", MAXPOOL_CASES[:4] + MAXPOOL_CASES[9:12])
def test_max_pool2d_module_vs_torch(torch, x_shape, kw):
    m, tm = nn.MaxPool2d(return_indices=True, **kw), torch.nn.MaxPool2d(return_indices=True, **kw)
    assert str(m) == str(tm)
    x = distinct(x_shape, 3)
    rx, tx = _r(x, True), _t(torch, x, True)
    (ry, ri), (ty, ti) = m(rx), tm(tx)
    _close(ry, ty, what="forward")
    np.testing.assert_array_equal(_np(ri), _np(ti))
    assert _np(ri).dtype == np.int64
    g = np.random.default_rng(0).standard_normal(ty.shape)
    ry.backward(_r(g))
    ty.backward(_t(torch, g))
    _close(rx.grad, tx.grad, what="input gradient")


def test_max_pool2d_gradchecks():
    x = distinct((1, 2, 5, 5), 1)
    fn = lambda x: F.max_pool2d(x, 3, 2, padding=1)  # noqa: E731
    gradcheck(fn, x)
    gradgradcheck(fn, x)


def test_max_pool2d_permutation_input(torch):
    """A permutation of 0..n-1 as input: every window has one maximum, the indices must equal torch's."""
    x = np.random.default_rng(5).permutation(2 * 3 * 9 * 8).reshape(2, 3, 9, 8).astype(F64)
    for kw in (dict(kernel_size=3, stride=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
               dict(kernel_size=(2, 3), stride=1, dilation=(3, 2))):
        ry, ri = F.max_pool2d(_r(x), return_indices=True, **kw)
        ty, ti = torch.nn.functional.max_pool2d(_t(torch, x), return_indices=True, **kw)
        np.testing.assert_array_equal(_np(ry), _np(ty))
        np.testing.assert_array_equal(_np(ri), _np(ti))


def test_max_pool2d_minus_inf_next_to_padding():
    torch = require_torch()
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    x[0, 0, 0, 0] = -np.inf    # the top-left window sees 3 padding cells and this -inf: torch returns -inf, index 0
    check_op(lambda x: F.max_pool2d(x, 2, 1, padding=1, return_indices=True),
             lambda x: torch.nn.functional.max_pool2d(x, 2, 1, padding=1, return_indices=True), x)


def test_max_pool2d_nan_propagates(torch):
    x = np.array([[[[np.nan, 1.0, np.nan], [3.0, 4.0, 5.0], [1.0, 2.0, 3.0]]]])
    ry = F.max_pool2d(_r(x), 2, 1)
    ty = torch.nn.functional.max_pool2d(_t(torch, x), 2, 1)
    np.testing.assert_array_equal(_np(ry), _np(ty))


# ============================================================================================ average pooling
AVGPOOL_CASES = [
    pytest.param((2, 3, 7, 7), dict(kernel_size=3, stride=2), id="overlap"),
    pytest.param((2, 2, 6, 6), dict(kernel_size=2), id="k2"),
    pytest.param((2, 2, 6, 7), dict(kernel_size=3, stride=2, padding=1), id="padding"),
    pytest.param((2, 2, 6, 7), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False), id="pad_exclude"),
    pytest.param((2, 2, 8, 8), dict(kernel_size=3, stride=2, ceil_mode=True), id="ceil"),
    pytest.param((2, 2, 6, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), id="ceil_padding"),
    pytest.param((2, 2, 6, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
                 id="ceil_padding_exclude"),
    pytest.param((1, 2, 7, 5), dict(kernel_size=2, ceil_mode=True, count_include_pad=True), id="ceil_odd"),
    pytest.param((1, 2, 5, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True), id="ceil_drop_last"),
    pytest.param((2, 2, 7, 9), dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1)), id="nonsquare"),
    pytest.param((2, 2, 7, 9), dict(kernel_size=(3, 4), stride=(1, 2), padding=(1, 2), ceil_mode=True,
                                    count_include_pad=False), id="nonsquare_ceil_exclude"),
    pytest.param((2, 2, 6, 6), dict(kernel_size=3, stride=2, padding=1, divisor_override=2), id="divisor_override"),
    pytest.param((2, 2, 7, 6), dict(kernel_size=(2, 3), stride=1, divisor_override=5, ceil_mode=True),
                 id="divisor_override_ceil"),
    pytest.param((3, 6, 5), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False), id="unbatched"),
]


@pytest.mark.parametrize("x_shape, kw", AVGPOOL_CASES)
def test_avg_pool2d_vs_torch(x_shape, kw):
    torch = require_torch()
    check_op(lambda x: F.avg_pool2d(x, **kw), lambda x: torch.nn.functional.avg_pool2d(x, **kw),
             smooth(x_shape, 2), atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("x_shape, kw", AVGPOOL_CASES[2:7])
def test_avg_pool2d_module_vs_torch(torch, x_shape, kw):
    m, tm = nn.AvgPool2d(**kw), torch.nn.AvgPool2d(**kw)
    x = smooth(x_shape, 4)
    rx, tx = _r(x, True), _t(torch, x, True)
    ry, ty = m(rx), tm(tx)
    _close(ry, ty, what="forward")
    ry.sum().backward()
    ty.sum().backward()
    _close(rx.grad, tx.grad, what="input gradient")


def test_avg_pool2d_gradchecks():
    fn = lambda x: F.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True, count_include_pad=False)  # noqa: E731
    x = smooth((1, 2, 6, 5), 3)
    gradcheck(fn, x)
    gradgradcheck(fn, x)


# ============================================================================================ adaptive average pooling
ADAPTIVE_CASES = [
    pytest.param((2, 3, 7, 7), 3, id="7to3"),
    pytest.param((2, 3, 5, 5), 2, id="5to2"),
    pytest.param((2, 2, 6, 6), 3, id="6to3_divides"),
    pytest.param((2, 2, 8, 4), (4, 2), id="divides_nonsquare"),
    pytest.param((2, 2, 7, 5), (3, 2), id="nondividing_nonsquare"),
    pytest.param((2, 2, 6, 5), (None, 2), id="none_h"),
    pytest.param((2, 2, 6, 5), (4, None), id="none_w"),
    pytest.param((2, 3, 5, 7), 1, id="global_1x1"),
    pytest.param((2, 3, 5, 7), (1, 1), id="global_tuple"),
    pytest.param((1, 2, 3, 2), (5, 4), id="upsample"),
    pytest.param((1, 2, 4, 4), 4, id="identity"),
    pytest.param((3, 7, 5), (2, 3), id="unbatched"),
]


@pytest.mark.parametrize("x_shape, size", ADAPTIVE_CASES)
def test_adaptive_avg_pool2d_vs_torch(x_shape, size):
    torch = require_torch()
    check_op(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: torch.nn.functional.adaptive_avg_pool2d(x, size),
             smooth(x_shape, 5), atol=1e-12, rtol=1e-12)


def test_adaptive_avg_pool2d_module(torch):
    m, tm = nn.AdaptiveAvgPool2d((3, None)), torch.nn.AdaptiveAvgPool2d((3, None))
    x = smooth((2, 2, 7, 4), 8)
    _close(m(_r(x)), tm(_t(torch, x)))
    gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 2)), smooth((1, 2, 5, 5), 1))


# ============================================================================================ batch norm
def _bn_pair(torch, cls_name, n, seed=0, **kw):
    """A relulab and a torch batch norm with the same (random, when affine) weight and bias."""
    m = getattr(nn, cls_name)(n, dtype=rl.float64, **kw)
    tm = getattr(torch.nn, cls_name)(n, dtype=torch.float64, **kw)
    if m.weight is not None:
        rng = np.random.default_rng(seed)
        with rl.no_grad():
            m.weight.copy_(_r(rng.uniform(0.5, 2.0, n)))
            m.bias.copy_(_r(rng.uniform(-1.0, 1.0, n)))
        with torch.no_grad():
            tm.weight.copy_(_t(torch, _np(m.weight)))
            tm.bias.copy_(_t(torch, _np(m.bias)))
    return m, tm


BN_SHAPES = [
    pytest.param("BatchNorm1d", (6, 4), id="1d_2D"),
    pytest.param("BatchNorm1d", (3, 4, 5), id="1d_3D"),
    pytest.param("BatchNorm2d", (3, 4, 3, 5), id="2d"),
]


def _compare_buffers(m, tm):
    if tm.running_mean is None:
        assert m.running_mean is None and m.running_var is None and m.num_batches_tracked is None
        return
    _close(m.running_mean, tm.running_mean, 1e-12, 1e-12, "running_mean")
    _close(m.running_var, tm.running_var, 1e-12, 1e-12, "running_var")
    assert int(m.num_batches_tracked.item()) == int(tm.num_batches_tracked.item())
    assert _np(m.num_batches_tracked).dtype == np.int64


@pytest.mark.parametrize("kw", [dict(), dict(momentum=None), dict(momentum=0.3, eps=1e-3), dict(affine=False),
                                dict(track_running_stats=False), dict(affine=False, momentum=None)],
                         ids=["default", "momentum_None", "momentum_eps", "affine_False", "no_running_stats",
                              "affine_False_cumulative"])
@pytest.mark.parametrize("cls_name, shape", BN_SHAPES)
def test_batchnorm_training_steps_and_eval(torch, cls_name, shape, kw):
    n = shape[1]
    m, tm = _bn_pair(torch, cls_name, n, **kw)
    assert list(m.state_dict().keys()) == list(tm.state_dict().keys())
    assert m.training and tm.training
    rng = np.random.default_rng(1)
    for step in range(5):
        x = rng.normal(loc=rng.uniform(-2, 2), scale=rng.uniform(0.5, 3.0), size=shape)
        _close(m(_r(x)), tm(_t(torch, x)), 1e-10, 1e-10, f"training output, step {step}")
        _compare_buffers(m, tm)
    m.eval()
    tm.eval()
    x = rng.normal(size=shape)
    _close(m(_r(x)), tm(_t(torch, x)), 1e-10, 1e-10, "eval output")
    _compare_buffers(m, tm)   # eval leaves the statistics (and the counter) alone
    x = rng.normal(size=shape)
    _close(m(_r(x)), tm(_t(torch, x)), 1e-10, 1e-10, "second eval output")


@pytest.mark.parametrize("cls_name, shape", BN_SHAPES)
def test_batchnorm_module_gradients(torch, cls_name, shape):
    m, tm = _bn_pair(torch, cls_name, shape[1], seed=3)
    x = np.random.default_rng(2).normal(size=shape)
    rx, tx = _r(x, True), _t(torch, x, True)
    ry, ty = m(rx), tm(tx)
    g = np.random.default_rng(4).standard_normal(shape)
    ry.backward(_r(g))
    ty.backward(_t(torch, g))
    _close(rx.grad, tx.grad, 1e-10, 1e-10, "input gradient")
    _close(m.weight.grad, tm.weight.grad, 1e-10, 1e-10, "weight gradient")
    _close(m.bias.grad, tm.bias.grad, 1e-10, 1e-10, "bias gradient")


@pytest.mark.parametrize("shape", [(6, 3), (3, 3, 4), (2, 3, 3, 4)], ids=["2D", "3D", "4D"])
def test_batch_norm_training_double_backward(shape):
    """Training-mode output w.r.t. input, weight and bias: gradient and double backward match torch."""
    torch = require_torch()
    n = shape[1]
    check_op(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
             lambda x, w, b: torch.nn.functional.batch_norm(x, None, None, w, b, training=True),
             smooth(shape, 1), smooth((n,), 2, 0.5, 2.0), smooth((n,), 3), atol=1e-9, rtol=1e-9)


def test_batch_norm_training_no_affine_double_backward(torch):
    check_op(lambda x: F.batch_norm(x, None, None, training=True, eps=1e-3),
             lambda x: torch.nn.functional.batch_norm(x, None, None, training=True, eps=1e-3),
             smooth((3, 2, 3, 3), 4), atol=1e-9, rtol=1e-9)


def test_batch_norm_training_gradchecks():
    fn = lambda x, w: F.batch_norm(x, None, None, w, None, training=True)  # noqa: E731
    x, w = smooth((3, 2, 2, 2), 5), smooth((2,), 6, 0.5, 2.0)
    gradcheck(fn, x, w)
    gradgradcheck(fn, x, w)


def test_batch_norm_eval_functional(torch):
    rm, rv = smooth((3,), 1), smooth((3,), 2, 0.5, 2.0)
    check_op(lambda x, w, b: F.batch_norm(x, _r(rm), _r(rv), w, b, training=False),
             lambda x, w, b: torch.nn.functional.batch_norm(x, _t(torch, rm), _t(torch, rv), w, b, training=False),
             smooth((2, 3, 4), 3), smooth((3,), 4), smooth((3,), 5))


def test_batch_norm_functional_updates_running_stats(torch):
    x = smooth((4, 3, 2, 2), 9)
    rm, rv = _r(np.zeros(3)), _r(np.ones(3))
    tm, tv = _t(torch, np.zeros(3)), _t(torch, np.ones(3))
    _close(F.batch_norm(_r(x), rm, rv, training=True, momentum=0.25),
           torch.nn.functional.batch_norm(_t(torch, x), tm, tv, training=True, momentum=0.25))
    _close(rm, tm, what="running_mean")
    _close(rv, tv, what="running_var")


@pytest.mark.parametrize("kw", [dict(), dict(affine=False), dict(track_running_stats=False),
                                dict(affine=False, track_running_stats=False)],
                         ids=["default", "affine_False", "no_stats", "neither"])
@pytest.mark.parametrize("cls_name", ["BatchNorm1d", "BatchNorm2d"])
def test_batchnorm_state_dict_keys(torch, cls_name, kw):
    m, tm = getattr(nn, cls_name)(3, **kw), getattr(torch.nn, cls_name)(3, **kw)
    assert list(m.state_dict().keys()) == list(tm.state_dict().keys())
    assert [k for k, _ in m.named_parameters()] == [k for k, _ in tm.named_parameters()]


def test_batchnorm_load_torch_state_dict(torch):
    """A torch BatchNorm2d's trained state loads into relulab and gives the same eval output."""
    m, tm = _bn_pair(torch, "BatchNorm2d", 3, seed=5)
    for s in range(3):
        tm(_t(torch, np.random.default_rng(s).normal(2.0, 3.0, (4, 3, 2, 2))))
    m.load_state_dict({k: _r(v.numpy()) if v.dtype.is_floating_point else rl.tensor(v.numpy())
                       for k, v in tm.state_dict().items()})
    _compare_buffers(m, tm)
    m.eval()
    tm.eval()
    x = smooth((2, 3, 3, 3), 1)
    _close(m(_r(x)), tm(_t(torch, x)))


# ============================================================================================ LeNet-like CNN
def _lenet(lib, dtype, generator=None):
    kw = dict(dtype=dtype)
    return lib.nn.Sequential(
        lib.nn.Conv2d(1, 4, 3, **kw), lib.nn.ReLU(), lib.nn.MaxPool2d(2),
        lib.nn.Conv2d(4, 6, 3, padding=1, **kw), lib.nn.ReLU(), lib.nn.AvgPool2d(2),
        lib.nn.Flatten(), lib.nn.Linear(6 * 3 * 3, 5, **kw))


def _lenet_pair(torch):
    rl.manual_seed(0)
    m = _lenet(rl, rl.float64)
    tm = _lenet(torch, torch.float64)
    with torch.no_grad():
        for (rk, rp), (tk, tp) in zip(m.named_parameters(), tm.named_parameters()):
            assert rk == tk and tuple(rp.shape) == tuple(tp.shape)
            tp.copy_(_t(torch, _np(rp)))
    assert str(m) == str(tm)
    return m, tm


def _lenet_data():
    rng = np.random.default_rng(7)
    return rng.normal(size=(4, 1, 14, 14)), rng.integers(0, 5, size=4)


def test_lenet_forward_and_parameter_gradients(torch):
    m, tm = _lenet_pair(torch)
    x, y = _lenet_data()
    rloss = F.cross_entropy(m(_r(x)), rl.tensor(y))
    tloss = torch.nn.functional.cross_entropy(tm(_t(torch, x)), torch.tensor(y))
    _close(m(_r(x)), tm(_t(torch, x)), what="logits")
    _close(rloss, tloss, what="loss")
    rloss.backward()
    tloss.backward()
    for (k, rp), (_, tp) in zip(m.named_parameters(), tm.named_parameters()):
        _close(rp.grad, tp.grad, 1e-12, 1e-9, f"gradient of {k}")


def test_lenet_hessian_wrt_last_conv_weight(torch):
    """The exact Hessian of the loss w.r.t. the second conv's weight (6·4·3·3 = 216 entries squared), by double
    backprop, matches torch.autograd.functional.hessian: Hessian tools work through conv, ReLU and pooling."""
    m, tm = _lenet_pair(torch)
    x, y = _lenet_data()
    conv = m[3]
    tconv = tm[3]
    head, thead = m[:3], tm[:3]
    tail, ttail = m[4:], tm[4:]
    with rl.no_grad():
        h = head(_r(x))
    with torch.no_grad():
        th = thead(_t(torch, x))

    def rl_loss(w):
        z = F.conv2d(h, w, conv.bias, padding=1)
        return F.cross_entropy(tail(z), rl.tensor(y))

    def torch_loss(w):
        z = torch.nn.functional.conv2d(th, w, tconv.bias, padding=1)
        return torch.nn.functional.cross_entropy(ttail(z), torch.tensor(y))

    w0 = _np(conv.weight)
    H = rl.autograd.functional.hessian(rl_loss, _r(w0))
    TH = torch.autograd.functional.hessian(torch_loss, _t(torch, w0))
    assert tuple(H.shape) == (6, 4, 3, 3, 6, 4, 3, 3)
    assert np.abs(_np(TH)).max() > 1e-3   # the check is not vacuous
    np.testing.assert_allclose(_np(H), _np(TH), atol=1e-8, rtol=0)

    # the same Hessian-vector product by hand: grad(create_graph=True), then grad of <g, v>
    v = np.random.default_rng(1).standard_normal(w0.shape)
    w = _r(w0, True)
    (g,) = rl.autograd.grad(rl_loss(w), [w], create_graph=True)
    (hv,) = rl.autograd.grad((g * _r(v)).sum(), [w])
    want = (_np(TH).reshape(w0.size, w0.size) @ v.reshape(-1)).reshape(w0.shape)
    np.testing.assert_allclose(_np(hv), want, atol=1e-8, rtol=0)


# ============================================================================================ errors
def test_conv_wrong_channel_count_names_layer_and_shape():
    m = nn.Conv2d(3, 8, 3)
    with pytest.raises(RuntimeError) as info:
        m(rl.randn(2, 4, 8, 8))
    msg = str(info.value)
    assert "Conv2d(3, 8" in msg and "(2, 4, 8, 8)" in msg, msg


def test_conv_kernel_larger_than_padded_input():
    m = nn.Conv2d(2, 3, 5, padding=1)
    with pytest.raises(RuntimeError) as info:
        m(rl.randn(1, 2, 2, 2))
    msg = str(info.value)
    assert "Conv2d(2, 3" in msg and "(1, 2, 2, 2)" in msg and "(5, 5)" in msg, msg
    with pytest.raises(RuntimeError, match=r"conv2d.*\(4, 4\)"):
        F.conv2d(rl.randn(1, 1, 4, 4), rl.randn(1, 1, 3, 3), dilation=2)


def test_conv_dilated_kernel_fits_only_with_padding(torch):
    """Just fits after padding: no error, and the same shape as torch."""
    x, w = smooth((1, 1, 1, 3), 1), smooth((1, 1, 3, 2), 2)
    got = F.conv2d(_r(x), _r(w), padding=2, dilation=2)
    _close(got, torch.nn.functional.conv2d(_t(torch, x), _t(torch, w), padding=2, dilation=2))
    assert tuple(got.shape) == (1, 1, 1, 5)


@pytest.mark.parametrize("in_ch, out_ch, groups", [(4, 6, 3), (3, 6, 2), (4, 4, 0)])
def test_conv_groups_must_divide_channels(in_ch, out_ch, groups):
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(in_ch, out_ch, 3, groups=groups)


def test_conv_functional_groups_mismatch():
    with pytest.raises(RuntimeError, match="groups"):
        F.conv2d(rl.randn(1, 3, 5, 5), rl.randn(4, 1, 3, 3), groups=2)


def test_conv_same_padding_with_stride_is_refused():
    with pytest.raises(ValueError, match="same"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises((ValueError, RuntimeError), match="same"):
        F.conv2d(rl.randn(1, 3, 5, 5), rl.randn(4, 3, 3, 3), stride=(1, 2), padding="same")


def test_conv_bad_padding_string_and_mode():
    with pytest.raises(ValueError):
        nn.Conv2d(3, 4, 3, padding="full")
    with pytest.raises(ValueError):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")


def test_conv_wrong_input_rank():
    with pytest.raises(RuntimeError, match=r"\(3, 5\)"):
        nn.Conv2d(3, 4, 3)(rl.randn(3, 5))


def test_batchnorm2d_rejects_3d_input():
    m = nn.BatchNorm2d(3)
    with pytest.raises(ValueError) as info:
        m(rl.randn(2, 3, 4))
    msg = str(info.value)
    assert "BatchNorm2d(3" in msg and "(2, 3, 4)" in msg, msg


def test_batchnorm1d_rejects_4d_input_and_wrong_channels():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3.*\(2, 3, 4, 4\)"):
        nn.BatchNorm1d(3)(rl.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3.*\(2, 4, 2, 2\)"):
        nn.BatchNorm2d(3)(rl.randn(2, 4, 2, 2))


@pytest.mark.parametrize("cls_name, shape", [("BatchNorm1d", (1, 3)), ("BatchNorm1d", (1, 3, 1)),
                                             ("BatchNorm2d", (1, 3, 1, 1))])
def test_batchnorm_training_needs_more_than_one_value(torch, cls_name, shape):
    m = getattr(nn, cls_name)(3)
    with pytest.raises(ValueError) as info:
        m(rl.randn(*shape))
    msg = str(info.value)
    assert f"{cls_name}(3" in msg and str(shape) in msg, msg
    with pytest.raises(ValueError):  # torch agrees it is an error
        getattr(torch.nn, cls_name)(3)(torch.randn(*shape))
    m.eval()
    assert tuple(m(rl.randn(*shape)).shape) == shape  # eval mode is fine with one value


def test_batchnorm_single_value_leaves_running_stats(torch):
    """The refused batch leaves the running statistics alone; num_batches_tracked does what torch's does (torch
    counts the batch before it checks its size)."""
    m, tm = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    with pytest.raises(ValueError):
        m(rl.randn(1, 3))
    with pytest.raises(ValueError):
        tm(torch.randn(1, 3))
    np.testing.assert_array_equal(_np(m.running_mean), np.zeros(3))
    np.testing.assert_array_equal(_np(m.running_var), np.ones(3))
    assert int(m.num_batches_tracked.item()) == int(tm.num_batches_tracked.item())


@pytest.mark.parametrize("fn, x_shape", [
    (lambda x: F.max_pool2d(x, 5), (1, 1, 3, 3)),
    (lambda x: F.max_pool2d(x, 3, dilation=2), (1, 1, 4, 4)),
    (lambda x: F.avg_pool2d(x, (2, 6)), (1, 1, 3, 3)),
    (lambda x: nn.MaxPool2d(4)(x), (2, 3, 3)),
    (lambda x: nn.AvgPool2d(4, stride=1)(x), (2, 2, 5, 3)),
], ids=["max", "max_dilated", "avg", "MaxPool2d", "AvgPool2d"])
def test_pool_kernel_larger_than_input(torch, fn, x_shape):
    with pytest.raises(RuntimeError) as info:
        fn(rl.randn(*x_shape))
    msg = str(info.value)
    assert "pool2d" in msg and str(tuple(x_shape[-2:])) in msg, msg


def test_pool_padding_more_than_half_kernel():
    with pytest.raises(RuntimeError, match="half"):
        F.max_pool2d(rl.randn(1, 1, 6, 6), 2, padding=2)
    with pytest.raises(RuntimeError, match="half"):
        F.avg_pool2d(rl.randn(1, 1, 6, 6), 3, padding=2)


BAD_ARGS = [
    pytest.param(lambda x: F.conv2d(x, rl.randn(2, 2, 2, 2).double(), stride=0), "stride",
                 id="conv_stride0"),
    pytest.param(lambda x: F.conv2d(x, rl.randn(2, 2, 2, 2).double(), dilation=0), "dilation",
                 id="conv_dilation0"),
    pytest.param(lambda x: F.conv2d(x, rl.randn(2, 2, 2, 2).double(), padding=-1), "padding",
                 id="conv_negative_padding"),
    pytest.param(lambda x: F.conv2d(x, rl.randn(3, 2, 2, 2).double(), rl.randn(4).double()), "bias",
                 id="conv_bias_size"),
    pytest.param(lambda x: F.max_pool2d(x, 2, stride=0), "stride",
                 id="maxpool_stride0"),
    pytest.param(lambda x: F.max_pool2d(x, 0), "kernel",
                 id="maxpool_kernel0"),
    pytest.param(lambda x: F.max_pool2d(x, 2, dilation=0), "dilation",
                 id="maxpool_dilation0"),
    pytest.param(lambda x: F.avg_pool2d(x, 2, stride=0), "stride",
                 id="avgpool_stride0"),
    pytest.param(lambda x: F.max_pool2d(x, (2, 2, 2)), "kernel_size", id="maxpool_kernel_triple"),
    pytest.param(lambda x: F.conv2d(x, rl.randn(2, 2, 3).double()), "weight", id="conv_weight_3d"),
]


@pytest.mark.parametrize("fn, word", BAD_ARGS)
def test_bad_arguments_raise_descriptive_errors(torch, fn, word):
    with pytest.raises((RuntimeError, ValueError), match=word):
        fn(rl.tensor(smooth((2, 2, 6, 6), 1)))


def test_adaptive_avg_pool2d_zero_output(torch):
    x = smooth((2, 3, 5, 5), 1)
    assert tuple(F.adaptive_avg_pool2d(_r(x), 0).shape) == tuple(
        torch.nn.functional.adaptive_avg_pool2d(_t(torch, x), 0).shape) == (2, 3, 0, 0)


@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d"])
def test_pool_empty_stride_means_kernel(torch, pool):
    x = smooth((1, 2, 6, 6), 1)
    _close(getattr(F, pool)(_r(x), 2, stride=[]), getattr(torch.nn.functional, pool)(_t(torch, x), 2, stride=[]))


def test_conv2d_module_state_dict_and_init(torch):
    m, tm = nn.Conv2d(4, 6, (3, 2), groups=2), torch.nn.Conv2d(4, 6, (3, 2), groups=2)
    assert list(m.state_dict().keys()) == list(tm.state_dict().keys()) == ["weight", "bias"]
    assert tuple(m.weight.shape) == tuple(tm.weight.shape) == (6, 2, 3, 2)
    bound = 1.0 / np.sqrt(2 * 3 * 2)   # U(±1/sqrt(fan_in)) for both weight (kaiming a=sqrt(5)) and bias
    assert np.abs(_np(m.weight)).max() <= bound and np.abs(_np(m.bias)).max() <= bound
    assert nn.Conv2d(2, 2, 3, bias=False).bias is None


# ============================================================================================ reprs
REPR_CASES = [
    "Conv2d(3, 8, 3)",
    "Conv2d(3, 8, (3, 5), stride=(2, 1), padding=1, bias=False)",
    "Conv2d(4, 6, 2, padding=(1, 2), dilation=(2, 1), groups=2, padding_mode='circular')",
    "Conv2d(2, 2, 3, groups=2, padding_mode='replicate')",
    "MaxPool2d(3, 2)",
    "MaxPool2d(2)",
    "MaxPool2d((3, 2), stride=1, padding=1, dilation=2, ceil_mode=True, return_indices=True)",
    "AvgPool2d(3, 2)",
    "AvgPool2d((2, 3))",
    "AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False, divisor_override=2)",
    "AdaptiveAvgPool2d(1)",
    "AdaptiveAvgPool2d((3, 2))",
    "AdaptiveAvgPool2d((None, 2))",
    "Unflatten(1, (2, 3))",
    "Unflatten(-1, (4, 2, 1))",
]

REPR_BUGS = [
    pytest.param("Conv2d(4, 4, 3, padding='same', dilation=2, padding_mode='reflect')"),
    pytest.param("Conv2d(2, 4, 1, padding='valid')"),
    pytest.param("BatchNorm2d(4)"),
    pytest.param("BatchNorm2d(4, eps=1e-3, momentum=None, affine=False, track_running_stats=False)"),
    pytest.param("BatchNorm1d(3, momentum=0.01)"),
    pytest.param("Unflatten(-1, [2, 3])"),
]


@pytest.mark.parametrize("expr", REPR_CASES + REPR_BUGS)
def test_repr_matches_torch(torch, expr):
    assert str(eval("nn." + expr)) == str(eval("torch.nn." + expr))
