"""PyTorch's CPU random engine: a 32-bit Mersenne Twister (mt19937) seeded from the low 32 bits of the seed.

PyTorch seeds with Matsumoto and Nishimura's ``init_genrand`` and twists lazily, exactly like the reference mt19937, so
NumPy's MT19937 bit generator produces the same stream once its key is set the same way.  NumPy then does the twisting
and tempering in C; relulab only seeds, reads and converts.
"""
import numpy as np

from . import compiled

STATE_WORDS = 624
_COMPILED_ENGINE_MIN = 1 << 16  # below this, moving the state in and out of NumPy (~0.1 ms) costs more than it saves
_INIT_MULTIPLIER = 1812433253


def init_genrand(seed):
    """The 624-word key that mt19937's ``init_genrand`` makes from ``seed & 0xffffffff``."""
    key = np.empty(STATE_WORDS, dtype=np.uint32)
    word = seed & 0xFFFFFFFF
    key[0] = word
    for j in range(1, STATE_WORDS):
        word = (_INIT_MULTIPLIER * (word ^ (word >> 30)) + j) & 0xFFFFFFFF
        key[j] = word
    return key


class MT19937:
    """The engine: 32-bit words in PyTorch's order, and 64-bit words made of two of them (high word first)."""

    def __init__(self, seed):
        self._bits = np.random.MT19937()
        self._draw = np.random.Generator(self._bits)
        self.seed(seed)

    def seed(self, seed):
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": init_genrand(seed), "pos": STATE_WORDS}}
        self._fresh = True  # PyTorch reports next = 0 until the first word is read

    def uint32(self, n):
        """The next ``n`` words, as uint32."""
        self._fresh = self._fresh and n == 0
        kernels = compiled.kernels(n) if n >= _COMPILED_ENGINE_MIN else None
        if kernels is not None:
            state = self._bits.state
            key = np.array(state["state"]["key"], dtype=np.uint32)
            words = np.empty(n, np.uint32)
            pos = kernels.mt_words(key, int(state["state"]["pos"]), words)
            self._bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": pos}}
            return words
        # integers() over the full 32-bit range returns each word as drawn, with no rejection and no buffering
        return self._draw.integers(0, 1 << 32, size=n, dtype=np.uint32)

    def uint64(self, n):
        """The next ``n`` 64-bit words: (first << 32) | second, as PyTorch's ``random64()``."""
        pairs = self.uint32(2 * n).astype(np.uint64).reshape(n, 2)
        return (pairs[:, 0] << np.uint64(32)) | pairs[:, 1]

    # PyTorch's own bookkeeping is (left, next): ``left`` counts down to the next twist, ``next`` indexes the key.
    def key_and_position(self):
        state = self._bits.state["state"]
        pos = int(state["pos"])
        left = STATE_WORDS + 1 - pos  # the word at ``pos`` is read after ``left - 1`` more decrements
        following = 0 if self._fresh else pos
        return np.asarray(state["key"], dtype=np.uint32).copy(), left, following

    def set_key_and_position(self, key, left, following):
        if not 1 <= left <= STATE_WORDS:
            raise RuntimeError(f"Generator.set_state: the engine's 'left' count must be in [1, {STATE_WORDS}], "
                               f"got {left}")
        if not 0 <= following <= STATE_WORDS:
            raise RuntimeError(f"Generator.set_state: the engine's 'next' index must be in [0, {STATE_WORDS}], "
                             f"got {following}")
        fresh = left == 1 and following == 0
        if not fresh and following != STATE_WORDS + 1 - left:
            raise RuntimeError(f"Generator.set_state: inconsistent engine position (left {left}, next {following})")
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": np.asarray(key, np.uint32),
                                                                 "pos": STATE_WORDS + 1 - left}}
        self._fresh = fresh
