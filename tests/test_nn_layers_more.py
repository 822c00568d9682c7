"""The layers added for course code (issue 13): ReLU6, Hardtanh, ELU, GELU, SiLU, PReLU, LayerNorm, Dropout2d and
AdaptiveMaxPool2d.  Each functional form gets torch forward/backward/double-backward, a float64 gradcheck and a
second-order check; the modules are compared with torch.nn on the same weights."""
import functools

import numpy as np
import pytest

import relulab as rl
import relulab.nn as rnn
from opcheck import away, check_op, distinct, gradcheck, gradgradcheck, smooth

CASES = []


def case(id, fn, *arrays, th=None, torch_double=True):
    CASES.append(pytest.param(fn, th, tuple(np.asarray(a, dtype=np.float64) for a in arrays), torch_double, id=id))


def _F(lib):
    return lib.nn.functional


X = smooth((3, 4), 1, -3, 3)
case("relu6", lambda lib, a: _F(lib).relu6(a * 3.0), away((3, 4), (0.0, 2.0), 2, -3, 3))
case("hardtanh", lambda lib, a: _F(lib).hardtanh(a), away((3, 4), (-1.0, 1.0), 3, -2, 2))
case("hardtanh_range", lambda lib, a: _F(lib).hardtanh(a, -0.5, 1.5), away((3, 4), (-0.5, 1.5), 4, -2, 2))
case("elu", lambda lib, a: _F(lib).elu(a), away((3, 4), (0.0,), 5))
case("elu_alpha", lambda lib, a: _F(lib).elu(a, alpha=0.5), away((3, 4), (0.0,), 6))
case("gelu", lambda lib, a: _F(lib).gelu(a), X)
case("gelu_tanh", lambda lib, a: _F(lib).gelu(a, approximate="tanh"), X)
case("silu", lambda lib, a: _F(lib).silu(a), X)
case("prelu_single", lambda lib, a, w: _F(lib).prelu(a, w), away((2, 3, 4), (0.0,), 7), np.array([0.25]))
case("prelu_channels", lambda lib, a, w: _F(lib).prelu(a, w), away((2, 3, 2, 2), (0.0,), 8), smooth((3,), 9))
case("layer_norm_last", lambda lib, a: _F(lib).layer_norm(a, (4,)), smooth((3, 4), 10))
case("layer_norm_affine", lambda lib, a, w, b: _F(lib).layer_norm(a, (3, 4), w, b, eps=1e-3), smooth((2, 3, 4), 11),
     smooth((3, 4), 12), smooth((3, 4), 13))
case("adaptive_max_pool_even", lambda lib, a: _F(lib).adaptive_max_pool2d(a, 2), distinct((2, 3, 4, 4), 14))
case("adaptive_max_pool_overlap", lambda lib, a: _F(lib).adaptive_max_pool2d(a, (3, 2)), distinct((1, 2, 5, 7), 15))
case("adaptive_max_pool_unbatched", lambda lib, a: _F(lib).adaptive_max_pool2d(a, (2, None)), distinct((2, 5, 3), 16))
# torch 2.13 has no double backward for hardtanh_backward's own derivative w.r.t. grad, elu_backward is fine.


@pytest.mark.parametrize("fn, th, arrays, torch_double", CASES)
def test_check_op(fn, th, arrays, torch_double, torch):
    check_op(functools.partial(fn, rl), functools.partial(th or fn, torch), *arrays, double_backward=torch_double)


@pytest.mark.parametrize("fn, th, arrays, torch_double", CASES)
def test_gradcheck(fn, th, arrays, torch_double):
    gradcheck(functools.partial(fn, rl), *arrays)


@pytest.mark.parametrize("fn, th, arrays, torch_double", CASES)
def test_gradgradcheck(fn, th, arrays, torch_double):
    gradgradcheck(functools.partial(fn, rl), *arrays)


MODULES = [
    ("ReLU6", (), (2, 5)), ("Hardtanh", (-0.5, 0.5), (2, 5)), ("ELU", (0.7,), (2, 5)), ("GELU", (), (2, 5)),
    ("GELU", ("tanh",), (2, 5)), ("SiLU", (), (2, 5)), ("PReLU", (), (2, 5)), ("PReLU", (3,), (2, 3, 4)),
    ("LayerNorm", (5,), (2, 5)), ("LayerNorm", ((3, 4),), (2, 3, 4)), ("AdaptiveMaxPool2d", ((2, 3),), (2, 3, 5, 6)),
]


@pytest.mark.parametrize("name, args, shape", MODULES)
def test_modules_match_torch_nn(name, args, shape, torch):
    data = smooth(shape, 20, -3, 3)
    rm, tm = getattr(rnn, name)(*args).double(), getattr(torch.nn, name)(*args).double()
    assert sorted(rm.state_dict()) == sorted(tm.state_dict())
    for key, value in tm.state_dict().items():  # PyTorch's initial values (PReLU 0.25, LayerNorm 1 and 0)
        np.testing.assert_array_equal(rm.state_dict()[key].numpy(), value.numpy())
    x, t = rl.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    out, want = rm(x), tm(t)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (rk, rp), (tk, tp) in zip(rm.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(rp.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=rk)
    assert repr(rm) == repr(tm)


def test_relu6_and_hardtanh_kinks_follow_torch(torch):
    data = np.array([-1.0, 0.0, 3.0, 6.0, 7.0])
    for rfn, tfn in ((rl.nn.functional.relu6, torch.nn.functional.relu6),
                     (lambda a: rl.nn.functional.hardtanh(a, 0.0, 6.0), lambda a: torch.nn.functional.hardtanh(a, 0.0, 6.0))):
        x, t = rl.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        rfn(x).sum().backward()
        tfn(t).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_elu_and_gelu_stay_finite_for_large_inputs():
    x = rl.tensor([-200.0, 200.0, 1e4], requires_grad=True)
    (rl.nn.functional.elu(x) + rl.nn.functional.gelu(x)).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_dropout2d_zeroes_whole_channels_and_scales():
    rl.manual_seed(0)
    x = rl.ones(8, 16, 3, 3)
    layer = rnn.Dropout2d(p=0.25)
    out = layer(x).numpy()
    per_channel = out.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 1 / 0.75).all(-1))  # a channel is all-or-nothing
    dropped = (per_channel == 0).all(-1).mean()
    assert 0.1 < dropped < 0.4
    assert rnn.Dropout2d(0.5)(rl.ones(4, 2, 2)).shape == (4, 2, 2)
    layer.eval()
    assert layer(x) is x
    with pytest.raises(RuntimeError, match="dropout2d: expected a 3-D"):
        rnn.Dropout2d()(rl.ones(2, 3))


def test_layer_norm_rejects_a_wrong_shape():
    with pytest.raises(RuntimeError, match=r"layer_norm: input of shape \(2, 3\) does not end in"):
        rnn.LayerNorm(4)(rl.ones(2, 3))


def test_adaptive_max_pool_indices_match_torch(torch):
    data = distinct((1, 2, 5, 7), 30)
    got = rl.nn.functional.adaptive_max_pool2d(rl.tensor(data), (3, 2), return_indices=True)
    want = torch.nn.functional.adaptive_max_pool2d(torch.tensor(data), (3, 2), return_indices=True)
    np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())
