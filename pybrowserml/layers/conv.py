"""Conv2D, DepthwiseConv2D and SeparableConv2D over NHWC images (bias + activation fused in the kernel)."""

from __future__ import annotations

from .. import ops
from ..geometry import check_padding, output_size_and_pads, pair
from .base import shape_str
from .core import _WithActivation, get_activation_name


class _ConvBase(_WithActivation):
    """What Conv2D and DepthwiseConv2D share: geometry, input checks, the fused forward."""

    def __init__(
        self,
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
        self.kernel_size = pair(kernel_size, "kernel_size", self.name)
        self.strides = pair(strides, "strides", self.name)
        self.padding = check_padding(padding, self.name)
        self.activation = get_activation_name(activation)
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer, self.seed = kernel_initializer, bias_initializer, seed

    def check_input_shape(self, input_shape, building=False):
        if len(input_shape) != 3:
            raise ValueError(
                f"layer {self.name!r} ({type(self).__name__}) expects images of shape (batch, height, width, "
                f"channels), got {shape_str((None, *input_shape))}"
            )
        self._spatial(input_shape)
        super().check_input_shape(input_shape, building)

    def _spatial(self, input_shape):
        try:
            oh = output_size_and_pads(input_shape[0], self.kernel_size[0], self.strides[0], self.padding)[0]
            ow = output_size_and_pads(input_shape[1], self.kernel_size[1], self.strides[1], self.padding)[0]
        except ValueError as error:
            raise ValueError(
                f"layer {self.name!r} ({type(self).__name__}) on input {shape_str((None, *input_shape))}: {error}"
            ) from None
        return oh, ow

    def _conv(self, x, activation):
        fn = ops.conv2d if self.op == "conv2d" else ops.depthwise_conv2d
        return fn(x, self.kernel, self.bias, strides=self.strides, padding=self.padding, activation=activation)

    def logits(self, x, training=False):
        return self._conv(x, None)

    def call(self, x, training=False):
        return self._finish(self._conv(x, self._kernel_activation))

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "activation": self.activation,
            "use_bias": self.use_bias,
        }


class Conv2D(_ConvBase):
    op = "conv2d"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None, use_bias=True, **kwargs):
        super().__init__(kernel_size, strides, padding, activation, use_bias, **kwargs)
        if not isinstance(filters, int) or filters < 1:
            raise ValueError(f"layer {self.name!r}: filters must be a positive int, got {filters!r}")
        self.filters = filters

    def build(self, input_shape):
        shape = (*self.kernel_size, input_shape[-1], self.filters)
        self.kernel = self.add_weight("kernel", shape, self.kernel_initializer, seed=self.seed)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer) if self.use_bias else None

    def compute_output_shape(self, input_shape):
        return (*self._spatial(input_shape), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


class DepthwiseConv2D(_ConvBase):
    """Per-channel convolution; output channel c * depth_multiplier + m (TensorFlow's order)."""

    op = "depthwise_conv2d"

    def __init__(
        self,
        kernel_size,
        strides=1,
        padding="valid",
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer=None,
        **kwargs,
    ):
        # Keras names the kernel's initializer `depthwise_initializer`; `kernel_initializer` works too.
        if depthwise_initializer is not None:
            kwargs["kernel_initializer"] = depthwise_initializer
        super().__init__(kernel_size, strides, padding, activation, use_bias, **kwargs)
        if not isinstance(depth_multiplier, int) or depth_multiplier < 1:
            raise ValueError(f"layer {self.name!r}: depth_multiplier must be a positive int, got {depth_multiplier!r}")
        self.depth_multiplier = depth_multiplier

    def build(self, input_shape):
        shape = (*self.kernel_size, input_shape[-1], self.depth_multiplier)
        self.kernel = self.add_weight("depthwise_kernel", shape, self.kernel_initializer, seed=self.seed)
        channels = input_shape[-1] * self.depth_multiplier
        self.bias = self.add_weight("bias", (channels,), self.bias_initializer) if self.use_bias else None

    def compute_output_shape(self, input_shape):
        return (*self._spatial(input_shape), input_shape[-1] * self.depth_multiplier)

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier}


class SeparableConv2D(_WithActivation):
    """Depthwise conv (no bias) then a 1x1 pointwise conv (bias, activation): MobileNet's block."""

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.activation = get_activation_name(activation)
        self.depthwise = DepthwiseConv2D(
            kernel_size, strides, padding, depth_multiplier, use_bias=False, name=f"{self.name}/depthwise", seed=seed
        )
        self.pointwise = Conv2D(
            filters,
            1,
            1,
            "valid",
            activation,
            use_bias=use_bias,
            name=f"{self.name}/pointwise",
            seed=None if seed is None else seed + 1,
        )
        self._layers = [self.depthwise, self.pointwise]
        self.seed = seed

    def check_input_shape(self, input_shape, building=False):
        self.depthwise.check_input_shape(input_shape, building=not self.depthwise.built)
        super().check_input_shape(input_shape, building)

    def build(self, input_shape):
        self.depthwise._ensure_built(input_shape)
        self.pointwise._ensure_built(self.depthwise.compute_output_shape(input_shape))

    def compute_output_shape(self, input_shape):
        return self.pointwise.compute_output_shape(self.depthwise.compute_output_shape(input_shape))

    def logits(self, x, training=False):
        return self.pointwise.logits(self.depthwise(x))

    def call(self, x, training=False):
        return self.pointwise(self.depthwise(x))

    def get_config(self):
        d = self.depthwise
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(d.kernel_size),
            "strides": list(d.strides),
            "padding": d.padding,
            "depth_multiplier": d.depth_multiplier,
            "activation": self.activation,
            "use_bias": self.pointwise.use_bias,
            "seed": self.seed,
        }
