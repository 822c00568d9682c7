"""Curvature costs: the exact Hessian of a ~1,000-parameter MLP, and one HVP against one gradient.

relulab and PyTorch (``torch.autograd.functional.hessian`` / double backprop) side by side, float64.
Targets: Hessian <= 2 s; HVP time / gradient time <= 4x.

    python bench/hessian.py
"""
import time

import numpy as np


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


SIZES = (10, 45, 10)  # 10·45+45 + 45·10+10 = 955 parameters


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(128, SIZES[0])), rng.normal(size=(128, SIZES[-1]))


def _shapes():
    a, h, b = SIZES
    return [(h, a), (h,), (b, h), (b,)]


def flat_init():
    """θ₀ as PyTorch's Linear init would draw it (U(±1/√fan_in)), from a fixed NumPy seed: no library needed."""
    rng = np.random.default_rng(1)
    parts = [rng.uniform(-1, 1, s) / np.sqrt(fan) for s, fan in zip(_shapes(), (SIZES[0],) * 2 + (SIZES[1],) * 2)]
    return np.concatenate([p.reshape(-1) for p in parts])


def relulab_objective(x, y, theta0):
    import relulab
    from relulab import analysis, nn
    model = nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.Tanh(), nn.Linear(SIZES[1], SIZES[2])).double()
    obj = analysis.Objective.from_model(model, nn.MSELoss(), (relulab.tensor(x), relulab.tensor(y)))
    obj.point = np.asarray(theta0, dtype=np.float64).copy()
    return obj


def torch_loss_fn(torch, x, y):
    """The same loss in torch, as a function of the flat θ."""
    tx, ty = torch.tensor(x), torch.tensor(y)

    def loss(flat):
        parts, start = [], 0
        for s in _shapes():
            k = int(np.prod(s))
            parts.append(flat[start:start + k].reshape(s))
            start += k
        w1, b1, w2, b2 = parts
        return torch.nn.functional.mse_loss(torch.tanh(tx @ w1.T + b1) @ w2.T + b2, ty)
    return loss


def main():
    import torch

    x, y = data()
    obj = relulab_objective(x, y, flat_init())
    n = obj.size
    torch_loss = torch_loss_fn(torch, x, y)
    theta = torch.tensor(obj.point)
    h_rl = obj.hessian()
    h_pt = torch.autograd.functional.hessian(torch_loss, theta, vectorize=True).numpy()
    print(f"MLP {SIZES[0]}-{SIZES[1]}-{SIZES[2]} ({n} parameters), 128 samples, float64")
    print(f"  max |H_relulab - H_torch| = {np.abs(h_rl - h_pt).max():.2e}")
    t_rl = best_of(obj.hessian, 2)
    t_pt = best_of(lambda: torch.autograd.functional.hessian(torch_loss, theta, vectorize=True), 2)
    print(f"  exact Hessian: relulab {t_rl:.3f} s   torch {t_pt:.3f} s   ratio {t_rl / t_pt:.2f}x  (target <= 2 s)")

    v = np.random.default_rng(1).normal(size=n)
    t_grad = best_of(obj.gradient, 30)
    t_hvp = best_of(lambda: obj.hvp(v), 30)
    tv = torch.tensor(v)

    def torch_grad():
        t = theta.clone().requires_grad_(True)
        return torch.autograd.grad(torch_loss(t), t)

    def torch_hvp():
        t = theta.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(torch_loss(t), t, create_graph=True)
        return torch.autograd.grad(g @ tv, t)

    tg_pt, th_pt = best_of(torch_grad, 30), best_of(torch_hvp, 30)
    print(f"  gradient: relulab {t_grad * 1e3:.3f} ms   torch {tg_pt * 1e3:.3f} ms")
    print(f"  HVP:      relulab {t_hvp * 1e3:.3f} ms   torch {th_pt * 1e3:.3f} ms")
    print(f"  HVP / gradient: relulab {t_hvp / t_grad:.2f}x   torch {th_pt / tg_pt:.2f}x  (target <= 4x)")


if __name__ == "__main__":
    main()
