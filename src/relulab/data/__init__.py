"""relulab's own data: built-in datasets (generated or bundled, nothing is downloaded at import or test time),
file loaders, splits for validation and k-fold CV, and transforms."""
from .csv import CSVDataset, Standardizer
from .curves import RED_CURVE_KNOTS, red_curve
from .digits import digits
from .files import ArrayDataset, ImageFolder, cifar10, download, load_idx, mnist
from .shapes import shapes, shift
from .splits import KFold, StratifiedKFold, stratified_split
from .views import ViewSeries, ViewWindows, daily_views, window
from . import transforms

__all__ = ["ArrayDataset", "CSVDataset", "ImageFolder", "KFold", "RED_CURVE_KNOTS", "Standardizer",
           "StratifiedKFold", "ViewSeries", "ViewWindows", "cifar10", "daily_views", "digits", "download",
           "load_idx", "mnist", "red_curve", "shapes", "shift", "stratified_split", "transforms", "window"]
