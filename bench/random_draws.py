"""Drawing 10**7 random numbers: relulab's PyTorch-compatible generator against PyTorch's own, side by side.

Both libraries draw the same values (tests/test_random_torch.py checks that); this times them, interleaved, best of
several rounds, single-threaded torch (its random kernels are serial anyway).  Target: float32 uniforms and normals
within 2x of PyTorch.

    python bench/random_draws.py [--n 10000000] [--rounds 5]
"""
import argparse
import time

import numpy as np


def best_times(cases, rounds):
    best = {name: [float("inf"), float("inf")] for name, _, _ in cases}
    for _ in range(rounds):
        for name, relulab_fn, torch_fn in cases:  # interleaved, so load swings hit both libraries alike
            for slot, fn in enumerate((relulab_fn, torch_fn)):
                start = time.perf_counter()
                fn()
                best[name][slot] = min(best[name][slot], time.perf_counter() - start)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    import torch

    import relulab as rl
    torch.set_num_threads(1)
    n = args.n
    rl.manual_seed(0)
    torch.manual_seed(0)
    cases = [
        ("rand float32", lambda: rl.rand(n), lambda: torch.rand(n)),
        ("randn float32", lambda: rl.randn(n), lambda: torch.randn(n)),
        ("rand float64", lambda: rl.rand(n, dtype=np.float64), lambda: torch.rand(n, dtype=torch.float64)),
        ("randn float64", lambda: rl.randn(n, dtype=np.float64), lambda: torch.randn(n, dtype=torch.float64)),
        ("randint [0, 1000)", lambda: rl.randint(0, 1000, (n,)), lambda: torch.randint(0, 1000, (n,))),
        ("randperm 10**6", lambda: rl.randperm(1_000_000), lambda: torch.randperm(1_000_000)),
    ]
    best = best_times(cases, args.rounds)
    print(f"{n:,} draws, best of {args.rounds} rounds")
    print(f"{'draw':<20}{'relulab s':>11}{'torch s':>10}{'ratio':>8}")
    for name, (ours, theirs) in best.items():
        print(f"{name:<20}{ours:>11.3f}{theirs:>10.3f}{ours / theirs:>7.2f}x")


if __name__ == "__main__":
    main()
