"""relulab: Hung-yi Lee's ML 2022 lectures 1-3, runnable — a NumPy autodiff engine with a PyTorch-shaped API."""
from . import backend
from .backend import (bool_ as bool, float16, float32, float64, get_default_dtype, int8, int32, int64,
                      set_default_dtype, uint8)
from .autograd import Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .autograd.grad_mode import inference_mode, is_inference_mode_enabled
from .autograd.tensor import is_tensor
from .autograd.tensor_meta import Size, device
from .random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .factory import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace, ones,
                      ones_like, rand, rand_like, randint, randn, randn_like, randperm, tensor, zeros, zeros_like,
                      bernoulli, multinomial, normal, randint_like)
from .ops.elementwise import (abs, clamp, exp, hardsigmoid, leaky_relu, log, log1p, maximum, minimum, pow, relu,
                              sigmoid, softplus, sqrt, tanh, where)
from .ops.elementwise import clamp as clip
from .ops.reduce import (amax, amin, argmax, argmin, log_softmax, logsumexp, max, mean, min, softmax, std, sum,
                         var)
from .ops.shape import (broadcast_to, cat, expand, flatten, permute, reshape, squeeze, stack, t, transpose,
                        unsqueeze)
from .ops.index import gather, nonzero
from .ops.rearrange import chunk, flip, index_select, repeat_interleave, roll, split
from .ops.reduce import norm, prod
from .ops.scan import cumsum
from .ops.sort import argsort, sort, topk
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

# Reachable as attributes after a bare ``import relulab``, as ``torch.utils.data`` is after ``import torch``;
# loaded on first use, so importing relulab stays light.
_LAZY_SUBMODULES = ("analysis", "data", "utils", "train", "labs", "report")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib
        module = importlib.import_module(f".{name}", __name__)
        if name == "utils":
            importlib.import_module(".utils.data", __name__)
        return module
    raise AttributeError(f"module 'relulab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))
