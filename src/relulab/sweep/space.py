"""The search space of a sweep: ``--grid key=v1,v2,…`` and ``--random N key=loguniform(a,b)|uniform(a,b)|choice(…)``.

Values are read as TOML, like ``--set`` (numbers, booleans, strings, lists), so a trial's overrides are exactly
what a user could type with ``relulab train --set``.  Random draws come from a seeded generator, so the same
command always lists the same trials (a re-run can then recognise the trials it already finished).
"""
import math
import re
from dataclasses import dataclass

import numpy as np

from ..train.config import ConfigError, parse_override

_DISTRIBUTION = re.compile(r"^\s*(loguniform|uniform|choice)\s*\((.*)\)\s*$")


def _value(text, where):
    _, value = parse_override(f"v={text.strip()}")
    return value


def parse_grid(items):
    """['optimizer.lr=1e-3,1e-2', …] → [(key, [values])].  A list value needs brackets: ``key=[1,2],[3,4]``."""
    axes = []
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"--grid expects key=v1,v2,…, got {item!r}")
        key, raw = item.split("=", 1)
        values = _split_top_level(raw)
        if not values or any(v.strip() == "" for v in values):
            raise ConfigError(f"--grid {item}: every value must be non-empty")
        axes.append((key.strip(), [_value(v, f"--grid {key}") for v in values]))
    keys = [k for k, _ in axes]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"--grid: a key appears twice ({', '.join(keys)})")
    return axes


def _split_top_level(text):
    """Split on commas outside brackets and quotes."""
    parts, depth, quote, current = [], 0, None, []
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


@dataclass(frozen=True)
class Distribution:
    kind: str      # loguniform | uniform | choice
    args: tuple

    def sample(self, rng):
        if self.kind == "choice":
            return self.args[int(rng.integers(len(self.args)))]
        low, high = self.args
        if self.kind == "uniform":
            return float(rng.uniform(low, high))
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))

    @property
    def log_scale(self):
        return self.kind == "loguniform"


def parse_distribution(key, text):
    match = _DISTRIBUTION.match(text)
    if not match:
        raise ConfigError(f"--random {key}={text}: expected loguniform(a,b), uniform(a,b) or choice(v1,v2,…)")
    kind, inner = match.groups()
    args = tuple(_value(v, f"--random {key}") for v in _split_top_level(inner) if v.strip())
    if kind == "choice":
        if not args:
            raise ConfigError(f"--random {key}=choice(): needs at least one value")
        return Distribution(kind, args)
    if len(args) != 2 or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
        raise ConfigError(f"--random {key}={text}: {kind} needs two numbers, low and high")
    low, high = (float(a) for a in args)
    if not low < high:
        raise ConfigError(f"--random {key}={text}: needs low < high")
    if kind == "loguniform" and low <= 0:
        raise ConfigError(f"--random {key}={text}: loguniform needs 0 < low")
    return Distribution(kind, (low, high))


def parse_random(spec):
    """['20', 'optimizer.lr=loguniform(1e-4,1e-1)', …] → (N, [(key, Distribution)])."""
    if not spec:
        return 0, []
    try:
        count = int(spec[0])
    except ValueError:
        raise ConfigError(f"--random expects N first, then key=distribution pairs; got {spec[0]!r}") from None
    if count <= 0:
        raise ConfigError(f"--random N: N must be a positive integer, got {count}")
    keys = []
    for item in spec[1:]:
        if "=" not in item:
            raise ConfigError(f"--random expects key=distribution, got {item!r}")
        key, raw = item.split("=", 1)
        keys.append((key.strip(), parse_distribution(key.strip(), raw)))
    if not keys:
        raise ConfigError("--random N needs at least one key=distribution")
    return count, keys


def trials(grid=(), random_count=0, random_keys=(), seed=0):
    """Every trial's parameters, as ordered {key: value} dicts: the grid's product, each combined with
    ``random_count`` seeded draws of the random keys (or the grid alone, or the draws alone)."""
    overlap = {k for k, _ in grid} & {k for k, _ in random_keys}
    if overlap:
        raise ConfigError(f"a key is both in --grid and --random: {', '.join(sorted(overlap))}")
    points = [{}]
    for key, values in grid:
        points = [{**p, key: v} for p in points for v in values]
    if not random_keys:
        return points
    rng = np.random.default_rng(seed)
    out = []
    for p in points:
        for _ in range(random_count):
            out.append({**p, **{key: dist.sample(rng) for key, dist in random_keys}})
    return out


def override(key, value):
    """A trial parameter as a ``--set`` string, read back to the same value."""
    import json
    if isinstance(value, str):
        return f"{key}={json.dumps(value)}"
    if isinstance(value, bool):
        return f"{key}={'true' if value else 'false'}"
    if isinstance(value, float):
        return f"{key}={value!r}"
    return f"{key}={json.dumps(value)}"
