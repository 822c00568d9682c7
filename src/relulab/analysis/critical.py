"""Critical points (lecture 2): where ∇L = 0, what kind of point it is, and how to leave a saddle.

Near a critical point θ′, L(θ) ≈ L(θ′) + ½ (θ − θ′)ᵀ H (θ − θ′).  All eigenvalues of H positive: a local
minimum; all negative: a local maximum; both signs: a saddle point.  If some eigenvalues are (numerically) zero
and the rest share one sign, the second-order picture cannot decide: the point is degenerate.
"""
from dataclasses import dataclass, field

import numpy as np

from .objective import Objective

# Eigenvalues with |λ| <= ZERO_TOL_RELATIVE · max|λ| + ZERO_TOL_ABSOLUTE count as zero.
ZERO_TOL_RELATIVE = 1e-6
ZERO_TOL_ABSOLUTE = 1e-10


@dataclass
class CriticalPoint:
    kind: str                     # "local minimum" | "local maximum" | "saddle" | "degenerate"
    eigenvalues: np.ndarray       # ascending
    minimum_ratio: float          # positive eigenvalues / all eigenvalues
    gradient_norm: float
    loss: float
    theta: np.ndarray = field(repr=False)
    eigenvectors: np.ndarray = field(repr=False)

    @property
    def escape_direction(self):
        """Unit eigenvector of the most negative eigenvalue, or None without (numerically) negative curvature."""
        if self.eigenvalues.size and self.eigenvalues[0] < -zero_tolerance(self.eigenvalues):
            return self.eigenvectors[:, 0]
        return None


def zero_tolerance(eigenvalues):
    return ZERO_TOL_RELATIVE * float(np.abs(eigenvalues).max(initial=0.0)) + ZERO_TOL_ABSOLUTE


def kind_of(eigenvalues, tol=None):
    """Name the critical point from the Hessian's eigenvalues (see the module docstring for the rules)."""
    ev = np.asarray(eigenvalues, dtype=np.float64)
    tol = zero_tolerance(ev) if tol is None else tol
    pos, neg = int((ev > tol).sum()), int((ev < -tol).sum())
    if pos and neg:
        return "saddle"
    if pos == ev.size:
        return "local minimum"
    if neg == ev.size:
        return "local maximum"
    return "degenerate"


def classify(target, *args, theta=None, tol=None):
    """Classify θ (default: the current parameters) from the exact Hessian; also returns the eigenvalues and
    the minimum ratio.  Meaningful at a critical point: check ``gradient_norm``."""
    obj = Objective.of(target, *args)
    point = obj.point if theta is None else np.asarray(theta, dtype=np.float64)
    values, vectors = np.linalg.eigh(obj.hessian(point))
    ratio = float((values > 0).sum() / values.size) if values.size else float("nan")
    return CriticalPoint(kind_of(values, tol), values, ratio, float(np.linalg.norm(obj.gradient(point))),
                         obj.value(point), point.copy(), vectors)


def find_critical_point(target, *args, theta=None, train_steps=2000, lr=0.1, gradient_tol=1e-8, polish_steps=50,
                        newton_up_to=1000):
    """Drive ‖∇L‖ to ~0 in two stages: gradient descent toward a low gradient, then a root-finder for ∇L = 0.

    For up to ``newton_up_to`` parameters the root-finder is Newton's method on the gradient with the exact
    Hessian, θ ← θ − H⁺∇L (least squares, so flat directions don't blow up); otherwise L-BFGS on ½‖∇L‖²,
    whose gradient H∇L is one HVP.  Both converge to saddles as readily as to minima, which an honest census
    of critical points needs.  Returns the point θ as a flat array."""
    obj = Objective.of(target, *args)
    theta = (obj.point if theta is None else np.asarray(theta, dtype=np.float64)).copy()
    for _ in range(train_steps):
        g = obj.gradient(theta)
        if np.linalg.norm(g) < gradient_tol:
            return theta
        theta -= lr * g
    if obj.size <= newton_up_to:
        for _ in range(polish_steps):
            g = obj.gradient(theta)
            if np.linalg.norm(g) < gradient_tol:
                break
            step = np.linalg.lstsq(obj.hessian(theta), g, rcond=1e-10)[0]
            theta = theta - step
        return theta
    from scipy.optimize import minimize

    def half_sq_norm(t):
        g = obj.gradient(t)
        return 0.5 * float(g @ g), obj.hvp(g, t)

    result = minimize(half_sq_norm, theta, jac=True, method="L-BFGS-B",
                      options={"maxiter": polish_steps * 10, "gtol": 1e-14, "ftol": 1e-30})
    return result.x


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


def escape_saddle(target, *args, theta=None, step_sizes=None):
    """Step from θ along u, the eigenvector of the most negative Hessian eigenvalue: θ′ = θ + η·u lowers L
    because L(θ + ηu) ≈ L(θ) + ½ η² λ with λ < 0 (the gradient vanishes at a critical point)."""
    obj = Objective.of(target, *args)
    point = obj.point if theta is None else np.asarray(theta, dtype=np.float64)
    values, vectors = np.linalg.eigh(obj.hessian(point))
    if values[0] >= 0:
        raise ValueError(f"escape_saddle: no negative curvature at θ (smallest eigenvalue {values[0]:.3g}); "
                         "this is not a saddle")
    u = vectors[:, 0]
    step_sizes = np.linspace(0.0, 1.0, 21) if step_sizes is None else np.asarray(step_sizes, dtype=np.float64)
    losses = np.array([obj.value(point + eta * u) for eta in step_sizes])
    return SaddleEscape(step_sizes, losses, obj.value(point), u, float(values[0]))
