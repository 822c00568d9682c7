"""``torchvision`` (the subset course code uses), over Pillow: ``transforms`` and ``datasets`` (ImageFolder,
DatasetFolder).  ``relulab run-torch`` maps ``import torchvision`` here."""
from .. import __version__  # noqa: F401
from .._missing import missing_in
from . import datasets, transforms  # noqa: F401

__getattr__ = missing_in("torchvision")
