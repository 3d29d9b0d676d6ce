"""The steps of a packed network, one per layer of the students, and how their weights map to the students'."""

# Every step runs one layer for all students at once on packed tensors. A Layout says where each student's
# channels are: per student, the (start, width) segments of the packed channels holding its channels, in
# its own order. A conv or dense layer on the image every student reads is one wider layer (the students'
# filters side by side, [s1 | s2 | s3]); a 1x1 conv or a dense layer on packed channels is a grouped
# (block-diagonal) dense kernel; a depthwise conv, a concat, pooling and activations are per channel and
# run once on the packed channels. A concat keeps its parts side by side ([x1 x2 x3 | y1 y2 y3]: the plain
# concat, which the kernels read in place), so a student's share of it is one segment per part.

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import ops
from ..layers.base import FUSED_ACTIVATIONS


class Layout(NamedTuple):
    segments: tuple  # per student: ((start, width), ...), the student's channels in its own order
    width: int  # channels of the packed tensor

    @classmethod
    def side_by_side(cls, widths):
        starts = np.cumsum([0, *widths])
        return cls(tuple(((int(s), int(w)),) for s, w in zip(starts, widths)), int(starts[-1]))

    @classmethod
    def concat(cls, layouts):
        segments, offset = [[] for _ in layouts[0].segments], 0
        for layout in layouts:
            for mine, parts in zip(segments, layout.segments):
                for start, width in parts:
                    if mine and sum(mine[-1]) == offset + start:  # adjacent: one segment
                        mine[-1] = (mine[-1][0], mine[-1][1] + width)
                    else:
                        mine.append((offset + start, width))
            offset += layout.width
        return cls(tuple(map(tuple, segments)), offset)

    def repeated(self, m):
        # after a depthwise conv with depth multiplier m (channel c -> c*m .. c*m + m - 1)
        return Layout(tuple(tuple((s * m, w * m) for s, w in parts) for parts in self.segments), self.width * m)

    def student_widths(self):
        return [sum(w for _, w in parts) for parts in self.segments]

    def channels(self, student):
        # the packed index of each of the student's channels, in its order
        return np.concatenate([np.arange(s, s + w) for s, w in self.segments[student]])


class PackedWeight:
    # A packed Variable (set by PackedStudents) and the students' Variables it holds. `arrange` (the
    # students' arrays -> the packed array) is applied once to the students' entry numbers: that gives the
    # permutation which packs, and inverted unpacks, any arrays of their shapes (weights, optimizer slots).

    def __init__(self, students, arrange):
        self.variable, self.students = None, students
        starts = np.cumsum([0] + [int(np.prod(v.shape)) for v in students])
        numbers = arrange([np.arange(a, b).reshape(v.shape) for a, b, v in zip(starts, starts[1:], students)])
        self.shape, self.order, self.starts = numbers.shape, numbers.reshape(-1), starts

    def pack(self, arrays):
        return np.concatenate([np.reshape(a, -1) for a in arrays])[self.order].reshape(self.shape)

    def unpack(self, array):
        flat = np.empty(self.order.size, dtype=array.dtype)
        flat[self.order] = array.reshape(-1)
        return [flat[a:b].reshape(v.shape) for a, b, v in zip(self.starts, self.starts[1:], self.students)]


def _side_by_side(arrays):
    return np.concatenate(arrays, axis=-1)


def _flat(arrays):
    return np.concatenate([a.reshape(-1) for a in arrays])


def _gathered(axis, positions, size):
    # each student's entries along `axis` at its packed positions
    def arrange(arrays):
        shape = list(arrays[0].shape)
        shape[axis] = size
        out = np.zeros(shape, dtype=arrays[0].dtype)
        for array, where in zip(arrays, positions):
            out[(slice(None),) * axis + (where,)] = array
        return out

    return arrange


def _activate(y, activation):
    # the layer's activation after a kernel that fused only None / relu / relu6
    return y if activation in FUSED_ACTIVATIONS else ops.activation(y, activation)


def _fused(activation):
    return activation if activation in FUSED_ACTIVATIONS else None


class Step:
    # One layer for every student. `sources`: the keys of its inputs' values; `layout`: its output's (None:
    # the value every student shares, the image); `weights`: its kernel's and bias's PackedWeights.
    weights: tuple = ()

    def __init__(self, sources, layout, layers=(), kernel=None, bias=None):
        self.sources, self.layout = tuple(sources), layout
        if layers:
            self.activation = layers[0].activation
            self.weights = (PackedWeight([layer.kernel for layer in layers], kernel),)
            if layers[0].bias is not None:
                self.weights += (PackedWeight([layer.bias for layer in layers], bias),)

    def variables(self):
        # (kernel, bias) as packed Variables
        return self.weights[0].variable, self.weights[1].variable if len(self.weights) > 1 else None


class WideLayer(Step):
    # a conv or dense layer on the shared input: one layer with every student's filters side by side

    def __init__(self, sources, layers):
        super().__init__(
            sources, Layout.side_by_side([x.kernel.shape[-1] for x in layers]), layers, *[_side_by_side] * 2
        )
        self.op, self.strides, self.padding = (getattr(layers[0], k, None) for k in ("op", "strides", "padding"))

    def compute(self, inputs, training, logits):
        activation = None if logits else self.activation
        kernel, bias = self.variables()
        if self.op is None:
            y = ops.dense(inputs[0], kernel, bias, activation=_fused(activation))
        else:
            y = ops.conv2d(inputs[0], kernel, bias, self.strides, self.padding, _fused(activation))
        return _activate(y, activation)


class GroupedLinear(Step):
    # a 1x1 conv (stride 1) or a dense layer on packed channels: block-diagonal, one grouped dense kernel

    def __init__(self, sources, layers, input_layout):
        super().__init__(sources, Layout.side_by_side([x.kernel.shape[-1] for x in layers]), layers, _flat, _flat)
        self.groups = tuple((parts, layer.kernel.shape[-1]) for parts, layer in zip(input_layout.segments, layers))

    def compute(self, inputs, training, logits):
        activation = None if logits else self.activation
        y = ops.grouped_dense(inputs[0], *self.variables(), self.groups, activation=_fused(activation))
        return _activate(y, activation)


class PackedDepthwise(Step):
    # a depthwise conv on packed channels: per channel, so one conv over them all (filters gathered)

    def __init__(self, sources, layers, input_layout):
        out = input_layout.repeated(layers[0].depth_multiplier)
        students = range(len(layers))
        kernel = _gathered(2, [input_layout.channels(s) for s in students], input_layout.width)
        bias = _gathered(0, [out.channels(s) for s in students], out.width)
        super().__init__(sources, out, layers, kernel, bias)
        self.strides, self.padding = layers[0].strides, layers[0].padding

    def compute(self, inputs, training, logits):
        activation = None if logits else self.activation
        y = ops.depthwise_conv2d(inputs[0], *self.variables(), self.strides, self.padding, _fused(activation))
        return _activate(y, activation)


class PackedConcat(Step):
    # a concat along the channels: the plain (lazy) concat of the packed parts

    def __init__(self, sources, input_layouts):
        super().__init__(sources, Layout.concat(input_layouts))

    def compute(self, inputs, training, logits):
        return ops.concat(list(inputs), axis=-1)


class PerChannel(Step):
    # a layer without weights working on each channel alone (pooling, activations, Rescaling): run once on
    # the packed tensor (or on the shared input, which it then changes for every student alike)

    def __init__(self, sources, layer, layout):
        super().__init__(sources, layout)
        self.layer = layer

    def compute(self, inputs, training, logits):
        if logits and hasattr(self.layer, "logits"):
            return self.layer.logits(inputs[0], training=training)
        return self.layer.call(inputs[0], training=training)
