"""Weight initialisation with PyTorch's formulas and defaults.  Every function fills in place, without grad."""
import math
import warnings

import numpy as np

from ..autograd.grad_mode import no_grad
from ..random import _generator
from ..random.generator import draw_for


def calculate_gain(nonlinearity, param=None):
    """The gain that keeps activations' variance steady through ``nonlinearity`` (PyTorch's table)."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
              "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out can not be computed for a tensor with fewer than 2 dimensions "
                         f"(shape {tuple(tensor.shape)})")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, array):
    with no_grad():
        tensor._data[...] = array
        tensor._vc[0] += 1
    return tensor


def _float_dtype(tensor, fn):
    if tensor.dtype.kind != "f":
        raise TypeError(f"nn.init.{fn}: expected a floating-point tensor, got dtype {tensor.dtype}")
    return tensor.dtype


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """U(a, b), PyTorch's draws for the same seed."""
    dtype, gen = _float_dtype(tensor, "uniform_"), _generator(generator)
    return _fill(tensor, draw_for(tensor._data, lambda shape, _: gen.uniform(a, b, shape, dtype)))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """N(mean, std²), PyTorch's draws for the same seed."""
    dtype, gen = _float_dtype(tensor, "normal_"), _generator(generator)
    return _fill(tensor, draw_for(tensor._data, lambda shape, contiguous: gen.normal(mean, std, shape, dtype,
                                                                                     contiguous)))


def _norm_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """N(mean, std²) restricted to [a, b], by PyTorch 2.13's two samplers and their draws.

    When [a, b] holds more than 30 % of the mass, whole-tensor normal draws replace the values outside [a, b] until
    none is left; otherwise uniform proposals on [a, b] are accepted with probability pdf(x) / pdf(mode).
    """
    dtype = _float_dtype(tensor, "trunc_normal_")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    gen = _generator(generator)
    contiguous = tensor._data.flags.c_contiguous
    if _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std) > 0.3:
        low, high = float(dtype.type(a)), float(dtype.type(b))
        values = gen.normal(mean, std, tensor.shape, dtype, contiguous)
        outside = (values < low) | (values > high)
        while outside.any():
            values = np.where(outside, gen.normal(mean, std, tensor.shape, dtype), values)
            outside = (values < low) | (values > high)
        return _fill(tensor, values)
    mode = max(a, min(mean, b))
    log_peak = -0.5 * ((mode - mean) / std) ** 2

    def log_density(x):  # the in-place chain sub_(mean).div_(std).pow_(2).mul_(-0.5).sub_(log_peak), in dtype
        z = ((x - dtype.type(mean)) / dtype.type(std)).astype(dtype)
        return ((z * z).astype(dtype) * dtype.type(-0.5) - dtype.type(log_peak)).astype(dtype)

    def rejected(x):
        return np.log(gen.uniform(0.0, 1.0, tensor.shape, dtype)) > log_density(x)

    result = gen.uniform(a, b, tensor.shape, dtype)
    pending = rejected(result)
    while pending.any():
        candidates = gen.uniform(a, b, tensor.shape, dtype)
        result = np.where(pending, candidates, result)
        pending = np.where(pending, rejected(candidates), pending)
    return _fill(tensor, result)


def constant_(tensor, val):
    return _fill(tensor, val)


def zeros_(tensor):
    return _fill(tensor, 0)


def ones_(tensor):
    return _fill(tensor, 1)


def eye_(tensor):
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tuple(tensor.shape)}")
    return _fill(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """U(-a, a) with a = gain·sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std  # PyTorch's order of operations, so the bound rounds the same
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-bound, bound) with bound = gain·sqrt(3 / fan) (He et al. 2015)."""
    if 0 in tensor.shape:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std  # PyTorch's order of operations, so the bound rounds the same
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if 0 in tensor.shape:
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode)), generator)
