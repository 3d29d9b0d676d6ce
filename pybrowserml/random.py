"""One seedable source of randomness for weight initialisation, shuffling and dropout.

`set_random_seed(seed)` makes everything that follows deterministic, like keras.utils.set_random_seed.
"""

from __future__ import annotations

import contextlib

import numpy as np

_generator = np.random.default_rng()


def set_random_seed(seed: int) -> None:
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"the random seed must be an int, got {seed!r}")
    _generator = np.random.default_rng(int(seed))


def generator() -> np.random.Generator:
    """The package-wide generator (weights are drawn from it when no layer seed is given)."""
    return _generator


def spawn(seed=None) -> np.random.Generator:
    """A generator of its own: from `seed` when given, else drawn from the package-wide one."""
    if seed is not None:
        return np.random.default_rng(int(seed))
    return np.random.default_rng(_generator.integers(0, 2**63 - 1))


@contextlib.contextmanager
def seeded(seed):
    """Within the block, draw from a generator seeded with `seed` (None: leave things as they are).

    Model builders take `seed=` through this: every weight created inside is reproducible, and the
    package-wide generator is restored afterwards, untouched.
    """
    global _generator
    if seed is None:
        yield
        return
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"the random seed must be an int, got {seed!r}")
    saved, _generator = _generator, np.random.default_rng(int(seed))
    try:
        yield
    finally:
        _generator = saved
