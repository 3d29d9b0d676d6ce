"""Multiply-accumulates per image of a functional model, from its layers' shapes."""

from __future__ import annotations

import numpy as np

from ..layers.conv import Conv2D, DepthwiseConv2D, SeparableConv2D
from ..layers.conv_transpose import Conv2DTranspose
from ..layers.core import Dense


def _layer_macs(layer, input_shape, output_shape) -> int:
    if isinstance(layer, SeparableConv2D):
        depthwise_shape = layer.depthwise.compute_output_shape(input_shape)
        return _layer_macs(layer.depthwise, input_shape, depthwise_shape) + _layer_macs(
            layer.pointwise, depthwise_shape, output_shape
        )
    if isinstance(layer, Conv2D):
        kh, kw = layer.kernel_size
        return int(np.prod(output_shape[:2])) * kh * kw * input_shape[-1] * layer.filters
    if isinstance(layer, Conv2DTranspose):  # every input pixel scatters a kh x kw window of all its filters
        kh, kw = layer.kernel_size
        return int(np.prod(input_shape[:2])) * kh * kw * input_shape[-1] * layer.filters
    if isinstance(layer, DepthwiseConv2D):
        kh, kw = layer.kernel_size
        return int(np.prod(output_shape[:2])) * kh * kw * input_shape[-1] * layer.depth_multiplier
    if isinstance(layer, Dense):
        return int(np.prod(input_shape)) * layer.units
    return 0


def count_macs(model) -> int:
    """Multiply-accumulates of one forward pass on one image: conv, transposed conv, depthwise,
    separable and dense layers (activations, pooling, upsampling and additions are not counted, as usual)."""
    nodes = getattr(model, "_nodes", None)
    if nodes is None or not hasattr(model, "_input"):
        raise TypeError("count_macs needs a functional pybrowserml Model (pybrowserml.models.Model)")
    total = 0
    for node in nodes:
        if not node.parents:
            continue
        total += _layer_macs(node.layer, tuple(node.parents[0].shape[1:]), tuple(node.shape[1:]))
    return total
