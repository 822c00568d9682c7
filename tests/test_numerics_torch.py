"""Edge-case numerics against torch 2.13 (issue 14): infinities, NaNs, constants, empty dims and zero bases.

Each case computes the forward value and the gradient (and for pow the second derivative) in both libraries in
float64 and requires them to be equal, NaN for NaN and inf for inf."""
import warnings

import numpy as np
import pytest

import relulab as rl

inf, nan = float("inf"), float("nan")


def _grads(lib, fn, values, order=1):
    """Forward of ``fn`` and the gradients of its sum (up to ``order``) with respect to each input."""
    xs = [lib.tensor(v, dtype=lib.float64, requires_grad=True) for v in values]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy warns on inf - inf; torch is silent
        y = fn(lib, *xs)
        out = [y.detach().numpy().copy()]
        if y.numel() == 0:
            y.sum().backward()
            return out + [x.grad.numpy().copy() for x in xs]
        gs = lib.autograd.grad(y.sum(), xs, create_graph=order > 1, allow_unused=True)
        out += [g.detach().numpy().copy() for g in gs]
        if order > 1:
            for g in gs:
                hs = lib.autograd.grad(g.sum(), xs, retain_graph=True, allow_unused=True)
                out += [np.full(x.shape, 0.0) if h is None else h.numpy().copy() for x, h in zip(xs, hs)]
    return out


def assert_same_as_torch(torch, fn, *values, order=1):
    ours, theirs = _grads(rl, fn, values, order), _grads(torch, fn, values, order)
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape, f"output {i}: shape {a.shape} vs torch {b.shape}"
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=f"output {i} (0 = forward)")


# ---------------------------------------------------------------------------------------------- logsumexp
@pytest.mark.parametrize("values", [
    [-inf, -inf], [inf, 1.0], [-inf, 1.0], [inf, -inf], [inf, inf], [nan, 1.0], [-inf, -inf, 2.0], [3.0, 1.0],
])
def test_logsumexp_with_infinities(torch, values):
    assert_same_as_torch(torch, lambda L, x: x.logsumexp(0), values)


def test_logsumexp_rows_with_infinities_and_keepdim(torch):
    x = [[-inf, -inf, -inf], [inf, 0.0, 1.0], [1.0, 2.0, 3.0], [-inf, 0.5, -inf]]
    assert_same_as_torch(torch, lambda L, x: x.logsumexp(1), x)
    assert_same_as_torch(torch, lambda L, x: x.logsumexp(1, keepdim=True), x)
    assert_same_as_torch(torch, lambda L, x: x.logsumexp((0, 1)), x)


def test_logsumexp_of_an_empty_dim_is_minus_inf(torch):
    assert_same_as_torch(torch, lambda L, x: x.logsumexp(1), np.zeros((2, 0)))
    assert_same_as_torch(torch, lambda L, x: x.logsumexp(0), np.zeros((0, 3)))


# ---------------------------------------------------------------------------------------------- std / var
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_std_of_a_constant_has_zero_gradient(torch, dim):
    x = [[2.0, 2.0, 2.0], [2.0, -1.0, 4.0]]
    assert_same_as_torch(torch, lambda L, x: x.std() if dim is None else x.std(dim), x)
    assert_same_as_torch(torch, lambda L, x: x.std(dim, correction=0) if dim is not None else x.std(), [[5.0] * 3] * 2)


def test_std_away_from_zero_unchanged(torch):
    assert_same_as_torch(torch, lambda L, x: x.std(1), [[1.0, 2.0, 4.0], [0.0, 3.0, -3.0]], order=2)


# ---------------------------------------------------------------------------------------------- cross entropy
@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.1}, {"reduction": "sum"}, {"reduction": "none"}])
def test_cross_entropy_with_every_target_ignored(torch, kwargs):
    # torch: the mean is 0/0 = NaN, yet no gradient reaches any logit (all exactly 0).
    def fn(L, x):
        return L.nn.functional.cross_entropy(x, L.tensor([-100, -100, -100]), **kwargs)
    assert_same_as_torch(torch, fn, [[1.0, 2.0, 3.0], [0.0, -1.0, 0.5], [4.0, 4.0, 4.0]])


def test_nll_loss_with_every_target_ignored_and_custom_ignore_index(torch):
    def fn(L, x):
        return L.nn.functional.nll_loss(x.log_softmax(1), L.tensor([2, 2]), ignore_index=2)
    assert_same_as_torch(torch, fn, [[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]])


def test_cross_entropy_with_some_targets_ignored_unchanged(torch):
    def fn(L, x):
        return L.nn.functional.cross_entropy(x, L.tensor([-100, 1, 0]), label_smoothing=0.2)
    assert_same_as_torch(torch, fn, [[1.0, 2.0, 3.0], [0.0, -1.0, 0.5], [4.0, 1.0, 2.0]])


def test_cross_entropy_with_zero_class_weights(torch):
    # Rows that are kept but weigh 0 make the mean 0/0 with NaN gradients in torch; ignored rows stay at 0.
    def fn(L, x):
        w = L.tensor([0.0, 1.0, 1.0], dtype=L.float64)
        return L.nn.functional.cross_entropy(x, L.tensor([0, -100]), weight=w)
    assert_same_as_torch(torch, fn, [[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]])


# ---------------------------------------------------------------------------------------------- softmax over an empty dim
@pytest.mark.parametrize("shape,dim", [((2, 0), 1), ((0, 3), 0), ((0, 3), 1), ((0,), 0), ((2, 0, 3), 1)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_over_an_empty_dim_is_empty(torch, shape, dim, name):
    assert_same_as_torch(torch, lambda L, x: getattr(x, name)(dim), np.zeros(shape))
    assert_same_as_torch(torch, lambda L, x: getattr(L.nn.functional, name)(x, dim=dim), np.zeros(shape))


# ---------------------------------------------------------------------------------------------- NaN inputs
# (hardtanh, relu6 and elu are left out: torch's own gradient at NaN depends on the tensor's size there, 1 in
# its scalar loop and 0 or NaN in its vectorized one.)
NAN_CASES = {
    "max": lambda L, x: x.max(),
    "min": lambda L, x: x.min(),
    "max_dim": lambda L, x: x.max(0).values,
    "min_dim": lambda L, x: x.min(1).values,
    "amax": lambda L, x: x.amax(0),
    "amax_all": lambda L, x: x.amax(),
    "relu": lambda L, x: L.relu(x),
    "leaky_relu": lambda L, x: L.nn.functional.leaky_relu(x),
    "abs": lambda L, x: x.abs(),
    "clamp": lambda L, x: x.clamp(-0.5, 0.5),
}


@pytest.mark.parametrize("name", sorted(NAN_CASES))
def test_gradients_at_nan_inputs(torch, name):
    x = [[1.0, nan, 3.0, -2.0], [nan, nan, 0.0, 0.5], [-1.0, 2.0, -3.0, 0.0]]
    assert_same_as_torch(torch, NAN_CASES[name], x)


def test_max_of_a_zero_dim_nan(torch):
    assert_same_as_torch(torch, lambda L, x: x.max(), nan)
    assert_same_as_torch(torch, lambda L, x: x.max(0).values, nan)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_at_nan_give_both_inputs_the_gradient(torch, name):
    a, b = [1.0, nan, nan, 2.0, 3.0], [nan, 2.0, nan, 2.0, -1.0]
    assert_same_as_torch(torch, lambda L, x, y: getattr(L, name)(x, y), a, b)


# ---------------------------------------------------------------------------------------------- 0 ** y
def test_d_dy_of_zero_to_the_y_at_y_zero(torch):
    # a tensor base of zeros, both inputs differentiated, to second order
    assert_same_as_torch(torch, lambda L, x, y: x ** y, [0.0, 0.0, 0.0, 0.0], [0.0, 1.0, -1.0, 0.5], order=2)


@pytest.mark.parametrize("base", [0, 0.0])
def test_python_zero_base_to_the_y(torch, base):
    assert_same_as_torch(torch, lambda L, y: base ** y, [0.0, 1.0, 2.0, -1.0], order=2)
    assert_same_as_torch(torch, lambda L, y: L.pow(base, y), [0.0, 3.0], order=2)


def test_pow_away_from_zero_unchanged(torch):
    assert_same_as_torch(torch, lambda L, x, y: x ** y, [0.5, 2.0, 1.5], [0.0, -1.0, 2.5], order=2)
