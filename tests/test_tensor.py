"""Tensor basics: factories, dtypes, conversions, repr, in-place ops and error messages."""
import numpy as np
import pytest

import relulab as rl


def test_factories_and_default_dtypes():
    assert rl.tensor([1.0, 2.0]).dtype == rl.float32
    assert rl.tensor([1, 2]).dtype == rl.int64
    assert rl.tensor([True]).dtype == rl.bool
    assert rl.tensor(np.zeros(2)).dtype == rl.float64  # numpy keeps its dtype
    assert rl.tensor([1.0], dtype=rl.float64).dtype == rl.float64
    assert rl.zeros(2, 3).shape == (2, 3) and rl.zeros((2, 3)).dtype == rl.float32
    assert rl.ones(4).sum().item() == 4
    assert rl.full((2,), 7).dtype == rl.int64 and rl.full((2,), 7.0).dtype == rl.float32
    np.testing.assert_array_equal(rl.eye(3).numpy(), np.eye(3))
    assert rl.arange(5).dtype == rl.int64 and rl.arange(0, 1, 0.25).dtype == rl.float32
    np.testing.assert_allclose(rl.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])
    x = rl.randn(3, 2, dtype=rl.float64)
    for like in (rl.zeros_like, rl.ones_like, rl.rand_like, rl.randn_like):
        y = like(x)
        assert y.shape == x.shape and y.dtype == x.dtype
    assert rl.full_like(x, 2.0).sum().item() == 12.0
    r = rl.rand(1000)
    assert 0 <= r.min().item() and r.max().item() < 1
    assert rl.randint(0, 3, (50,)).max().item() <= 2


def test_from_numpy_shares_memory():
    a = np.zeros(3)
    t = rl.from_numpy(a)
    a[0] = 5
    assert t[0].item() == 5


def test_conversions():
    x = rl.tensor([[1.5, 2.0]])
    assert x.tolist() == [[1.5, 2.0]]
    assert x[0, 0].item() == 1.5
    assert x.double().dtype == rl.float64 and x.to(rl.float64).dtype == rl.float64
    assert x.float() is x and x.to("cpu") is x and x.cpu() is x
    assert x.long().dtype == rl.int64
    assert x.shape == (1, 2) and x.ndim == 2 and len(x) == 1 and x.numel() == 2 and x.size(1) == 2
    assert float(rl.tensor(2.5)) == 2.5
    with pytest.raises(RuntimeError, match="cuda"):
        x.to("cuda")
    with pytest.raises(RuntimeError, match="3 elements"):
        rl.tensor([1.0, 2.0, 3.0]).item()
    with pytest.raises(RuntimeError, match="detach"):
        rl.zeros(2, requires_grad=True).numpy()


def test_float_cast_is_differentiable():
    x = rl.tensor([1.0, 2.0], requires_grad=True)
    y = (x.double() ** 2).sum()
    y.backward()
    assert x.grad.dtype == rl.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_repr_is_readable():
    assert repr(rl.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(rl.zeros(2, requires_grad=True))
    assert "dtype=relulab.float64" in repr(rl.zeros(2, dtype=rl.float64))
    assert "grad_fn=<MulBackward>" in repr(rl.zeros(2, requires_grad=True) * 2)


def test_comparisons_are_bool_and_carry_no_grad():
    x = rl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == rl.bool and not m.requires_grad
    assert (x == x).all() and not (x != x).any()
    np.testing.assert_array_equal((x <= 2).numpy(), [True, True, False])


def test_inplace_ops_and_setitem():
    x = rl.zeros(3)
    x += 1
    x *= 3
    x -= 1
    x /= 2
    np.testing.assert_allclose(x.numpy(), 1.0)
    x[1] = 5.0
    assert x.tolist() == [1.0, 5.0, 1.0]
    x.fill_(2).clamp_(max=1.5)
    np.testing.assert_allclose(x.numpy(), 1.5)
    x.copy_(rl.tensor([1.0, 2.0, 3.0]))
    assert x.tolist() == [1.0, 2.0, 3.0]


def test_error_messages_name_op_and_shapes():
    a, b = rl.zeros(2, 3), rl.zeros(4, 5)
    with pytest.raises(RuntimeError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        a @ b
    with pytest.raises(RuntimeError, match=r"add.*\(2, 3\).*\(4, 5\)"):
        a + b
    with pytest.raises(RuntimeError, match=r"mul.*\(2, 3\).*\(4, 5\)"):
        a * b
    with pytest.raises(RuntimeError, match=r"reshape.*\(7,\).*\(2, 3\)"):
        a.reshape(7)
    with pytest.raises(IndexError, match=r"long, int or bool.*float32"):
        a[rl.tensor([0.0, 1.0])]
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        a[5]
    with pytest.raises(RuntimeError, match=r"cat.*\(4, 5\)"):
        rl.cat([a, b])
    with pytest.raises(IndexError, match="dimension 3"):
        a.sum(dim=3)
    with pytest.raises(RuntimeError, match=r"expand.*\(2, 3\)"):
        a.expand(3, 3)


def test_label_column_pick_and_its_gradient():
    logits = rl.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    labels = rl.tensor([2, 0])
    picked = logits[rl.arange(2), labels]
    assert picked.tolist() == [3.0, 4.0]
    picked.sum().backward()
    assert logits.grad.tolist() == [[0, 0, 1], [1, 0, 0]]


def test_seeded_randomness_is_reproducible():
    rl.manual_seed(3)
    a = rl.randn(5)
    rl.manual_seed(3)
    b = rl.randn(5)
    assert a.equal(b)
    g1, g2 = rl.Generator().manual_seed(9), rl.Generator().manual_seed(9)
    assert rl.rand(4, generator=g1).equal(rl.rand(4, generator=g2))
    assert not rl.rand(4, generator=g1).equal(rl.rand(4, generator=rl.Generator().manual_seed(10)))
