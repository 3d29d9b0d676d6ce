"""Data augmentation layers (Keras's preprocessing layers): random in training, identity otherwise.

They sit right after the input, so augmentation runs where the model runs (on the device, per batch)
and a saved model carries it. The random draws come from the layer's own generator, like Dropout's
mask, so a seeded fit is reproducible and a resumed fit replays them (see Model._random_layers).
"""

from __future__ import annotations

import numpy as np

from .. import ops
from .. import random as pb_random
from .base import Layer

FILL_MODES = ("constant", "reflect", "nearest", "wrap")


def _factor_range(factor, name, layer):
    """Keras's factor: a float f means [-f, f]; a pair (lower, upper); each a fraction of the size in [-1, 1]."""
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        lower, upper = -abs(float(factor)), abs(float(factor))
    elif isinstance(factor, (tuple, list)) and len(factor) == 2:
        lower, upper = float(factor[0]), float(factor[1])
    else:
        raise ValueError(f"layer {layer!r}: {name} must be a float or a (lower, upper) pair, got {factor!r}")
    if not -1.0 <= lower <= upper <= 1.0:
        raise ValueError(f"layer {layer!r}: {name} must lie in [-1, 1] with lower <= upper, got ({lower}, {upper})")
    return lower, upper


def source_indices(shifts, size, fill_mode):
    """For each sample's shift and each output position i, the input index it copies (-1: fill).

    shifts: int array (N,); returns int32 (N, size). Keras's fill modes for the pixels shifted in:
    constant (k k | a b c d | k k), reflect (b a | a b c d | d c), nearest (a a | a b c d | d d),
    wrap (c d | a b c d | a b)."""
    index = np.arange(size)[None, :] - np.asarray(shifts, dtype=np.int64)[:, None]
    if fill_mode == "constant":
        index = np.where((index >= 0) & (index < size), index, -1)
    elif fill_mode == "nearest":
        index = np.clip(index, 0, size - 1)
    elif fill_mode == "wrap":
        index = np.mod(index, size)
    elif fill_mode == "reflect":
        period = np.mod(index, 2 * size)
        index = np.where(period < size, period, 2 * size - 1 - period)
    else:
        raise ValueError(f"fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
    return index.astype(np.int32)


class RandomTranslation(Layer):
    """Shift each training image by a random whole number of pixels (Keras's RandomTranslation).

    `height_factor`/`width_factor`: a float f shifts by up to f * size pixels either way, a pair
    (lower, upper) by [lower * size, upper * size] (positive: down/right). The shift is drawn per image
    and rounded to whole pixels, so no pixel is interpolated: `interpolation` must be "nearest"
    (Keras's default is "bilinear"). `fill_mode` says what fills the pixels shifted in (Keras's
    default "reflect"; "constant" fills with `fill_value`). Only in training; identity otherwise.
    """

    def __init__(
        self,
        height_factor,
        width_factor,
        fill_mode="reflect",
        interpolation="nearest",
        seed=None,
        fill_value=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.height_range = _factor_range(height_factor, "height_factor", self.name)
        self.width_range = _factor_range(width_factor, "width_factor", self.name)
        self.height_factor, self.width_factor = height_factor, width_factor
        if fill_mode not in FILL_MODES:
            raise ValueError(f"layer {self.name!r}: fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
        if interpolation != "nearest":
            raise ValueError(
                f"layer {self.name!r}: interpolation={interpolation!r} is not supported: "
                "RandomTranslation shifts by whole pixels, use interpolation='nearest'"
            )
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, float(fill_value)
        self.seed = seed
        self.rng = pb_random.spawn(seed)

    def check_input_shape(self, input_shape, building=False):
        self._expect_rank(input_shape, 3, "images (batch, height, width, channels)")
        super().check_input_shape(input_shape, building)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _shifts(self, count, size, factor_range):
        lower, upper = factor_range
        return np.rint(self.rng.uniform(lower * size, upper * size, count)).astype(np.int64)

    def call(self, x, training=False):
        if not training:
            return x
        n, h, w = x.shape[:3]
        rows = source_indices(self._shifts(n, h, self.height_range), h, self.fill_mode)
        cols = source_indices(self._shifts(n, w, self.width_range), w, self.fill_mode)
        return ops.remap_pixels(x, rows, cols, self.fill_value)

    def get_config(self):
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
            "fill_mode": self.fill_mode,
            "interpolation": self.interpolation,
            "seed": self.seed,
            "fill_value": self.fill_value,
        }
