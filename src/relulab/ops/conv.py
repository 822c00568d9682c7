"""Convolution and pooling (lecture 3), built on im2col over strided views, differentiable to any order.

A convolution y = C(x, w) is bilinear, so its two gradients are convolutions too:
    dx = T(g, w)   (the transposed convolution: col2im of wᵀg)
    dw = W(x, g)   (the weight gradient: g against the unfolded x)
and by the identities <C(x,w), g> = <x, T(g,w)> = <w, W(x,g)> each of C, T and W differentiates into the other
two.  So the three ops below write their backward in terms of each other, and Hessians of CNNs come for free.

Memory: the only large temporary is the unfolded buffer ("cols") of shape
(groups, C/groups · kh · kw, N · OH · OW), i.e. kh·kw times the (padded) input when the stride is 1; a
forward or backward product holds one such buffer at a time.
No Python loop runs over pixels, batch items or channels; col2im loops over the kh·kw kernel offsets only.
"""
import numpy as np

from ..backend import xp
from ..autograd.function import Function
from ..autograd.tensor import Tensor


def out_size(size, kernel, stride, dilation):
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def unfold(x, kernel, stride, dilation):
    """(N, C, H, W) → a strided view (N, C, kh, kw, OH, OW) of every receptive field (no copy)."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    oh, ow = out_size(h, kh, sh, dh), out_size(w, kw, sw, dw)
    s = x.strides
    return np.lib.stride_tricks.as_strided(
        x, shape=(n, c, kh, kw, oh, ow),
        strides=(s[0], s[1], s[2] * dh, s[3] * dw, s[2] * sh, s[3] * sw), writeable=False)


def fold(cols, shape, kernel, stride, dilation):
    """The adjoint of ``unfold``: add each (N, C, kh, kw, OH, OW) entry back at its pixel of a (N, C, H, W) array."""
    n, c, h, w = shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    oh, ow = cols.shape[-2:]
    out = xp.zeros(shape, dtype=cols.dtype)
    for i in range(kh):  # overlapping fields add up; only the kernel offsets are looped over
        for j in range(kw):
            out[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw] += cols[:, :, i, j]
    return out


class _ConvGeometry(Function):
    """Shared layout: every product is one batched GEMM per group over the stacked (N · OH · OW) axis."""

    def __init__(self, stride, dilation, groups, x_shape=None, w_shape=None):
        self.stride, self.dilation, self.groups = stride, dilation, groups
        self.x_shape, self.w_shape = x_shape, w_shape

    def _cols(self, x, kernel):
        """Unfolded x as (G, C/G·kh·kw, N·OH·OW): the one copy of the input that a convolution makes."""
        n, c = x.shape[:2]
        view = unfold(x, kernel, self.stride, self.dilation)          # (N, C, kh, kw, OH, OW), no copy
        oh, ow = view.shape[-2:]
        cols = view.transpose(1, 2, 3, 0, 4, 5).reshape(self.groups, (c // self.groups) * kernel[0] * kernel[1], -1)
        return cols, (oh, ow)

    def _grad_rows(self, g):
        """(N, O, OH, OW) → (G, O/G, N·OH·OW)."""
        n, o = g.shape[:2]
        return g.transpose(1, 0, 2, 3).reshape(self.groups, o // self.groups, -1)

    def conv(self, x, w):
        return Conv2d(self.stride, self.dilation, self.groups).apply(x, w)

    def input_grad(self, g, w, x_shape):
        return Conv2dInputGrad(self.stride, self.dilation, self.groups, x_shape=x_shape).apply(g, w)

    def weight_grad(self, x, g, w_shape):
        return Conv2dWeightGrad(self.stride, self.dilation, self.groups, w_shape=w_shape).apply(x, g)


class Conv2d(_ConvGeometry):
    """y = C(x, w) for an already padded x: (N, C, H, W) * (O, C/G, kh, kw) → (N, O, OH, OW)."""

    def __init__(self, stride, dilation, groups):
        super().__init__(stride, dilation, groups)

    def forward(self, x, w):
        o, cg, kh, kw = w.shape
        cols, (oh, ow) = self._cols(x, (kh, kw))
        out = xp.matmul(w.reshape(self.groups, o // self.groups, cg * kh * kw), cols)   # (G, O/G, N·L)
        return xp.ascontiguousarray(out.reshape(o, x.shape[0], oh, ow).transpose(1, 0, 2, 3))

    def backward(self, g, out):
        x, w = self.inputs
        gx = self.input_grad(g, w, x.shape) if x.requires_grad else None
        gw = self.weight_grad(x, g, w.shape) if w.requires_grad else None
        return gx, gw


class Conv2dInputGrad(_ConvGeometry):
    """dx = T(g, w): the transposed convolution, back to the (padded) input's shape ``x_shape``."""

    def forward(self, g, w):
        n, o, oh, ow = g.shape
        _, cg, kh, kw = w.shape
        wmat = w.reshape(self.groups, o // self.groups, cg * kh * kw)
        cols = xp.matmul(wmat.transpose(0, 2, 1), self._grad_rows(g))          # (G, C/G·kh·kw, N·L)
        cols = cols.reshape(self.x_shape[1], kh, kw, n, oh, ow).transpose(3, 0, 1, 2, 4, 5)
        return fold(cols, self.x_shape, (kh, kw), self.stride, self.dilation)

    def backward(self, h, out):
        g, w = self.inputs
        gg = self.conv(h, w) if g.requires_grad else None
        gw = self.weight_grad(h, g, w.shape) if w.requires_grad else None
        return gg, gw


class Conv2dWeightGrad(_ConvGeometry):
    """dw = W(x, g): each output channel's gradient against the fields it saw, summed over batch and positions."""

    def forward(self, x, g):
        o, cg, kh, kw = self.w_shape
        cols, _ = self._cols(x, (kh, kw))                                      # (G, CK, N·L)
        return xp.matmul(self._grad_rows(g), cols.transpose(0, 2, 1)).reshape(self.w_shape)

    def backward(self, k, out):
        x, g = self.inputs
        gx = self.input_grad(g, k, x.shape) if x.requires_grad else None
        gg = self.conv(x, k) if g.requires_grad else None
        return gx, gg


# ---------------------------------------------------------------------------------------------------- padding
def _pair(v, name="value"):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"expected an int or a pair for {name}, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def pad2d(x, top, bottom, left, right, mode="zeros", value=0.0):
    """Pad the last two dimensions.  ``zeros``/``constant`` place x inside a filled array (adjoint: a slice);
    ``reflect``, ``replicate`` and ``circular`` gather x at index arrays (adjoint: scatter-add), so every mode
    stays differentiable to any order."""
    from .index import IndexAdd, getitem
    if not (top or bottom or left or right):
        return x
    h, w = x.shape[-2:]
    if mode in ("zeros", "constant"):
        shape = x.shape[:-2] + (h + top + bottom, w + left + right)
        inner = (Ellipsis, slice(top, top + h), slice(left, left + w))
        out = IndexAdd(shape, inner).apply(x)
        if value:
            fill = np.full(shape, value, dtype=x.dtype)
            fill[inner] = 0
            out = out + Tensor._make(fill)
        return out
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}.get(mode)
    if np_mode is None:
        raise ValueError(f"pad: unknown padding mode {mode!r} (zeros, constant, reflect, replicate, circular)")
    if mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
        raise RuntimeError(f"pad: reflect padding ({top}, {bottom}, {left}, {right}) must be smaller than the "
                           f"input's spatial size {(h, w)}")
    rows = np.pad(np.arange(h), (top, bottom), mode=np_mode)
    cols = np.pad(np.arange(w), (left, right), mode=np_mode)
    return getitem(x, (Ellipsis, rows[:, None], cols[None, :]))


def same_padding(kernel, dilation):
    """PyTorch's 'same' split for stride 1: the extra pixel of an odd total goes after (bottom/right)."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


# ---------------------------------------------------------------------------------------------------- conv2d
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
           layer=None):
    """2-D cross-correlation, as ``torch.nn.functional.conv2d`` (plus ``padding_mode`` for the layer)."""
    name = layer or "conv2d"
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{name}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(input.shape)}")
    if weight.ndim != 4:
        raise RuntimeError(f"{name}: weight must be 4-D (out, in/groups, kh, kw), got shape {tuple(weight.shape)}")
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    if min(stride) < 1 or min(dilation) < 1:
        raise RuntimeError(f"{name}: stride {stride} and dilation {dilation} must be positive")
    out_ch, in_per_group, kh, kw = weight.shape
    if bias is not None and tuple(bias.shape) != (out_ch,):
        raise RuntimeError(f"{name}: bias must have shape ({out_ch},) for {out_ch} output channels, got "
                           f"{tuple(bias.shape)}")
    if groups < 1 or input.shape[1] % groups or out_ch % groups:
        raise RuntimeError(f"{name}: in_channels ({input.shape[1]}) and out_channels ({out_ch}) must be divisible "
                           f"by groups ({groups})")
    if input.shape[1] != in_per_group * groups:
        raise RuntimeError(f"{name}: expected input with {in_per_group * groups} channels, got input of shape "
                           f"{tuple(input.shape)} (weight of shape {tuple(weight.shape)}, groups={groups})")
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            pads = same_padding(kh, dilation[0]) + same_padding(kw, dilation[1])
        else:
            raise ValueError(f"{name}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    else:
        ph, pw = _pair(padding, "padding")
        if ph < 0 or pw < 0:
            raise RuntimeError(f"{name}: padding {(ph, pw)} must be non-negative")
        pads = (ph, ph, pw, pw)
    x = pad2d(input, *pads, mode=padding_mode)
    eff_h, eff_w = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if eff_h > x.shape[2] or eff_w > x.shape[3]:
        raise RuntimeError(f"{name}: kernel size {(kh, kw)} (dilated to {(eff_h, eff_w)}) is larger than the padded "
                           f"input {tuple(x.shape[2:])} (input shape {tuple(input.shape)})")
    if x.dtype != weight.dtype:
        raise RuntimeError(f"{name}: input dtype {x.dtype} does not match weight dtype {weight.dtype}")
    out = Conv2d(stride, dilation, groups).apply(x, weight)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out.squeeze(0) if unbatched else out
