"""``relulab.nn.functional``: activations, dropout and losses as functions (PyTorch's names and arguments).

The losses follow lecture 1's L = (1/N) Σ e_n with e = |y − ŷ| (MAE, ``l1_loss``) or e = (y − ŷ)² (MSE,
``mse_loss``), and lecture 2's cross-entropy  L = −Σ_i ŷ_i ln y′_i  with y′ = softmax(logits).
"""
import warnings

import numpy as np

from .. import backend
from ..backend import xp
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..autograd.tensor import Tensor
from ..ops.elementwise import (const, operands, hardsigmoid, leaky_relu, logsigmoid, relu, sigmoid, softplus,  # noqa: F401
                               tanh, where)
from ..ops.linalg import linear  # noqa: F401
from ..ops.reduce import log_softmax, softmax  # noqa: F401
from ..ops.shape import flatten  # noqa: F401
from ..ops.conv import conv2d  # noqa: F401
from ..ops.pool import adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d  # noqa: F401
from ..ops.activation import elu, gelu, hardtanh, prelu, relu6, silu  # noqa: F401
from ..random import _generator

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction, op):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction (choose mean, sum or none)")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_pair(input, target, op):
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(f"{op}: target size {tuple(target.shape)} differs from input size {tuple(input.shape)}; "
                      "they will be broadcast, which is rarely what you want", stacklevel=3)


def _keep_mask(shape, p, dtype, generator):
    """PyTorch's noise: bernoulli_(1 − p) in the input's dtype, then divided by (1 − p) in that dtype."""
    dtype = np.dtype(dtype)
    keep = _generator(generator).bernoulli(1.0 - p, shape, dtype)
    return (keep / dtype.type(1.0 - p)).astype(dtype)


def dropout(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero each element with probability p and scale survivors by 1/(1−p) (inverted dropout); identity in eval."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    return input * const(_keep_mask(input.shape, p, input.dtype, generator))


def dropout2d(input, p=0.5, training=True, inplace=False, generator=None):
    """Zero whole channels: one keep/drop draw per (sample, channel) of an (N, C, H, W) or (C, H, W) input."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"dropout2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                           f"{tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    return input * const(_keep_mask(input.shape[:-2] + (1, 1), p, input.dtype, generator))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(x − mean) / sqrt(var + eps) · weight + bias over the last ``len(normalized_shape)`` dimensions, with
    the biased variance: each sample normalised on its own (Ba et al. 2016), in Tensor ops."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape):]) != shape or len(shape) > input.ndim:
        raise RuntimeError(f"layer_norm: input of shape {tuple(input.shape)} does not end in the normalized shape "
                           f"{shape}")
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    mean = input.mean(dim=dims, keepdim=True)
    centered = input - mean
    var = (centered * centered).mean(dim=dims, keepdim=True)
    out = centered / (var + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def pad(input, pad, mode="constant", value=0.0):
    """Pad the last two dimensions by ``pad = (left, right, top, bottom)`` (or (left, right) for the last one)."""
    from ..ops.conv import pad2d
    if len(pad) == 2:
        pad = tuple(pad) + (0, 0)
    if len(pad) != 4:
        raise ValueError(f"pad: expected 2 or 4 padding sizes, got {pad!r}")
    left, right, top, bottom = pad
    return pad2d(input, top, bottom, left, right, "zeros" if mode == "constant" else mode, value)


def _batch_norm_composite(x, weight, bias, dims, shape, eps):
    """Training-mode batch norm in Tensor ops: the definition the fused op's higher derivatives come from."""
    mean = x.mean(dim=dims, keepdim=True)
    centered = x - mean
    out = centered / ((centered * centered).mean(dim=dims, keepdim=True) + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


class BatchNormTrain(Function):
    """Training-mode batch norm as one op: it keeps only its input and the per-channel mean and std, not the
    five full-size temporaries of the composite.  First-order backward is the closed form
        dx = (g·w − mean(g·w) − x̂·mean(g·w·x̂)) / std,  dw = Σ g·x̂,  db = Σ g;
    when a graph is being built (``create_graph``) the composite is differentiated instead, so it stays
    differentiable to any order."""

    def __init__(self, dims, shape, eps, has_weight, has_bias):
        self.dims, self.shape, self.eps = dims, shape, eps
        self.has_weight, self.has_bias = has_weight, has_bias

    def forward(self, x, *affine):
        scale = xp.asarray(1.0 / (x.size // x.shape[1]), dtype=x.dtype)
        self.mean = xp.sum(x, axis=self.dims, keepdims=True) * scale
        out = x - self.mean
        self.var = xp.sum(out * out, axis=self.dims, keepdims=True) * scale
        self.std = xp.sqrt(self.var + xp.asarray(self.eps, dtype=x.dtype))
        xp.divide(out, self.std, out=out)                  # x̂, in the buffer of x − mean
        if self.has_weight:
            out = out * affine[0].reshape(self.shape)
        if self.has_bias:
            out += affine[-1].reshape(self.shape)
        return out

    def backward(self, g, out):
        x = self.inputs[0]
        weight = self.inputs[1] if self.has_weight else None
        bias = self.inputs[-1] if self.has_bias else None
        if is_grad_enabled():
            from ..autograd.engine import run_backward
            wanted = [t for t in self.inputs if t.requires_grad]
            y = _batch_norm_composite(x, weight, bias, self.dims, self.shape, self.eps)
            got = dict(zip(map(id, wanted), run_backward([y], [g], wanted, True, True, True, accumulate=False)))
            return tuple(got.get(id(t)) for t in self.inputs)
        ga, dims = g._data, self.dims
        xhat = (x._data - self.mean) / self.std
        grads = []
        if x.requires_grad:
            gy = ga * weight._data.reshape(self.shape) if weight is not None else ga
            count = xp.asarray(1.0 / (ga.size // ga.shape[1]), dtype=ga.dtype)
            gx = gy - xp.sum(gy, axis=dims, keepdims=True) * count
            gx -= xhat * (xp.sum(gy * xhat, axis=dims, keepdims=True) * count)
            gx /= self.std
            grads.append(Tensor._make(gx))
        else:
            grads.append(None)
        if weight is not None:
            grads.append(Tensor._make(xp.sum(ga * xhat, axis=dims)) if weight.requires_grad else None)
        if bias is not None:
            grads.append(Tensor._make(xp.sum(ga, axis=dims)) if bias.requires_grad else None)
        return tuple(grads)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5,
               layer=None):
    """(x − mean) / sqrt(var + eps) · weight + bias per channel (dimension 1), written in Tensor ops so it
    differentiates to any order.  In training the batch statistics are used (biased variance) and the running
    estimates move toward them (unbiased variance); otherwise the running estimates are used."""
    name = layer or "batch_norm"
    dims = (0,) + tuple(range(2, input.ndim))
    shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    if training:
        count = input.numel() // input.shape[1]
        if count <= 1:
            raise ValueError(f"{name}: expected more than 1 value per channel when training, got input of shape "
                             f"{tuple(input.shape)}")
        if input.dtype.kind == "f" and all(t is None or t.dtype == input.dtype for t in (weight, bias)):
            fused = BatchNormTrain(dims, shape, eps, weight is not None, bias is not None)
            out = fused.apply(*[t for t in (input, weight, bias) if t is not None])
            if running_mean is not None:
                with no_grad():
                    m = momentum
                    mean, var = Tensor._make(fused.mean), Tensor._make(fused.var)
                    running_mean.copy_(running_mean * (1 - m) + mean.reshape(-1) * m)
                    running_var.copy_(running_var * (1 - m) + var.reshape(-1) * (m * count / (count - 1)))
            return out
        mean = input.mean(dim=dims, keepdim=True)
        centered = input - mean
        var = (centered * centered).mean(dim=dims, keepdim=True)
        if running_mean is not None:
            with no_grad():
                m = momentum
                running_mean.copy_(running_mean * (1 - m) + mean.detach().reshape(-1) * m)
                running_var.copy_(running_var * (1 - m) + var.detach().reshape(-1) * (m * count / (count - 1)))
        out = centered / (var + eps).sqrt()
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError(f"{name}: running_mean and running_var are needed outside training")
        out = (input - running_mean.reshape(shape)) / (running_var.reshape(shape) + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def one_hot(tensor, num_classes=-1):
    labels = tensor._data
    if labels.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot: is only applicable to index tensors, got {labels.dtype}")
    n = int(labels.max()) + 1 if num_classes == -1 else num_classes
    if labels.size and (labels.min() < 0 or labels.max() >= n):
        raise RuntimeError(f"one_hot: class values must be in [0, {n}), got min {labels.min()} max {labels.max()}")
    return Tensor._make((labels[..., None] == np.arange(n)).astype(backend.int64))


# ---------------------------------------------------------------------------- regression losses
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """MAE: e = |y − ŷ|, averaged (``mean``), summed, or kept per element (``none``)."""
    _check_reduction(reduction, "l1_loss")
    _check_pair(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """MSE: e = (y − ŷ)², averaged (``mean``), summed, or kept per element (``none``)."""
    _check_reduction(reduction, "mse_loss")
    _check_pair(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction)


# ---------------------------------------------------------------------------- classification losses
def _class_rows(input, target, op):
    """Input as (M, C) rows with classes last, and the integer target as (M,): covers (C,), (N, C), (N, C, d...)."""
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, got a 0-d tensor")
    t = target._data if isinstance(target, Tensor) else xp.asarray(target)
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected integer class indices as target (dtype int64), got {t.dtype}; "
                           "for class probabilities the target must have the input's shape "
                           f"{tuple(input.shape)}")
    expected = input.shape[1:] if input.ndim == 1 else (input.shape[0],) + input.shape[2:]
    if input.ndim == 1:
        expected = ()
    if tuple(t.shape) != tuple(expected):
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} needs a target of shape {tuple(expected)}, "
                         f"got {tuple(t.shape)}")
    n_classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    if input.ndim == 1:
        rows = input.reshape(1, n_classes)
    elif input.ndim == 2:
        rows = input
    else:
        rows = input.permute(0, *range(2, input.ndim), 1).reshape(-1, n_classes)
    return rows, t.reshape(-1), n_classes


def _check_weight(weight, n_classes, op):
    if weight is not None and tuple(weight.shape) != (n_classes,):
        raise ValueError(f"{op}: weight must have shape ({n_classes},) for {n_classes} classes, "
                         f"got {tuple(weight.shape)}")


def _nll_rows(logp, labels, n_classes, weight, ignore_index, op):
    """Per-row −w[y]·log p[y] and the per-row weight w[y] (0 where the label is ignored)."""
    valid = labels != ignore_index
    bad = valid & ((labels < 0) | (labels >= n_classes))
    if bad.any():
        raise IndexError(f"{op}: target {labels[bad][0]} is out of bounds for {n_classes} classes")
    all_valid = bool(valid.all())
    safe = labels if all_valid else xp.where(valid, labels, 0)
    picked = logp[xp.arange(labels.shape[0]), safe]
    if weight is None:
        row_weight = None if all_valid else const(valid.astype(logp.dtype))
    else:
        row_weight = weight[safe] if all_valid else weight[safe] * const(valid.astype(logp.dtype))
    nll = -picked if row_weight is None else -picked * row_weight
    if not all_valid:
        # Ignored rows get no gradient at all, even when every row is ignored and the mean divides by 0 (PyTorch).
        nll = where(valid, nll, 0.0)
    return nll, row_weight, valid


def _weighted_reduce(per_row, row_weight, n_rows, reduction, target_shape):
    if reduction == "none":
        return per_row.reshape(target_shape)
    total = per_row.sum()
    if reduction == "sum":
        return total
    return total / row_weight.sum() if row_weight is not None else total * (1.0 / n_rows if n_rows else float("nan"))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of log-probabilities: −w[y]·input[y], mean weighted by w[y] as in PyTorch."""
    _check_reduction(reduction, "nll_loss")
    rows, labels, n_classes = _class_rows(input, target, "nll_loss")
    _check_weight(weight, n_classes, "nll_loss")
    nll, row_weight, _ = _nll_rows(rows, labels, n_classes, weight, ignore_index, "nll_loss")
    return _weighted_reduce(nll, row_weight, labels.shape[0], reduction, xp.shape(_target_array(target)))


def _target_array(target):
    return target._data if isinstance(target, Tensor) else xp.asarray(target)


class CrossEntropyLogits(Function):
    """The common case fused into one op: scale · Σ_n −log softmax(x_n)[y_n] for (N, C) logits and valid labels.

    Its gradient, scale · g · (softmax(x) − onehot(y)), is written in Tensor ops (softmax of the input) when a
    graph is being built, so it differentiates again; otherwise it reuses the forward's log-probabilities."""

    def __init__(self, labels, scale):
        self.labels, self.scale = labels, scale

    def forward(self, a):
        shifted = a - xp.max(a, axis=1, keepdims=True)
        self.logp = shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
        total = -xp.sum(self.logp[xp.arange(a.shape[0]), self.labels])
        if self.scale == 1.0:
            return xp.asarray(total, dtype=a.dtype)
        return xp.asarray(total * xp.asarray(self.scale, dtype=a.dtype), dtype=a.dtype)

    def backward(self, g, out):
        (a,) = self.inputs
        onehot = xp.zeros(a.shape, dtype=a.dtype)
        onehot[xp.arange(a.shape[0]), self.labels] = 1
        gs = g * self.scale
        if is_grad_enabled():  # building a graph: stay in Tensor ops of the input
            p = log_softmax(a, dim=1).exp()
        else:
            p = const(xp.exp(self.logp))
        return (p * gs - const(onehot) * gs,)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy of logits: log_softmax, then −Σ_i ŷ_i ln y′_i.  The softmax is inside, as in PyTorch.

    ``target`` holds class indices (int64, shape without the class dimension) or class probabilities (float,
    same shape as ``input``).  ``label_smoothing`` ε mixes the target with the uniform distribution:
    (1−ε)·ŷ + ε/C.
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    class_dim = 0 if input.ndim == 1 else 1
    if isinstance(target, Tensor) and target.dtype.kind == "f":
        if ignore_index != -100:
            raise RuntimeError(f"cross_entropy: ignore_index ({ignore_index}) is not supported for class-"
                               "probability (floating point) targets")
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing, class_dim)
    rows, labels, n_classes = _class_rows(input, target, "cross_entropy")
    _check_weight(weight, n_classes, "cross_entropy")
    if (weight is None and label_smoothing == 0.0 and reduction != "none" and labels.shape[0]
            and rows.dtype.kind == "f" and ((labels >= 0) & (labels < n_classes) & (labels != ignore_index)).all()):
        scale = 1.0 / labels.shape[0] if reduction == "mean" else 1.0
        return CrossEntropyLogits(labels, scale).apply(rows)
    logp = log_softmax(rows, dim=1)
    nll, row_weight, valid = _nll_rows(logp, labels, n_classes, weight, ignore_index, "cross_entropy")
    target_shape = xp.shape(_target_array(target))
    loss = _weighted_reduce(nll, row_weight, labels.shape[0], reduction, target_shape)
    if label_smoothing == 0.0:
        return loss
    # The uniform part: −Σ_c w_c log p_c per row, dropped where the label is ignored.
    smooth = -(logp if weight is None else logp * weight).sum(dim=1)
    if not valid.all():
        smooth = where(valid, smooth, 0.0)
    smooth_red = _weighted_reduce(smooth, row_weight, labels.shape[0], reduction, target_shape)
    return (1.0 - label_smoothing) * loss + (label_smoothing / n_classes) * smooth_red


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing, class_dim):
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"cross_entropy: class-probability target of shape {tuple(target.shape)} must match "
                         f"input of shape {tuple(input.shape)}")
    n_classes = input.shape[class_dim]
    _check_weight(weight, n_classes, "cross_entropy")
    if label_smoothing > 0:
        target = target * (1.0 - label_smoothing) + label_smoothing / n_classes
    logp = log_softmax(input, dim=class_dim)
    terms = logp * target
    if weight is not None:
        terms = terms * weight.reshape((n_classes,) + (1,) * (input.ndim - class_dim - 1))
    if reduction == "none":
        return -terms.sum(dim=class_dim)
    if reduction == "sum":
        return -terms.sum()
    return -terms.sum() * (n_classes / input.numel() if input.numel() else float("nan"))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """−w·[p·y·ln σ(x) + (1−y)·ln(1−σ(x))], computed from logits with log σ so it never overflows."""
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"binary_cross_entropy_with_logits: target size {tuple(target.shape)} must be the same "
                         f"as input size {tuple(input.shape)}")
    log_sig = logsigmoid(input)
    log_weight = 1.0 if pos_weight is None else (pos_weight - 1.0) * target + 1.0
    # ln(1 − σ(x)) = ln σ(x) − x
    loss = (1.0 - target) * input - log_weight * log_sig
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


class BinaryCrossEntropy(Function):
    """−[y·max(ln p, −100) + (1−y)·max(ln(1−p), −100)], with PyTorch's gradient (p − y) / max(p(1−p), 1e-12),
    which stays finite at p = 0 or 1 where the clamped logs' own derivatives would give 0/0."""

    def forward(self, p, y):
        if ((p < 0) | (p > 1)).any():
            raise ValueError("binary_cross_entropy: all input values must be probabilities in [0, 1]; "
                             "use binary_cross_entropy_with_logits for logits")
        with np.errstate(divide="ignore"):
            return -(y * xp.maximum(xp.log(p), -100.0) + (1 - y) * xp.maximum(xp.log1p(-p), -100.0))

    def backward(self, g, out):
        p, y = self.inputs
        gp = gy = None
        if p.requires_grad:
            gp = g * (p - y) / (p * (1.0 - p)).clamp(min=1e-12)
        if y.requires_grad:
            gy = g * ((1.0 - p).log().clamp(min=-100.0) - p.log().clamp(min=-100.0))
        return gp, gy


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """−w·[y·ln p + (1−y)·ln(1−p)] on probabilities; logs are clamped at −100 as in PyTorch."""
    _check_reduction(reduction, "binary_cross_entropy")
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"binary_cross_entropy: target size {tuple(target.shape)} must be the same as input "
                         f"size {tuple(input.shape)}")
    loss = BinaryCrossEntropy().apply(*operands(input, target))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)
