"""More of torchvision's transforms, over Pillow: ``RandomRotation``, ``ColorJitter``, ``Grayscale`` and
``ToPILImage`` (the geometric and colour augmentations HW3-style code uses).

They accept Pillow images (the usual case, before ``ToTensor``) and C×H×W float tensors in [0, 1]; random draws
come from ``generator=`` or relulab's global generator, as in ``relulab.data.transforms``.
"""
import numbers

import numpy as np
from PIL import Image, ImageEnhance

from ..autograd.tensor import Tensor
from ..random import _generator
from .transforms import _RESAMPLE, _uniform


# ---------------------------------------------------------------------------------------------- tensor <-> PIL
class ToPILImage:
    """C×H×W Tensor (floats in [0, 1] are scaled by 255 and truncated, as torchvision) or H×W×C array -> a
    Pillow image: 1 channel 'L', 3 'RGB', 4 'RGBA' (or ``mode``)."""

    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic):
        if isinstance(pic, Image.Image):
            return pic if self.mode is None else pic.convert(self.mode)
        if isinstance(pic, Tensor):
            array = pic.detach()._data
            if array.ndim == 2:
                array = array[None]
            if array.ndim != 3:
                raise ValueError(f"ToPILImage: pic should be 2 or 3 dimensional (C x H x W), got shape {array.shape}")
            array = np.transpose(array, (1, 2, 0))
        elif isinstance(pic, np.ndarray):
            array = pic[:, :, None] if pic.ndim == 2 else pic
            if array.ndim != 3:
                raise ValueError(f"ToPILImage: pic should be 2 or 3 dimensional (H x W x C), got shape {pic.shape}")
        else:
            raise TypeError(f"ToPILImage: pic should be a Tensor or numpy array, got {type(pic).__name__}")
        if array.dtype.kind == "f":
            array = (array * 255).astype(np.uint8)  # truncation, as torchvision's pic.mul(255).byte()
        channels = array.shape[2]
        modes = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
        if channels not in modes:
            raise ValueError(f"ToPILImage: {channels} channels cannot be an image (1, 2, 3 or 4 expected)")
        image = Image.fromarray(np.ascontiguousarray(array[:, :, 0] if channels == 1 else array), modes[channels])
        return image if self.mode is None else image.convert(self.mode)

    def __repr__(self):
        return f"ToPILImage(mode={self.mode})"


def _planes(img, fn):
    """Apply ``fn(PIL image of one float32 plane) -> PIL image`` to every H×W plane of a tensor."""
    array = img._data
    lead = array.shape[:-2]
    flat = array.reshape((-1,) + array.shape[-2:]).astype(np.float32)
    out = [np.asarray(fn(Image.fromarray(plane, "F"))) for plane in flat]
    return Tensor._make(np.stack(out).reshape(lead + out[0].shape).astype(array.dtype))


# ---------------------------------------------------------------------------------------------- geometry
class RandomRotation:
    """Rotate by an angle drawn uniformly from ``degrees`` (d means [−d, d]), counter-clockwise, about the centre
    (or ``center``); ``expand`` grows the canvas to hold the whole rotated image; uncovered pixels get ``fill``."""

    def __init__(self, degrees, interpolation="nearest", expand=False, center=None, fill=0, generator=None):
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError(f"RandomRotation: if degrees is a single number, it must be positive, got {degrees}")
            degrees = (-degrees, degrees)
        if len(degrees) != 2:
            raise ValueError(f"RandomRotation: degrees must be a number or a (min, max) pair, got {degrees!r}")
        if interpolation not in ("nearest", "bilinear", "bicubic"):
            raise ValueError(f"RandomRotation: interpolation must be nearest, bilinear or bicubic, got "
                             f"{interpolation!r}")
        self.degrees = (float(degrees[0]), float(degrees[1]))
        self.interpolation, self.expand, self.center, self.fill = interpolation, expand, center, fill
        self.generator = generator

    def __call__(self, img):
        angle = _uniform(self.generator, *self.degrees)
        resample = _RESAMPLE[str(self.interpolation)]

        def rotate(im, fill):
            return im.rotate(angle, resample=resample, expand=self.expand, center=self.center, fillcolor=fill)

        if isinstance(img, Image.Image):
            fill = self.fill
            if isinstance(fill, (int, float)) and len(img.getbands()) > 1:
                fill = (int(fill),) * len(img.getbands())
            return rotate(img, fill)
        if isinstance(img, Tensor):
            return _planes(img, lambda plane: rotate(plane, float(self.fill)))
        raise TypeError(f"RandomRotation: expected a Pillow image or a Tensor, got {type(img).__name__}")

    def __repr__(self):
        return f"RandomRotation(degrees={list(self.degrees)}, interpolation={self.interpolation}, expand={self.expand})"


# ---------------------------------------------------------------------------------------------- colour
def _rgb_to_hsv(rgb):
    r, g, b = rgb
    maxc, minc = rgb.max(axis=0), rgb.min(axis=0)
    delta = maxc - minc
    safe = np.where(delta == 0, 1.0, delta)
    s = np.where(maxc == 0, 0.0, delta / np.where(maxc == 0, 1.0, maxc))
    h = np.where(maxc == r, (g - b) / safe, np.where(maxc == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    h = np.where(delta == 0, 0.0, (h / 6.0) % 1.0)
    return h, s, maxc


def _hsv_to_rgb(h, s, v):
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    i = i.astype(np.int64) % 6
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    return np.stack([np.choose(i, [c[k] for c in choices]) for k in range(3)])


def _gray(rgb):
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]  # ITU-R 601-2 luma, as Pillow's 'L'


def _tensor_jitter(array, kind, factor):
    """torchvision's tensor formulas: blend with black (brightness), the mean grey (contrast), the grey image
    (saturation), or rotate the hue; results clipped to [0, 1]."""
    if kind == "brightness":
        return np.clip(array * factor, 0, 1)
    if array.shape[-3] != 3:
        raise ValueError(f"ColorJitter: {kind} needs 3 (RGB) channels, got shape {array.shape}")
    rgb = np.moveaxis(array, -3, 0)
    if kind == "contrast":
        mean = _gray(rgb).mean(axis=(-2, -1), keepdims=True)
        out = factor * rgb + (1 - factor) * mean
    elif kind == "saturation":
        out = factor * rgb + (1 - factor) * _gray(rgb)
    else:
        h, s, v = _rgb_to_hsv(rgb)
        out = _hsv_to_rgb((h + factor) % 1.0, s, v)
    return np.moveaxis(np.clip(out, 0, 1), 0, -3).astype(array.dtype)


def _pil_hue(image, shift):
    if image.mode in ("L", "1", "I", "F"):
        return image
    h, s, v = image.convert("HSV").split()
    h = Image.fromarray((np.asarray(h, dtype=np.int16) + int(round(shift * 255))).astype(np.uint8), "L")
    return Image.merge("HSV", (h, s, v)).convert(image.mode)


class ColorJitter:
    """Random brightness, contrast, saturation and hue, applied in a random order.  A number b means a factor in
    [max(0, 1 − b), 1 + b] (hue: a shift in [−h, h], h ≤ 0.5); a pair gives the range itself."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0, generator=None):
        self.brightness = self._range("brightness", brightness)
        self.contrast = self._range("contrast", contrast)
        self.saturation = self._range("saturation", saturation)
        self.hue = self._range("hue", hue, center=0, bound=(-0.5, 0.5))
        self.generator = generator

    @staticmethod
    def _range(name, value, center=1, bound=(0, float("inf"))):
        if isinstance(value, numbers.Number):
            if value < 0:
                raise ValueError(f"ColorJitter: if {name} is a single number, it must be non-negative, got {value}")
            value = (max(center - value, bound[0]) if center == 1 else center - value, center + value)
        low, high = float(value[0]), float(value[1])
        if not bound[0] <= low <= high <= bound[1]:
            raise ValueError(f"ColorJitter: {name} values should be between {bound}, got {(low, high)}")
        return None if low == high == center else (low, high)

    def __call__(self, img):
        # torchvision draws the order first, then every factor in a fixed order, then applies them in that order
        order = _generator(self.generator).randperm(4)
        names = ("brightness", "contrast", "saturation", "hue")
        factors = {name: _uniform(self.generator, *getattr(self, name)) for name in names
                   if getattr(self, name) is not None}
        for index in order:
            if names[index] in factors:
                img = self._apply(img, names[index], factors[names[index]])
        return img

    @staticmethod
    def _apply(img, name, factor):
        if isinstance(img, Image.Image):
            if name == "hue":
                return _pil_hue(img, factor)
            enhancer = {"brightness": ImageEnhance.Brightness, "contrast": ImageEnhance.Contrast,
                        "saturation": ImageEnhance.Color}[name]
            return enhancer(img).enhance(factor)
        if isinstance(img, Tensor):
            if img._data.dtype.kind != "f":
                raise TypeError(f"ColorJitter: a tensor image must be float in [0, 1], got {img.dtype}")
            return Tensor._make(_tensor_jitter(img._data, name, factor))
        raise TypeError(f"ColorJitter: expected a Pillow image or a Tensor, got {type(img).__name__}")

    def __repr__(self):
        return (f"ColorJitter(brightness={self.brightness}, contrast={self.contrast}, saturation={self.saturation}, "
                f"hue={self.hue})")


class Grayscale:
    """To grey (Pillow's 'L', ITU-R 601-2 luma), with 1 or 3 identical output channels."""

    def __init__(self, num_output_channels=1):
        if num_output_channels not in (1, 3):
            raise ValueError(f"Grayscale: num_output_channels must be 1 or 3, got {num_output_channels}")
        self.num_output_channels = num_output_channels

    def __call__(self, img):
        if isinstance(img, Image.Image):
            gray = img.convert("L")
            return gray if self.num_output_channels == 1 else Image.merge("RGB", (gray, gray, gray))
        if isinstance(img, Tensor):
            a = img._data
            gray = np.expand_dims(_gray(np.moveaxis(a, -3, 0)), -3) if a.shape[-3] == 3 else a
            return Tensor._make(np.repeat(gray, self.num_output_channels, axis=-3).astype(a.dtype))
        raise TypeError(f"Grayscale: expected a Pillow image or a Tensor, got {type(img).__name__}")

    def __repr__(self):
        return f"Grayscale(num_output_channels={self.num_output_channels})"
