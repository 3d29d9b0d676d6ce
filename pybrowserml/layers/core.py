"""Dense, Flatten, Dropout, Concatenate, activations (ReLU, ReLU6, LeakyReLU, Softmax) and the functional API's Input."""

from __future__ import annotations

import math

from .. import ops
from .. import random as pb_random
from .base import FUSED_ACTIVATIONS, Layer, SymbolicTensor, get_activation_name, shape_str, unique_name


class InputLayer(Layer):
    """The source node of a functional model; holds the input shape (without the batch axis)."""

    def __init__(self, shape, name=None, **kwargs):
        super().__init__(name=name or unique_name("input_layer"), **kwargs)
        self.shape = tuple(int(d) for d in shape)
        self.input_shape = self.shape
        self.built = True

    def call(self, x, training=False):
        return x

    def get_config(self):
        return {**super().get_config(), "shape": list(self.shape)}


def Input(shape, name=None) -> SymbolicTensor:
    """`x = Input((28, 28, 1))`: the start of a functional model (shape without the batch axis)."""
    if isinstance(shape, int):
        shape = (shape,)
    if not shape or any(not isinstance(d, int) or d < 1 for d in shape):
        raise ValueError(f"Input shape must be a tuple of positive ints (batch axis excluded), got {shape!r}")
    layer = InputLayer(shape, name=name)
    return SymbolicTensor((None, *layer.shape), layer=layer)


class _WithActivation(Layer):
    """Layers ending in an activation; a softmax can be skipped so the loss gets logits (stable)."""

    def _finish(self, y):
        if self.activation in FUSED_ACTIVATIONS:
            return y
        return ops.activation(y, self.activation)

    @property
    def _kernel_activation(self):
        return self.activation if self.activation in FUSED_ACTIVATIONS else None

    def ends_in_softmax(self) -> bool:
        return self.activation == "softmax"


class Dense(_WithActivation):
    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_normal",
        bias_initializer="zeros",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"Dense units must be a positive int, got {units!r}")
        self.units = units
        self.activation = get_activation_name(activation)
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer, self.seed = kernel_initializer, bias_initializer, seed

    def check_input_shape(self, input_shape, building=False):
        if len(input_shape) != 1:
            raise ValueError(
                f"layer {self.name!r} (Dense) expects inputs of shape (batch, features), got "
                f"{shape_str((None, *input_shape))}: add Flatten() or GlobalAveragePooling2D() before it"
            )
        super().check_input_shape(input_shape, building)

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer, seed=self.seed)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer) if self.use_bias else None

    def compute_output_shape(self, input_shape):
        return (self.units,)

    def logits(self, x, training=False):
        return ops.dense(x, self.kernel, self.bias, activation=None)

    def call(self, x, training=False):
        return self._finish(ops.dense(x, self.kernel, self.bias, activation=self._kernel_activation))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation, "use_bias": self.use_bias}


class Flatten(Layer):
    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def call(self, x, training=False):
        return ops.flatten(x)


class Dropout(Layer):
    """Inverted dropout in training, identity otherwise. The mask comes from the fit's generator."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate}")
        self.rate, self.seed = float(rate), seed
        self.rng = pb_random.spawn(seed)

    def call(self, x, training=False):
        return ops.dropout(x, self.rate, self.rng) if training else x

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class Concatenate(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def check_input_shape(self, input_shapes, building=False):
        if not isinstance(input_shapes, (list, tuple)) or not input_shapes or not isinstance(input_shapes[0], tuple):
            raise ValueError(f"layer {self.name!r} (Concatenate) expects a list of inputs")
        ranks = {len(s) for s in input_shapes}
        axis = self.axis % (len(input_shapes[0]) + 1) - 1
        others = {tuple(d for i, d in enumerate(s) if i != axis) for s in input_shapes}
        if len(ranks) != 1 or len(others) != 1:
            raise ValueError(
                f"layer {self.name!r} (Concatenate) cannot join shapes "
                f"{[shape_str((None, *s)) for s in input_shapes]} along axis {self.axis}"
            )
        if not building and [tuple(s) for s in input_shapes] != [tuple(s) for s in self.input_shape]:
            raise ValueError(f"layer {self.name!r} (Concatenate) was built for {self.input_shape}, got {input_shapes}")

    def compute_output_shape(self, input_shapes):
        axis = self.axis % (len(input_shapes[0]) + 1) - 1
        out = list(input_shapes[0])
        out[axis] = sum(s[axis] for s in input_shapes)
        return tuple(out)

    def call(self, inputs, training=False):
        return ops.concat(list(inputs), axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Activation(_WithActivation):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = get_activation_name(activation)

    def logits(self, x, training=False):
        return x

    def call(self, x, training=False):
        return ops.activation(x, self.activation)

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


class ReLU(Layer):
    """ReLU, optionally capped: ReLU(max_value=6) is ReLU6."""

    def __init__(self, max_value=None, **kwargs):
        super().__init__(**kwargs)
        if max_value not in (None, 6, 6.0):
            raise ValueError(f"ReLU max_value must be None or 6 (ReLU6), got {max_value!r}")
        self.max_value = max_value

    def call(self, x, training=False):
        return ops.relu(x) if self.max_value is None else ops.relu6(x)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value}


class LeakyReLU(Layer):
    """max(x, negative_slope * x) for 0 <= negative_slope <= 1 (Keras's default slope 0.3; `alpha=` is its
    older name). Composed of relu and scale kernels, so every backend runs it and autograd differentiates it:
    (1 - s) * relu(x) + s * x."""

    def __init__(self, negative_slope=0.3, alpha=None, **kwargs):
        super().__init__(**kwargs)
        slope = negative_slope if alpha is None else alpha
        if isinstance(slope, bool) or not isinstance(slope, (int, float)) or not 0.0 <= slope <= 1.0:
            raise ValueError(f"LeakyReLU: negative_slope must be a number in [0, 1], got {slope!r}")
        self.negative_slope = float(slope)

    def call(self, x, training=False):
        s = self.negative_slope
        return ops.add(ops.scale(ops.relu(x), 1.0 - s, 0.0), ops.scale(x, s, 0.0))

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ReLU6(ReLU):
    def __init__(self, **kwargs):
        kwargs.pop("max_value", None)
        super().__init__(max_value=6, **kwargs)


class Softmax(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def ends_in_softmax(self) -> bool:
        return self.axis == -1

    def logits(self, x, training=False):
        return x

    def call(self, x, training=False):
        return ops.softmax(x, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
