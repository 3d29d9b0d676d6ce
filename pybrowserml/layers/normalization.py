"""BatchNormalization over the channel (last) axis, Keras defaults."""

from __future__ import annotations

from .. import ops
from .base import Layer


class BatchNormalization(Layer):
    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        if axis != -1:
            raise ValueError(f"layer {self.name!r}: BatchNormalization supports axis=-1 (channels last) only")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = center, scale

    def build(self, input_shape):
        channels = (input_shape[-1],)
        self.gamma = self.add_weight("gamma", channels, "ones", trainable=self.scale)
        self.beta = self.add_weight("beta", channels, "zeros", trainable=self.center)
        self.moving_mean = self.add_weight("moving_mean", channels, "zeros", trainable=False)
        self.moving_variance = self.add_weight("moving_variance", channels, "ones", trainable=False)

    def call(self, x, training=False):
        return ops.batch_norm(
            x,
            self.gamma,
            self.beta,
            self.moving_mean,
            self.moving_variance,
            training=training,
            momentum=self.momentum,
            epsilon=self.epsilon,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
        }
