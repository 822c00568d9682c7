"""relulab's own built-in datasets (generated, so nothing is downloaded)."""
from .curves import RED_CURVE_KNOTS, red_curve

__all__ = ["RED_CURVE_KNOTS", "red_curve"]
