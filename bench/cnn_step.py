"""Time one float32 LeNet-5 training step (batch 64 of 1×28×28), relulab vs PyTorch CPU, in one process.

LeNet-5: conv 6@5×5 (pad 2) → ReLU → max-pool 2 → conv 16@5×5 → ReLU → max-pool 2 → 120 → 84 → 10.
The step: forward, cross-entropy, backward, SGD update.  Prints median times and the ratio relulab / PyTorch.

    python bench/cnn_step.py [--repeats 50] [--rounds 3]
"""
import argparse

import numpy as np

from harness import compare, sgd_step


def lenet5(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import relulab
    import torch

    rng = np.random.default_rng(0)
    weights = [rng.uniform(-0.1, 0.1, p.shape).astype(np.float32) for p in lenet5(relulab.nn).parameters()]
    x = rng.normal(size=(64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64).astype(np.int64)
    compare("LeNet-5, batch 64 of 1x28x28, float32 train step",
            sgd_step(relulab, lenet5(relulab.nn), weights, x, y), sgd_step(torch, lenet5(torch.nn), weights, x, y),
            args.repeats, args.warmup, args.rounds, target=3)


if __name__ == "__main__":
    main()
