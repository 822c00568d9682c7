"""Seeded randomness that matches PyTorch's CPU generator: the same seed gives the same numbers, draw for draw.

``manual_seed(s)`` followed by ``rand``, ``randn``, ``randint``, ``randperm``, ``nn.init``, a layer's default
initialisation, ``random_split`` or a shuffled ``DataLoader`` produces what PyTorch 2.x produces on the same processor
class (see ``capability``).  The engine is mt19937 (``engine``), the per-kernel algorithms are in ``distributions``.
"""
import contextlib

from .capability import cpu_capability
from .generator import DEFAULT_SEED, Generator

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


def set_rng_state(new_state):
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, **_):
    """Run a block and then put the default generator back as it was (``torch.random.fork_rng``)."""
    if not enabled:
        yield
        return
    saved = default_generator.get_state()
    try:
        yield
    finally:
        default_generator.set_state(saved)


def _generator(generator):
    return default_generator if generator is None else generator


__all__ = ["DEFAULT_SEED", "Generator", "cpu_capability", "default_generator", "fork_rng", "get_rng_state",
           "initial_seed", "manual_seed", "seed", "set_rng_state"]
