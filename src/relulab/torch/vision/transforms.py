"""``torchvision.transforms``: relulab's transforms (``relulab.data.transforms`` and ``relulab.data.augment``)
under torchvision's names, plus ``InterpolationMode`` and ``Lambda``."""
import enum

from ...data.augment import ColorJitter, Grayscale, RandomRotation, ToPILImage  # noqa: F401
from ...data.transforms import (CenterCrop, Compose, Normalize, RandomCrop, RandomHorizontalFlip,  # noqa: F401
                                RandomResizedCrop, RandomVerticalFlip, Resize, ToTensor)
from .._missing import missing_in


class InterpolationMode(str, enum.Enum):
    """torchvision's interpolation names; each equals the string relulab's transforms take."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


class Lambda:
    """Apply a user function as a transform."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return "Lambda()"


__getattr__ = missing_in("torchvision.transforms")
