"""Where the labs' random numbers come from, said once.

The model side of every experiment (initial weights, the start points of descents on hand-made loss surfaces, batch
orders, augmentation draws and dropout masks) is drawn from relulab's generator, which reproduces PyTorch's CPU
generator draw for draw: each helper below names the PyTorch statement that gives the same numbers for the same seed.
The data sets themselves (synthetic points, noise, train/validation/test splits, the shuffled data of negative
controls) and the random probes of some analyses stay on NumPy's ``default_rng(seed)``.
"""
import numpy as np

import relulab

RANDOMNESS = ("Initial weights, the start points of descents, batch orders, augmentation draws and dropout masks "
              "come from relulab's generator, which reproduces PyTorch's CPU generator (mt19937) draw for draw: with "
              "the same seed, the same model code in PyTorch starts from the same weights and sees the same batches. "
              "Synthetic data sets, data splits, the shuffled data of negative controls and the random probes of "
              "some analyses are drawn with NumPy's default_rng(seed).")


def generator(seed):
    """``torch.Generator().manual_seed(seed)``."""
    return relulab.Generator().manual_seed(int(seed))


def uniform(gen, low, high, count):
    """(count,) float64: ``torch.empty(count, dtype=torch.float64).uniform_(low, high, generator=gen)``."""
    return gen.uniform(low, high, (int(count),), np.float64)


def signs(gen, count):
    """(count,) of ±1.0: ``torch.randint(0, 2, (count,), generator=gen) * 2 - 1``."""
    return gen.randint(0, 2, (int(count),)).astype(np.float64) * 2.0 - 1.0


def integers(gen, low, high, shape):
    """int64 in [low, high): ``torch.randint(low, high, shape, generator=gen)``."""
    return gen.randint(low, high, tuple(np.atleast_1d(shape).tolist()))


def rand(gen, shape):
    """float32 in [0, 1): ``torch.rand(shape, generator=gen)``."""
    return gen.uniform(0.0, 1.0, tuple(np.atleast_1d(shape).tolist()), np.float32)


def permutation(gen, n):
    """``torch.randperm(n, generator=gen)``."""
    return gen.randperm(int(n))


def epoch_order(gen, n):
    """The row order of one epoch of ``DataLoader(data, batch_size, shuffle=True, generator=gen)`` over n rows, and
    every draw that epoch makes: the loader's base seed for workers (one int64 ``random_()``), the sampler's
    ``torch.randperm(n)``, and the one more ``randperm(n)`` its sampler draws on reaching its end (for the
    ``num_samples % n`` tail, empty here).  Equal to PyTorch's loader when nothing else draws from ``gen`` during
    the epoch."""
    gen.random(())
    order = gen.randperm(int(n))
    gen.randperm(int(n))
    return order
