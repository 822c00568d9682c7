"""relulab: Hung-yi Lee's ML 2022 lectures 1-3, runnable — a NumPy autodiff engine with a PyTorch-shaped API."""
from . import backend
from .backend import (bool_ as bool, float16, float32, float64, get_default_dtype, int8, int32, int64,
                      set_default_dtype, uint8)
from .autograd import Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .autograd.tensor import is_tensor
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .factory import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace, ones,
                      ones_like, rand, rand_like, randint, randn, randn_like, randperm, tensor, zeros, zeros_like)
from .ops.elementwise import (abs, clamp, exp, hardsigmoid, leaky_relu, log, log1p, maximum, minimum, pow, relu,
                              sigmoid, softplus, sqrt, tanh, where)
from .ops.elementwise import clamp as clip
from .ops.reduce import (amax, amin, argmax, argmin, log_softmax, logsumexp, max, mean, min, softmax, std, sum,
                         var)
from .ops.shape import (broadcast_to, cat, expand, flatten, permute, reshape, squeeze, stack, t, transpose,
                        unsqueeze)
from .ops.index import gather
from .ops.linalg import matmul
from . import autograd, nn, optim, models
from .serialization import load, save

double = float64
float = float32
long = int64
half = float16
concat = cat


def is_floating_point(x):
    return x.is_floating_point()


def numel(x):
    return x.numel()


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    return a.allclose(b, rtol, atol, equal_nan)


def equal(a, b):
    return a.equal(b)


def square(x):
    return x * x


def neg(x):
    return -x


def mul(a, b):
    return a * b


def add(a, b, alpha=1):
    return a.add(b, alpha)


def sub(a, b, alpha=1):
    return a.sub(b, alpha)


def div(a, b):
    return a / b


def eq(a, b):
    return a == b


def lt(a, b):
    return a < b


def gt(a, b):
    return a > b


__version__ = "0.1.0"
