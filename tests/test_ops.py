"""Every op against torch (forward, gradient, double backward) and against finite differences (first and second
order), table-driven, in float64.  Plus dtype promotion vs torch, numerical stability and hypothesis properties.

A case's ``fn(lib, *xs)`` is written once and run with ``lib = relulab`` and ``lib = torch`` where the APIs agree;
``th`` overrides the torch side where they differ (e.g. torch.nn.functional.leaky_relu).
"""
import functools
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import relulab as rl
from conftest import require_torch
from opcheck import away, check_op, distinct, gradcheck, gradgradcheck, positive, smooth, split_distinct

F64 = np.float64


@dataclass
class Case:
    id: str
    fn: object                       # fn(lib, *xs) -> tensor or tuple of tensors
    arrays: tuple
    th: object = None                # th(torch, *xs) when torch's spelling differs
    atol: float = 1e-6
    rtol: float = 1e-6
    bugs: dict = field(default_factory=dict)   # {"check_op" | "gradcheck" | "gradgradcheck": reason}
    torch_double: bool = True        # False where torch itself has no double backward for the op


CASES = []


ALL_CHECKS = ("check_op", "gradcheck", "gradgradcheck")


def case(id, fn, *arrays, th=None, atol=1e-6, rtol=1e-6, bugs=None, torch_double=True):
    """Register a case.  ``bugs`` maps a check name to the xfail reason of a known relulab bug; a plain string
    marks all three checks."""
    if isinstance(bugs, str):
        bugs = dict.fromkeys(ALL_CHECKS, bugs)
    CASES.append(Case(id, fn, tuple(np.asarray(a, dtype=F64) for a in arrays), th, atol, rtol, bugs or {},
                      torch_double))


def T(lib, array, dtype=None):
    """A constant (index, mask, condition) in ``lib``."""
    return lib.tensor(np.asarray(array)) if dtype is None else lib.tensor(np.asarray(array), dtype=dtype)


def _F(torch):
    return torch.nn.functional


# ============================================================================================ elementwise: binary
BROADCAST_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 1), (1, 4)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 3, 4)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((), ()),
    ((1,), (3, 1)),
    ((2, 1, 3), (4, 1)),
    ((0, 3), (1, 3)),       # zero-size dimension
    ((2, 0), (2, 1)),
]

for sa, sb in BROADCAST_SHAPES:
    tag = f"{sa}x{sb}".replace(" ", "")
    case(f"add{tag}", lambda lib, a, b: a + b, smooth(sa, 1), smooth(sb, 2))
    case(f"sub{tag}", lambda lib, a, b: a - b, smooth(sa, 3), smooth(sb, 4))
    case(f"mul{tag}", lambda lib, a, b: a * b, smooth(sa, 5), smooth(sb, 6))
    case(f"div{tag}", lambda lib, a, b: a / b, smooth(sa, 7), away(sb, (0.0,), 8, margin=0.5))
    case(f"pow_tt{tag}", lambda lib, a, b: a ** b, positive(sa, 9), smooth(sb, 10, -1.5, 1.5))
    sm = split_distinct([sa, sb], 11)
    case(f"maximum{tag}", lambda lib, a, b: lib.maximum(a, b), *sm)
    case(f"minimum{tag}", lambda lib, a, b: lib.minimum(a, b), *sm)

case("add_method_alpha", lambda lib, a, b: lib.add(a, b, alpha=2.5), smooth((3, 4), 1), smooth((4,), 2))
case("sub_method_alpha", lambda lib, a, b: a.sub(b, alpha=-0.5), smooth((3, 4), 1), smooth((3, 1), 2))
case("mul_fn", lambda lib, a, b: lib.mul(a, b), smooth((2, 3), 1), smooth((3,), 2))
case("div_fn", lambda lib, a, b: lib.div(a, b), smooth((2, 3), 1), away((3,), (0.0,), 2, margin=0.5))
case("x_times_x", lambda lib, a: a * a, smooth((3, 4), 1))
case("x_div_x_plus_one", lambda lib, a: a / (a * a + 1.0), smooth((3, 4), 1))

# scalar operands on either side
case("add_scalar", lambda lib, a: a + 2.5, smooth((3, 4), 1))
case("radd_scalar", lambda lib, a: 2.5 + a, smooth((3, 4), 1))
case("rsub_scalar", lambda lib, a: 1.5 - a, smooth((3, 4), 1))
case("mul_int_scalar", lambda lib, a: 3 * a, smooth((3, 4), 1))
case("div_scalar", lambda lib, a: a / 4.0, smooth((3, 4), 1))
case("rdiv_scalar", lambda lib, a: 2.0 / a, away((3, 4), (0.0,), 1, margin=0.5))

# powers
for p in (2, 3, -1, -2, 0, 1, 2.0, 3.0):
    case(f"pow_scalar_{p!r}_anysign", lambda lib, a, p=p: a ** p, away((3, 4), (0.0,), 12, margin=0.3))
for p in (0.5, -1.5, 1.5, 2.5, -0.5, 1e-3):
    case(f"pow_scalar_{p!r}_positive", lambda lib, a, p=p: a ** p, positive((3, 4), 13))
case("pow_fn_scalar", lambda lib, a: lib.pow(a, 3), smooth((2, 3), 14))
case("pow_fn_tensor", lambda lib, a, b: lib.pow(a, b), positive((2, 3), 15), smooth((2, 3), 16))
case("rpow_scalar_base", lambda lib, a: 2.0 ** a, smooth((3, 4), 17))
case("rpow_scalar_base_e", lambda lib, a: 0.5 ** a, smooth((3, 4), 18))
case("pow_tt_0d_exponent", lambda lib, a, b: a ** b, positive((3, 4), 19), smooth((), 20))
case("pow_tt_0d_base", lambda lib, a, b: a ** b, positive((), 21), smooth((3, 4), 22))
case("pow_scalar_0d", lambda lib, a: a ** 3, smooth((), 23))

# ============================================================================================ elementwise: unary
UNARY_SHAPES = [(3, 4), (), (1, 3, 1), (0, 3)]
for s in UNARY_SHAPES:
    tag = str(s).replace(" ", "")
    case(f"neg{tag}", lambda lib, a: -a, smooth(s, 30))
    case(f"neg_fn{tag}", lambda lib, a: lib.neg(a), smooth(s, 30))
    case(f"exp{tag}", lambda lib, a: lib.exp(a), smooth(s, 31))
    case(f"exp_method{tag}", lambda lib, a: a.exp(), smooth(s, 31))
    case(f"log{tag}", lambda lib, a: lib.log(a), positive(s, 32, 0.2, 3.0))
    case(f"log1p{tag}", lambda lib, a: lib.log1p(a), smooth(s, 33, -0.7, 3.0))
    case(f"sqrt{tag}", lambda lib, a: lib.sqrt(a), positive(s, 34, 0.2, 3.0))
    case(f"abs{tag}", lambda lib, a: lib.abs(a), away(s, (0.0,), 35))
    case(f"abs_builtin{tag}", lambda lib, a: abs(a), away(s, (0.0,), 35))
    case(f"sigmoid{tag}", lambda lib, a: lib.sigmoid(a), smooth(s, 36, -6, 6))
    case(f"tanh{tag}", lambda lib, a: lib.tanh(a), smooth(s, 37))
    case(f"relu{tag}", lambda lib, a: lib.relu(a), away(s, (0.0,), 38))
    case(f"square{tag}", lambda lib, a: lib.square(a), smooth(s, 39))

case("sigmoid_wide", lambda lib, a: a.sigmoid(), smooth((4, 5), 40, -30, 30))
case("tanh_method", lambda lib, a: a.tanh(), smooth((4, 5), 41, -3, 3))
case("relu_method", lambda lib, a: a.relu(), away((4, 5), (0.0,), 42))
case("leaky_relu_default", lambda lib, a: lib.leaky_relu(a), away((4, 5), (0.0,), 43),
     th=lambda torch, a: _F(torch).leaky_relu(a))
case("leaky_relu_0.2", lambda lib, a: lib.leaky_relu(a, 0.2), away((4, 5), (0.0,), 44),
     th=lambda torch, a: _F(torch).leaky_relu(a, 0.2))
case("leaky_relu_0d", lambda lib, a: lib.leaky_relu(a, 0.1), np.array(-0.7),
     th=lambda torch, a: _F(torch).leaky_relu(a, 0.1))
# torch 2.13 has no derivative for hardsigmoid_backward, so its double backward is compared with zeros by
# gradgradcheck only (relulab's slope is piecewise constant).
case("hardsigmoid", lambda lib, a: lib.hardsigmoid(a), away((4, 5), (-3.0, 3.0), 45, -5, 5),
     th=lambda torch, a: _F(torch).hardsigmoid(a), torch_double=False)
case("softplus_default", lambda lib, a: lib.softplus(a), smooth((4, 5), 46, -5, 5),
     th=lambda torch, a: _F(torch).softplus(a))
case("softplus_past_threshold", lambda lib, a: lib.softplus(a, beta=1.0, threshold=1.0),
     away((4, 5), (1.0,), 47, -3, 3),
     th=lambda torch, a: _F(torch).softplus(a, beta=1.0, threshold=1.0))
case("softplus_beta2_threshold3", lambda lib, a: lib.softplus(a, beta=2.0, threshold=3.0),
     away((4, 5), (1.5,), 48, -3, 3),
     th=lambda torch, a: _F(torch).softplus(a, beta=2.0, threshold=3.0))
case("softplus_beta0.5", lambda lib, a: lib.softplus(a, beta=0.5, threshold=20.0), smooth((4, 5), 49, -6, 6),
     th=lambda torch, a: _F(torch).softplus(a, beta=0.5, threshold=20.0))
case("softplus_large_inputs", lambda lib, a: lib.softplus(a), np.array([-40.0, -25.0, 19.5, 25.0, 40.0]),
     th=lambda torch, a: _F(torch).softplus(a))

# clamp: scalar bounds (min only, max only, both), tensor bounds
CLAMP_X = away((4, 5), (-0.5, 0.5), 50)
case("clamp_min", lambda lib, a: lib.clamp(a, min=-0.5), CLAMP_X)
case("clamp_max", lambda lib, a: lib.clamp(a, max=0.5), CLAMP_X)
case("clamp_both", lambda lib, a: lib.clamp(a, -0.5, 0.5), CLAMP_X)
case("clamp_method_both", lambda lib, a: a.clamp(min=-0.5, max=0.5), CLAMP_X)
case("clip_method", lambda lib, a: a.clip(-0.5, 0.5), CLAMP_X)
case("clamp_int_bounds", lambda lib, a: lib.clamp(a, -1, 1), away((4, 5), (-1.0, 1.0), 51))
case("clamp_0d", lambda lib, a: lib.clamp(a, min=0.0), np.array(0.8))
_lo, _x, _hi = split_distinct([(4,), (3, 4), (4,)], 52)
case("clamp_tensor_bounds", lambda lib, lo, x, hi: lib.clamp(x, min=lo, max=hi),
     np.minimum(_lo, _hi) - 0.3, _x, np.maximum(_lo, _hi) + 0.3)

# where
COND = smooth((3, 4), 60) > 0
case("where_same_shape", lambda lib, a, b: lib.where(T(lib, COND), a, b), smooth((3, 4), 61), smooth((3, 4), 62))
case("where_broadcast", lambda lib, a, b: lib.where(T(lib, COND), a, b), smooth((3, 1), 63), smooth((4,), 64))
case("where_scalar_other", lambda lib, a: lib.where(T(lib, COND), a, 0.0), smooth((3, 4), 65))
case("where_scalar_input", lambda lib, b: lib.where(T(lib, COND), -1.5, b), smooth((3, 4), 66))
case("where_cond_broadcast", lambda lib, a, b: lib.where(T(lib, COND[:1]), a, b), smooth((3, 4), 67),
     smooth((3, 4), 68))
case("where_nonlinear_branches", lambda lib, a: lib.where(T(lib, COND), a.exp(), a * a), smooth((3, 4), 69))
case("masked_fill", lambda lib, a: a.masked_fill(T(lib, COND), -2.0), smooth((3, 4), 70))
case("tensor_where_method", lambda lib, a, b: a.where(T(lib, COND), b), smooth((3, 4), 71), smooth((3, 4), 72))

# ============================================================================================ matmul
MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 4, 3)),
    ((1, 3, 4), (2, 4, 2)),
    ((3, 4), (2, 4, 2)),
    ((1, 1), (1, 1)),
    ((0, 3), (3, 2)),
    ((2, 0), (0, 3)),
]
for sa, sb in MATMUL_SHAPES:
    tag = f"{sa}@{sb}".replace(" ", "")
    case(f"matmul{tag}", lambda lib, a, b: a @ b, smooth(sa, 80), smooth(sb, 81))
case("matmul_fn", lambda lib, a, b: lib.matmul(a, b), smooth((2, 3), 82), smooth((3, 2), 83))
case("matmul_method", lambda lib, a, b: a.matmul(b), smooth((2, 3), 84), smooth((3,), 85))
case("mm_method", lambda lib, a, b: a.mm(b), smooth((2, 3), 86), smooth((3, 2), 87))
case("matmul_gram", lambda lib, a: a @ a.T, smooth((3, 4), 88))
case("matmul_chain", lambda lib, a, b: (a @ b).tanh() @ b.T, smooth((3, 4), 89), smooth((4, 5), 90))

# ============================================================================================ reductions
X3 = distinct((2, 3, 4), 100)
DIMS = [None, 0, 1, -1, (0, 2), (-1, -3), (1,), (0, 1, 2)]
for d in DIMS:
    for k in (False, True):
        tag = f"[{d}|keep={k}]".replace(" ", "")
        if d is None:
            case(f"sum{tag}", lambda lib, a, k=k: a.sum(dim=None, keepdim=k) if k else a.sum(), X3)
            case(f"mean{tag}", lambda lib, a, k=k: a.mean(dim=None, keepdim=k) if k else a.mean(), X3)
        else:
            case(f"sum{tag}", lambda lib, a, d=d, k=k: a.sum(dim=d, keepdim=k), X3)
            case(f"mean{tag}", lambda lib, a, d=d, k=k: a.mean(dim=d, keepdim=k), X3)
        case(f"var{tag}", lambda lib, a, d=d, k=k: a.var(dim=d, keepdim=k), X3)
        case(f"std{tag}", lambda lib, a, d=d, k=k: a.std(dim=d, keepdim=k), X3)
        case(f"amax{tag}", lambda lib, a, d=d, k=k: lib.amax(a, dim=d, keepdim=k) if d is not None
             else (lib.amax(a, dim=(0, 1, 2), keepdim=k)), X3)
        case(f"amin{tag}", lambda lib, a, d=d, k=k: a.amin(dim=d, keepdim=k) if d is not None
             else a.amin(dim=(0, 1, 2), keepdim=k), X3)
        if isinstance(d, int):
            case(f"max_dim{tag}", lambda lib, a, d=d, k=k: a.max(dim=d, keepdim=k), X3)
            case(f"min_dim{tag}", lambda lib, a, d=d, k=k: a.min(d, k), X3)
            case(f"max_dim_values{tag}", lambda lib, a, d=d, k=k: a.max(dim=d, keepdim=k).values, X3)
            case(f"min_dim_values{tag}", lambda lib, a, d=d, k=k: lib.min(a, dim=d, keepdim=k)[0], X3)
            case(f"logsumexp{tag}", lambda lib, a, d=d, k=k: lib.logsumexp(a, d, keepdim=k), X3)
        elif d is not None:
            case(f"logsumexp{tag}", lambda lib, a, d=d, k=k: a.logsumexp(dim=d, keepdim=k), X3)

case("sum_fn", lambda lib, a: lib.sum(a, 1), X3)
case("mean_fn", lambda lib, a: lib.mean(a, dim=(0, 1)), X3)
case("var_unbiased_false", lambda lib, a: a.var(dim=1, unbiased=False), X3)
case("var_correction0", lambda lib, a: a.var(correction=0), X3)
case("std_unbiased_false", lambda lib, a: lib.std(a, dim=-1, unbiased=False, keepdim=True), X3)
case("var_fn", lambda lib, a: lib.var(a, 0), X3)
case("max_full", lambda lib, a: a.max(), X3)
case("min_full", lambda lib, a: lib.min(a), X3)
case("max_full_fn", lambda lib, a: lib.max(a), X3)
case("amax_fn_int", lambda lib, a: lib.amax(a, 1), X3)
case("amin_fn_tuple_keep", lambda lib, a: lib.amin(a, (0, 2), True), X3)
case("max_binary_tensor", lambda lib, a, b: lib.max(a, b), *split_distinct([(3, 4), (4,)], 101))
case("min_binary_tensor", lambda lib, a, b: lib.min(a, b), *split_distinct([(3, 4), (3, 1)], 102))
case("max_dim_2d", lambda lib, a: a.max(1), distinct((5, 4), 103))
case("min_dim_2d_neg", lambda lib, a: a.min(dim=-2), distinct((5, 4), 104))
case("logsumexp_2d_dim1", lambda lib, a: lib.logsumexp(a, dim=1), smooth((4, 5), 105, -5, 5))
case("logsumexp_large", lambda lib, a: lib.logsumexp(a, dim=-1), smooth((3, 4), 106, 500, 800))

# edge sizes: 0-d, size-1 and zero-size dimensions
X0 = np.array(0.7)
case("sum_0d", lambda lib, a: a.sum(), X0)
case("sum_0d_dim0", lambda lib, a: a.sum(dim=0), X0)
case("sum_0d_dim-1_keep", lambda lib, a: a.sum(dim=-1, keepdim=True), X0)
case("mean_0d", lambda lib, a: a.mean(), X0)
case("max_0d", lambda lib, a: a.max(), X0)
case("amax_0d_dim0", lambda lib, a: lib.amax(a, 0), X0)
case("amin_0d_dim-1_keep", lambda lib, a: lib.amin(a, -1, keepdim=True), X0)
case("max_0d_dim0", lambda lib, a: a.max(dim=0), X0)
case("logsumexp_0d", lambda lib, a: lib.logsumexp(a, 0), X0)
case("sum_size1_dims", lambda lib, a: a.sum(dim=(0, 2)), smooth((1, 3, 1), 107))
case("mean_size1_keep", lambda lib, a: a.mean(dim=1, keepdim=True), smooth((3, 1), 108))
case("amax_size1", lambda lib, a: lib.amax(a, dim=0), distinct((1, 4), 109))
case("max_dim_size1", lambda lib, a: a.max(dim=1), distinct((3, 1), 110))
case("std_size1_other_dim", lambda lib, a: a.std(dim=1), distinct((1, 4), 111))
case("sum_zero_size_dim0", lambda lib, a: a.sum(dim=0), np.zeros((0, 3)))
case("sum_zero_size_all", lambda lib, a: a.sum(), np.zeros((0, 3)))
case("sum_zero_size_dim1_keep", lambda lib, a: a.sum(dim=1, keepdim=True), np.zeros((0, 3)))
case("mean_zero_size_other_dim", lambda lib, a: a.mean(dim=1), np.zeros((0, 3)))
case("amax_zero_size_other_dim", lambda lib, a: lib.amax(a, dim=1), np.zeros((0, 3)))
case("max_zero_size_other_dim", lambda lib, a: a.max(dim=1), np.zeros((0, 3)))
case("sum_empty_dim_tuple", lambda lib, a: a.sum(dim=()), X3)

# ============================================================================================ shape ops
XS = smooth((2, 3, 4), 120)
case("reshape", lambda lib, a: a.reshape(4, 6), XS)
case("reshape_tuple_neg1", lambda lib, a: a.reshape((-1, 2)), XS)
case("reshape_fn", lambda lib, a: lib.reshape(a, (3, -1)), XS)
case("reshape_0d_to_1", lambda lib, a: a.reshape(1, 1), X0)
case("reshape_to_0d", lambda lib, a: a.reshape(()), np.array([0.3]))
case("reshape_same", lambda lib, a: a.reshape(2, 3, 4) * 2.0, XS)
case("view", lambda lib, a: a.view(6, 4), XS)
case("view_neg1", lambda lib, a: a.view(-1), XS)
case("view_as", lambda lib, a, b: a.view_as(b), smooth((2, 6), 121), smooth((3, 4), 122))
case("flatten", lambda lib, a: a.flatten(), XS)
case("flatten_1", lambda lib, a: a.flatten(1), XS)
case("flatten_0_1", lambda lib, a: lib.flatten(a, 0, 1), XS)
case("flatten_neg", lambda lib, a: a.flatten(-2, -1), XS)
case("flatten_0d", lambda lib, a: a.flatten(), X0)
case("squeeze_all", lambda lib, a: a.squeeze(), smooth((1, 3, 1, 4), 123))
case("squeeze_0", lambda lib, a: a.squeeze(0), smooth((1, 3, 1, 4), 123))
case("squeeze_neg2", lambda lib, a: lib.squeeze(a, -2), smooth((1, 3, 1, 4), 123))
case("squeeze_non1_dim", lambda lib, a: a.squeeze(1), smooth((1, 3, 1, 4), 123))
case("squeeze_tuple", lambda lib, a: a.squeeze((0, 2)), smooth((1, 3, 1, 4), 123))
case("unsqueeze_0", lambda lib, a: a.unsqueeze(0), XS)
case("unsqueeze_neg1", lambda lib, a: a.unsqueeze(-1), XS)
case("unsqueeze_mid", lambda lib, a: lib.unsqueeze(a, 2), XS)
case("unsqueeze_0d", lambda lib, a: a.unsqueeze(0), X0)
case("transpose", lambda lib, a: a.transpose(0, 2), XS)
case("transpose_neg", lambda lib, a: lib.transpose(a, -1, -2), XS)
case("transpose_same", lambda lib, a: a.transpose(1, 1) * 1.5, XS)
case("permute", lambda lib, a: a.permute(2, 0, 1), XS)
case("permute_tuple_neg", lambda lib, a: lib.permute(a, (-1, 0, -2)), XS)
case("expand", lambda lib, a: a.expand(2, 3, 4), smooth((3, 1), 124))
case("expand_neg1", lambda lib, a: a.expand(-1, 5), smooth((3, 1), 125))
case("expand_0d", lambda lib, a: a.expand(2, 3), X0)
case("expand_as", lambda lib, a, b: a.expand_as(b) * b, smooth((1, 4), 126), smooth((3, 4), 127))
case("broadcast_to", lambda lib, a: lib.broadcast_to(a, (2, 3, 4)), smooth((4,), 128))
case("T_2d", lambda lib, a: a.T, smooth((3, 4), 129))
case("mT_3d", lambda lib, a: a.mT, XS)
case("t_fn", lambda lib, a: lib.t(a), smooth((3, 4), 130))
case("t_method_1d", lambda lib, a: a.t(), smooth((4,), 131))
case("unflatten", lambda lib, a: a.unflatten(1, (2, 2)), smooth((3, 4), 132))
case("reshape_zero_size", lambda lib, a: a.reshape(3, 0), np.zeros((0, 3)))
case("transpose_zero_size", lambda lib, a: a.transpose(0, 1), np.zeros((0, 3)))

# ============================================================================================ indexing
XI = smooth((5, 4), 140)
case("index_int", lambda lib, a: a[1], XI)
case("index_neg_int", lambda lib, a: a[-1], XI)
case("index_two_ints", lambda lib, a: a[2, -3], XI)
case("slice", lambda lib, a: a[1:4], XI)
case("slice_step", lambda lib, a: a[::2], XI)
case("slice_step_2d", lambda lib, a: a[1::2, ::3], XI)
case("slice_neg_bounds", lambda lib, a: a[-4:-1, 1:-1], XI)
case("slice_col_neg", lambda lib, a: a[:, -1], XI)
case("slice_empty", lambda lib, a: a[3:3], XI)
case("ellipsis", lambda lib, a: a[..., 1], XS)
case("ellipsis_mid", lambda lib, a: a[1, ..., -2], XS)
case("none_front", lambda lib, a: a[None], XI)
case("none_mid", lambda lib, a: a[:, None, 1:], XI)
case("ellipsis_none", lambda lib, a: a[..., None], XI)
case("index_0d_none", lambda lib, a: a[None], X0)
case("index_0d_ellipsis", lambda lib, a: a[...] * 2.0, X0)
case("int_array_repeats", lambda lib, a: a[T(lib, [0, 2, 0, 0, 4])], XI)
case("int_array_neg", lambda lib, a: a[T(lib, [-1, 0, -1])], XI)
case("int_array_2d_index", lambda lib, a: a[T(lib, [[0, 1], [1, 1]])], XI)
case("int_array_cols_repeats", lambda lib, a: a[:, T(lib, [3, 3, 0])], XI)
case("int_array_pairs", lambda lib, a: a[T(lib, [0, 4, 0]), T(lib, [1, 2, 1])], XI)
case("int_array_broadcast", lambda lib, a: a[T(lib, [[0], [2]]), T(lib, [1, 3, 1])], XI)
case("int_list_index", lambda lib, a: a[[0, 2, 2]], XI)
case("int_array_3d_mid", lambda lib, a: a[:, T(lib, [2, 0, 2])], XS)
case("bool_mask", lambda lib, a: a[T(lib, XI > 0)], XI)
case("bool_mask_rows", lambda lib, a: a[T(lib, np.array([True, False, True, True, False]))], XI)
case("bool_mask_all_false", lambda lib, a: a[T(lib, np.zeros((5, 4), dtype=bool))], XI)
case("bool_mask_3d_leading", lambda lib, a: a[T(lib, XS[..., 0] > 0)], XS)
LABELS = np.array([3, 0, 3, 1, 2])
case("pick_labels", lambda lib, a: a[lib.arange(5), T(lib, LABELS)], XI)
case("pick_labels_log_softmax", lambda lib, a: -a.log_softmax(dim=1)[lib.arange(5), T(lib, LABELS)].mean(), XI)
GIDX = np.array([[0, 0, 3], [1, 2, 1], [3, 3, 3], [2, 0, 1], [0, 1, 2]])
case("gather_dim1", lambda lib, a: lib.gather(a, 1, T(lib, GIDX)), XI)
case("gather_dim_neg1_method", lambda lib, a: a.gather(-1, T(lib, GIDX)), XI)
case("gather_dim0", lambda lib, a: a.gather(0, T(lib, np.array([[4, 0, 0, 1], [4, 4, 2, 3]]))), XI)
case("gather_labels", lambda lib, a: a.gather(1, T(lib, LABELS[:, None])), XI)
case("gather_3d", lambda lib, a: a.gather(2, T(lib, np.array([[[0, 3], [1, 1], [2, 0]]] * 2))), XS)
case("gather_0d", lambda lib, a: a.gather(0, T(lib, np.array(0))), X0)
case("index_zero_size", lambda lib, a: a[:, 1:], np.zeros((0, 3)))

# ============================================================================================ cat / stack
CA, CB, CC = smooth((2, 3), 150), smooth((2, 3), 151), smooth((2, 3), 152)
case("cat_dim0", lambda lib, a, b, c: lib.cat([a, b, c], dim=0), CA, smooth((1, 3), 153), CC)
case("cat_dim1", lambda lib, a, b, c: lib.cat((a, b, c), 1), CA, smooth((2, 1), 154), smooth((2, 4), 155))
case("cat_dim_neg1", lambda lib, a, b: lib.cat([a, b], dim=-1), smooth((2, 2, 3), 156), smooth((2, 2, 1), 157))
case("cat_single", lambda lib, a: lib.cat([a]) * 2.0, CA)
case("cat_same_tensor_twice", lambda lib, a: lib.cat([a, a * a]), CA)
case("concat_alias", lambda lib, a, b: lib.concat([a, b], 0), CA, CB)
case("cat_zero_size_piece", lambda lib, a, b: lib.cat([a, b], 0), CA, np.zeros((0, 3)))
for d in (0, 1, 2, -1, -2):
    case(f"stack_dim{d}", lambda lib, a, b, c, d=d: lib.stack([a, b, c], dim=d), CA, CB, CC)
case("stack_0d", lambda lib, a, b: lib.stack([a, b]), X0, np.array(-0.4))
case("stack_1d_dim1", lambda lib, a, b: lib.stack([a, b], 1), smooth((4,), 158), smooth((4,), 159))

# ============================================================================================ softmax family
SM = {"1d": smooth((5,), 160, -3, 3), "2d": smooth((3, 5), 161, -3, 3), "3d": smooth((2, 3, 4), 162, -3, 3)}
for name, dims in (("1d", (0, -1)), ("2d", (0, 1, -1, -2)), ("3d", (0, 1, 2, -1, -3))):
    for d in dims:
        case(f"softmax_{name}_dim{d}", lambda lib, a, d=d: a.softmax(dim=d), SM[name])
        case(f"log_softmax_{name}_dim{d}", lambda lib, a, d=d: a.log_softmax(dim=d), SM[name])
case("softmax_fn", lambda lib, a: lib.softmax(a, dim=1), SM["2d"])
case("log_softmax_fn", lambda lib, a: lib.log_softmax(a, -1), SM["3d"])
case("softmax_F", lambda lib, a: lib.softmax(a, 1), SM["2d"], th=lambda torch, a: _F(torch).softmax(a, 1))
case("softmax_size1_dim", lambda lib, a: a.softmax(dim=1), smooth((4, 1), 163))
case("log_softmax_size1_dim", lambda lib, a: a.log_softmax(dim=1), smooth((4, 1), 164))
case("softmax_0d", lambda lib, a: a.softmax(dim=0), X0)
case("log_softmax_0d", lambda lib, a: a.log_softmax(dim=0), X0)
case("softmax_large_logits", lambda lib, a: a.softmax(dim=-1), smooth((3, 4), 165, -60, 60))
case("log_softmax_large_logits", lambda lib, a: a.log_softmax(dim=-1), smooth((3, 4), 166, -60, 60))
case("softmax_zero_rows", lambda lib, a: a.softmax(dim=1), np.zeros((0, 3)))
case("log_softmax_zero_rows", lambda lib, a: a.log_softmax(dim=-1), np.zeros((0, 3)))
case("cross_entropy_composite",
     lambda lib, a: -(a.log_softmax(dim=1) * T(lib, np.eye(4)[LABELS], dtype=lib.float64)).sum(dim=1).mean(),
     XI)
case("mse_composite", lambda lib, a, b: ((a - b) ** 2).mean(), XI, smooth((5, 4), 167))
case("mlp_composite", lambda lib, x, w1, w2: (lib.relu(x @ w1) @ w2).log_softmax(dim=-1),
     smooth((3, 4), 168), away((4, 5), (0.0,), 169, margin=0.2), smooth((5, 2), 170))

IDS = [c.id for c in CASES]
assert len(IDS) == len(set(IDS)), sorted({i for i in IDS if IDS.count(i) > 1})


def _params(check):
    out = []
    for c in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=c.bugs[check])] if check in c.bugs else []
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


def _fns(c, torch):
    rl_fn = functools.partial(c.fn, rl)
    th_fn = functools.partial(c.th, torch) if c.th is not None else functools.partial(c.fn, torch)
    return rl_fn, th_fn


@pytest.mark.parametrize("c", _params("check_op"))
def test_check_op(c, torch):
    rl_fn, th_fn = _fns(c, torch)
    check_op(rl_fn, th_fn, *c.arrays, atol=c.atol, rtol=c.rtol, double_backward=c.torch_double)


@pytest.mark.parametrize("c", _params("gradcheck"))
def test_gradcheck(c):
    gradcheck(functools.partial(c.fn, rl), *c.arrays)


@pytest.mark.parametrize("c", _params("gradgradcheck"))
def test_gradgradcheck(c):
    gradgradcheck(functools.partial(c.fn, rl), *c.arrays)


# ============================================================================================ forward-only ops
ARG_X = distinct((3, 4, 5), 200)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (None, True), (0, False), (1, True), (-1, False),
                                         (2, True), (-3, True)])
def test_arg_reductions(op, dim, keepdim, torch):
    x = rl.tensor(ARG_X, requires_grad=True)
    t = torch.tensor(ARG_X)
    got = getattr(x, op)(dim=dim, keepdim=keepdim)
    want = getattr(t, op)(dim=dim, keepdim=keepdim)
    assert got.dtype == rl.int64
    assert not got.requires_grad
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    got_fn = getattr(rl, op)(x, dim, keepdim)
    np.testing.assert_array_equal(got_fn.numpy(), want.numpy())


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_arg_reductions_0d_and_1d(op, torch):
    for arr in (np.array(0.3), np.array([0.1, -2.0, 5.0, 0.2])):
        got, want = getattr(rl.tensor(arr), op)(), getattr(torch.tensor(arr), op)()
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert got.shape == tuple(want.shape)


def test_max_dim_indices_match_torch(torch):
    for d in (0, 1, 2, -1):
        r = rl.tensor(ARG_X).max(dim=d)
        t = torch.tensor(ARG_X).max(dim=d)
        np.testing.assert_array_equal(r.indices.numpy(), t.indices.numpy())
        np.testing.assert_array_equal(r.values.numpy(), t.values.numpy())
        r = rl.tensor(ARG_X).min(d, keepdim=True)
        t = torch.tensor(ARG_X).min(d, keepdim=True)
        np.testing.assert_array_equal(r[1].numpy(), t[1].numpy())


# ============================================================================================ dtype behaviour vs torch
def _dt(x):
    return str(x.dtype).replace("torch.", "")


def test_factory_dtypes_match_torch(torch):
    for data in (1.5, [1.0, 2.0], 3, [1, 2], True, [True, False], [1, 2.5], [[1], [2]]):
        assert _dt(rl.tensor(data)) == _dt(torch.tensor(data)), data
    assert rl.tensor(1.5).dtype == rl.float32
    assert rl.tensor([1, 2]).dtype == rl.int64
    for arr in (np.zeros(2, np.float64), np.zeros(2, np.float32), np.zeros(2, np.int32), np.zeros(2, np.int64)):
        assert _dt(rl.tensor(arr)) == _dt(torch.tensor(arr))
    for scalar in (np.float64(1.5), np.float32(1.5), np.int32(1), np.int64(2)):
        assert _dt(rl.tensor(scalar)) == _dt(torch.tensor(scalar)), scalar


def test_factory_list_of_numpy_scalars(torch):
    data = [np.float64(1.5), np.float64(2.0)]
    assert _dt(rl.tensor(data)) == _dt(torch.tensor(data)) == "float64"


PROMOTION = [
    ("int / int", lambda lib: lib.tensor([1, 2, 3]) / 2),
    ("int / int tensor", lambda lib: lib.tensor([1, 2, 3]) / lib.tensor([2, 2, 2])),
    ("int * int", lambda lib: lib.tensor([1, 2, 3]) * 2),
    ("int + float", lambda lib: lib.tensor([1, 2, 3]) + 0.5),
    ("float + int tensor", lambda lib: 0.5 + lib.tensor([1, 2])),
    ("f32 + pyfloat", lambda lib: lib.tensor([1.0, 2.0]) + 1.5),
    ("f32 * pyint", lambda lib: lib.tensor([1.0, 2.0]) * 3),
    ("pyfloat - f32", lambda lib: 2.5 - lib.tensor([1.0, 2.0])),
    ("f32 + f64", lambda lib: lib.tensor([1.0, 2.0]) + lib.tensor([1.0, 2.0], dtype=lib.float64)),
    ("f64 + f32", lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64) + lib.tensor([1.0, 2.0])),
    ("f32 + f64 0-d", lambda lib: lib.tensor([1.0, 2.0]) + lib.tensor(1.0, dtype=lib.float64)),
    ("f64 0-d * f32", lambda lib: lib.tensor(3.0, dtype=lib.float64) * lib.tensor([1.0, 2.0])),
    ("f64 + pyfloat", lambda lib: lib.tensor([1.0], dtype=lib.float64) + 0.1),
    ("i64 + f32", lambda lib: lib.tensor([1, 2]) + lib.tensor([1.0, 2.0])),
    ("i32 + i64", lambda lib: lib.tensor([1, 2], dtype=lib.int32) + lib.tensor([1, 2])),
    ("i32 + pyint", lambda lib: lib.tensor([1, 2], dtype=lib.int32) + 7),
    ("f32 ** 2", lambda lib: lib.tensor([1.0, 2.0]) ** 2),
    ("int ** 2", lambda lib: lib.tensor([1, 2]) ** 2),
    ("int ** 0.5", lambda lib: lib.tensor([1, 4]) ** 0.5),
    ("2.0 ** int", lambda lib: 2.0 ** lib.tensor([1, 2])),
    ("exp(int)", lambda lib: lib.exp(lib.tensor([1, 2]))),
    ("sqrt(int)", lambda lib: lib.sqrt(lib.tensor([1, 4]))),
    ("sum(int)", lambda lib: lib.tensor([1, 2]).sum()),
    ("sum(bool)", lambda lib: lib.tensor([True, False, True]).sum()),
    ("mean(f64)", lambda lib: lib.tensor([1.0, 2.0], dtype=lib.float64).mean()),
    ("matmul f32", lambda lib: lib.tensor([[1.0, 2.0]]) @ lib.tensor([[1.0], [2.0]])),
    ("f32.double()", lambda lib: lib.tensor([1.0]).double()),
    ("int.float()", lambda lib: lib.tensor([1]).float()),
    ("f32.long()", lambda lib: lib.tensor([1.7]).long()),
    ("where f32/f64", lambda lib: lib.where(lib.tensor([True, False]), lib.tensor([1.0, 2.0]),
                                            lib.tensor([1.0, 2.0], dtype=lib.float64))),
    ("where f32/pyfloat", lambda lib: lib.where(lib.tensor([True, False]), lib.tensor([1.0, 2.0]), 0.0)),
    ("maximum i64/f32", lambda lib: lib.maximum(lib.tensor([1, 2]), lib.tensor([1.5, 0.5]))),
    ("cat i64/f32", lambda lib: lib.cat([lib.tensor([1, 2]), lib.tensor([1.5])])),
    ("zeros", lambda lib: lib.zeros(2)),
    ("arange int", lambda lib: lib.arange(3)),
    ("arange float", lambda lib: lib.arange(0.0, 1.0, 0.5)),
    ("full int", lambda lib: lib.full((2,), 3)),
    ("full float", lambda lib: lib.full((2,), 3.0)),
    ("ones_like f64", lambda lib: lib.ones_like(lib.tensor([1.0], dtype=lib.float64))),
    ("bool * pyfloat", lambda lib: lib.tensor([True, False]) * 2.5),
    ("bool + bool", lambda lib: lib.tensor([True]) + lib.tensor([False])),
    ("int + pybool", lambda lib: lib.tensor([1, 2]) + True),
    ("u8 + i64 0-d", lambda lib: lib.tensor(np.array([1, 2], np.uint8)) + lib.tensor(3)),
    ("f16 + f32 0-d", lambda lib: lib.tensor([1.0], dtype=lib.float16) + lib.tensor(1.0)),
    ("i64 0-d + f32", lambda lib: lib.tensor(3) + lib.tensor([1.0, 2.0])),
    ("f32 + np.float64 scalar", lambda lib: lib.tensor([1.0]) + np.float64(0.5)),
    ("pyint ** int", lambda lib: 2 ** lib.tensor([1, 2])),
    ("sigmoid(int)", lambda lib: lib.sigmoid(lib.tensor([1, 2]))),
    ("clamp(int, int)", lambda lib: lib.clamp(lib.tensor([1, 2, 3]), min=2)),
    ("bool * pyint", lambda lib: lib.tensor([True, False]) * 2),
    ("bool + pyint", lambda lib: lib.tensor([True, False]) + 3),
    ("bool + i64 0-d", lambda lib: lib.tensor([True, False]) + lib.tensor(3)),
    ("clamp(int, float)", lambda lib: lib.clamp(lib.tensor([1, 2]), min=1.5)),
]


@pytest.mark.parametrize("name,fn", [pytest.param(*p, id=p[0]) for p in PROMOTION])
def test_dtype_promotion_matches_torch(name, fn, torch):
    got, want = fn(rl), fn(torch)
    assert _dt(got) == _dt(want), f"{name}: relulab {got.dtype}, torch {want.dtype}"
    np.testing.assert_allclose(np.asarray(got.tolist(), dtype=np.float64),
                               np.asarray(want.tolist(), dtype=np.float64), rtol=1e-6)


COMPARISONS = [
    ("lt", lambda a, b: a < b), ("le", lambda a, b: a <= b), ("gt", lambda a, b: a > b),
    ("ge", lambda a, b: a >= b), ("eq", lambda a, b: a == b), ("ne", lambda a, b: a != b),
    ("lt_scalar", lambda a, b: a < 0.0), ("eq_scalar", lambda a, b: a == 1.0),
    ("and", lambda a, b: (a > 0) & (b > 0)), ("or", lambda a, b: (a > 0) | (b > 0)),
    ("not", lambda a, b: ~(a > 0)),
]


@pytest.mark.parametrize("name,fn", COMPARISONS, ids=[c[0] for c in COMPARISONS])
def test_comparisons_are_bool_without_grad(name, fn, torch):
    a_np, b_np = np.array([[-1.0, 0.0, 1.0], [2.0, 1.0, -3.0]]), np.array([1.0, 0.0, -1.0])
    a, b = rl.tensor(a_np, requires_grad=True), rl.tensor(b_np, requires_grad=True)
    got = fn(a, b)
    want = fn(torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True))
    assert got.dtype == rl.bool and _dt(want) == "bool"
    assert not got.requires_grad and got.grad_fn is None
    assert want.requires_grad is False
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_comparison_result_blocks_gradient():
    x = rl.tensor([-1.0, 2.0, 3.0], requires_grad=True)
    y = (x * (x > 0)).sum()  # the mask is a constant: dy/dx = mask
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 1.0])


def test_float32_ops_stay_float32(torch):
    a_np = smooth((3, 4), 210).astype(np.float32)
    F = torch.nn.functional
    pairs = [
        (lambda a: a.exp(), lambda a: a.exp()),
        (lambda a: a.sigmoid(), lambda a: a.sigmoid()),
        (lambda a: a.softmax(dim=1), lambda a: a.softmax(dim=1)),
        (lambda a: a.log_softmax(dim=1), lambda a: a.log_softmax(dim=1)),
        (lambda a: a.var(dim=0), lambda a: a.var(dim=0)),
        (lambda a: a @ a.T, lambda a: a @ a.T),
        (lambda a: rl.logsumexp(a, 1), lambda a: torch.logsumexp(a, 1)),
        (lambda a: a.mean(), lambda a: a.mean()),
        (lambda a: a * 0.5 + 1, lambda a: a * 0.5 + 1),
        (lambda a: rl.tanh(a) ** 2, lambda a: torch.tanh(a) ** 2),
        (lambda a: rl.softplus(a), lambda a: F.softplus(a)),
        (lambda a: rl.hardsigmoid(a), lambda a: F.hardsigmoid(a)),
        (lambda a: rl.leaky_relu(a), lambda a: F.leaky_relu(a)),
        (lambda a: rl.clamp(a, -0.5, 0.5), lambda a: torch.clamp(a, -0.5, 0.5)),
    ]
    for rl_fn, th_fn in pairs:
        x = rl.tensor(a_np, requires_grad=True)
        r, t = rl_fn(x), th_fn(torch.tensor(a_np, requires_grad=True))
        assert r.dtype == rl.float32 and _dt(t) == "float32"
        r.sum().backward()
        assert x.grad.dtype == rl.float32


# ============================================================================================ stability
def test_log_softmax_extreme_logits_finite(torch):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]])
    for dtype, tdtype in ((rl.float32, torch.float32), (rl.float64, torch.float64)):
        x = rl.tensor(logits, dtype=dtype, requires_grad=True)
        out = x.log_softmax(dim=1)
        want = torch.tensor(logits, dtype=tdtype).log_softmax(dim=1)
        assert np.all(np.isfinite(out.detach().numpy()))
        np.testing.assert_allclose(out.detach().numpy(), want.numpy(), rtol=1e-6, atol=1e-3)
        loss = -out[rl.arange(3), rl.tensor([1, 0, 2])].mean()
        assert np.isfinite(loss.item())
        loss.backward()
        assert np.all(np.isfinite(x.grad.numpy()))
        sm = x.detach().softmax(dim=1).numpy()
        assert np.all(np.isfinite(sm)) and np.allclose(sm.sum(axis=1), 1.0)
        lse = rl.logsumexp(x.detach(), dim=1).numpy()
        np.testing.assert_allclose(lse, torch.logsumexp(torch.tensor(logits, dtype=tdtype), 1).numpy(), rtol=1e-6)


def test_sigmoid_softplus_extremes_finite(torch):
    v = np.array([-1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4])
    x = rl.tensor(v, dtype=rl.float64, requires_grad=True)
    for out in (rl.sigmoid(x), rl.softplus(x), rl.tanh(x)):
        assert np.all(np.isfinite(out.detach().numpy()))
    F = torch.nn.functional
    np.testing.assert_allclose(rl.sigmoid(x).detach().numpy(), torch.sigmoid(torch.tensor(v)).numpy(), atol=1e-12)
    np.testing.assert_allclose(rl.softplus(x).detach().numpy(), F.softplus(torch.tensor(v)).numpy(), rtol=1e-12)
    rl.softplus(x).sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


# ============================================================================================ hypothesis properties
HSET = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_floats = st.floats(-3, 3, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def _broadcast_pair(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=3))
    a = draw(hnp.arrays(np.float64, shapes.input_shapes[0], elements=_floats))
    b = draw(hnp.arrays(np.float64, shapes.input_shapes[1], elements=_floats))
    return a, b


@HSET
@given(pair=_broadcast_pair(), op=st.sampled_from(["add", "mul", "sub"]))
def test_hyp_broadcast_grads_sum_back(pair, op):
    torch = require_torch()
    a_np, b_np = pair
    f = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "sub": lambda a, b: a - b}[op]
    a, b = rl.tensor(a_np, requires_grad=True), rl.tensor(b_np, requires_grad=True)
    out = f(a, b)
    g = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(rl.tensor(g))
    ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    tout = f(ta, tb)
    tout.backward(torch.tensor(g))
    assert tuple(out.shape) == tuple(tout.shape) == np.broadcast_shapes(a_np.shape, b_np.shape)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert a.grad.shape == a_np.shape and b.grad.shape == b_np.shape
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-10, atol=1e-10)
    if op == "add":  # the gradient of a broadcast add is g summed back onto each input's shape
        np.testing.assert_allclose(a.grad.numpy().sum(), g.sum(), rtol=1e-9, atol=1e-9)


@st.composite
def _array_and_dim(draw, min_dims=1):
    arr = draw(hnp.arrays(np.float64, hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=4),
                          elements=st.floats(-50, 50, allow_nan=False, width=64)))
    dim = draw(st.integers(-arr.ndim, arr.ndim - 1))
    return arr, dim


@HSET
@given(ad=_array_and_dim())
def test_hyp_softmax_sums_to_one(ad):
    arr, dim = ad
    s = rl.tensor(arr).softmax(dim=dim).numpy()
    assert np.all(s >= 0) and np.all(s <= 1)
    np.testing.assert_allclose(s.sum(axis=dim), 1.0, rtol=1e-12)


@HSET
@given(ad=_array_and_dim())
def test_hyp_log_softmax_is_log_of_softmax(ad):
    torch = require_torch()
    arr, dim = ad
    x = rl.tensor(arr)
    ls = x.log_softmax(dim=dim).numpy()
    np.testing.assert_allclose(ls, np.log(x.softmax(dim=dim).numpy()), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ls, torch.tensor(arr).log_softmax(dim=dim).numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(rl.logsumexp(x, dim).numpy(), torch.logsumexp(torch.tensor(arr), dim).numpy(),
                               rtol=1e-10, atol=1e-10)


@HSET
@given(arr=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3),
                      elements=_floats),
       data=st.data())
def test_hyp_reductions_match_torch(arr, data):
    torch = require_torch()
    dims = data.draw(st.lists(st.integers(0, arr.ndim - 1), min_size=1, max_size=arr.ndim, unique=True))
    keep = data.draw(st.booleans())
    op = data.draw(st.sampled_from(["sum", "mean", "amax"]))
    x, t = rl.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)
    r = getattr(x, op)(dim=tuple(dims), keepdim=keep)
    w = getattr(t, op)(dim=tuple(dims), keepdim=keep)
    np.testing.assert_allclose(r.detach().numpy(), w.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(tuple(w.shape))
    r.backward(rl.tensor(g))
    w.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-10)


@HSET
@given(shapes=hnp.mutually_broadcastable_shapes(signature="(m,n),(n,p)->(m,p)", max_dims=2,
                                                max_side=3))
def test_hyp_matmul_broadcast_grads(shapes):
    torch = require_torch()
    rng = np.random.default_rng(2)
    a_np, b_np = (rng.standard_normal(s) for s in shapes.input_shapes)
    a, b = rl.tensor(a_np, requires_grad=True), rl.tensor(b_np, requires_grad=True)
    ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    out, tout = a @ b, ta @ tb
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(tuple(tout.shape))
    out.backward(rl.tensor(g))
    tout.backward(torch.tensor(g))
    assert a.grad.shape == a_np.shape and b.grad.shape == b_np.shape
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-10, atol=1e-12)
