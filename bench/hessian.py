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


def main():
    import relulab
    import torch
    from relulab import analysis, nn

    rng = np.random.default_rng(0)
    sizes = (10, 45, 10)  # 10·45+45 + 45·10+10 = 955 parameters
    x, y = rng.normal(size=(128, sizes[0])), rng.normal(size=(128, sizes[-1]))
    relulab.manual_seed(0)
    model = nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.Tanh(), nn.Linear(sizes[1], sizes[2])).double()
    obj = analysis.Objective.from_model(model, nn.MSELoss(), (relulab.tensor(x), relulab.tensor(y)))
    n = obj.size

    # The same loss in torch, as a function of the flat θ.
    shapes = [tuple(p.shape) for p in model.parameters()]
    tx, ty = torch.tensor(x), torch.tensor(y)

    def torch_loss(flat):
        parts, start = [], 0
        for s in shapes:
            k = int(np.prod(s))
            parts.append(flat[start:start + k].reshape(s))
            start += k
        w1, b1, w2, b2 = parts
        return torch.nn.functional.mse_loss(torch.tanh(tx @ w1.T + b1) @ w2.T + b2, ty)

    theta = torch.tensor(obj.point)
    h_rl = obj.hessian()
    h_pt = torch.autograd.functional.hessian(torch_loss, theta).numpy()
    print(f"MLP {sizes[0]}-{sizes[1]}-{sizes[2]} ({n} parameters), 128 samples, float64")
    print(f"  max |H_relulab - H_torch| = {np.abs(h_rl - h_pt).max():.2e}")
    t_rl = best_of(obj.hessian, 2)
    t_pt = best_of(lambda: torch.autograd.functional.hessian(torch_loss, theta), 2)
    print(f"  exact Hessian: relulab {t_rl:.3f} s   torch {t_pt:.3f} s   ratio {t_rl / t_pt:.2f}x  (target <= 2 s)")

    v = rng.normal(size=n)
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
