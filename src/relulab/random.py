"""Seeded randomness: ``manual_seed`` and ``Generator``.  The same seed always gives the same numbers.

The streams come from NumPy's PCG64, so they differ from PyTorch's; what is promised is reproducibility.
"""
import numpy as np


class Generator:
    """A seeded random stream; pass it as ``generator=`` to factories, ``nn.init`` and data loaders."""

    def __init__(self, device="cpu"):
        self._seed = 67280421310721  # PyTorch's default seed, for a familiar starting point
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        seed = int(seed)
        if seed < 0:
            raise ValueError(f"manual_seed: seed must be non-negative, got {seed}")
        self._seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed))
        return self

    def seed(self):
        return self.manual_seed(int(np.random.SeedSequence().entropy % (2 ** 63)))._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self._rng.bit_generator.state

    def set_state(self, state):
        self._rng.bit_generator.state = state
        return self

    # Draws, as arrays of the requested shape.
    def uniform(self, low, high, shape):
        return self._rng.uniform(low, high, shape)

    def normal(self, mean, std, shape):
        return self._rng.normal(mean, std, shape)

    def integers(self, low, high, shape):
        return self._rng.integers(low, high, shape)

    def permutation(self, n):
        return self._rng.permutation(n)


default_generator = Generator()


def manual_seed(seed):
    """Seed the default generator; every later draw that names no generator follows from it."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)


def _generator(generator):
    return default_generator if generator is None else generator
