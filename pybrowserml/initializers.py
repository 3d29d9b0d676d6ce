"""Weight initialisers, by Keras name.

pybrowserml's default kernel initialiser is Glorot-normal (Keras's is Glorot-uniform): a truncated
normal with stddev sqrt(2 / (fan_in + fan_out)) / 0.8796..., cut at two standard deviations, which is
exactly Keras's GlorotNormal (VarianceScaling(1, "fan_avg", "truncated_normal")). Biases start at zero.
"""

from __future__ import annotations

import math

import numpy as np

# stddev of a standard normal truncated to [-2, 2]: dividing by it restores the intended variance
_TRUNCATED_STD = 0.87962566103423978


def compute_fans(shape) -> tuple[int, int]:
    """Keras's fans: dense (in, out); conv (kh, kw, in, out) -> receptive field * in, receptive field * out."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(rng, shape, stddev):
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():  # redraw the tails, as a truncated normal does
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return values * stddev


def glorot_normal(shape, rng):
    fan_in, fan_out = compute_fans(shape)
    return _truncated_normal(rng, shape, math.sqrt(2.0 / (fan_in + fan_out)) / _TRUNCATED_STD)


def glorot_uniform(shape, rng):
    fan_in, fan_out = compute_fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape)


def he_normal(shape, rng):
    fan_in, _ = compute_fans(shape)
    return _truncated_normal(rng, shape, math.sqrt(2.0 / fan_in) / _TRUNCATED_STD)


def zeros(shape, rng=None):
    return np.zeros(shape)


def ones(shape, rng=None):
    return np.ones(shape)


_BY_NAME = {
    "glorot_normal": glorot_normal,
    "glorot_uniform": glorot_uniform,
    "he_normal": he_normal,
    "zeros": zeros,
    "ones": ones,
}


def get(name):
    if callable(name):
        return name
    if name not in _BY_NAME:
        raise ValueError(f"unknown initializer {name!r}: use one of {sorted(_BY_NAME)} or a callable(shape, rng)")
    return _BY_NAME[name]


def name_of(initializer) -> str:
    for name, fn in _BY_NAME.items():
        if fn is initializer:
            return name
    return getattr(initializer, "__name__", "custom")
