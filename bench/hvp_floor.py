"""The NumPy floor for bench/run.py's HVP workload: the same HVP written by hand (Pearlmutter's R-operator on
the 10-45-10 tanh MLP with MSE), against relulab's double backprop.  What is left between the two is per-op
overhead, which no formula change removes.

    python bench/hvp_floor.py
"""
import time

import numpy as np

from hessian import _shapes, data, flat_init, relulab_objective


def split(theta):
    parts, start = [], 0
    for s in _shapes():
        k = int(np.prod(s))
        parts.append(theta[start:start + k].reshape(s))
        start += k
    return parts


def numpy_hvp(x, y, theta, v):
    w1, b1, w2, b2 = split(theta)
    v1, c1, v2, c2 = split(v)
    h = np.tanh(x @ w1.T + b1)
    out = h @ w2.T + b2
    scale = 2.0 / out.size
    d_out = scale * (out - y)
    slope = 1.0 - h * h
    r_h = slope * (x @ v1.T + c1)
    r_dout = scale * (r_h @ w2.T + h @ v2.T + c2)
    dh = d_out @ w2
    r_dz = (r_dout @ w2 + d_out @ v2) * slope - dh * 2.0 * h * r_h
    return np.concatenate([(r_dz.T @ x).ravel(), r_dz.sum(0), (r_dout.T @ h + d_out.T @ r_h).ravel(),
                           r_dout.sum(0)])


def best_of(fn, repeats=50):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    x, y = data()
    theta = flat_init()
    v = np.random.default_rng(1).normal(size=theta.size)
    obj = relulab_objective(x, y, theta)
    err = np.abs(numpy_hvp(x, y, theta, v) - obj.hvp(v)).max()
    t_np, t_rl = best_of(lambda: numpy_hvp(x, y, theta, v)), best_of(lambda: obj.hvp(v))
    print(f"HVP, 955-parameter MLP: bare NumPy {t_np * 1e3:.3f} ms   relulab {t_rl * 1e3:.3f} ms   "
          f"(max |difference| {err:.1e})")


if __name__ == "__main__":
    main()
