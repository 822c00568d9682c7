"""Time one float32 LeNet-5 training step (batch 64 of 1×28×28), relulab vs PyTorch CPU, in one process.

LeNet-5: conv 6@5×5 (pad 2) → ReLU → max-pool 2 → conv 16@5×5 → ReLU → max-pool 2 → 120 → 84 → 10.
The step: forward, cross-entropy, backward, SGD update.  Prints median times and the ratio relulab / PyTorch.

    python bench/cnn_step.py [--repeats 50]
"""
import argparse
import statistics
import time

import numpy as np


def lenet5(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def make_step(lib, weights, x, y, lr=0.01):
    """The same step for ``lib`` = relulab or torch: only the module differs."""
    model = lenet5(lib.nn)
    with lib.no_grad():
        for p, value in zip(model.parameters(), weights):
            p.copy_(lib.from_numpy(value))
    params = list(model.parameters())
    loss_fn = lib.nn.CrossEntropyLoss()
    xt, yt = lib.from_numpy(x), lib.from_numpy(y)

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


def median_time(step, repeats, warmup=5):
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
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import relulab
    import torch

    rng = np.random.default_rng(0)
    shapes = [p.shape for p in lenet5(relulab.nn).parameters()]
    weights = [rng.uniform(-0.1, 0.1, s).astype(np.float32) for s in shapes]
    x = rng.normal(size=(64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64).astype(np.int64)
    rl_step, pt_step = make_step(relulab, weights, x, y), make_step(torch, weights, x, y)
    print(f"first-step loss: relulab {rl_step():.6f}  torch {pt_step():.6f}")
    rl_t = min(median_time(rl_step, args.repeats) for _ in range(args.rounds))
    pt_t = min(median_time(pt_step, args.repeats) for _ in range(args.rounds))
    print(f"LeNet-5, batch 64 of 1x28x28, float32 train step (median of {args.repeats}, best of {args.rounds})")
    print(f"  relulab  {rl_t * 1e3:8.3f} ms")
    print(f"  torch    {pt_t * 1e3:8.3f} ms")
    print(f"  ratio relulab/torch = {rl_t / pt_t:.2f}x  (target <= 3x)")


if __name__ == "__main__":
    main()
