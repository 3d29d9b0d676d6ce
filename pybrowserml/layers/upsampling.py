"""UpSampling2D: nearest-neighbour upsampling of NHWC images by an integer factor per axis."""

from __future__ import annotations

from .. import ops
from ..geometry import pair
from .base import Layer, shape_str


class UpSampling2D(Layer):
    """Repeats every pixel size[0] times down and size[1] times across (Keras, interpolation='nearest')."""

    def __init__(self, size=(2, 2), interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = pair(size, "size", self.name)
        if interpolation != "nearest":
            raise ValueError(
                f"layer {self.name!r}: interpolation {interpolation!r} is not supported; use 'nearest', "
                "or Conv2DTranspose for a learned upsampling"
            )
        self.interpolation = interpolation

    def check_input_shape(self, input_shape, building=False):
        if len(input_shape) != 3:
            raise ValueError(
                f"layer {self.name!r} (UpSampling2D) expects images of shape (batch, height, width, channels), "
                f"got {shape_str((None, *input_shape))}"
            )
        super().check_input_shape(input_shape, building)

    def compute_output_shape(self, input_shape):
        return (input_shape[0] * self.size[0], input_shape[1] * self.size[1], input_shape[2])

    def call(self, x, training=False):
        return ops.upsample_nearest2d(x, self.size)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "interpolation": self.interpolation}
