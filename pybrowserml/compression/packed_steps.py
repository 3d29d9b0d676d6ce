"""The steps of a packed network, one per layer of the students, and how their weights map to the students'.

Every step runs one layer for all students at once on packed tensors (packed_layout.py says where each
student's channels are): a conv or dense layer on the image every student reads is one wider layer (the
students' filters concatenated); a 1x1 conv or a dense layer on packed channels is a grouped (block-
diagonal) dense kernel; a depthwise conv, a concat, pooling and activations are per channel and simply
run on the packed channels. A packed weight maps to the students' by a pure rearrangement (`pack`,
`unpack`), which also serves the optimizer's slots (same shapes as the weights).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import ops
from ..layers.base import FUSED_ACTIVATIONS
from .packed_layout import Layout


class Concatenated:
    """The students' arrays concatenated along `axis` (a wider layer's output channels)."""

    def __init__(self, axis):
        self.axis = axis

    def pack(self, arrays):
        return np.concatenate(arrays, axis=self.axis)

    def unpack(self, array, shapes):
        bounds = np.cumsum([shape[self.axis] for shape in shapes])[:-1]
        return [np.ascontiguousarray(a) for a in np.split(array, bounds, axis=self.axis)]


class Flattened:
    """The students' arrays flattened one after another (a grouped dense kernel's blocks)."""

    def pack(self, arrays):
        return np.concatenate([a.reshape(-1) for a in arrays])

    def unpack(self, array, shapes):
        out, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            out.append(array[start : start + size].reshape(shape).copy())
            start += size
        return out


class Gathered:
    """Each student's entries along `axis` at its packed positions (per-channel weights of packed channels)."""

    def __init__(self, axis, positions, size):
        self.axis, self.positions, self.size = axis, positions, size

    def pack(self, arrays):
        shape = list(arrays[0].shape)
        shape[self.axis] = self.size
        out = np.zeros(shape, dtype=arrays[0].dtype)
        for array, positions in zip(arrays, self.positions):
            index = [slice(None)] * len(shape)
            index[self.axis] = positions
            out[tuple(index)] = array
        return out

    def unpack(self, array, shapes):
        return [np.ascontiguousarray(array.take(positions, axis=self.axis)) for positions in self.positions]


@dataclass
class PackedWeight:
    variable: object  # the packed Variable
    students: list  # the students' Variables it holds, one per student
    mapping: object  # Concatenated, Flattened or Gathered

    def pack(self, arrays):
        return self.mapping.pack(arrays)

    def unpack(self, array):
        return self.mapping.unpack(array, [v.shape for v in self.students])


def _activate(y, activation):
    """A layer's activation after a kernel that fused only None / relu / relu6."""
    return y if activation in FUSED_ACTIVATIONS else ops.activation(y, activation)


def _fused(activation):
    return activation if activation in FUSED_ACTIVATIONS else None


class Step:
    """One layer for every student. `sources`: the keys of its inputs' values; `layout`: where each student's
    channels are in its output (None: the value every student shares, the image). A step with weights lists
    them in `weights` (kernel, then bias if the layers have one); pack_students creates their packed
    Variables and sets `kernel` and `bias`."""

    weights: tuple = ()
    kernel = bias = None

    def __init__(self, sources, layout):
        self.sources, self.layout = tuple(sources), layout

    def compute(self, inputs, training, logits):
        raise NotImplementedError


def _weights(layers, kernel_mapping, bias_mapping):
    """The (kernel, bias) PackedWeights of `layers`, without their packed Variables yet; no bias if they have none."""
    weights = [PackedWeight(None, [layer.kernel for layer in layers], kernel_mapping)]
    if layers[0].bias is not None:
        weights.append(PackedWeight(None, [layer.bias for layer in layers], bias_mapping))
    return tuple(weights)


class WideLayer(Step):
    """A conv or dense layer on the shared input: one layer with every student's filters side by side."""

    def __init__(self, sources, layers):
        first = layers[0]
        super().__init__(sources, Layout.side_by_side([layer.kernel.shape[-1] for layer in layers]))
        self.op, self.activation = getattr(first, "op", "dense"), first.activation
        self.strides, self.padding = getattr(first, "strides", None), getattr(first, "padding", None)
        self.weights = _weights(layers, Concatenated(-1), Concatenated(-1))

    def compute(self, inputs, training, logits):
        activation = None if logits else self.activation
        if self.op == "dense":
            y = ops.dense(inputs[0], self.kernel, self.bias, activation=_fused(activation))
        else:
            y = ops.conv2d(inputs[0], self.kernel, self.bias, self.strides, self.padding, _fused(activation))
        return _activate(y, activation)


class GroupedLinear(Step):
    """A 1x1 conv (stride 1) or a dense layer on packed channels: block-diagonal, one grouped dense kernel."""

    def __init__(self, sources, layers, input_layout):
        super().__init__(sources, Layout.side_by_side([layer.kernel.shape[-1] for layer in layers]))
        self.activation = layers[0].activation
        self.groups = tuple((parts, layer.kernel.shape[-1]) for parts, layer in zip(input_layout.segments, layers))
        self.weights = _weights(layers, Flattened(), Concatenated(0))

    def compute(self, inputs, training, logits):
        activation = None if logits else self.activation
        y = ops.grouped_dense(inputs[0], self.kernel, self.bias, self.groups, activation=_fused(activation))
        return _activate(y, activation)


class PackedDepthwise(Step):
    """A depthwise conv on packed channels: per channel, so one conv over them all (filters gathered)."""

    def __init__(self, sources, layers, input_layout):
        first = layers[0]
        super().__init__(sources, input_layout.repeated(first.depth_multiplier))
        self.activation, self.strides, self.padding = first.activation, first.strides, first.padding
        students = range(len(layers))
        kernel_map = Gathered(2, [input_layout.channels(s) for s in students], input_layout.width)
        bias_map = Gathered(0, [self.layout.channels(s) for s in students], self.layout.width)
        self.weights = _weights(layers, kernel_map, bias_map)

    def compute(self, inputs, training, logits):
        activation = None if logits else self.activation
        y = ops.depthwise_conv2d(inputs[0], self.kernel, self.bias, self.strides, self.padding, _fused(activation))
        return _activate(y, activation)


class PackedConcat(Step):
    """A concat along the channels: the plain (lazy) concat of the packed parts."""

    def __init__(self, sources, input_layouts):
        super().__init__(sources, Layout.concat(input_layouts))

    def compute(self, inputs, training, logits):
        return ops.concat(list(inputs), axis=-1)


class PerChannel(Step):
    """A layer without weights that works on each channel alone (pooling, activations, Rescaling): run once on
    the packed tensor (or on the shared input, which it then changes for every student alike)."""

    def __init__(self, sources, layer, layout):
        super().__init__(sources, layout)
        self.layer = layer

    def compute(self, inputs, training, logits):
        if logits and hasattr(self.layer, "logits"):
            return self.layer.logits(inputs[0], training=training)
        return self.layer.call(inputs[0], training=training)
