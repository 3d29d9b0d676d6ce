"""MaxPooling2D, AveragePooling2D (TensorFlow semantics) and GlobalAveragePooling2D."""

from __future__ import annotations

from .. import ops
from ..geometry import check_padding, output_size_and_pads, pair
from .base import Layer, shape_str


class _Pooling2D(Layer):
    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = pair(pool_size, "pool_size", self.name)
        self.strides = pair(strides, "strides", self.name) if strides is not None else self.pool_size
        self.padding = check_padding(padding, self.name)

    def check_input_shape(self, input_shape, building=False):
        if len(input_shape) != 3:
            raise ValueError(
                f"layer {self.name!r} ({type(self).__name__}) expects images of shape "
                f"(batch, height, width, channels), got {shape_str((None, *input_shape))}"
            )
        self.compute_output_shape(input_shape)
        super().check_input_shape(input_shape, building)

    def compute_output_shape(self, input_shape):
        try:
            sizes = [
                output_size_and_pads(input_shape[i], self.pool_size[i], self.strides[i], self.padding)[0]
                for i in (0, 1)
            ]
        except ValueError as error:
            raise ValueError(f"layer {self.name!r} on input {shape_str((None, *input_shape))}: {error}") from None
        return (*sizes, input_shape[-1])

    def call(self, x, training=False):
        return self.op(x, pool_size=self.pool_size, strides=self.strides, padding=self.padding)

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
        }


class MaxPooling2D(_Pooling2D):
    op = staticmethod(ops.max_pool2d)


class AveragePooling2D(_Pooling2D):
    """Average over the window; padded positions are not counted (like TensorFlow)."""

    op = staticmethod(ops.avg_pool2d)


class GlobalAveragePooling2D(Layer):
    def check_input_shape(self, input_shape, building=False):
        if len(input_shape) != 3:
            raise ValueError(
                f"layer {self.name!r} (GlobalAveragePooling2D) expects images of shape "
                f"(batch, height, width, channels), got {shape_str((None, *input_shape))}"
            )
        super().check_input_shape(input_shape, building)

    def compute_output_shape(self, input_shape):
        return (input_shape[-1],)

    def call(self, x, training=False):
        return ops.global_avg_pool(x)
