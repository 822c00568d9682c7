"""Lecture 3's ideas as numbers: receptive fields per layer, and what parameter sharing saves."""
from dataclasses import dataclass

import numpy as np

from ..autograd.grad_mode import no_grad
from ..factory import zeros


@dataclass
class LayerField:
    """One layer's view of the input: ``rf`` pixels wide, output pixels ``jump`` input pixels apart,
    the first output's field centred at ``start``; ``output_shape`` excludes the batch."""

    name: str
    layer: str
    rf: tuple
    jump: tuple
    start: tuple
    output_shape: tuple


def _geometry(module):
    """(kernel, stride, padding, dilation) per axis for layers that slide a window, else None."""
    from .conv import AvgPool2d, Conv2d, MaxPool2d
    from ..ops.conv import _pair
    if isinstance(module, Conv2d):
        pad = module.padding
        if isinstance(pad, str):
            pad = (0, 0) if pad == "valid" else tuple(d * (k - 1) // 2 for k, d in zip(module.kernel_size, module.dilation))
        return module.kernel_size, module.stride, pad, module.dilation
    if isinstance(module, (MaxPool2d, AvgPool2d)):
        dil = _pair(getattr(module, "dilation", 1))
        return _pair(module.kernel_size), _pair(module.stride), _pair(module.padding), dil
    return None


def receptive_field(model, input_shape):
    """Receptive field, jump (effective stride) and output shape after each layer of a ``Sequential``.

    ``input_shape`` excludes the batch, e.g. (1, 28, 28).  The recurrences (per axis):
    rf ← rf + (k − 1)·d·jump,  start ← start + ((k − 1)·d/2 − p)·jump,  jump ← jump·s.
    A layer that mixes every position (Linear after Flatten) makes the field the whole input.
    """
    from .layers import Flatten, Linear, Sequential
    layers = list(model.named_children()) if isinstance(model, Sequential) else [("0", model)]
    rf, jump, start = [1, 1], [1, 1], [0.5, 0.5]
    x = zeros(1, *input_shape)
    out = []
    whole = False
    with no_grad():
        was_training = model.training
        model.eval()
        try:
            for name, layer in layers:
                x = layer(x)
                geo = _geometry(layer)
                if geo is not None and not whole:
                    for i in range(2):
                        k, s, p, d = geo[0][i], geo[1][i], geo[2][i], geo[3][i]
                        rf[i] += (k - 1) * d * jump[i]
                        start[i] += ((k - 1) * d / 2 - p) * jump[i]
                        jump[i] *= s
                if isinstance(layer, (Flatten, Linear)):
                    whole = True
                field = tuple(input_shape[-2:]) if whole else tuple(rf)
                out.append(LayerField(name, type(layer).__name__, field, tuple(jump), tuple(start),
                                      tuple(x.shape[1:])))
        finally:
            model.train(was_training)
    return out


@dataclass
class SharingSavings:
    conv_params: int
    dense_params: int
    locally_connected_params: int

    @property
    def ratio(self):
        return self.dense_params / self.conv_params


def parameter_count(module_or_conv, input_shape=None):
    """Count parameters.  Given a ``Conv2d`` and ``input_shape`` (C, H, W), compare it with
    - a fully connected layer producing the same output from the whole input (no receptive fields, no sharing),
    - a locally connected layer (receptive fields, but a separate filter at every position: no sharing),
    which is lecture 3's argument for why a CNN needs far fewer parameters.
    """
    from .conv import Conv2d
    if not isinstance(module_or_conv, Conv2d) or input_shape is None:
        return sum(int(p.numel()) for p in module_or_conv.parameters())
    conv = module_or_conv
    with no_grad():
        out_shape = tuple(conv(zeros(1, *input_shape, dtype=conv.weight.dtype)).shape[1:])
    n_in, n_out = int(np.prod(input_shape)), int(np.prod(out_shape))
    per_filter = int(np.prod(conv.weight.shape[1:]))
    out_bias = n_out if conv.bias is not None else 0  # an unshared layer has a bias per output element
    return SharingSavings(
        conv_params=sum(int(p.numel()) for p in conv.parameters()),
        dense_params=n_in * n_out + out_bias,
        locally_connected_params=n_out * per_filter + out_bias,
    )
