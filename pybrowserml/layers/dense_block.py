"""DenseNet-style blocks of depthwise-separable convolutions.

Layer 1 of a block (optionally strided, to downsample) sees the block's input; layer k >= 2 sees the
concatenation of the outputs of layers 1..k-1; the block outputs the concatenation of all its layers'
outputs. Each layer is a depthwise 3x3 conv without bias followed by a 1x1 pointwise conv with bias and
the activation.

Two forms share one definition of the layers: `DenseBlock`, a single layer for Sequential models, and
`dense_block(x, ...)`, which wires the same layers into a functional graph (visible layer by layer in
summary() and exportable to TF.js as standard layers).
"""

from __future__ import annotations

from .. import ops
from .base import Layer, unique_name
from .conv import Conv2D, DepthwiseConv2D
from .core import Concatenate


def _separable_pairs(
    name, filters, layers, strides, kernel_size, activation, depth_multiplier, kernel_initializer="glorot_normal"
):
    if not isinstance(layers, int) or layers < 1:
        raise ValueError(f"dense block {name!r}: layers must be a positive int, got {layers!r}")
    if not isinstance(filters, int) or filters < 1:
        raise ValueError(f"dense block {name!r}: filters must be a positive int, got {filters!r}")
    pairs = []
    for k in range(1, layers + 1):
        depthwise = DepthwiseConv2D(
            kernel_size,
            strides=strides if k == 1 else 1,
            padding="same",
            depth_multiplier=depth_multiplier,
            use_bias=False,
            kernel_initializer=kernel_initializer,
            name=f"{name}/layer_{k}/depthwise",
        )
        pointwise = Conv2D(
            filters,
            1,
            padding="same",
            activation=activation,
            use_bias=True,
            kernel_initializer=kernel_initializer,
            name=f"{name}/layer_{k}/pointwise",
        )
        pairs.append((depthwise, pointwise))
    return pairs


def _layer_input(outputs, k, concat):
    """Input of layer k+1 (0-based k >= 1): layer 1's output alone, then the concat of all before it."""
    return outputs[0] if k == 1 else concat(k, outputs)


def dense_block(
    x,
    filters,
    layers=4,
    strides=2,
    kernel_size=3,
    activation="relu",
    depth_multiplier=1,
    kernel_initializer="glorot_normal",
    name=None,
):
    """Functional form: `y = dense_block(x, 32)` adds the block's layers to the graph and returns its output."""
    name = name or unique_name("dense_block")
    pairs = _separable_pairs(
        name, filters, layers, strides, kernel_size, activation, depth_multiplier, kernel_initializer
    )
    outputs = []
    for k, (depthwise, pointwise) in enumerate(pairs):
        source = (
            x
            if k == 0
            else _layer_input(outputs, k, lambda k, outs: Concatenate(name=f"{name}/layer_{k + 1}/inputs")(list(outs)))
        )
        outputs.append(pointwise(depthwise(source)))
    return outputs[0] if len(outputs) == 1 else Concatenate(name=f"{name}/output")(outputs)


class DenseBlock(Layer):
    """Single-layer form of `dense_block` for Sequential models."""

    def __init__(
        self,
        filters,
        layers=4,
        strides=2,
        kernel_size=3,
        activation="relu",
        depth_multiplier=1,
        kernel_initializer="glorot_normal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters, self.layers, self.strides = filters, layers, strides
        self.kernel_size, self.activation, self.depth_multiplier = kernel_size, activation, depth_multiplier
        self.pairs = _separable_pairs(
            self.name, filters, layers, strides, kernel_size, activation, depth_multiplier, kernel_initializer
        )
        self._layers = [layer for pair in self.pairs for layer in pair]

    def check_input_shape(self, input_shape, building=False):
        self.pairs[0][0].check_input_shape(input_shape, building=not self.pairs[0][0].built)
        super().check_input_shape(input_shape, building)

    def build(self, input_shape):
        shape = input_shape
        out_shapes = []
        for k, (depthwise, pointwise) in enumerate(self.pairs):
            if k >= 2:
                shape = (*out_shapes[0][:2], sum(s[-1] for s in out_shapes))
            elif k == 1:
                shape = out_shapes[0]
            depthwise._ensure_built(shape)
            pointwise._ensure_built(depthwise.compute_output_shape(shape))
            out_shapes.append(pointwise.compute_output_shape(depthwise.compute_output_shape(shape)))

    def compute_output_shape(self, input_shape):
        first = self.pairs[0][1].compute_output_shape(self.pairs[0][0].compute_output_shape(input_shape))
        return (*first[:2], self.filters * self.layers)

    def call(self, x, training=False):
        outputs = []
        for k, (depthwise, pointwise) in enumerate(self.pairs):
            source = x if k == 0 else _layer_input(outputs, k, lambda k, outs: ops.concat(list(outs), axis=-1))
            outputs.append(pointwise(depthwise(source)))
        return outputs[0] if len(outputs) == 1 else ops.concat(outputs, axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "layers": self.layers,
            "strides": self.strides,
            "kernel_size": self.kernel_size,
            "activation": self.activation,
            "depth_multiplier": self.depth_multiplier,
        }
