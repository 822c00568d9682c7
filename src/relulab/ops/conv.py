"""Convolution and pooling (lecture 3), built on im2col over strided views, differentiable to any order.

A convolution y = C(x, w) is bilinear, so its two gradients are convolutions too:
    dx = T(g, w)   (the transposed convolution: col2im of wᵀg)
    dw = W(x, g)   (the weight gradient: g against the unfolded x)
and by the identities <C(x,w), g> = <x, T(g,w)> = <w, W(x,g)> each of C, T and W differentiates into the other
two.  So the three ops below write their backward in terms of each other, and Hessians of CNNs come for free.

Memory: the only large temporary is the unfolded buffer ("cols"): C/groups · kh · kw rows by OH · OW columns
per sample and group, i.e. kh·kw times the (padded) input when the stride is 1.  Each product runs over the
batch in chunks whose buffer stays under ``_CHUNK_BYTES``, and none is kept between products (backward unfolds
again), so a network's working memory is its activations plus one bounded buffer.
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


# Below this many weights per filter (C/G·kh·kw), one GEMM per sample beats one wide GEMM over the whole batch:
# BLAS handles a tiny inner dimension against a very long one poorly (measured on OpenBLAS, 2 cores).
_PER_SAMPLE_BELOW = 64

# The unfolded buffer of one batch chunk stays under this many bytes: im2col memory is then bounded whatever
# the batch size, while each chunk's GEMM stays wide enough for BLAS (a sample at 64x64 with 576-long filters
# is ~9 MB, so such a layer runs in chunks of ~3 samples).
_CHUNK_BYTES = 32 * 2 ** 20


# A forward product done in one chunk keeps its unfolded buffer for the weight gradient when the buffer is at
# most this large: rebuilding it is one strided copy (~40 % of a small layer's forward, measured on LeNet-5's
# convolutions), while holding a few MiB per layer until backward costs nothing that matters.  Larger buffers
# are rebuilt, so im2col memory stays bounded by ``_CHUNK_BYTES``.
_KEEP_COLS_BYTES = 8 * 2 ** 20


def batch_chunks(n, bytes_per_sample):
    """Slices of the batch whose unfolded buffers fit ``_CHUNK_BYTES`` (at least one sample each)."""
    step = max(1, min(n, _CHUNK_BYTES // max(int(bytes_per_sample), 1)))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


class _ConvGeometry(Function):
    """Shared layout for the three products.  Each is a batched GEMM: per group over the stacked
    (N · OH · OW) axis, or, for small filters, per sample and group (see ``_PER_SAMPLE_BELOW``)."""

    def __init__(self, stride, dilation, groups, x_shape=None, w_shape=None):
        self.stride, self.dilation, self.groups = stride, dilation, groups
        self.x_shape, self.w_shape = x_shape, w_shape

    @staticmethod
    def per_sample(w_shape):
        # A 1x1 filter makes every sample's product a plain GEMM on its own pixels (no unfolding at stride 1).
        return w_shape[1] * w_shape[2] * w_shape[3] < _PER_SAMPLE_BELOW or tuple(w_shape[2:]) == (1, 1)

    def _cols(self, x, w_shape):
        """Unfolded x, the one copy of the input a convolution makes: (N, G, CK, L) per sample, else
        (G, CK, N·L), with CK = C/G·kh·kw and L = OH·OW."""
        n, c = x.shape[:2]
        kernel = w_shape[2:]
        view = unfold(x, kernel, self.stride, self.dilation)          # (N, C, kh, kw, OH, OW), no copy
        ck = (c // self.groups) * kernel[0] * kernel[1]
        if tuple(kernel) == (1, 1) and self.stride == (1, 1):
            return x.reshape(n, self.groups, ck, -1), view.shape[-2:]   # 1x1: x itself is the GEMM operand
        if self.per_sample(w_shape):
            return view.reshape(n, self.groups, ck, -1), view.shape[-2:]
        return view.transpose(1, 2, 3, 0, 4, 5).reshape(self.groups, ck, -1), view.shape[-2:]

    def _grad_rows(self, g, w_shape):
        """(N, O, OH, OW) in the matching layout: (N, G, O/G, L) per sample, else (G, O/G, N·L)."""
        n, o = g.shape[:2]
        if self.per_sample(w_shape):
            return g.reshape(n, self.groups, o // self.groups, -1)
        return g.transpose(1, 0, 2, 3).reshape(self.groups, o // self.groups, -1)

    def _chunks(self, n, rows_per_sample, cols_per_sample, itemsize):
        return batch_chunks(n, rows_per_sample * cols_per_sample * itemsize)

    def _filters(self, w):
        o = w.shape[0]
        return w.reshape(self.groups, o // self.groups, -1)            # (G, O/G, CK)

    def conv(self, x, w):
        return Conv2d(self.stride, self.dilation, self.groups).apply(x, w)

    def input_grad(self, g, w, x_shape):
        return Conv2dInputGrad(self.stride, self.dilation, self.groups, x_shape=x_shape).apply(g, w)

    def weight_grad(self, x, g, w_shape, cols=None):
        return Conv2dWeightGrad(self.stride, self.dilation, self.groups, w_shape=w_shape, cols=cols).apply(x, g)


class Conv2d(_ConvGeometry):
    """y = C(x, w) for an already padded x: (N, C, H, W) * (O, C/G, kh, kw) → (N, O, OH, OW)."""

    def __init__(self, stride, dilation, groups):
        super().__init__(stride, dilation, groups)
        self.kept_cols = None  # the unfolded x, when small enough to keep for backward (``_KEEP_COLS_BYTES``)

    def forward(self, x, w):
        n, o = x.shape[0], w.shape[0]
        kh, kw = w.shape[2:]
        oh = out_size(x.shape[2], kh, self.stride[0], self.dilation[0])
        ow = out_size(x.shape[3], kw, self.stride[1], self.dilation[1])
        filters = self._filters(w)
        out = xp.empty((n, o, oh, ow), dtype=xp.result_type(x, w))
        parts = self._chunks(n, x.shape[1] * kh * kw, oh * ow, x.itemsize)
        for part in parts:
            cols, _ = self._cols(x[part], w.shape)
            if len(parts) == 1 and cols.nbytes <= _KEEP_COLS_BYTES:
                self.kept_cols = cols
            y = xp.matmul(filters, cols)
            m = part.stop - part.start
            if self.per_sample(w.shape):
                out[part] = y.reshape(m, o, oh, ow)
            else:
                out[part] = y.reshape(o, m, oh, ow).transpose(1, 0, 2, 3)
        return out

    def backward(self, g, out):
        x, w = self.inputs
        cols, self.kept_cols = self.kept_cols, None  # a second backward (retain_graph) unfolds again
        gx = self.input_grad(g, w, x.shape) if x.requires_grad else None
        gw = self.weight_grad(x, g, w.shape, cols) if w.requires_grad else None
        return gx, gw


class Conv2dInputGrad(_ConvGeometry):
    """dx = T(g, w): the transposed convolution, back to the (padded) input's shape ``x_shape``."""

    def forward(self, g, w):
        if self.stride == (1, 1):
            return self._forward_stride1(g, w)
        n, _, oh, ow = g.shape
        c = self.x_shape[1]
        kh, kw = w.shape[2:]
        filters_t = self._filters(w).transpose(0, 2, 1)
        out = xp.empty(self.x_shape, dtype=xp.result_type(g, w))
        for part in self._chunks(n, c * kh * kw, oh * ow, g.itemsize):
            m = part.stop - part.start
            cols = xp.matmul(filters_t, self._grad_rows(g[part], w.shape))
            if self.per_sample(w.shape):
                cols = cols.reshape(m, c, kh, kw, oh, ow)
            else:
                cols = cols.reshape(c, kh, kw, m, oh, ow).transpose(3, 0, 1, 2, 4, 5)
            out[part] = fold(cols, (m,) + tuple(self.x_shape[1:]), (kh, kw), self.stride, self.dilation)
        return out

    def _forward_stride1(self, g, w):
        """Fold along flattened rows: widen g to the input's width W (zero columns), so that each kernel
        offset's contribution is one contiguous run of OH·W values at flat offset i·dh·W + j·dw.  Long runs
        instead of OW-long rows make col2im several times faster."""
        n, o, oh, ow = g.shape
        c, h, width = self.x_shape[1:]
        kh, kw = w.shape[2:]
        dh, dw = self.dilation
        run = oh * width
        filters_t = self._filters(w).transpose(0, 2, 1)
        out = xp.zeros((n, c, h * width + (kw - 1) * dw), dtype=xp.result_type(g, w))
        for part in self._chunks(n, c * kh * kw, run, g.itemsize):
            m = part.stop - part.start
            wide = xp.zeros((m, o, oh, width), dtype=g.dtype)
            wide[..., :ow] = g[part]
            cols = xp.matmul(filters_t, self._grad_rows(wide, w.shape))
            del wide
            if self.per_sample(w.shape):
                cols = cols.reshape(m, c, kh, kw, run)
                target = out[part]
            else:  # (C, kh, kw, m·run): add into a (C, m, ·) view of the output
                cols = cols.reshape(c, kh, kw, m, run)
                target = out[part].transpose(1, 0, 2)
            for i in range(kh):  # kernel offsets only
                for j in range(kw):
                    start = i * dh * width + j * dw
                    if self.per_sample(w.shape):
                        target[:, :, start:start + run] += cols[:, :, i, j]
                    else:
                        target[:, :, start:start + run] += cols[:, i, j]
            del cols
        return out[:, :, :h * width].reshape(self.x_shape)

    def backward(self, h, out):
        g, w = self.inputs
        gg = self.conv(h, w) if g.requires_grad else None
        gw = self.weight_grad(h, g, w.shape) if w.requires_grad else None
        return gg, gw


class Conv2dWeightGrad(_ConvGeometry):
    """dw = W(x, g): each output channel's gradient against the fields it saw, summed over batch and positions.
    ``cols``, when given, is x already unfolded by the forward product (one chunk, the whole batch)."""

    def __init__(self, stride, dilation, groups, w_shape, cols=None):
        super().__init__(stride, dilation, groups, w_shape=w_shape)
        self.cols = cols

    def forward(self, x, g):
        kh, kw = self.w_shape[2:]
        dw = None
        kept, self.cols = self.cols, None  # used once: a recorded node must not hold the buffer
        for part in self._chunks(x.shape[0], x.shape[1] * kh * kw, g.shape[2] * g.shape[3], x.itemsize):
            cols = kept if kept is not None else self._cols(x[part], self.w_shape)[0]
            # (cols · gᵀ)ᵀ rather than g · colsᵀ: OpenBLAS is several times slower on the latter's layout
            # (measured 1.1 s vs 0.25 s for 128x576 filters over 12k positions); the dot products are the same.
            d = xp.matmul(cols, xp.swapaxes(self._grad_rows(g[part], self.w_shape), -1, -2))
            del cols
            if self.per_sample(self.w_shape):
                d = d.sum(axis=0)
            dw = d if dw is None else xp.add(dw, d, out=dw)
        if dw is None:  # an empty batch
            return xp.zeros(self.w_shape, dtype=xp.result_type(x, g))
        return xp.ascontiguousarray(xp.swapaxes(dw, -1, -2)).reshape(self.w_shape)

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
