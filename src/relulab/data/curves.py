"""Lecture 1's "red curve": a piecewise-linear function that a constant plus sigmoids can approximate."""
import numpy as np

# (x, y) corners of the curve: flat start, then segments of different slopes, as drawn in the lecture.
RED_CURVE_KNOTS = ((0.0, 0.2), (0.2, 0.2), (0.4, 0.8), (0.6, 0.5), (0.8, 0.9), (1.0, 0.9))


def red_curve(n=200, noise=0.0, seed=0, dtype=np.float64):
    """``n`` evenly spaced points of the red curve on [0, 1], as column arrays (x, y) of shape (n, 1)."""
    knots = np.asarray(RED_CURVE_KNOTS)
    x = np.linspace(0.0, 1.0, n)
    y = np.interp(x, knots[:, 0], knots[:, 1])
    if noise:
        y = y + np.random.default_rng(seed).normal(0.0, noise, n)
    return x[:, None].astype(dtype), y[:, None].astype(dtype)
