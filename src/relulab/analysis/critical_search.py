"""Finding critical points the lecture's way, and saying honestly what was found.

The lecture's study trains a net until the gradient is small, then minimizes ‖∇L‖² (its gradient is H·∇L,
one Hessian-vector product by double backprop), which converges to saddles as readily as to minima.  Such
finders have a known failure (Frye et al., Neural Computation 33:1469, 2021): they also converge to
*gradient-flat* points, where ∇L is not zero but lies in the (near) kernel of H, so ‖∇L‖² is stationary
without L being so.  And an unbounded Newton step can jump far from where training ended, to a critical point
that training never reaches.  So every search reports where it started and ended, and labels the result:

- "critical point": ‖∇L‖ ≤ ``gradient_tol`` and θ moved at most ``max_drift`` · max(|θ|, 1) from where
  training ended (the 1 keeps a point near θ = 0 from counting every tiny move as a drift);
- "drifted": critical, but farther than that: not a point training reaches;
- "gradient-flat": ‖∇L‖ > ``gradient_tol`` while ‖H·∇L‖ ≤ ``flat_tol`` · ‖H‖·‖∇L‖ (Frye et al.'s criterion);
- "not converged": neither.

Only the first counts as a critical point.
"""
from dataclasses import dataclass, field

import numpy as np

from .critical import ZERO_TOLERANCE
from .objective import Objective

STATUSES = ("critical point", "drifted", "gradient-flat", "not converged")


@dataclass
class CriticalSearch:
    status: str                       # one of STATUSES
    theta: np.ndarray = field(repr=False)
    trained: np.ndarray = field(repr=False)   # where training (stage 1) ended: the reference for the drift
    start_gradient_norm: float        # ‖∇L‖ where training ended
    gradient_norm: float              # ‖∇L‖ at the end of the search
    start_loss: float
    loss: float
    drift: float                      # |θ − θ_trained| / max(|θ_trained|, 1)
    flatness: float                   # ‖H·∇L‖ / (‖H‖·‖∇L‖): near 0 means ∇L lies in H's near-kernel
    steps: dict                       # iterations used by each stage
    gradient_norms: list = field(default_factory=list, repr=False)   # ‖∇L‖ after each stage

    @property
    def is_critical(self):
        return self.status == "critical point"

    def describe(self):
        return (f"{self.status}: ‖∇L‖ {self.start_gradient_norm:.3g} → {self.gradient_norm:.3g}, "
                f"|Δθ|/|θ| = {self.drift:.3g}, loss {self.start_loss:.5g} → {self.loss:.5g}, "
                f"‖H∇L‖/(‖H‖‖∇L‖) = {self.flatness:.3g}")

    def __str__(self):
        return self.describe()


def find_critical_point(target, *args, theta=None, train_steps=2000, lr=0.1, gradient_tol=1e-8, polish_steps=200,
                        newton_steps=20, max_drift=0.1, flat_tol=1e-3, trust_radius=0.1, dense_up_to=1000):
    """Drive ‖∇L‖ toward 0 near where training ends; returns a ``CriticalSearch`` (see the module docstring).

    1. Train: up to ``train_steps`` of gradient descent at ``lr`` (stops early once ‖∇L‖ ≤ ``gradient_tol``).
    2. Minimize ½‖∇L‖² by L-BFGS (gradient H·∇L, one HVP), at most ``polish_steps`` iterations.
    3. Damped Newton-MR: the minimum-norm least-squares step d of H·d = −∇L, at most ``trust_radius`` ·
       max(|θ|, 1) long, halved until ‖∇L‖ decreases; a step that cannot lower ‖∇L‖ is not taken, so this stage
       never increases it.  Dense lstsq for up to ``dense_up_to`` parameters, MINRES on HVPs above.
    """
    from scipy.optimize import minimize

    obj = Objective.of(target, *args)
    theta = (obj.point if theta is None else np.asarray(theta, dtype=np.float64).reshape(-1)).copy()
    if obj.size == 0:
        raise ValueError("find_critical_point: the objective has no parameters")
    steps = {"train": 0, "gradient_norm": 0, "newton": 0}

    g = obj.gradient(theta)
    for _ in range(train_steps):
        if np.linalg.norm(g) <= gradient_tol or not np.isfinite(g).all():
            break
        theta = theta - lr * g
        g = obj.gradient(theta)
        steps["train"] += 1
    trained, start_norm, start_loss = theta.copy(), float(np.linalg.norm(g)), obj.value(theta)
    norms = [start_norm]

    if norms[-1] > gradient_tol and np.isfinite(norms[-1]) and polish_steps > 0:
        def half_sq_norm(t):
            gt = obj.gradient(t)
            return 0.5 * float(gt @ gt), obj.hvp(gt, t)

        result = minimize(half_sq_norm, theta, jac=True, method="L-BFGS-B",
                          options={"maxiter": polish_steps, "gtol": 1e-30, "ftol": 1e-30})
        steps["gradient_norm"] = int(result.nit)
        if np.linalg.norm(obj.gradient(result.x)) < norms[-1]:
            theta = result.x
        norms.append(float(np.linalg.norm(obj.gradient(theta))))

    theta, steps["newton"] = _newton_mr(obj, theta, gradient_tol, newton_steps, trust_radius, dense_up_to)
    g = obj.gradient(theta)
    norms.append(float(np.linalg.norm(g)))
    drift = float(np.linalg.norm(theta - trained) / max(np.linalg.norm(trained), 1.0))
    flatness = _flatness(obj, theta, g, dense_up_to)
    if norms[-1] <= gradient_tol:
        status = "critical point" if drift <= max_drift else "drifted"
    elif flatness <= flat_tol:
        status = "gradient-flat"
    else:
        status = "not converged"
    return CriticalSearch(status, theta, trained, start_norm, norms[-1], start_loss, obj.value(theta), drift,
                          flatness, steps, norms)


def _newton_mr(obj, theta, gradient_tol, max_steps, trust_radius, dense_up_to):
    """Damped, bounded Newton-MR steps that only ever lower ‖∇L‖; stops well below the tolerance."""
    g = obj.gradient(theta)
    norm, taken = float(np.linalg.norm(g)), 0
    for _ in range(max_steps):
        if norm <= 1e-3 * gradient_tol or not np.isfinite(norm):
            break
        d = _min_residual_step(obj, theta, g, dense_up_to)
        radius = trust_radius * max(float(np.linalg.norm(theta)), 1.0)
        length = float(np.linalg.norm(d))
        if length > radius:
            d *= radius / length
        for _ in range(12):  # halve until ‖∇L‖ falls (2⁻¹² of a step is no step)
            candidate = theta + d
            g_new = obj.gradient(candidate)
            new_norm = float(np.linalg.norm(g_new))
            if new_norm < norm:
                break
            d = d / 2
        else:
            break
        theta, g, norm = candidate, g_new, new_norm
        taken += 1
    return theta, taken


def _min_residual_step(obj, theta, g, dense_up_to):
    if obj.size <= dense_up_to:
        # Directions with |λ| below the zero tolerance are left alone: dividing by round-off is what sends an
        # undamped Newton step thousands of units away.
        return -np.linalg.lstsq(obj.hessian(theta), g, rcond=ZERO_TOLERANCE)[0]
    from scipy.sparse.linalg import LinearOperator, minres
    operator = LinearOperator((obj.size, obj.size), matvec=lambda v: obj.hvp(np.ravel(v), theta), dtype=np.float64)
    return -minres(operator, g, maxiter=200)[0]


def _flatness(obj, theta, g, dense_up_to):
    """‖H·g‖ / (‖H‖₂·‖g‖), with ‖H‖₂ = max|λ| (dense for small models, Lanczos above)."""
    g_norm = float(np.linalg.norm(g))
    if g_norm == 0 or not np.isfinite(g_norm):
        return 0.0 if g_norm == 0 else float("nan")
    if obj.size <= dense_up_to:
        h_norm = float(np.abs(np.linalg.eigvalsh(obj.hessian(theta))).max())
    else:
        from scipy.sparse.linalg import LinearOperator, eigsh
        operator = LinearOperator((obj.size, obj.size), matvec=lambda v: obj.hvp(np.ravel(v), theta),
                                  dtype=np.float64)
        h_norm = float(np.abs(eigsh(operator, k=1, which="LM", tol=1e-4, return_eigenvectors=False)).max())
    if h_norm == 0:
        return 0.0
    return float(np.linalg.norm(obj.hvp(g, theta)) / (h_norm * g_norm))
