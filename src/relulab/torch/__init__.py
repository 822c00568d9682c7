"""``relulab.torch``: PyTorch's public names for everything relulab implements, so course code runs unmodified.

Use it as ``import relulab.torch as torch``, or run a script whose ``import torch`` (and ``torchvision``) should
resolve here with ``relulab run-torch SCRIPT`` / ``python -m relulab.torch SCRIPT``.  It re-exports relulab's
tensors, ops, ``nn``, ``optim`` and ``utils.data`` and adapts what differs: ``torch.Tensor`` and the typed
constructors, ``torch.Size``/``torch.device``, ``torch.cuda``/``backends``/``accelerator`` on a CPU-only machine,
``torch.load``/``torch.save`` of real PyTorch files, ``utils.tensorboard`` and a ``torchvision`` subset.
There is no second engine: every tensor is a ``relulab.Tensor``.

A name relulab does not carry raises "relulab does not implement torch.fft (hw.py:42)".
"""
import builtins as _builtins

import numpy as _np

from .. import __version__ as _relulab_version
from ..autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled,  # noqa: F401
                                  no_grad, set_grad_enabled)
from ..autograd.tensor import is_tensor  # noqa: F401
from ..autograd.tensor_meta import Size, device  # noqa: F401
from ..backend import bool_ as bool, float16, float32, float64, get_default_dtype, int8, int32, int64, uint8  # noqa: F401
from ..backend import set_default_dtype  # noqa: F401
from ..random import (Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed,  # noqa: F401
                      set_rng_state)
from ..factory import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace, ones,  # noqa: F401
                       ones_like, rand, rand_like, randint, randn, randn_like, randperm, tensor, zeros, zeros_like,
                       bernoulli, multinomial, normal, randint_like)
from ..ops.elementwise import (abs, clamp, exp, log, log1p, maximum, minimum, pow, relu, sigmoid, sqrt,  # noqa: F401
                               tanh, where)
from ..ops.elementwise import clamp as clip  # noqa: F401
from ..ops.reduce import (amax, amin, argmax, argmin, log_softmax, logsumexp, max, mean, min, norm, prod,  # noqa: F401
                          softmax, std, sum, var)
from ..ops.shape import (broadcast_to, cat, expand, flatten, permute, reshape, squeeze, stack, t, transpose,  # noqa: F401
                         unsqueeze)
from ..ops.shape import cat as concat  # noqa: F401
from ..ops.index import gather, nonzero  # noqa: F401
from ..ops.linalg import matmul  # noqa: F401
from ..ops.rearrange import chunk, flip, index_select, repeat_interleave, roll, split  # noqa: F401
from ..ops.scan import cumsum  # noqa: F401
from ..ops.sort import argsort, sort, topk  # noqa: F401
from .. import (add, allclose, div, eq, equal, gt, is_floating_point, lt, mul, neg, numel, square,  # noqa: F401
                sub)
from ._legacy import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor,  # noqa: F401
                      LongTensor, ShortTensor, Tensor)
from ._missing import missing_in
from .serialization import load, save  # noqa: F401
from . import accelerator, autograd, backends, cuda, nn, optim, utils  # noqa: F401,E402
from .. import random  # noqa: F401

__version__ = f"{_relulab_version}+relulab"

dtype = _np.dtype
int16 = _np.dtype("int16")
double, long, half, short, int = float64, int64, float16, int16, int32
float = float32
strided = "strided"  # the only layout


def mm(a, b):
    return matmul(a, b)


def masked_fill(input, mask, value):
    return input.masked_fill(mask, value)


def use_deterministic_algorithms(mode, warn_only=False):
    """relulab's CPU kernels are deterministic already; the switch is accepted for same_seed()-style helpers."""


def are_deterministic_algorithms_enabled():
    return True


def get_num_threads():
    from threadpoolctl import threadpool_info
    return next((info["num_threads"] for info in threadpool_info() if info.get("user_api") == "blas"), 1)


def set_num_threads(n):
    """Limit NumPy's BLAS threads, the threads relulab's matrix products run on."""
    from threadpoolctl import threadpool_limits
    global _thread_limit
    _thread_limit = threadpool_limits(limits=_builtins.int(n), user_api="blas")


_thread_limit = None

__getattr__ = missing_in("torch")
