"""Small synthetic RGB images of shapes (square, circle, triangle, cross) for lecture 3's CNN lab.

Each image holds one shape at a random position, size and colour on a dark noisy background, so the label
depends only on the shape's form: where it sits must not matter (the pattern a CNN detects anywhere).
Everything is drawn with NumPy coordinate grids from ``seed``: no Pillow, no downloads.
"""
import numpy as np

from .files import ArrayDataset

SHAPE_CLASSES = ("square", "circle", "triangle", "cross")
BACKGROUND_MAX = 0.25   # background noise stays dark ...
COLOUR_MIN = 0.55       # ... and every shape has at least one bright channel, so it always stands out


def _square(dy, dx, r):
    return (np.abs(dx) <= r) & (np.abs(dy) <= r)


def _circle(dy, dx, r):
    return dx ** 2 + dy ** 2 <= r ** 2


def _triangle(dy, dx, r):
    # apex at the top, base at the bottom: |dx| grows linearly from 0 at dy = -r to r at dy = +r
    return (dy >= -r) & (dy <= r) & (np.abs(dx) <= (dy + r) / 2)


def _cross(dy, dx, r):
    arm = max(r / 3, 0.6)  # arm half-width: thin enough that a cross never fills like a square
    return ((np.abs(dx) <= arm) & (np.abs(dy) <= r)) | ((np.abs(dy) <= arm) & (np.abs(dx) <= r))


_MASKS = {"square": _square, "circle": _circle, "triangle": _triangle, "cross": _cross}


def _draw(kind, size, rng):
    """One boolean H×W mask of ``kind`` with a random radius and centre fully inside the image."""
    radius = rng.uniform(size * 0.15, size * 0.3)
    margin = radius + 0.5
    cy, cx = rng.uniform(margin, size - 1 - margin, size=2)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    return _MASKS[kind](yy - cy, xx - cx, radius)


def _colour(channels, rng):
    """A random colour with one channel guaranteed bright."""
    colour = rng.uniform(0.0, 1.0, size=channels)
    colour[rng.integers(channels)] = rng.uniform(COLOUR_MIN + 0.2, 1.0)
    return colour.astype(np.float32)


def _render(kinds, size, channels, rng):
    images = rng.uniform(0.0, BACKGROUND_MAX, size=(len(kinds), channels, size, size)).astype(np.float32)
    for image, kind in zip(images, kinds):
        mask = _draw(kind, size, rng)
        image[:, mask] = _colour(channels, rng)[:, None]
    return np.clip(images, 0.0, 1.0)


def shapes(n=2000, size=16, classes=SHAPE_CLASSES, seed=0, split=None, test_fraction=0.25, channels=3):
    """An ``ArrayDataset`` of ``n`` shape images: features (n, channels, size, size) float32 in [0, 1], targets
    int64 indices into ``classes``.  Classes are balanced (n // len(classes) each, the rest spread over the
    first classes) and shuffled.  ``split`` "train" / "test" keeps the first / last ``test_fraction`` of the same
    n images, so both splits with the same arguments never overlap; None keeps all n.
    """
    unknown = [c for c in classes if c not in _MASKS]
    if unknown:
        raise ValueError(f"shapes: unknown classes {unknown}; choose from {list(_MASKS)}")
    if split not in ("train", "test", None):
        raise ValueError(f"shapes: split must be 'train', 'test' or None, got {split!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"shapes: test_fraction must be between 0 and 1 (exclusive), got {test_fraction!r}")
    if size < 6:
        raise ValueError(f"shapes: size must be at least 6 pixels, got {size}")
    rng = np.random.default_rng(seed)
    targets = rng.permutation(np.arange(n) % len(classes)).astype(np.int64)
    features = _render([classes[t] for t in targets], size, channels, rng)
    n_test = int(round(n * test_fraction))
    rows = {None: slice(None), "train": slice(0, n - n_test), "test": slice(n - n_test, n)}[split]
    return ArrayDataset(features[rows], targets[rows], classes)


def shift(images, dx, dy):
    """Move (…, H, W) images ``dx`` pixels right and ``dy`` pixels down (negative: left / up); the pixels that
    enter are zeros and those pushed past the edge are lost (a roll without wrap-around)."""
    images = np.asarray(images)
    out = np.zeros_like(images)
    h, w = images.shape[-2:]
    if abs(dx) >= w or abs(dy) >= h:
        return out
    src_y = slice(max(0, -dy), h - max(0, dy))
    dst_y = slice(max(0, dy), h - max(0, -dy))
    src_x = slice(max(0, -dx), w - max(0, dx))
    dst_x = slice(max(0, dx), w - max(0, -dx))
    out[..., dst_y, dst_x] = images[..., src_y, src_x]
    return out
