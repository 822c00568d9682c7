"""``Generator``: PyTorch's CPU generator, reproduced, so a seed gives PyTorch's numbers.

It holds the mt19937 engine, the seed it was started from, and the Box-Muller value cached between small ``normal_``
calls.  ``get_state`` returns PyTorch's own 5,056-byte layout, so a state moves between relulab and PyTorch both ways.
"""
import struct

import numpy as np

from .. import backend
from . import distributions
from .engine import MT19937, STATE_WORDS

DEFAULT_SEED = 67280421310721  # PyTorch's default_rng_seed_val, the seed of a new Generator
_SEED_RANGE = (-(1 << 63), (1 << 64) - 1)
# THGeneratorState (+ the float-normal fields appended later): seed, left, seeded, next, 624 words as uint64,
# normal_x, normal_y, normal_rho, normal_is_valid, then next_float_normal_sample and its validity flag.
_HEAD = struct.Struct("<QiiQ")
_NORMAL = struct.Struct("<dddi")
_FLOAT_NORMAL = struct.Struct("<f?")
_NORMAL_AT = _HEAD.size + 8 * STATE_WORDS
_LEGACY_SIZE = 5048
STATE_SIZE = 5056


class Generator:
    """A seeded random stream; pass it as ``generator=`` to factories, ``nn.init`` and data loaders."""

    def __init__(self, device="cpu"):
        if str(device) not in ("cpu", "cuda", "mps"):
            raise ValueError(f"Generator: unknown device {device!r}")
        self.device = str(device)
        self.engine = MT19937(DEFAULT_SEED)
        self._seed = DEFAULT_SEED
        self._next_double_normal = None
        self._next_float_normal = None

    def manual_seed(self, seed):
        """Restart from ``seed`` (an int in [−2**63, 2**64)); negative seeds wrap to 64 bits, as in PyTorch."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            try:
                seed = int(seed)
            except (TypeError, ValueError):
                raise TypeError(f"manual_seed: expected an int seed, got {type(seed).__name__}") from None
        seed = int(seed)
        if not _SEED_RANGE[0] <= seed <= _SEED_RANGE[1]:
            raise RuntimeError(f"manual_seed: seed {seed} does not fit in 64 bits "
                               f"(expected [{_SEED_RANGE[0]}, {_SEED_RANGE[1]}])")
        self._seed = seed % (1 << 64)
        self.engine.seed(self._seed)
        self._next_double_normal = None
        self._next_float_normal = None
        return self

    def seed(self):
        """Seed from the operating system's entropy and return the seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy) % (1 << 64))
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The state as a uint8 tensor in PyTorch's byte layout (``torch.set_rng_state`` accepts it)."""
        from ..autograd.tensor import Tensor
        key, left, following = self.engine.key_and_position()
        double_normal = self._next_double_normal
        float_normal = self._next_float_normal
        raw = b"".join((
            _HEAD.pack(self._seed, left, 1, following),
            key.astype("<u8").tobytes(),
            _NORMAL.pack(0.0, 0.0 if double_normal is None else double_normal, 0.0, double_normal is not None),
            b"\0" * (_LEGACY_SIZE - _NORMAL_AT - _NORMAL.size),
            _FLOAT_NORMAL.pack(0.0 if float_normal is None else float_normal, float_normal is not None),
            b"\0" * (STATE_SIZE - _LEGACY_SIZE - _FLOAT_NORMAL.size)))
        return Tensor._make(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state):
        """Restore a state from ``get_state`` (relulab's or PyTorch's: the layout is the same)."""
        data = np.asarray(getattr(new_state, "_data", new_state))
        if data.dtype != np.uint8 or data.ndim != 1:
            raise TypeError(f"Generator.set_state: expected a 1-D uint8 tensor, got dtype {data.dtype} and shape "
                            f"{data.shape}")
        if data.size not in (_LEGACY_SIZE, STATE_SIZE):
            raise RuntimeError(f"Generator.set_state: expected a state of {STATE_SIZE} (or legacy {_LEGACY_SIZE}) "
                               f"bytes, got {data.size}")
        raw = data.tobytes()
        seed, left, seeded, following = _HEAD.unpack_from(raw)
        if seeded != 1:
            raise RuntimeError("Generator.set_state: the state says the engine was never seeded")
        words = np.frombuffer(raw, dtype="<u8", count=STATE_WORDS, offset=_HEAD.size)
        if (words >> np.uint64(32)).any():
            raise RuntimeError("Generator.set_state: an engine word does not fit in 32 bits")
        _, double_normal, _, double_valid = _NORMAL.unpack_from(raw, _NORMAL_AT)
        float_normal, float_valid = (_FLOAT_NORMAL.unpack_from(raw, _LEGACY_SIZE) if data.size == STATE_SIZE
                                     else (0.0, False))
        self.engine.set_key_and_position(words.astype(np.uint32), left, following)
        self._seed = seed
        self._next_double_normal = double_normal if double_valid else None
        self._next_float_normal = float_normal if float_valid else None
        return self

    def __repr__(self):
        return f"<relulab.Generator device={self.device} initial_seed={self._seed}>"

    # ------------------------------------------------------------------ draws, as NumPy arrays of ``shape``
    def uniform(self, low, high, shape, dtype=None):
        """``uniform_(low, high)``."""
        low, high = float(low), float(high)
        if not low <= high:
            raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={low} > to={high}")
        dtype = _float_dtype(dtype)
        return _shaped(distributions.uniform(self.engine, low, high, _count(shape), dtype), shape)

    def normal(self, mean, std, shape, dtype=None, contiguous=True):
        """``normal_(mean, std)``; ``contiguous=False`` takes PyTorch's path for strided tensors."""
        mean, std = float(mean), float(std)
        if not std >= 0.0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        dtype, n = _float_dtype(dtype), _count(shape)
        if n >= 16 and contiguous:
            values = distributions.normal_fill(self.engine, mean, std, n, dtype)
        else:
            values = distributions.normal_serial(self, mean, std, n, dtype)
        return _shaped(values, shape)

    def randint(self, low, high, shape, dtype=np.int64):
        """``randint(low, high)`` / ``random_(low, high)``: integers in [low, high)."""
        return _shaped(distributions.random_from_to(self.engine, low, high, _count(shape), dtype), shape)

    def random(self, shape, dtype=np.int64):
        """``random_()`` with no bounds."""
        return _shaped(distributions.random_full(self.engine, _count(shape), dtype), shape)

    def random_from(self, low, shape, dtype=np.int64):
        """``random_(from=low)``: [low, the dtype's max]; from -2**63, every 64-bit pattern."""
        return _shaped(distributions.random_from(self.engine, int(low), _count(shape), dtype), shape)

    def randperm(self, n):
        return distributions.randperm(self.engine, int(n))

    def bernoulli(self, p, shape=None, dtype=None):
        """``bernoulli_(p)`` for a float ``p`` (``shape`` required), or ``bernoulli(p)`` for an array ``p``."""
        if np.ndim(p) == 0 and shape is not None:
            p = float(p)
            if not 0.0 <= p <= 1.0:
                raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
            return _shaped(distributions.bernoulli_scalar(self.engine, p, _count(shape), _any_dtype(dtype)), shape)
        p = np.asarray(p)
        if p.size and not ((p >= 0) & (p <= 1)).all():
            raise RuntimeError("bernoulli: all probabilities in p must be in [0, 1]")
        return distributions.bernoulli_tensor(self.engine, p, _any_dtype(dtype, p.dtype))

    def exponential(self, rate, shape, dtype=None):
        rate = float(rate)
        if not rate > 0.0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={rate}")
        return _shaped(distributions.exponential(self.engine, rate, _count(shape), _float_dtype(dtype)), shape)

    def multinomial(self, probs, num_samples, replacement=False):
        return distributions.multinomial(self.engine, probs, int(num_samples), bool(replacement))


def _count(shape):
    return 1 if shape is None else int(np.prod(shape, dtype=np.int64))


def _shaped(values, shape):
    """An array of ``shape``, or a Python scalar when ``shape`` is None."""
    return values[0].item() if shape is None else values.reshape(shape)


def _float_dtype(dtype):
    dtype = np.dtype(backend.get_default_dtype() if dtype is None else dtype)
    if dtype.kind != "f":
        raise TypeError(f"random: expected a floating-point dtype, got {dtype}")
    return dtype


def _any_dtype(dtype, fallback=None):
    if dtype is not None:
        return np.dtype(dtype)
    return np.dtype(backend.get_default_dtype() if fallback is None else fallback)


def draw_for(target, draw):
    """``draw(shape, contiguous)`` laid out for the array ``target`` as PyTorch fills it.

    PyTorch's serial kernels visit a strided tensor in memory order (its iterator sorts dimensions by stride), so a
    transposed tensor gets its values column by column; a contiguous one gets them in logical order.
    """
    if target.flags.c_contiguous or target.ndim < 2:
        return draw(target.shape, True)
    axes = sorted(range(target.ndim), key=lambda axis: -abs(target.strides[axis]))
    values = draw(tuple(target.shape[axis] for axis in axes), False)
    return np.transpose(values, np.argsort(axes))
