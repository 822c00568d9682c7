"""Pooling (lecture 3): max, average and adaptive average, built from ops that already differentiate.

- Max pooling picks one input element per window, so it *is* an indexing op: find each window's argmax once,
  then gather those elements.  Its gradient (scatter-add) and everything after come from indexing.
- Average pooling is a depthwise convolution with a constant kernel, divided by PyTorch's per-window count.
- Adaptive average pooling is separable: two small averaging matrices, one per spatial axis.
"""
import math

import numpy as np

from ..backend import xp
from ..autograd.tensor import Tensor
from .conv import Conv2d, _pair, pad2d, unfold


def pool_out_size(size, kernel, stride, padding, dilation, ceil_mode):
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1  # the last window must start inside the input or its left padding
    return out


def _pool_args(name, x, kernel_size, stride, padding, dilation, ceil_mode):
    if x.ndim not in (3, 4):
        raise RuntimeError(f"{name}: expected a 3-D or 4-D input, got shape {tuple(x.shape)}")
    k = _pair(kernel_size, "kernel_size")
    s = _pair(kernel_size if stride is None or (isinstance(stride, (list, tuple)) and not stride) else stride,
              "stride")
    p, d = _pair(padding, "padding"), _pair(dilation, "dilation")
    if min(k) < 1 or min(s) < 1 or min(d) < 1 or min(p) < 0:
        raise RuntimeError(f"{name}: kernel_size {k}, stride {s} and dilation {d} must be positive and padding {p} "
                           "non-negative")
    for i in range(2):
        if p[i] > k[i] // 2:
            raise RuntimeError(f"{name}: padding {p} should be at most half of the kernel size {k}")
    h, w = x.shape[-2:]
    oh = pool_out_size(h, k[0], s[0], p[0], d[0], ceil_mode)
    ow = pool_out_size(w, k[1], s[1], p[1], d[1], ceil_mode)
    if oh <= 0 or ow <= 0:
        raise RuntimeError(f"{name}: kernel {k} with padding {p} and dilation {d} is larger than the input "
                           f"{(h, w)}; output would be {(oh, ow)}")
    return k, s, p, d, (oh, ow)


def _extra(size, out, kernel, stride, padding, dilation):
    """Right/bottom padding beyond ``padding`` that ceil mode's last window needs."""
    return max((out - 1) * stride + dilation * (kernel - 1) + 1 - size - 2 * padding, 0)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    from .index import GetItem
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    k, s, p, d, (oh, ow) = _pool_args("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
    n, c, h, w = x.shape
    eh, ew = _extra(h, oh, k[0], s[0], p[0], d[0]), _extra(w, ow, k[1], s[1], p[1], d[1])
    data, real = x._data, None
    if p != (0, 0) or eh or ew:
        data = np.full((n, c, h + 2 * p[0] + eh, w + 2 * p[1] + ew), -np.inf, dtype=x.dtype)
        data[:, :, p[0]:p[0] + h, p[1]:p[1] + w] = x._data
        real = np.zeros((1, 1) + data.shape[2:], dtype=bool)  # padding never wins, even against −inf
        real[:, :, p[0]:p[0] + h, p[1]:p[1] + w] = True
        real = unfold(real, k, s, d)[..., :oh, :ow]
    windows = unfold(data, k, s, d)[..., :oh, :ow]                      # (N, C, kh, kw, OH, OW), a view
    # Running argmax over the kh·kw kernel offsets (not pixels), in branch-free arithmetic (masked selects
    # are ~30x slower in NumPy).  Strict '>' keeps the first maximum, as PyTorch does; a NaN wins and sticks.
    best_val = windows[:, :, 0, 0]
    best = np.zeros((n, c, oh, ow), dtype=np.int16)
    best_real = None if real is None else real[:, :, 0, 0]
    for j in range(1, k[0] * k[1]):
        v = windows[:, :, j // k[1], j % k[1]]
        better = (v > best_val) | np.isnan(v)
        if real is not None:
            v_real = real[:, :, j // k[1], j % k[1]]
            better = v_real & (better | ~best_real)
            best_real = best_real | v_real
        best = np.maximum(best, better * np.int16(j))  # j only grows, so the latest winner is the largest
        best_val = np.maximum(best_val, v)
    # Row-major position of each winner in the unpadded input.
    offsets = (np.arange(k[0] * k[1]) // k[1]) * d[0] * w + (np.arange(k[0] * k[1]) % k[1]) * d[1]
    corner = ((np.arange(n)[:, None, None, None] * c + np.arange(c)[None, :, None, None]) * h * w
              + (np.arange(oh)[:, None] * s[0] - p[0]) * w + (np.arange(ow)[None, :] * s[1] - p[1]))
    flat = corner + offsets[best.astype(np.intp)]
    overlapping = any(kk * dd > ss for kk, dd, ss in zip(k, d, s))
    out = GetItem(None, unique=not overlapping, flat=flat).apply(x)  # the gradient scatters back to winners
    if unbatched:
        out = out.squeeze(0)
    if return_indices:
        plane = Tensor._make(flat % (h * w))  # PyTorch's indices: positions within each (H, W) plane
        return out, (plane.squeeze(0) if unbatched else plane)
    return out


def _window_counts(size, out, kernel, stride, padding, include_pad):
    starts = np.arange(out) * stride - padding
    ends = np.minimum(starts + kernel, size + padding)
    if include_pad:
        return ends - starts
    return np.minimum(ends, size) - np.maximum(starts, 0)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    k, s, p, _, (oh, ow) = _pool_args("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    n, c, h, w = x.shape
    eh, ew = _extra(h, oh, k[0], s[0], p[0], 1), _extra(w, ow, k[1], s[1], p[1], 1)
    xp_ = pad2d(x, p[0], p[0] + eh, p[1], p[1] + ew)
    ones = Tensor._make(xp.ones((c, 1) + k, dtype=x.dtype))
    sums = Conv2d(s, (1, 1), c).apply(xp_, ones)[:, :, :oh, :ow]          # a depthwise window sum
    if divisor_override:
        out = sums * (1.0 / divisor_override)
    else:
        counts = np.outer(_window_counts(h, oh, k[0], s[0], p[0], count_include_pad),
                          _window_counts(w, ow, k[1], s[1], p[1], count_include_pad))
        out = sums * Tensor._make((1.0 / counts).astype(x.dtype))
    return out.squeeze(0) if unbatched else out


def _adaptive_matrix(size, out, dtype):
    """(out, size) averaging matrix of PyTorch's adaptive windows [floor(i·size/out), ceil((i+1)·size/out))."""
    m = np.zeros((out, size), dtype=dtype)
    for i in range(out):  # over output cells (a handful), not pixels
        lo, hi = (i * size) // out, math.ceil((i + 1) * size / out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def adaptive_avg_pool2d(x, output_size):
    if x.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d: expected a 3-D or 4-D input, got shape {tuple(x.shape)}")
    h, w = x.shape[-2:]
    oh, ow = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    oh, ow = h if oh is None else oh, w if ow is None else ow
    rows = Tensor._make(_adaptive_matrix(h, oh, x.dtype))
    cols = Tensor._make(_adaptive_matrix(w, ow, x.dtype).T)
    return rows @ x @ cols


def adaptive_max_pool2d(x, output_size, return_indices=False):
    """The maximum over each of PyTorch's adaptive windows [floor(i·size/out), ceil((i+1)·size/out)); like
    max_pool2d it gathers the winners, so the gradient goes to them (the first maximum on ties, as PyTorch)."""
    from .index import GetItem
    if x.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d: expected a 3-D or 4-D input, got shape {tuple(x.shape)}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    n, c, h, w = x.shape
    oh, ow = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    oh, ow = h if oh is None else oh, w if ow is None else ow
    if oh <= 0 or ow <= 0 or h == 0 or w == 0:
        raise RuntimeError(f"adaptive_max_pool2d: output size {(oh, ow)} and input size {(h, w)} must be positive")
    rows = [((i * h) // oh, math.ceil((i + 1) * h / oh)) for i in range(oh)]
    cols = [((j * w) // ow, math.ceil((j + 1) * w / ow)) for j in range(ow)]
    flat = np.empty((n, c, oh, ow), dtype=np.int64)
    planes = (np.arange(n)[:, None] * c + np.arange(c)[None, :]) * h * w
    for i, (r0, r1) in enumerate(rows):      # over output cells (a handful), not pixels
        for j, (c0, c1) in enumerate(cols):
            window = x._data[:, :, r0:r1, c0:c1].reshape(n, c, -1)
            best = np.argmax(window, axis=-1)   # first maximum; a NaN wins, as in PyTorch
            flat[:, :, i, j] = planes + (r0 + best // (c1 - c0)) * w + (c0 + best % (c1 - c0))
    overlapping = h % oh != 0 or w % ow != 0
    out = GetItem(None, unique=not overlapping, flat=flat).apply(x)
    if unbatched:
        out = out.squeeze(0)
    if return_indices:
        plane = Tensor._make(flat % (h * w))
        return out, (plane.squeeze(0) if unbatched else plane)
    return out
