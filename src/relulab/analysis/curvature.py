"""Curvature of a loss (lecture 2): exact Hessians, Hessian-vector products, extreme eigenpairs, trace, density.

Every function takes the loss as ``(model, loss_fn, data)``, as ``(fn, point)`` or as an ``Objective``, and an
optional ``theta`` (default: the current parameters).
"""
import numpy as np

from .objective import Objective


def hessian(target, *args, theta=None):
    """The exact dense Hessian ∂²L/∂θ² in float64 (double backprop; practical up to ~5,000 parameters)."""
    return Objective.of(target, *args).hessian(theta)


def hvp(target, *args, v, theta=None):
    """H·v without forming H."""
    return Objective.of(target, *args).hvp(v, theta)


def _operator(obj, theta):
    from scipy.sparse.linalg import LinearOperator
    return LinearOperator((obj.size, obj.size), matvec=lambda v: obj.hvp(np.ravel(v), theta), dtype=np.float64)


def eigs(target, *args, k=1, theta=None, tol=1e-8, seed=0, maxiter=None):
    """The ``k`` largest and ``k`` smallest Hessian eigenpairs by Lanczos (scipy's ``eigsh``) on the HVP.

    Returns ``(largest_values, largest_vectors, smallest_values, smallest_vectors)``, values in descending /
    ascending order and vectors as columns.  The smallest end is found as the largest of the shifted operator
    λ_max·I − H, which Lanczos converges on as readily as the top end.
    """
    from scipy.sparse.linalg import LinearOperator, eigsh
    obj = Objective.of(target, *args)
    n = obj.size
    if n == 0:
        raise ValueError("eigs: the objective has no parameters")
    if n <= 2 * k + 1:  # too small for Lanczos: use the dense Hessian
        values, vectors = np.linalg.eigh(obj.hessian(theta))
        return values[::-1][:k], vectors[:, ::-1][:, :k], values[:k], vectors[:, :k]
    v0 = np.random.default_rng(seed).normal(size=n)
    op = _operator(obj, theta)
    top_vals, top_vecs = eigsh(op, k=k, which="LA", tol=tol, v0=v0, maxiter=maxiter)
    order = np.argsort(top_vals)[::-1]
    top_vals, top_vecs = top_vals[order], top_vecs[:, order]
    shift = max(abs(top_vals[0]), 1e-12) * 1.01
    shifted = LinearOperator((n, n), matvec=lambda v: shift * np.ravel(v) - op.matvec(v), dtype=np.float64)
    low_vals, low_vecs = eigsh(shifted, k=k, which="LA", tol=tol, v0=v0, maxiter=maxiter)
    low_vals = shift - low_vals
    order = np.argsort(low_vals)
    return top_vals, top_vecs, low_vals[order], low_vecs[:, order]


def trace(target, *args, samples=100, theta=None, seed=0):
    """Hutchinson's estimate tr(H) ≈ mean of vᵀHv over Rademacher vectors v.  Returns (mean, standard error)."""
    obj = Objective.of(target, *args)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(samples):
        v = rng.choice([-1.0, 1.0], size=obj.size)
        values.append(float(v @ obj.hvp(v, theta)))
    values = np.asarray(values)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(samples)) if samples > 1 else float("nan")


def lanczos(matvec, n, steps, rng):
    """``steps`` Lanczos iterations with full reorthogonalisation: (Ritz values, first components of the
    Ritz vectors).  The weights τ_k = (first component)² give the spectral quadrature of stochastic Lanczos."""
    steps = min(steps, n)
    q = rng.normal(size=n)
    q /= np.linalg.norm(q)
    basis, alphas, betas = [q], [], []
    for j in range(steps):
        w = matvec(basis[-1])
        alpha = float(w @ basis[-1])
        alphas.append(alpha)
        for b in basis:  # full reorthogonalisation keeps the Ritz values honest in floating point
            w = w - (w @ b) * b
        beta = float(np.linalg.norm(w))
        if j == steps - 1 or beta < 1e-12:
            break
        betas.append(beta)
        basis.append(w / beta)
    t = np.diag(alphas) + np.diag(betas[:len(alphas) - 1], 1) + np.diag(betas[:len(alphas) - 1], -1)
    nodes, vectors = np.linalg.eigh(t)
    return nodes, vectors[0] ** 2


def density(target, *args, steps=30, samples=5, grid=200, sigma=None, theta=None, seed=0):
    """Spectral density of the Hessian by stochastic Lanczos quadrature (Ghorbani et al. 2019).

    Returns ``(grid_points, density, nodes, weights)``: Gaussian-smoothed density on a grid spanning the
    spectrum, and the raw quadrature nodes and weights (each sample's weights sum to 1/samples).
    """
    obj = Objective.of(target, *args)
    rng = np.random.default_rng(seed)
    nodes, weights = [], []
    for _ in range(samples):
        x, w = lanczos(lambda v: obj.hvp(v, theta), obj.size, steps, rng)
        nodes.append(x)
        weights.append(w / samples)
    nodes, weights = np.concatenate(nodes), np.concatenate(weights)
    lo, hi = nodes.min(), nodes.max()
    pad = 0.05 * max(hi - lo, 1e-8)
    xs = np.linspace(lo - pad, hi + pad, grid)
    sigma = sigma or max((hi - lo) / 100, 1e-8)
    dens = (weights[None, :] * np.exp(-0.5 * ((xs[:, None] - nodes[None, :]) / sigma) ** 2)).sum(1)
    dens /= sigma * np.sqrt(2 * np.pi)
    return xs, dens, nodes, weights
