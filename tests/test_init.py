"""``relulab.nn.init`` against the formulas torch documents (and torch's own calculate_gain / fan computation).

Statistics are taken on big tensors (400 x 500 = 200 000 values); the tolerance on an empirical std is 3 %,
far outside the sampling noise (about 0.2 %), and each test seeds its draws so it is deterministic.
torch only ever comes from the ``torch`` fixture / ``conftest.require_torch``.
"""
import math

import numpy as np
import pytest

import relulab
import relulab.nn as rnn
from relulab.nn import init

SHAPE = (400, 500)  # fan_in = 500, fan_out = 400
FAN_IN, FAN_OUT = 500, 400
STD_TOL = 0.03


def big(shape=SHAPE, dtype=relulab.float64):
    return relulab.zeros(*shape, dtype=dtype)


def values(t):
    return np.asarray(t.detach().numpy(), dtype=np.float64)


def assert_uniform(v, low, high):
    assert v.min() >= low and v.max() <= high, (v.min(), v.max(), low, high)
    width = high - low
    # the samples fill the interval: extremes within 1 % of the bounds
    assert v.min() < low + 0.01 * width and v.max() > high - 0.01 * width
    np.testing.assert_allclose(v.std(), width / math.sqrt(12), rtol=STD_TOL)
    assert abs(v.mean() - (low + high) / 2) < 0.01 * width


def assert_normal(v, mean, std):
    np.testing.assert_allclose(v.std(), std, rtol=STD_TOL)
    assert abs(v.mean() - mean) < 0.02 * std
    # unbounded: the tails go past 4 std for 200 000 samples
    assert v.max() > mean + 4 * std and v.min() < mean - 4 * std


@pytest.fixture(autouse=True)
def _seed():
    relulab.manual_seed(2024)


# ---------------------------------------------------------------------------------------------- calculate_gain

GAIN_CASES = [("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None), ("conv_transpose1d", None),
              ("conv_transpose2d", None), ("conv_transpose3d", None), ("sigmoid", None), ("tanh", None),
              ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0), ("leaky_relu", 1),
              ("leaky_relu", math.sqrt(5)), ("leaky_relu", 3.5), ("selu", None)]


@pytest.mark.parametrize("nonlinearity,param", GAIN_CASES)
def test_calculate_gain_matches_torch(torch, nonlinearity, param):
    got = init.calculate_gain(nonlinearity, param)
    want = torch.nn.init.calculate_gain(nonlinearity, param)
    assert got == pytest.approx(want, rel=1e-15, abs=0)


def test_calculate_gain_values():
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("selu") == pytest.approx(0.75)
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))


@pytest.mark.parametrize("nonlinearity,param", [("swish", None), ("leaky_relu", "x"), ("leaky_relu", True)])
def test_calculate_gain_invalid(torch, nonlinearity, param):
    with pytest.raises(ValueError):
        torch.nn.init.calculate_gain(nonlinearity, param)
    with pytest.raises(ValueError):
        init.calculate_gain(nonlinearity, param)


# ---------------------------------------------------------------------------------------------- kaiming / xavier


KAIMING = [  # a, mode, nonlinearity
    (0, "fan_in", "leaky_relu"),
    (math.sqrt(5), "fan_in", "leaky_relu"),
    (0, "fan_out", "relu"),
    (0.2, "fan_out", "leaky_relu"),
    (0, "fan_in", "tanh"),
    (0, "fan_in", "linear"),
]


@pytest.mark.parametrize("a,mode,nonlinearity", KAIMING)
def test_kaiming_uniform(torch, a, mode, nonlinearity):
    t = big()
    assert init.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nonlinearity) is t
    fan = FAN_IN if mode == "fan_in" else FAN_OUT
    gain = torch.nn.init.calculate_gain(nonlinearity, a)
    bound = gain * math.sqrt(3.0 / fan)  # torch: U(-bound, bound), bound = gain * sqrt(3 / fan_mode)
    assert_uniform(values(t), -bound, bound)
    # torch's own draw on the same shape has the same spread
    tt = torch.nn.init.kaiming_uniform_(torch.empty(SHAPE, dtype=torch.float64), a=a, mode=mode,
                                        nonlinearity=nonlinearity)
    np.testing.assert_allclose(values(t).std(), tt.std().item(), rtol=STD_TOL)


@pytest.mark.parametrize("a,mode,nonlinearity", KAIMING)
def test_kaiming_normal(torch, a, mode, nonlinearity):
    t = big()
    assert init.kaiming_normal_(t, a=a, mode=mode, nonlinearity=nonlinearity) is t
    fan = FAN_IN if mode == "fan_in" else FAN_OUT
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)  # torch: N(0, gain / sqrt(fan_mode))
    assert_normal(values(t), 0.0, std)


def test_kaiming_defaults(torch):
    t = init.kaiming_uniform_(big())  # a=0, fan_in, leaky_relu -> gain sqrt(2)
    assert_uniform(values(t), -math.sqrt(6 / FAN_IN), math.sqrt(6 / FAN_IN))
    t = init.kaiming_normal_(big())
    assert_normal(values(t), 0.0, math.sqrt(2 / FAN_IN))


@pytest.mark.parametrize("fn", ["kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_"])
def test_fans_of_conv_shaped_tensor(torch, fn):
    shape = (100, 40, 3, 5)  # fan_in = 40*15 = 600, fan_out = 100*15 = 1500
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert (fan_in, fan_out) == (600, 1500)
    t = getattr(init, fn)(relulab.zeros(*shape, dtype=relulab.float64))
    v = values(t)
    if fn == "kaiming_uniform_":
        b = math.sqrt(2) * math.sqrt(3 / fan_in)
        assert_uniform(v, -b, b)
    elif fn == "kaiming_normal_":
        assert_normal(v, 0.0, math.sqrt(2) / math.sqrt(fan_in))
    elif fn == "xavier_uniform_":
        b = math.sqrt(6 / (fan_in + fan_out))
        assert_uniform(v, -b, b)
    else:
        assert_normal(v, 0.0, math.sqrt(2 / (fan_in + fan_out)))


@pytest.mark.parametrize("gain", [1.0, 5 / 3, math.sqrt(2)])
def test_xavier_uniform(gain):
    t = big()
    assert init.xavier_uniform_(t, gain=gain) is t
    bound = gain * math.sqrt(6.0 / (FAN_IN + FAN_OUT))
    assert_uniform(values(t), -bound, bound)


@pytest.mark.parametrize("gain", [1.0, 5 / 3, math.sqrt(2)])
def test_xavier_normal(gain):
    t = big()
    assert init.xavier_normal_(t, gain=gain) is t
    assert_normal(values(t), 0.0, gain * math.sqrt(2.0 / (FAN_IN + FAN_OUT)))


@pytest.mark.parametrize("fn", ["kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_"])
def test_fan_needs_two_dims(torch, fn):
    with pytest.raises(ValueError):
        getattr(torch.nn.init, fn)(torch.empty(5))
    with pytest.raises(ValueError):
        getattr(init, fn)(relulab.zeros(5))


@pytest.mark.parametrize("fn", ["kaiming_uniform_", "kaiming_normal_"])
def test_kaiming_bad_mode(fn):
    with pytest.raises(ValueError, match="fan_avg"):
        getattr(init, fn)(big((3, 4)), mode="fan_avg")


# ---------------------------------------------------------------------------------------------- simple fills


@pytest.mark.parametrize("a,b", [(0.0, 1.0), (-3.0, 0.5), (2.0, 2.5)])
def test_uniform(a, b):
    t = big()
    assert init.uniform_(t, a, b) is t
    assert_uniform(values(t), a, b)


def test_uniform_defaults():
    assert_uniform(values(init.uniform_(big())), 0.0, 1.0)


@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (2.0, 0.01), (-1.0, 3.0)])
def test_normal(mean, std):
    t = big()
    assert init.normal_(t, mean, std) is t
    assert_normal(values(t), mean, std)


def _truncated_normal_moments(mean, std, a, b):
    """Mean and std of N(mean, std) truncated to [a, b] (the distribution torch's trunc_normal_ samples)."""
    def pdf(z):
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    def cdf(z):
        return 0.5 * (1 + math.erf(z / math.sqrt(2)))

    alpha, beta = (a - mean) / std, (b - mean) / std
    Z = cdf(beta) - cdf(alpha)
    m = mean + std * (pdf(alpha) - pdf(beta)) / Z
    var = std ** 2 * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / Z - ((pdf(alpha) - pdf(beta)) / Z) ** 2)
    return m, math.sqrt(var)


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 1.0, -0.5, 1.0), (1.0, 2.0, 0.0, 6.0),
                                          (0.0, 0.02, -0.04, 0.04)])
def test_trunc_normal(torch, mean, std, a, b):
    t = big()
    assert init.trunc_normal_(t, mean, std, a, b) is t
    v = values(t)
    assert v.min() >= a and v.max() <= b
    assert v.min() < a + 0.01 * (b - a) and v.max() > b - 0.01 * (b - a)
    m, s = _truncated_normal_moments(mean, std, a, b)
    np.testing.assert_allclose(v.std(), s, rtol=STD_TOL)
    assert abs(v.mean() - m) < 0.02 * s
    # and torch's own sampler agrees with the formula
    tv = torch.nn.init.trunc_normal_(torch.empty(SHAPE, dtype=torch.float64), mean, std, a, b)
    np.testing.assert_allclose(tv.std().item(), s, rtol=STD_TOL)


def test_trunc_normal_defaults():
    v = values(init.trunc_normal_(big()))
    assert v.min() >= -2 and v.max() <= 2
    np.testing.assert_allclose(v.std(), _truncated_normal_moments(0, 1, -2, 2)[1], rtol=STD_TOL)


def test_zeros_ones_constant():
    t = relulab.randn(30, 40, dtype=relulab.float64)
    assert init.zeros_(t) is t and np.all(values(t) == 0)
    assert init.ones_(t) is t and np.all(values(t) == 1)
    assert init.constant_(t, 0.3) is t and np.all(values(t) == 0.3)
    assert init.constant_(t, -2) is t and np.all(values(t) == -2)
    t32 = relulab.zeros(3, 4)
    init.constant_(t32, 0.1)
    assert t32.dtype == np.float32 and np.all(t32.numpy() == np.float32(0.1))


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
def test_eye(torch, shape):
    t = relulab.randn(*shape, dtype=relulab.float64)
    assert init.eye_(t) is t
    np.testing.assert_array_equal(values(t), torch.nn.init.eye_(torch.empty(shape, dtype=torch.float64)).numpy())


@pytest.mark.parametrize("shape", [(4,), (2, 3, 4)])
def test_eye_needs_2d(shape):
    with pytest.raises(ValueError):
        init.eye_(relulab.zeros(*shape))


# ---------------------------------------------------------------------------------------------- on parameters


@pytest.mark.parametrize("fn,args", [("uniform_", ()), ("normal_", ()), ("trunc_normal_", ()), ("zeros_", ()),
                                     ("ones_", ()), ("constant_", (0.5,)), ("eye_", ()),
                                     ("kaiming_uniform_", ()), ("kaiming_normal_", ()), ("xavier_uniform_", ()),
                                     ("xavier_normal_", ())])
def test_init_on_parameter_in_grad_mode(fn, args):
    p = rnn.Parameter(relulab.zeros(6, 5, dtype=relulab.float64))
    out = getattr(init, fn)(p, *args)  # in-place on a leaf that requires grad: allowed, records nothing
    assert out is p
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert isinstance(p, rnn.Parameter) and p.dtype == np.float64
    p.sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.ones((6, 5)))


def test_init_keeps_float32():
    t = relulab.zeros(20, 30)
    init.kaiming_uniform_(t)
    assert t.dtype == np.float32 and np.any(t.numpy() != 0)


@pytest.mark.parametrize("fn", ["uniform_", "normal_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_",
                                "xavier_uniform_", "xavier_normal_"])
def test_init_generator_reproduces(fn):
    a = getattr(init, fn)(big((20, 30)), generator=relulab.Generator().manual_seed(3))
    b = getattr(init, fn)(big((20, 30)), generator=relulab.Generator().manual_seed(3))
    c = getattr(init, fn)(big((20, 30)), generator=relulab.Generator().manual_seed(4))
    np.testing.assert_array_equal(values(a), values(b))
    assert not np.array_equal(values(a), values(c))
    relulab.manual_seed(11)
    d = getattr(init, fn)(big((20, 30)))
    relulab.manual_seed(11)
    e = getattr(init, fn)(big((20, 30)))
    np.testing.assert_array_equal(values(d), values(e))


# ---------------------------------------------------------------------------------------------- Linear default


@pytest.mark.parametrize("in_features,out_features", [(500, 400), (64, 3000)])
def test_linear_default_init(torch, in_features, out_features):
    lin = rnn.Linear(in_features, out_features)
    bound = 1 / math.sqrt(in_features)  # kaiming_uniform(a=sqrt(5)) == U(-1/sqrt(in), 1/sqrt(in))
    w, b = values(lin.weight), values(lin.bias)
    assert w.shape == (out_features, in_features) and b.shape == (out_features,)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    np.testing.assert_allclose(w.std(), 1 / math.sqrt(3 * in_features), rtol=STD_TOL)
    np.testing.assert_allclose(b.std(), 1 / math.sqrt(3 * in_features), rtol=0.1 if out_features < 1000 else STD_TOL)
    assert abs(w.mean()) < 0.01 * bound
    assert w.max() > 0.99 * bound and w.min() < -0.99 * bound
    # torch's Linear has the same spread
    tl = torch.nn.Linear(in_features, out_features)
    np.testing.assert_allclose(w.std(), tl.weight.detach().std().item(), rtol=STD_TOL)
    assert lin.weight.dtype == np.float32 and lin.bias.dtype == np.float32


def test_linear_init_dtype_and_no_bias():
    lin = rnn.Linear(50, 40, bias=False, dtype=relulab.float64)
    assert lin.bias is None and lin.weight.dtype == np.float64
    assert np.abs(values(lin.weight)).max() <= 1 / math.sqrt(50)
    assert [n for n, _ in lin.named_parameters()] == ["weight"]
