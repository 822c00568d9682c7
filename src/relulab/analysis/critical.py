"""Critical points (lecture 2): what kind of point the Hessian says it is, and how to leave a saddle.

Near a critical point θ′, L(θ) ≈ L(θ′) + ½ (θ − θ′)ᵀ H (θ − θ′).  All eigenvalues of H positive: a local
minimum; all negative: a local maximum; both signs: a saddle point.  If some eigenvalues are zero and the rest
share one sign, the second-order picture cannot decide (x⁴ + y² at the origin is a minimum, x³ + y² is not):
the point is degenerate.

"Zero" needs a tolerance.  An eigenvalue counts as near-zero when |λ| ≤ tol · max|λ|, with ``tol`` =
``ZERO_TOLERANCE`` = 1e-6 by default.  Why that value: an exact float64 Hessian and ``eigh`` are accurate to
about 1e-13 · max|λ|, so anything below 1e-6 of the largest curvature is either round-off or a curvature so
small that the quadratic picture is not what decides the point's kind.  Trained networks have a bulk of such
eigenvalues (Sagun et al. 2017), so counting them as positive or negative would let round-off choose.
"""
from dataclasses import dataclass, field

import numpy as np

from .objective import Objective

ZERO_TOLERANCE = 1e-6


@dataclass
class Spectrum:
    """The Hessian's eigenvalues sorted into the three bins."""

    eigenvalues: np.ndarray       # ascending
    tolerance: float              # relative: near-zero means |λ| ≤ tolerance · max|λ|
    threshold: float              # the absolute cut, tolerance · max|λ|
    positive: int
    negative: int
    near_zero: int

    @classmethod
    def of(cls, eigenvalues, tol=None):
        values = np.sort(np.asarray(eigenvalues, dtype=np.float64).reshape(-1))
        tol = ZERO_TOLERANCE if tol is None else float(tol)
        if not 0 <= tol < 1:
            raise ValueError(f"classify: the zero tolerance must be in [0, 1), got {tol}")
        threshold = tol * float(np.abs(values).max(initial=0.0))
        positive, negative = int((values > threshold).sum()), int((values < -threshold).sum())
        return cls(values, tol, threshold, positive, negative, values.size - positive - negative)

    @property
    def kind(self):
        if self.positive and self.negative:
            return "saddle"
        if self.positive == self.eigenvalues.size:
            return "local minimum"
        if self.negative == self.eigenvalues.size:
            return "local maximum"
        return "degenerate"

    @property
    def minimum_ratio(self):
        """The lecture's minimum ratio: positive eigenvalues / all eigenvalues (1 only at a strict minimum)."""
        return self.positive / self.eigenvalues.size if self.eigenvalues.size else float("nan")

    @property
    def ratio_nonzero(self):
        """Positive / (positive + negative): the ratio over the eigenvalues that are clearly not zero."""
        signed = self.positive + self.negative
        return self.positive / signed if signed else float("nan")


def kind_of(eigenvalues, tol=None):
    """Name a point from its Hessian's eigenvalues (see the module docstring for the rules and ``tol``)."""
    return Spectrum.of(eigenvalues, tol).kind


@dataclass
class CriticalPoint:
    """A point θ classified by its exact Hessian.  Meaningful as a critical point only when ``gradient_norm`` is
    small: ``find_critical_point`` says whether it is."""

    spectrum: Spectrum
    gradient_norm: float
    loss: float
    theta: np.ndarray = field(repr=False)
    eigenvectors: np.ndarray = field(repr=False)

    kind = property(lambda self: self.spectrum.kind)
    eigenvalues = property(lambda self: self.spectrum.eigenvalues)
    minimum_ratio = property(lambda self: self.spectrum.minimum_ratio)
    ratio_nonzero = property(lambda self: self.spectrum.ratio_nonzero)
    positive = property(lambda self: self.spectrum.positive)
    negative = property(lambda self: self.spectrum.negative)
    near_zero = property(lambda self: self.spectrum.near_zero)
    tolerance = property(lambda self: self.spectrum.tolerance)

    @property
    def escape_direction(self):
        """Unit eigenvector of the most negative eigenvalue, or None without clearly negative curvature."""
        return self.eigenvectors[:, 0] if self.negative else None

    def describe(self):
        s = self.spectrum
        return (f"{s.kind}: {s.positive} positive, {s.negative} negative, {s.near_zero} near zero "
                f"(|λ| ≤ {s.tolerance:g}·max|λ| = {s.threshold:.3g}); minimum ratio {s.minimum_ratio:.3g} "
                f"(positive / all), {s.ratio_nonzero:.3g} over the non-zero ones; ‖∇L‖ = {self.gradient_norm:.3g}")

    def __str__(self):
        return self.describe()


def classify(target, *args, theta=None, tol=None):
    """Classify θ (default: the current parameters) from the exact Hessian's eigenvalues, binned as positive,
    negative or near zero (|λ| ≤ ``tol`` · max|λ|, default ``ZERO_TOLERANCE``).  Returns a ``CriticalPoint``."""
    obj = Objective.of(target, *args)
    point = obj.point if theta is None else np.asarray(theta, dtype=np.float64).reshape(-1)
    values, vectors = np.linalg.eigh(obj.hessian(point))
    return CriticalPoint(Spectrum.of(values, tol), float(np.linalg.norm(obj.gradient(point))), obj.value(point),
                         point.copy(), vectors)


@dataclass
class SaddleEscape:
    step_sizes: np.ndarray
    losses: np.ndarray            # L(θ + η·u) for each η
    start_loss: float
    direction: np.ndarray
    eigenvalue: float

    @property
    def lowered(self):
        return bool(self.losses.min() < self.start_loss)


def escape_saddle(target, *args, theta=None, step_sizes=None, tol=None):
    """Step from θ along u, the eigenvector of the most negative Hessian eigenvalue: θ′ = θ + η·u lowers L
    because L(θ + ηu) ≈ L(θ) + ½ η² λ with λ < 0 (the gradient vanishes at a critical point)."""
    obj = Objective.of(target, *args)
    point = classify(obj, theta=theta, tol=tol)
    u = point.escape_direction
    if u is None:
        raise ValueError(f"escape_saddle: no negative curvature at θ (smallest eigenvalue "
                         f"{point.eigenvalues[0]:.3g}, near-zero cut {point.spectrum.threshold:.3g}); "
                         "this is not a saddle")
    step_sizes = np.linspace(0.0, 1.0, 21) if step_sizes is None else np.asarray(step_sizes, dtype=np.float64)
    losses = np.array([obj.value(point.theta + eta * u) for eta in step_sizes])
    return SaddleEscape(step_sizes, losses, point.loss, u, float(point.eigenvalues[0]))
