"""Time one float32 training step of an MLP 784→256→10 at batch 256, relulab vs PyTorch CPU, in one process.

The step: forward, cross-entropy, backward, and a plain SGD update (p ← p − η·g), with the same weights and
data in both libraries.  Prints the median times and the ratio relulab / PyTorch.

    python bench/mlp_step.py [--repeats 200] [--warmup 20] [--rounds 3]
"""
import argparse

import numpy as np

from harness import compare, sgd_step


def mlp(nn):
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="alternate the two libraries this many times")
    args = parser.parse_args()
    import relulab
    import torch

    rng = np.random.default_rng(0)
    weights = [rng.uniform(-0.05, 0.05, p.shape).astype(np.float32) for p in mlp(relulab.nn).parameters()]
    x = rng.normal(size=(256, 784)).astype(np.float32)
    y = rng.integers(0, 10, 256).astype(np.int64)
    compare("MLP 784-256-10, batch 256, float32 train step",
            sgd_step(relulab, mlp(relulab.nn), weights, x, y), sgd_step(torch, mlp(torch.nn), weights, x, y),
            args.repeats, args.warmup, args.rounds, target=1.5)


if __name__ == "__main__":
    main()
