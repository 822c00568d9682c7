"""The Tensor API that course code uses (issue 13): repeat, repeat_interleave, topk, sort, argsort, chunk, split,
index_select, masked_fill, nonzero, cumsum, prod, flip, roll, norm, plus new_*, Size, device, __format__, type(),
inference_mode.

Every differentiable op gets the same three checks as tests/test_ops.py: torch forward / backward / double
backward (``check_op``), a float64 gradcheck and a second-order check against finite differences.
"""
import functools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import relulab as rl
from opcheck import away, check_op, distinct, gradcheck, gradgradcheck, smooth

CASES = []


def case(id, fn, *arrays, th=None, torch_double=True):
    """``torch_double=False`` where torch's own double backward is NaN (the norm at a zero vector, where
    relulab's is 0), so only forward and backward are compared with torch there."""
    CASES.append(pytest.param(fn, th, tuple(np.asarray(a, dtype=np.float64) for a in arrays), torch_double, id=id))


def T(lib, array):
    return lib.tensor(np.asarray(array))


X = smooth((3, 4), 1)
X3 = smooth((2, 3, 4), 2)
D = distinct((3, 5), 3)
# repeat
case("repeat_2d", lambda lib, a: a.repeat(2, 3), X)
case("repeat_tuple", lambda lib, a: a.repeat((1, 2)), X)
case("repeat_new_dims", lambda lib, a: a.repeat(2, 1, 1, 2), X)
case("repeat_1d", lambda lib, a: a.repeat(3), smooth((4,), 4))
case("repeat_0d", lambda lib, a: a.repeat(2, 3), np.array(0.7))
case("repeat_zero", lambda lib, a: a.repeat(0, 2), X)
case("repeat_then_nonlinear", lambda lib, a: (a.repeat(1, 2) * a.repeat(1, 2)).tanh(), X)
# repeat_interleave
case("repeat_interleave_flat", lambda lib, a: a.repeat_interleave(2), X)
case("repeat_interleave_dim0", lambda lib, a: a.repeat_interleave(3, dim=0), X)
case("repeat_interleave_dim_neg", lambda lib, a: lib.repeat_interleave(a, 2, dim=-1), X3)
case("repeat_interleave_counts", lambda lib, a: a.repeat_interleave(T(lib, [2, 0, 1]), dim=0), X)
# index_select
case("index_select_dim0", lambda lib, a: a.index_select(0, T(lib, [2, 0, 2])), X)
case("index_select_dim1", lambda lib, a: lib.index_select(a, 1, T(lib, [2, 1])), X3)
case("index_select_neg_dim", lambda lib, a: a.index_select(-1, T(lib, [0, 0, 3])), X3)
case("index_select_0d_index", lambda lib, a: a.index_select(1, T(lib, 2)), X)
# chunk / split
case("chunk_even", lambda lib, a: a.chunk(2, dim=1), X)
case("chunk_uneven", lambda lib, a: lib.chunk(a, 2, 0), X)
case("chunk_more_than_size", lambda lib, a: a.chunk(5, 0), X)
case("split_size", lambda lib, a: a.split(3, dim=1), X)
case("split_sections", lambda lib, a: lib.split(a, [1, 2, 1], dim=-1), X3)
case("split_pieces_recombined", lambda lib, a: a.split(2)[0] * a.split(2)[1][:1], smooth((4, 3), 5))
# flip / roll
case("flip_0", lambda lib, a: a.flip(0), X)
case("flip_both", lambda lib, a: lib.flip(a, (0, 1)), X)
case("flip_neg", lambda lib, a: a.flip(-1), X3)
case("flip_varargs", lambda lib, a: a.flip(0, 2), X3)
case("roll_dim", lambda lib, a: a.roll(1, 1), X)
case("roll_neg", lambda lib, a: lib.roll(a, -2, 0), X)
case("roll_flat", lambda lib, a: a.roll(5), X)
case("roll_two_dims", lambda lib, a: a.roll((1, -1), (0, 2)), X3)
# cumsum
case("cumsum_0", lambda lib, a: a.cumsum(0), X)
case("cumsum_1", lambda lib, a: lib.cumsum(a, dim=1), X)
case("cumsum_neg", lambda lib, a: a.cumsum(-1), X3)
case("cumsum_squared", lambda lib, a: (a.cumsum(1) ** 2).sum(), X)
# prod (no zeros, with a single zero, with two zeros)
P = away((3, 4), (0.0,), 6, -1.5, 1.5, margin=0.3)
P1 = P.copy()
P1[1, 2] = 0.0
P2 = P.copy()
P2[0, 1] = P2[0, 3] = 0.0
case("prod_all", lambda lib, a: a.prod(), P)
case("prod_dim1", lambda lib, a: a.prod(1), P)
case("prod_dim0_keep", lambda lib, a: lib.prod(a, 0, keepdim=True), P)
case("prod_neg_dim", lambda lib, a: a.prod(dim=-1), smooth((2, 3, 2), 7))
case("prod_one_zero_dim1", lambda lib, a: a.prod(1), P1)
case("prod_one_zero_all", lambda lib, a: a.prod(), P1)
case("prod_two_zeros_dim1", lambda lib, a: a.prod(1), P2)
case("prod_0d", lambda lib, a: a.prod(), np.array(-1.3))
# norm
case("norm_default", lambda lib, a: a.norm(), X)
case("norm_fro", lambda lib, a: a.norm(p="fro"), X)
case("norm_dim", lambda lib, a: a.norm(dim=1), X)
case("norm_dim_keep", lambda lib, a: lib.norm(a, 2, dim=(0, 2), keepdim=True), X3)
case("norm_p1", lambda lib, a: a.norm(1, dim=0), away((3, 4), (0.0,), 8))
case("norm_p3", lambda lib, a: a.norm(3), away((3, 4), (0.0,), 9))
case("norm_p_half", lambda lib, a: a.norm(0.5, dim=1), away((3, 4), (0.0,), 10))
case("norm_inf", lambda lib, a: a.norm(float("inf"), dim=1), D)
case("norm_neg_inf", lambda lib, a: a.norm(float("-inf")), D)
case("norm_zero_row", lambda lib, a: (a * lib.tensor(np.array([[0.0], [1.0], [1.0]]))).norm(dim=1), X,
     torch_double=False)
# sort / topk / masked_fill
case("sort_last", lambda lib, a: a.sort(), D)
case("sort_dim0_desc", lambda lib, a: lib.sort(a, dim=0, descending=True), D)
case("sort_values", lambda lib, a: a.sort(dim=1).values * 2.0, D)
case("topk_2", lambda lib, a: a.topk(2), D)
case("topk_smallest_dim0", lambda lib, a: lib.topk(a, 2, dim=0, largest=False), D)
case("topk_values", lambda lib, a: a.topk(3, dim=1)[0].exp(), D)
case("masked_fill_scalar", lambda lib, a: a.masked_fill(T(lib, X > 0), 0.5), X)
case("masked_fill_broadcast_mask", lambda lib, a: a.masked_fill(T(lib, (X > 0)[:1]), -1.0), X)
case("masked_fill_tensor_value", lambda lib, a, v: a.masked_fill(T(lib, X > 0), v), X, np.array(0.3))


def _fns(fn, th, torch):
    return functools.partial(fn, rl), functools.partial(th if th is not None else fn, torch)


@pytest.mark.parametrize("fn, th, arrays, torch_double", CASES)
def test_check_op(fn, th, arrays, torch_double, torch):
    check_op(*_fns(fn, th, torch), *arrays, double_backward=torch_double)


@pytest.mark.parametrize("fn, th, arrays, torch_double", CASES)
def test_gradcheck(fn, th, arrays, torch_double):
    gradcheck(functools.partial(fn, rl), *arrays)


@pytest.mark.parametrize("fn, th, arrays, torch_double", CASES)
def test_gradgradcheck(fn, th, arrays, torch_double):
    gradgradcheck(functools.partial(fn, rl), *arrays)


# ============================================================================================ forward-only
def test_argsort_and_indices_match_torch_with_ties(torch):
    data = np.array([[3, 1, 2, 1, 3], [0, 0, 5, -1, 0]], dtype=np.int64)
    for kwargs in ({}, {"dim": 0}, {"descending": True}, {"dim": 0, "descending": True}):
        want = torch.tensor(data).sort(stable=True, **kwargs)
        got = rl.tensor(data).sort(**kwargs)
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        np.testing.assert_array_equal(rl.tensor(data).argsort(**kwargs).numpy(),
                                      torch.tensor(data).argsort(stable=True, **kwargs).numpy())


def test_sort_puts_nan_last_ascending_and_first_descending(torch):
    data = np.array([1.0, np.nan, -2.0, 3.0])
    for desc in (False, True):
        np.testing.assert_array_equal(rl.tensor(data).sort(descending=desc).indices.numpy(),
                                      torch.tensor(data).sort(descending=desc).indices.numpy())


def test_nonzero_matches_torch(torch):
    data = np.array([[0, 1, 0], [2, 0, 3]])
    np.testing.assert_array_equal(rl.tensor(data).nonzero().numpy(), torch.tensor(data).nonzero().numpy())
    for g, w in zip(rl.nonzero(rl.tensor(data), as_tuple=True), torch.nonzero(torch.tensor(data), as_tuple=True)):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    assert rl.tensor(data).nonzero().dtype == rl.int64
    assert tuple(rl.tensor(0).nonzero().shape) == tuple(torch.tensor(0).nonzero().shape)


def test_integer_cumsum_and_prod_are_int64(torch):
    data = np.array([1, 2, 3], dtype=np.int32)
    for op in ("cumsum", "prod"):
        args = (0,) if op == "cumsum" else ()
        got, want = getattr(rl.tensor(data), op)(*args), getattr(torch.tensor(data), op)(*args)
        assert got.dtype == rl.int64 and str(want.dtype) == "torch.int64"
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_repeat_interleave_of_counts_alone(torch):
    np.testing.assert_array_equal(rl.repeat_interleave(rl.tensor([2, 0, 3])).numpy(),
                                  torch.repeat_interleave(torch.tensor([2, 0, 3])).numpy())


def test_repeat_and_repeat_interleave_copy():
    x = rl.zeros(2, 3)
    for out in (x.repeat(1, 1), x.repeat_interleave(1, dim=0)):
        out[0, 0] = 5.0
        assert x[0, 0].item() == 0.0


def test_split_and_chunk_sizes_match_torch(torch):
    for n in (0, 1, 5, 6, 7):
        for k in (1, 2, 3, 4):
            r, t = rl.zeros(n, 2), torch.zeros(n, 2)
            assert [tuple(p.shape) for p in r.chunk(k)] == [tuple(p.shape) for p in t.chunk(k)], (n, k)
            if n:
                assert [tuple(p.shape) for p in r.split(k)] == [tuple(p.shape) for p in t.split(k)], (n, k)


def test_norm_of_zero_vector_has_zero_gradient(torch):
    x = rl.zeros(3, requires_grad=True)
    x.norm().backward()
    t = torch.zeros(3, requires_grad=True)
    t.norm().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_norm_p0_counts_nonzeros(torch):
    data = np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 3.0]])
    np.testing.assert_array_equal(rl.tensor(data).norm(0, dim=1).numpy(), torch.tensor(data).norm(0, dim=1).numpy())


def test_bad_arguments_name_the_op():
    x = rl.zeros(2, 3)
    with pytest.raises(RuntimeError, match="repeat: number of dimensions"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match="topk: k \\(4\\)"):
        x.topk(4)
    with pytest.raises(RuntimeError, match="split: split_sizes"):
        x.split([1, 1], dim=1)
    with pytest.raises(IndexError, match="index_select: index 3"):
        x.index_select(1, rl.tensor([3]))
    with pytest.raises(RuntimeError, match="index_select: index must be"):
        x.index_select(1, rl.tensor([0.5]))
    with pytest.raises(RuntimeError, match="repeat_interleave: repeats must have the same size"):
        x.repeat_interleave(rl.tensor([1, 2]), dim=1)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.lists(st.integers(0, 3), min_size=0, max_size=2))
def test_repeat_matches_numpy_tile(shape, extra):
    data = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    reps = tuple(extra) + tuple((i % 3) + 1 for i in range(len(shape)))
    np.testing.assert_array_equal(rl.tensor(data).repeat(*reps).numpy(), np.tile(data, reps))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(-8, 8))
def test_roll_is_undone_by_the_opposite_roll(n, shift):
    x = rl.arange(float(n * 2)).reshape(n, 2)
    np.testing.assert_array_equal(x.roll(shift, 0).roll(-shift, 0).numpy(), x.numpy())


# ============================================================================================ Tensor attributes
def test_size_prints_and_compares_like_torch(torch):
    x, t = rl.zeros(3, 4), torch.zeros(3, 4)
    assert repr(x.shape) == repr(t.shape) == "torch.Size([3, 4])"
    assert str(x.size()) == str(t.size())
    assert x.shape == (3, 4) and x.size(-1) == 4 and x.size(0) == 3
    assert repr(x.shape[1:]) == repr(t.shape[1:]) and repr(x.shape + (1,)) == repr(t.shape + (1,))
    assert x.shape.numel() == t.shape.numel() == 12
    assert isinstance(x.shape, tuple) and rl.Size([2, 1]) == (2, 1)
    with pytest.raises(IndexError, match="size: dimension 2"):
        x.size(2)


def test_numel_dim_and_type_names(torch):
    for dtype in ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"):
        x, t = rl.zeros(2, dtype=dtype), torch.zeros(2, dtype=getattr(torch, dtype))
        assert x.type() == t.type()
    x = rl.zeros(2, 3)
    assert x.numel() == 6 and x.dim() == 2 and x.nelement() == 6
    assert x.type("torch.LongTensor").dtype == rl.int64
    assert x.type(rl.float64).dtype == rl.float64
    with pytest.raises(ValueError, match="type: invalid type 'torch.Foo'"):
        x.type("torch.Foo")


def test_format_like_torch(torch):
    for value in (0.123456, 3.0):
        assert f"{rl.tensor(value):.3f}" == f"{torch.tensor(value):.3f}"
    assert f"{rl.tensor(7)}" == f"{torch.tensor(7)}" == "7" and f"{rl.tensor(7):>4}" == f"{torch.tensor(7):>4}"
    assert f"{rl.tensor([1.5])}" == str(rl.tensor([1.5]))
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{rl.tensor([1.5]):.2f}"


def test_device_and_to():
    x = rl.zeros(2)
    assert x.device == "cpu" and x.device == rl.device("cpu") and str(x.device) == "cpu"
    assert repr(rl.device("cuda", 1)) == "device(type='cuda', index=1)" and str(rl.device("cuda:1")) == "cuda:1"
    assert x.to(rl.device("cpu")) is x and x.to("cpu", rl.float64).dtype == rl.float64
    assert x.cpu() is x and not x.is_cuda
    with pytest.raises(RuntimeError, match="cuda.*CPU only"):
        x.cuda()
    with pytest.raises(RuntimeError, match="'cuda:0' is not available"):
        x.to(rl.device("cuda:0"))


def test_new_constructors_follow_the_tensors_dtype(torch):
    x, t = rl.zeros(2, dtype=rl.float64), torch.zeros(2, dtype=torch.float64)
    for name, args in (("new_zeros", (2, 3)), ("new_ones", ((2,),)), ("new_empty", (1,))):
        got, want = getattr(x, name)(*args), getattr(t, name)(*args)
        assert got.dtype == rl.float64 and tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(x.new_full((2, 2), 3.5).numpy(), t.new_full((2, 2), 3.5).numpy())
    assert x.new_tensor([1, 2]).dtype == rl.float64
    assert x.new_zeros(2, dtype=rl.int64).dtype == rl.int64
    assert x.new_ones(3, requires_grad=True).requires_grad


def test_inference_mode_and_set_grad_enabled():
    w = rl.ones(2, requires_grad=True)
    with rl.inference_mode():
        assert not (w * 2).requires_grad and rl.is_inference_mode_enabled()
    assert (w * 2).requires_grad and not rl.is_inference_mode_enabled()

    @rl.inference_mode()
    def f():
        return (w * 2).requires_grad

    @rl.inference_mode
    def g():
        return (w * 2).requires_grad

    assert f() is False and g() is False
    with rl.inference_mode(False):
        assert (w * 2).requires_grad
    with rl.set_grad_enabled(False):
        assert not (w * 2).requires_grad
    assert (w * 2).requires_grad


def test_masked_fill_in_place():
    x = rl.arange(4.0)
    assert x.masked_fill_(x > 1, -1.0) is x
    np.testing.assert_array_equal(x.numpy(), [0.0, 1.0, -1.0, -1.0])
