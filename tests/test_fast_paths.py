"""The speed paths of issue 15 keep PyTorch's numbers and relulab's any-order differentiation:
batch-chunked convolutions (forced to tiny chunks here), 1x1 convolutions as a GEMM, the fused cross-entropy
from logits, the no-grad indexing fast path, outer products in matmul, and the backward walk that frees what it
no longer needs."""
import gc
import weakref

import numpy as np
import pytest

import relulab
from relulab.ops import conv as conv_ops
from opcheck import check_op, gradcheck, gradgradcheck, smooth


@pytest.fixture
def tiny_chunks(monkeypatch):
    monkeypatch.setattr(conv_ops, "_CHUNK_BYTES", 1)  # one sample per chunk
    assert len(conv_ops.batch_chunks(3, 100)) == 3


@pytest.mark.parametrize("c,o,k,stride,groups", [
    (2, 3, 3, 1, 1),    # per-sample layout (few weights per filter)
    (8, 4, 3, 1, 1),    # wide layout (72 weights per filter), stride-1 fold
    (8, 4, 3, 2, 2),    # wide layout, strided fold, groups
    (4, 6, 1, 1, 2),    # 1x1: the GEMM on x itself
    (4, 6, 1, 2, 1),    # 1x1, strided
])
def test_chunked_conv_matches_torch_to_second_order(torch, tiny_chunks, c, o, k, stride, groups):
    x, w = smooth((3, c, 6, 5), seed=1), smooth((o, c // groups, k, k), seed=2)
    check_op(lambda a, b: relulab.nn.functional.conv2d(a, b, stride=stride, padding=1, groups=groups),
             lambda a, b: torch.nn.functional.conv2d(a, b, stride=stride, padding=1, groups=groups), x, w)


def test_chunked_conv_finite_differences(tiny_chunks):
    x, w = smooth((2, 8, 5, 5), seed=3), smooth((3, 8, 3, 3), seed=4)
    fn = lambda a, b: relulab.nn.functional.conv2d(a, b, padding=1)  # noqa: E731
    gradcheck(fn, x, w)
    gradgradcheck(fn, x, w)


def _kept_cols_spy(monkeypatch):
    """Record, for every weight-gradient product, whether it reused the forward's unfolded buffer."""
    reused = []
    original = conv_ops.Conv2dWeightGrad.forward

    def forward(self, x, g):
        reused.append(self.cols is not None)
        out = original(self, x, g)
        assert self.cols is None  # used once, never held by a recorded node
        return out
    monkeypatch.setattr(conv_ops.Conv2dWeightGrad, "forward", forward)
    return reused


@pytest.mark.parametrize("c,o,k,stride,groups", [(2, 3, 3, 1, 1), (8, 4, 3, 2, 2), (4, 6, 1, 1, 2)])
def test_small_conv_reuses_its_unfolded_input_and_matches_torch_to_second_order(torch, monkeypatch, c, o, k,
                                                                                 stride, groups):
    reused = _kept_cols_spy(monkeypatch)
    x, w = smooth((3, c, 6, 5), seed=1), smooth((o, c // groups, k, k), seed=2)
    check_op(lambda a, b: relulab.nn.functional.conv2d(a, b, stride=stride, padding=1, groups=groups),
             lambda a, b: torch.nn.functional.conv2d(a, b, stride=stride, padding=1, groups=groups), x, w)
    assert True in reused  # the first backward took the kept buffer


def test_kept_unfolded_input_is_dropped_by_backward_and_rebuilt_when_retained(monkeypatch):
    reused = _kept_cols_spy(monkeypatch)
    x = relulab.tensor(smooth((2, 3, 6, 6), seed=5), requires_grad=True)
    w = relulab.tensor(smooth((4, 3, 3, 3), seed=6), requires_grad=True)
    y = relulab.nn.functional.conv2d(x, w)
    node = y._ctx
    assert node.kept_cols is not None
    (y * y).sum().backward(retain_graph=True)
    assert node.kept_cols is None  # nothing large outlives the backward that used it
    first = w.grad.numpy().copy()
    w.grad = None
    (y * y).sum().backward()
    assert reused == [True, False]
    np.testing.assert_allclose(w.grad.numpy(), first, rtol=1e-13)


def test_large_or_chunked_conv_keeps_nothing(tiny_chunks, monkeypatch):
    reused = _kept_cols_spy(monkeypatch)
    x = relulab.tensor(smooth((3, 2, 5, 5), seed=7), requires_grad=True)
    w = relulab.tensor(smooth((3, 2, 3, 3), seed=8), requires_grad=True)
    y = relulab.nn.functional.conv2d(x, w)
    assert y._ctx.kept_cols is None
    y.sum().backward()
    assert reused == [False]


def test_conv_input_changed_in_place_after_forward_is_refused():
    x = relulab.tensor(smooth((2, 3, 6, 6), seed=9))
    w = relulab.tensor(smooth((4, 3, 3, 3), seed=10), requires_grad=True)
    y = relulab.nn.functional.conv2d(x, w)
    x.add_(1.0)  # the kept buffer would be stale: the version check must catch it first
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_conv_of_an_empty_batch_has_zero_weight_gradient():
    x = relulab.zeros(0, 8, 5, 5, dtype=relulab.float64)
    w = relulab.tensor(smooth((3, 8, 3, 3)), requires_grad=True)
    out = relulab.nn.functional.conv2d(x, w)
    assert tuple(out.shape) == (0, 3, 3, 3)
    out.sum().backward()
    assert np.array_equal(w.grad.numpy(), np.zeros((3, 8, 3, 3)))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_fused_cross_entropy_matches_torch_to_second_order(torch, reduction):
    x = smooth((6, 5), seed=5)
    y = np.array([0, 4, 2, 2, 1, 3])
    check_op(lambda a: relulab.nn.functional.cross_entropy(a, relulab.tensor(y), reduction=reduction),
             lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(y), reduction=reduction), x)
    gradgradcheck(lambda a: relulab.nn.functional.cross_entropy(a, relulab.tensor(y), reduction=reduction), x)


def test_cross_entropy_ignore_index_that_is_a_real_class_is_still_ignored(torch):
    x, y = smooth((5, 4), seed=6), np.array([1, 3, 1, 0, 2])
    check_op(lambda a: relulab.nn.functional.cross_entropy(a, relulab.tensor(y), ignore_index=1),
             lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(y), ignore_index=1), x)


def test_cross_entropy_float32_loss_and_gradient_match_torch(torch):
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(64, 10)).astype(np.float32), rng.integers(0, 10, 64)
    a, ta = relulab.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    loss, tloss = (relulab.nn.functional.cross_entropy(a, relulab.tensor(y)),
                   torch.nn.functional.cross_entropy(ta, torch.tensor(y)))
    loss.backward()
    tloss.backward()
    assert loss.dtype == relulab.float32
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-6)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-5, atol=1e-8)


def test_no_grad_basic_indexing_is_a_view_sharing_the_version_counter():
    x = relulab.arange(12.0).reshape(3, 4)
    row = x[1]
    assert row._vc is x._vc
    x.add_(1.0)
    assert row.tolist() == [5.0, 6.0, 7.0, 8.0]
    assert x[1, 2:].tolist() == [7.0, 8.0] and tuple(x[None, ..., 0].shape) == (1, 3)
    assert not x[0].requires_grad
    with pytest.raises(IndexError, match=r"__getitem__: index 3 is invalid for a tensor of shape \(3, 4\)"):
        x[3]


def test_indexing_under_no_grad_records_nothing_and_with_grad_still_differentiates():
    x = relulab.tensor(smooth((4, 3)), requires_grad=True)
    with relulab.no_grad():
        assert x[1].grad_fn is None and not x[1].requires_grad
        assert x[[0, 2]].grad_fn is None
    x[1].sum().backward()
    assert x.grad.numpy()[1].tolist() == [1.0, 1.0, 1.0] and x.grad.numpy()[[0, 2, 3]].sum() == 0


def test_outer_product_matmul_and_its_gradients(torch):
    check_op(lambda a, b: a @ b, lambda a, b: a @ b, smooth((5, 1), seed=8), smooth((1, 4), seed=9))
    check_op(lambda a, b: a @ b, lambda a, b: a @ b, smooth((2, 5, 1), seed=8), smooth((1, 4), seed=9))


def test_backward_frees_saved_activations_but_retain_graph_keeps_them():
    w = relulab.tensor(smooth((3, 3)), requires_grad=True)
    hidden = (w * 2.0).exp()
    ref = weakref.ref(hidden)
    loss = (hidden * 3.0).sum()
    del hidden
    loss.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None          # retained: a second backward must still work
    loss.backward()
    gc.collect()
    assert ref() is None              # freed once its gradient was passed on
    with pytest.raises(RuntimeError, match="a second time"):
        loss.backward()


@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_fused_batch_norm_matches_torch_to_second_order(torch, affine):
    x, w, b = smooth((4, 3, 5, 2), seed=1), smooth((3,), seed=2, low=0.5), smooth((3,), seed=3)
    F, TF = relulab.nn.functional, torch.nn.functional
    if affine == "both":
        check_op(lambda a, ww, bb: F.batch_norm(a, None, None, ww, bb, training=True),
                 lambda a, ww, bb: TF.batch_norm(a, None, None, ww, bb, training=True), x, w, b)
        gradgradcheck(lambda a, ww, bb: F.batch_norm(a, None, None, ww, bb, training=True), x, w, b)
    elif affine == "weight":
        check_op(lambda a, ww: F.batch_norm(a, None, None, ww, training=True),
                 lambda a, ww: TF.batch_norm(a, None, None, ww, training=True), x, w)
    else:
        check_op(lambda a: F.batch_norm(a, None, None, training=True),
                 lambda a: TF.batch_norm(a, None, None, training=True), x[:, :, :, 0])


def test_fused_batch_norm_first_order_and_running_stats_match_torch_float32(torch):
    """The closed-form backward (no graph built) and the running estimates, in float32 as students train."""
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(8, 4, 5, 5)) * 3 + 1).astype(np.float32)
    g = rng.normal(size=x.shape).astype(np.float32)
    m, tm = relulab.nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4)
    w, b = rng.uniform(0.5, 2, 4).astype(np.float32), rng.normal(size=4).astype(np.float32)
    with relulab.no_grad():
        m.weight.copy_(relulab.tensor(w))
        m.bias.copy_(relulab.tensor(b))
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(w))
        tm.bias.copy_(torch.tensor(b))
    a, ta = relulab.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = m(a), tm(ta)
    y.backward(relulab.tensor(g))
    ty.backward(torch.tensor(g))
    close = dict(rtol=1e-5, atol=2e-5)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **close)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), **close)
    np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), **close)
    np.testing.assert_allclose(m.bias.grad.numpy(), tm.bias.grad.numpy(), **close)
    np.testing.assert_allclose(m.running_mean.numpy(), tm.running_mean.numpy(), **close)
    np.testing.assert_allclose(m.running_var.numpy(), tm.running_var.numpy(), **close)


@pytest.mark.parametrize("x_shape", [(3, 5), (300, 5), (2, 150, 5), (5,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_first_order_array_backward_matches_torch(torch, x_shape, bias):
    """Without create_graph, linear's backward runs on arrays (two layouts of the weight gradient)."""
    arrays = [smooth(x_shape, seed=10), smooth((4, 5), seed=11)] + ([smooth((4,), seed=12)] if bias else [])
    check_op(lambda *t: relulab.nn.functional.linear(*t), lambda *t: torch.nn.functional.linear(*t), *arrays,
             double_backward=False)
    check_op(lambda *t: relulab.nn.functional.linear(*t), lambda *t: torch.nn.functional.linear(*t), *arrays)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("number", [0.01, 3, -2.5e38])
def test_number_operand_fast_path_gives_the_ops_values_and_dtype(dtype, number):
    a = relulab.tensor(smooth((4, 3), seed=11).astype(dtype))
    with relulab.no_grad():
        fast = [number * a, a * number, a + number, number + a, a - number, number - a]
    recorded = relulab.tensor(a.numpy(), requires_grad=True)  # takes the ops: the same numbers, with a graph
    slow = [number * recorded, recorded * number, recorded + number, number + recorded, recorded - number,
            number - recorded]
    for f, s in zip(fast, slow):
        assert f.dtype == s.dtype == a.dtype and not f.requires_grad and s.requires_grad
        np.testing.assert_array_equal(f.numpy(), s.detach().numpy())


def test_number_operand_on_an_integer_or_bool_tensor_keeps_pytorchs_rules():
    ints = relulab.tensor([1, 2, 3])
    assert (ints * 0.5).dtype == relulab.float32  # promoted to the default float dtype, not NumPy's float64
    with pytest.raises(RuntimeError, match="bool tensor is not supported"):
        relulab.tensor([True, False]) - 1
