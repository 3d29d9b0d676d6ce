"""Conv2DTranspose: the learned upsampling of a segmentation decoder (Keras's layer and geometry)."""

from __future__ import annotations

from .. import ops
from ..geometry import check_padding, pair
from .base import shape_str
from .core import _WithActivation, get_activation_name

# Activations the op applies itself; others (softmax, sigmoid, tanh) run as a separate op after it.
_OP_ACTIVATIONS = (None, "linear", "relu", "relu6")


class Conv2DTranspose(_WithActivation):
    """Transposed convolution over NHWC images; kernel (kh, kw, filters, in channels) as in Keras.

    Output size per axis: input * stride with padding='same', input * stride + max(kernel - stride, 0)
    with padding='valid'."""

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_normal",
        bias_initializer="zeros",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(filters, int) or filters < 1:
            raise ValueError(f"layer {self.name!r}: filters must be a positive int, got {filters!r}")
        self.filters = filters
        self.kernel_size = pair(kernel_size, "kernel_size", self.name)
        self.strides = pair(strides, "strides", self.name)
        self.padding = check_padding(padding, self.name)
        self.activation = get_activation_name(activation)
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer, self.seed = kernel_initializer, bias_initializer, seed

    def check_input_shape(self, input_shape, building=False):
        if len(input_shape) != 3:
            raise ValueError(
                f"layer {self.name!r} (Conv2DTranspose) expects images of shape (batch, height, width, "
                f"channels), got {shape_str((None, *input_shape))}"
            )
        super().check_input_shape(input_shape, building)

    def build(self, input_shape):
        shape = (*self.kernel_size, self.filters, input_shape[-1])
        self.kernel = self.add_weight("kernel", shape, self.kernel_initializer, seed=self.seed)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer) if self.use_bias else None

    def compute_output_shape(self, input_shape):
        h, w = (
            ops.conv_transpose_output_size(input_shape[i], self.kernel_size[i], self.strides[i], self.padding)
            for i in (0, 1)
        )
        return (h, w, self.filters)

    def _deconv(self, x, activation):
        return ops.conv2d_transpose(
            x, self.kernel, self.bias, strides=self.strides, padding=self.padding, activation=activation
        )

    def logits(self, x, training=False):
        return self._deconv(x, None)

    def call(self, x, training=False):
        if self.activation in _OP_ACTIVATIONS:
            return self._deconv(x, None if self.activation == "linear" else self.activation)
        return ops.activation(self._deconv(x, None), self.activation)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "activation": self.activation,
            "use_bias": self.use_bias,
        }
