"""Image transforms in torchvision's style: ``Compose``, ``ToTensor``, ``Normalize``, flips, crops and resizing.

Layouts follow torchvision: before ``ToTensor`` an image is a Pillow image or an H×W×C (or H×W) NumPy array;
after it, a C×H×W relulab Tensor (any leading dimensions allowed, the last two are height and width).  So:

* Pillow images                 -> height, width from the image; the result is a Pillow image;
* NumPy arrays (ndim 2 or 3)    -> H×W or H×W×C; the result is an array of the same layout and dtype;
* Tensors                       -> ...×H×W; the result is a Tensor.  Transforms are preprocessing, so the result
                                   is a new tensor outside the autograd graph.

``Normalize`` is the exception: it always needs channels first, so it takes a C×H×W Tensor or array.
Random transforms draw from ``generator=`` (a ``relulab.Generator``), or the global generator by default, so
``relulab.manual_seed`` makes a pipeline reproducible.
"""
import math
import numbers

import numpy as np
from PIL import Image, ImageOps

from ..autograd.tensor import Tensor
from ..random import _generator

_RESAMPLE = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
             "bicubic": Image.Resampling.BICUBIC}


# ---------------------------------------------------------------------------------------------- image helpers
def _kind(img, where):
    if isinstance(img, Image.Image):
        return "pil"
    if isinstance(img, Tensor):
        if img.ndim < 2:
            raise ValueError(f"{where}: a tensor image needs at least 2 dimensions (..., H, W), got shape "
                             f"{tuple(img.shape)}")
        return "tensor"
    if isinstance(img, np.ndarray):
        if img.ndim not in (2, 3):
            raise ValueError(f"{where}: a numpy image must be H x W or H x W x C, got shape {img.shape}")
        return "array"
    raise TypeError(f"{where}: expected a Pillow image, numpy array or Tensor, got {type(img).__name__}")


def _hw_axes(array, kind):
    return (array.ndim - 2, array.ndim - 1) if kind == "tensor" else (0, 1)


def _size(img, where="transform"):
    """(height, width) of any supported image."""
    kind = _kind(img, where)
    if kind == "pil":
        return img.height, img.width
    array = img._data if kind == "tensor" else img
    h_axis, w_axis = _hw_axes(array, kind)
    return array.shape[h_axis], array.shape[w_axis]


def _apply(img, where, on_array, on_pil):
    """Run ``on_array(array, h_axis, w_axis)`` on arrays and tensors, ``on_pil(image)`` on Pillow images."""
    kind = _kind(img, where)
    if kind == "pil":
        return on_pil(img)
    array = img._data if kind == "tensor" else img
    out = on_array(array, *_hw_axes(array, kind))
    return Tensor._make(out) if kind == "tensor" else out


def _flip(img, horizontal):
    axis = 1 if horizontal else 0
    method = Image.Transpose.FLIP_LEFT_RIGHT if horizontal else Image.Transpose.FLIP_TOP_BOTTOM
    return _apply(img, "flip", lambda a, h, w: np.flip(a, (h, w)[axis]).copy(), lambda im: im.transpose(method))


def _crop(img, top, left, height, width):
    """The window [top, top+height) x [left, left+width); it must lie inside the image."""
    def on_array(a, h, w):
        index = [slice(None)] * a.ndim
        index[h], index[w] = slice(top, top + height), slice(left, left + width)
        return a[tuple(index)].copy()
    return _apply(img, "crop", on_array, lambda im: im.crop((left, top, left + width, top + height)))


def _channel_axis(a, kind_is_tensor):
    if a.ndim == 2:
        return None
    return a.ndim - 3 if kind_is_tensor else 2


def _pad(img, left, top, right, bottom, fill=0, padding_mode="constant"):
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError(f"pad: padding_mode must be constant, edge, reflect or symmetric, got {padding_mode!r}")
    if min(left, top, right, bottom) < 0:
        raise ValueError(f"pad: padding must be non-negative, got {(left, top, right, bottom)}")
    is_tensor = isinstance(img, Tensor)

    def on_array(a, h, w):
        widths = [(0, 0)] * a.ndim
        widths[h], widths[w] = (top, bottom), (left, right)
        if padding_mode != "constant":
            return np.pad(a, widths, mode=padding_mode)
        out_shape = list(a.shape)
        out_shape[h] += top + bottom
        out_shape[w] += left + right
        out = np.empty(out_shape, dtype=a.dtype)
        c = _channel_axis(a, is_tensor)
        fill_values = np.asarray(fill, dtype=a.dtype)
        if fill_values.ndim and c is not None:  # one fill per channel
            if fill_values.size != a.shape[c]:
                raise ValueError(f"pad: fill has {fill_values.size} values but the image has {a.shape[c]} channels")
            shape = [1] * a.ndim
            shape[c] = -1
            fill_values = fill_values.reshape(shape)
        out[...] = fill_values
        inner = [slice(None)] * a.ndim
        inner[h], inner[w] = slice(top, top + a.shape[h]), slice(left, left + a.shape[w])
        out[tuple(inner)] = a
        return out

    def on_pil(im):
        if padding_mode == "constant":
            return ImageOps.expand(im, border=(left, top, right, bottom), fill=fill)
        out = Image.fromarray(on_array(np.asarray(im), 0, 1))
        if im.mode == "P":
            out.putpalette(im.getpalette())  # fromarray sees only the palette indices
        return out

    return _apply(img, "pad", on_array, on_pil)


def _resize_plane(plane, height, width, resample):
    """Resize one 2-D channel with Pillow: uint8 through mode 'L', everything else as float32 (mode 'F')."""
    if plane.dtype == np.uint8:
        return np.asarray(Image.fromarray(plane).resize((width, height), resample))
    out = np.asarray(Image.fromarray(plane.astype(np.float32)).resize((width, height), resample))
    if plane.dtype.kind in "iub":
        info = np.iinfo(plane.dtype) if plane.dtype.kind != "b" else None
        out = np.rint(out) if info is None else np.clip(np.rint(out), info.min, info.max)
    return out.astype(plane.dtype)


def _resize(img, height, width, interpolation="bilinear"):
    if interpolation not in _RESAMPLE:
        raise ValueError(f"resize: interpolation must be one of {sorted(_RESAMPLE)}, got {interpolation!r}")
    resample = _RESAMPLE[interpolation]

    def on_array(a, h, w):
        planes = np.moveaxis(a, (h, w), (-2, -1))  # every channel (and leading dim) as a stack of H x W planes
        lead = planes.shape[:-2]
        flat = planes.reshape((-1,) + planes.shape[-2:])
        out = np.stack([_resize_plane(p, height, width, resample) for p in flat]).reshape(lead + (height, width))
        return np.ascontiguousarray(np.moveaxis(out, (-2, -1), (h, w)))

    return _apply(img, "resize", on_array, lambda im: im.resize((width, height), resample))


def _pair(size, where):
    """An int n means (n, n); a pair means (height, width)."""
    if isinstance(size, numbers.Integral):
        size = (int(size), int(size))
    elif isinstance(size, (tuple, list)) and len(size) == 1:
        size = (int(size[0]), int(size[0]))
    elif isinstance(size, (tuple, list)) and len(size) == 2:
        size = (int(size[0]), int(size[1]))
    else:
        raise ValueError(f"{where}: size must be an int or a (height, width) pair, got {size!r}")
    if min(size) <= 0:
        raise ValueError(f"{where}: size must be positive, got {size}")
    return size


def _uniform(generator, low, high):
    """One float32 draw on [low, high), as torchvision's ``torch.empty(1).uniform_(low, high)``."""
    return float(_generator(generator).uniform(low, high, (1,), np.float32)[0])


def _randint(generator, low, high):
    """An integer in [low, high), as torchvision's ``torch.randint(low, high, size=(1,))``."""
    return int(_generator(generator).randint(low, high, (1,))[0])


# ---------------------------------------------------------------------------------------------- transforms
class Compose:
    """Apply transforms one after another."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        body = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class ToTensor:
    """Pillow image or H×W×C / H×W array -> C×H×W Tensor.

    uint8 (and Pillow 8-bit modes) are scaled to float32 in [0, 1]; float arrays become float32 without scaling;
    other integer types keep their dtype and values, as in torchvision.
    """

    def __call__(self, pic):
        if isinstance(pic, Image.Image):
            array = np.asarray(pic)
            if pic.mode == "1":
                array = array.astype(np.uint8) * 255  # 1-bit images become 0 / 1 after scaling
        elif isinstance(pic, np.ndarray):
            array = pic
            if array.ndim not in (2, 3):
                raise ValueError(f"ToTensor: pic should be 2 or 3 dimensional (H x W or H x W x C), got shape "
                                 f"{array.shape}")
        else:
            raise TypeError(f"ToTensor: pic should be a Pillow image or numpy array, got {type(pic).__name__}")
        if array.ndim == 2:
            array = array[:, :, None]
        chw = np.ascontiguousarray(array.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            chw = chw.astype(np.float32) / np.float32(255)
        elif chw.dtype.kind == "f" or chw.dtype == np.bool_:
            chw = chw.astype(np.float32)
        return Tensor._make(chw)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel of a C×H×W (or ...×C×H×W) float Tensor or array."""

    def __init__(self, mean, std, inplace=False):
        self.mean = list(mean) if isinstance(mean, (tuple, list, np.ndarray)) else [mean]
        self.std = list(std) if isinstance(std, (tuple, list, np.ndarray)) else [std]
        self.inplace = inplace

    def __call__(self, x):
        is_tensor = isinstance(x, Tensor)
        if not is_tensor and not isinstance(x, np.ndarray):
            raise TypeError(f"Normalize: expected a Tensor or numpy array, got {type(x).__name__}")
        a = x._data if is_tensor else x
        if a.dtype.kind != "f":
            raise TypeError(f"Normalize: input should be a float tensor (use ToTensor first), got {a.dtype}")
        if a.ndim < 3:
            raise ValueError(f"Normalize: expected an image of size (..., C, H, W), got shape {a.shape}")
        mean = np.asarray(self.mean, dtype=a.dtype)
        std = np.asarray(self.std, dtype=a.dtype)
        if np.any(std == 0):
            raise ValueError(f"Normalize: std evaluated to zero after conversion to {a.dtype}, leading to division "
                             f"by zero (std={self.std})")
        channels = a.shape[-3]
        for name, values in (("mean", mean), ("std", std)):
            if values.size not in (1, channels):
                raise ValueError(f"Normalize: {name} has {values.size} values but the image has {channels} channels "
                                 f"(shape {a.shape})")
        out = (a - mean.reshape(-1, 1, 1)) / std.reshape(-1, 1, 1)
        if self.inplace:
            a[...] = out
            out = a
        return Tensor._make(out) if is_tensor else out

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


class _RandomFlip:
    _horizontal = True

    def __init__(self, p=0.5, generator=None):
        if not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: p must be a probability in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def __call__(self, img):
        if _uniform(self.generator, 0.0, 1.0) < self.p:
            return _flip(img, self._horizontal)
        return img

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"


class RandomHorizontalFlip(_RandomFlip):
    """Mirror left-right with probability ``p``."""
    _horizontal = True


class RandomVerticalFlip(_RandomFlip):
    """Mirror top-bottom with probability ``p`` (rarely right for photos: the sky is not below the ground)."""
    _horizontal = False


def _padding_ltrb(padding):
    """torchvision's padding forms: n (all sides), (left/right, top/bottom) or (left, top, right, bottom)."""
    if isinstance(padding, numbers.Integral):
        return (int(padding),) * 4
    padding = tuple(int(p) for p in padding)
    if len(padding) == 1:
        return padding * 4
    if len(padding) == 2:
        return (padding[0], padding[1], padding[0], padding[1])
    if len(padding) == 4:
        return padding
    raise ValueError(f"RandomCrop: padding must be an int or a sequence of 1, 2 or 4 ints, got {padding!r}")


class RandomCrop:
    """Crop a random ``size`` window, after optional ``padding`` (torchvision's forms and padding modes)."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant", generator=None):
        self.size = _pair(size, "RandomCrop")
        self.padding = None if padding is None else _padding_ltrb(padding)
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"RandomCrop: padding_mode must be constant, edge, reflect or symmetric, got "
                             f"{padding_mode!r}")
        self.padding_mode = padding_mode
        self.generator = generator

    def __call__(self, img):
        return self._random_crop(img, self.size)

    def _random_crop(self, img, size):
        if self.padding is not None:
            img = _pad(img, *self.padding, fill=self.fill, padding_mode=self.padding_mode)
        th, tw = size
        h, w = _size(img, "RandomCrop")
        if self.pad_if_needed and w < tw:
            img = _pad(img, tw - w, 0, tw - w, 0, self.fill, self.padding_mode)  # both sides, as torchvision
        if self.pad_if_needed and h < th:
            img = _pad(img, 0, th - h, 0, th - h, self.fill, self.padding_mode)
        h, w = _size(img, "RandomCrop")
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than the input image size {(h, w)}; "
                             f"pass padding= or pad_if_needed=True")
        top = _randint(self.generator, 0, h - th + 1)
        left = _randint(self.generator, 0, w - tw + 1)
        return _crop(img, top, left, th, tw)

    def __repr__(self):
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class _RandomShiftCrop(RandomCrop):
    """Pad, then crop back to the input's own size: a random shift of up to ``padding`` pixels."""

    def __init__(self, padding, fill=0, padding_mode="constant", generator=None):
        super().__init__(1, padding=padding, fill=fill, padding_mode=padding_mode, generator=generator)
        self.size = None

    def __call__(self, img):
        return self._random_crop(img, _size(img, "RandomCrop"))

    def __repr__(self):
        return f"RandomCrop(size=<input size>, padding={self.padding})"


class CenterCrop:
    """Crop the central ``size`` window; an image smaller than ``size`` is first padded with zeros."""

    def __init__(self, size):
        self.size = _pair(size, "CenterCrop")

    def __call__(self, img):
        th, tw = self.size
        h, w = _size(img, "CenterCrop")
        if th > h or tw > w:
            pad_h, pad_w = max(th - h, 0), max(tw - w, 0)
            img = _pad(img, pad_w // 2, pad_h // 2, (pad_w + 1) // 2, (pad_h + 1) // 2)
            h, w = _size(img, "CenterCrop")
        top = int(round((h - th) / 2.0))
        left = int(round((w - tw) / 2.0))
        return _crop(img, top, left, th, tw)

    def __repr__(self):
        return f"CenterCrop(size={self.size})"


class Resize:
    """Resize to ``(height, width)``, or with an int, scale the shorter side to ``size`` keeping the aspect ratio.

    Pillow does the resampling for every input (per channel for arrays and tensors), so all three agree;
    with bilinear downscaling Pillow antialiases, like torchvision's default ``antialias=True``.
    """

    def __init__(self, size, interpolation="bilinear", max_size=None):
        if interpolation not in _RESAMPLE:
            raise ValueError(f"Resize: interpolation must be one of {sorted(_RESAMPLE)}, got {interpolation!r}")
        if isinstance(size, numbers.Integral) or (isinstance(size, (tuple, list)) and len(size) == 1):
            self.size = int(size if isinstance(size, numbers.Integral) else size[0])
            if self.size <= 0:
                raise ValueError(f"Resize: size must be positive, got {self.size}")
        else:
            self.size = _pair(size, "Resize")
            if max_size is not None:
                raise ValueError("Resize: max_size is only allowed when size is a single int")
        self.interpolation = interpolation
        self.max_size = max_size

    def _output_size(self, h, w):
        if not isinstance(self.size, int):
            return self.size
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = self.size, int(self.size * long / short)
        if self.max_size is not None:
            if self.max_size <= self.size:
                raise ValueError(f"Resize: max_size={self.max_size} must be larger than size={self.size}")
            if new_long > self.max_size:
                new_short, new_long = int(self.max_size * new_short / new_long), self.max_size
        return (new_long, new_short) if w <= h else (new_short, new_long)

    def __call__(self, img):
        return _resize(img, *self._output_size(*_size(img, "Resize")), self.interpolation)

    def __repr__(self):
        return f"Resize(size={self.size}, interpolation={self.interpolation})"


class RandomResizedCrop:
    """Crop a random region (area fraction in ``scale``, aspect ratio in ``ratio``) and resize it to ``size``.

    The region is drawn as in torchvision: up to 10 tries, then a central crop of the nearest allowed ratio.
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), interpolation="bilinear", generator=None):
        self.size = _pair(size, "RandomResizedCrop")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(f"RandomResizedCrop: scale and ratio should be (min, max), got scale={scale}, "
                             f"ratio={ratio}")
        if interpolation not in _RESAMPLE:
            raise ValueError(f"RandomResizedCrop: interpolation must be one of {sorted(_RESAMPLE)}, got "
                             f"{interpolation!r}")
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)
        self.interpolation = interpolation
        self.generator = generator

    def get_params(self, img):
        """(top, left, height, width) of the region to crop."""
        height, width = _size(img, "RandomResizedCrop")
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target_area = area * _uniform(self.generator, *self.scale)
            aspect = math.exp(_uniform(self.generator, *log_ratio))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return _randint(self.generator, 0, height - h + 1), _randint(self.generator, 0, width - w + 1), h, w
        in_ratio = width / height
        if in_ratio < min(self.ratio):
            w, h = width, int(round(width / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            h, w = height, int(round(height * max(self.ratio)))
        else:
            h, w = height, width
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img):
        top, left, h, w = self.get_params(img)
        return _resize(_crop(img, top, left, h, w), *self.size, self.interpolation)

    def __repr__(self):
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio})"


def augmentation_preset(kind="lecture", size=None, padding=4, vertical=False, to_tensor=True, generator=None):
    """The training augmentation of lectures 2-3: random horizontal flip, then a random crop after padding.

    ``size=None`` crops back to each input's own size (a random shift of up to ``padding`` pixels); an int or
    (height, width) crops to that size.  Vertical flips are left out unless ``vertical=True``: upside-down
    photos are not what the model will be tested on.  ``kind='none'`` gives no augmentation (for validation).
    ``to_tensor=True`` ends with ``ToTensor`` so Pillow images / H×W×C arrays come out as C×H×W tensors.
    """
    if kind == "lecture":
        steps = [RandomHorizontalFlip(generator=generator)]
        if vertical:
            steps.append(RandomVerticalFlip(generator=generator))
        if size is None:
            steps.append(_RandomShiftCrop(padding, generator=generator))
        else:
            steps.append(RandomCrop(size, padding=padding, generator=generator))
    elif kind == "none":
        steps = [] if size is None else [CenterCrop(size)]
    else:
        raise ValueError(f"augmentation_preset: kind must be 'lecture' or 'none', got {kind!r}")
    if to_tensor:
        steps.append(ToTensor())
    return Compose(steps)
