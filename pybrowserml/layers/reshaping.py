"""Rescaling (x * scale + offset) and Reshape, Keras's preprocessing and reshaping layers."""

from __future__ import annotations

import math

from .. import ops
from .base import Layer, shape_str


class Rescaling(Layer):
    """`Rescaling(1 / 255)`: y = x * scale + offset, like Keras's. A model that begins with it takes inputs
    of any numeric dtype as they are (integer pixels are not scaled again by 1/255 before it); see
    docs/api.md, "Input scaling"."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for what, value in (("scale", scale), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"Rescaling: {what} must be a finite number, got {value!r}")
        self.scale, self.offset = float(scale), float(offset)

    def call(self, x, training=False):
        return ops.scale(x, self.scale, self.offset)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Reshape(Layer):
    """`Reshape((7, 7, 16))`: each sample to `target_shape` (batch axis excluded; one entry may be -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, int):
            target_shape = (target_shape,)
        target_shape = tuple(target_shape)
        if (
            not target_shape
            or any(isinstance(d, bool) or not isinstance(d, int) or (d < 1 and d != -1) for d in target_shape)
            or target_shape.count(-1) > 1
        ):
            raise ValueError(
                f"Reshape: target_shape must be positive ints (batch axis excluded, at most one -1), got {target_shape!r}"
            )
        self.target_shape = target_shape

    def compute_output_shape(self, input_shape):
        size = math.prod(input_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(self._mismatch(input_shape))
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise ValueError(self._mismatch(input_shape))
        return self.target_shape

    def _mismatch(self, input_shape):
        return (
            f"layer {self.name!r} (Reshape) cannot reshape inputs of shape {shape_str((None, *input_shape))} "
            f"({math.prod(input_shape)} values per sample) to {shape_str((None, *self.target_shape))}"
        )

    def check_input_shape(self, input_shape, building=False):
        self.compute_output_shape(input_shape)
        super().check_input_shape(input_shape, building)

    def call(self, x, training=False):
        return ops.reshape(x, (x.shape[0], *self.compute_output_shape(tuple(x.shape[1:]))))

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}
