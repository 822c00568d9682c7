"""Time one float32 training step of an MLP 784→256→10 at batch 256, relulab vs PyTorch CPU, in one process.

The step: forward, cross-entropy, backward, and a plain SGD update (p ← p − η·g).  Both libraries get the same
weights and data and the same number of threads (PyTorch's intra-op pool is sized to the machine's cores;
NumPy's BLAS uses its own pool).  Prints the median times and the ratio relulab / PyTorch.

    python bench/mlp_step.py [--repeats 200] [--warmup 20]
"""
import argparse
import statistics
import time

import numpy as np


def make_step(lib, w1, b1, w2, b2, x, y, lr):
    """The same training step for ``lib`` = relulab or torch: the APIs match, so only the module differs."""
    nn = lib.nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    with lib.no_grad():
        for p, value in zip(model.parameters(), (w1, b1, w2, b2)):
            p.copy_(lib.from_numpy(value))
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = lib.from_numpy(x), lib.from_numpy(y)
    params = list(model.parameters())

    def step():
        for p in params:
            p.grad = None
        loss = loss_fn(model(xt), yt)
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= lr * p.grad
        return loss.item()
    return step


def time_it(step, repeats, warmup):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="alternate the two libraries this many times")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    bound1, bound2 = 1 / np.sqrt(784), 1 / np.sqrt(256)
    w1 = rng.uniform(-bound1, bound1, (256, 784)).astype(np.float32)
    b1 = rng.uniform(-bound1, bound1, 256).astype(np.float32)
    w2 = rng.uniform(-bound2, bound2, (10, 256)).astype(np.float32)
    b2 = rng.uniform(-bound2, bound2, 10).astype(np.float32)
    x = rng.normal(size=(256, 784)).astype(np.float32)
    y = rng.integers(0, 10, 256).astype(np.int64)

    import relulab
    import torch
    rl_step = make_step(relulab, w1, b1, w2, b2, x, y, 0.01)
    pt_step = make_step(torch, w1, b1, w2, b2, x, y, 0.01)
    l_rl, l_pt = rl_step(), pt_step()
    print(f"first-step loss: relulab {l_rl:.6f}  torch {l_pt:.6f}")
    rl_times, pt_times = [], []
    for _ in range(args.rounds):  # interleave so that drift in machine load hits both sides alike
        rl_times.append(time_it(rl_step, args.repeats, args.warmup))
        pt_times.append(time_it(pt_step, args.repeats, args.warmup))
    rl_t, pt_t = min(rl_times), min(pt_times)
    print(f"MLP 784-256-10, batch 256, float32 train step (median of {args.repeats}, best of {args.rounds} rounds)")
    print(f"  relulab  {rl_t * 1e3:8.3f} ms")
    print(f"  torch    {pt_t * 1e3:8.3f} ms")
    print(f"  ratio relulab/torch = {rl_t / pt_t:.2f}x  (target <= 1.5x)")


if __name__ == "__main__":
    main()
