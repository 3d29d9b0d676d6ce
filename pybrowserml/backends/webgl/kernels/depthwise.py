"""Depthwise conv2d and its gradients (shaders/depthwise.glsl): direct loops; the filter gradient sums
over chunks of output pixels in partial rows, added by the column sum.

With multiplier 1 and at least PACK_MIN_CHANNELS channels (the reference network's case), the forward
and the input gradient pack their operands along channels (gemm.glsl's pack4: four channels per RGBA32F
texel), compute four channels per fragment and unpack the result: three extra small draws for about a
third of the texture fetches. They also compute four pixels per fragment: a 3-wide forward at stride 1 four
neighbours of a row (eight with eight render targets) sharing their input and filter fetches, the others
(from conv.QUARTERS_MIN_PIXELS on) one pixel per quarter of the result sharing each filter fetch. The
forwards read a dense block's concat as its parts stacked (runtime.StackedConcat). The filter gradient
packs too, and sums its packed partial sums."""

from __future__ import annotations

import math

from ....geometry import window_geometry
from ...kernel_names import FUSED_ACTIVATIONS
from ..runtime import RGBA32F, StackedConcat
from .conv import split

PACK_MIN_CHANNELS = 4


def make_table(rt) -> dict:
    draw, empty = rt.draw, rt.empty
    forward_pipe = rt.program("depthwise", "forward")
    grad_input_pipe = rt.program("depthwise", "grad_input")
    grad_filter_pipe = rt.program("depthwise", "grad_filter")
    forward4_pipe = rt.program("depthwise", "forward4")
    grad_input4_pipe = rt.program("depthwise", "grad_input4")
    grad_filter4_pipe = rt.program("depthwise", "grad_filter4")
    forward4_pipes = {
        "quarters": rt.program("depthwise", "forward4_quarters"),
        "row3": rt.program("depthwise", "forward4_row3"),
    }
    if int(rt.js.maxDrawBuffers) >= 8:  # eight row neighbours per fragment (rt.four_pixels)
        forward4_pipes["row8"] = rt.program("depthwise", "forward8_row3")
    grad_input4_pipes = {"quarters": rt.program("depthwise", "grad_input4_quarters")}

    def packed_channels(array, pixels, c, keep=False):
        """`array` viewed as (pixels, c), packed four channels per texel (keep: a filter, see rt.pack)."""
        return rt.pack(array, pixels, c, c, 1, keep)[0]

    def params(input_shape, filter_shape, strides, padding):
        n, h, w, c = input_shape
        kh, kw, fc, mult = filter_shape
        if fc != c:
            raise ValueError(f"depthwise_conv2d: input has {c} channels, filter expects {fc}")
        g = window_geometry(input_shape, kh, kw, strides, padding)
        return g, (n, h, w, c, mult, g.out_h, g.out_w, kh, kw, strides[0], strides[1], g.pad_top, g.pad_left)

    def depthwise_conv2d(x, w, b=None, strides=(1, 1), padding="same", activation=None):
        act = FUSED_ACTIVATIONS.get(activation)
        if act is None:
            raise ValueError(f"unknown fused activation {activation!r}: use None, 'relu' or 'relu6'")
        g, geo = params(x.shape, w.shape, strides, padding)
        shape = (x.shape[0], g.out_h, g.out_w, w.shape[2] * w.shape[3])
        kh, kw, c, mult = w.shape
        if mult == 1 and c >= PACK_MIN_CHANNELS and math.prod(shape):
            c4 = -(-c // 4)
            if isinstance(x, StackedConcat):  # a dense block's concat: its parts' twins stacked, read as such
                x4, layout = x.stack, (x.part_width, x.part_width, x.part_texels)
            else:
                x4, layout = packed_channels(x, x.size // c, c), (c4, c4, 0)
            w4 = packed_channels(w, kh * kw, c, keep=True)
            out4 = empty((math.prod(shape[:3]) * c4, 4), x.dtype, RGBA32F)
            bias, has_bias = (rt.dummy_id, 0) if b is None else (b.id, 1)
            inputs, epilogue = (x4.id, w4.id, bias, *geo[:4], *geo[5:]), (has_bias, act, *layout)
            row3 = kw == 3 and strides[1] == 1
            if not rt.four_pixels(forward4_pipes, out4, inputs, c4, epilogue, shape[0] * g.out_h, g.out_w, row3):
                draw(forward4_pipe, out4.id, *inputs, c4, *epilogue)
            return rt.unpack(out4, shape, c)
        out = empty(shape, x.dtype)
        if out.size:
            bias = rt.dummy_id if b is None else b.id
            draw(forward_pipe, out.id, x.id, w.id, bias, *geo, 0 if b is None else 1, act)
        return out

    def depthwise_conv2d_grad_input(dz, w, input_shape, strides=(1, 1), padding="same"):
        input_shape = tuple(input_shape)
        _, geo = params(input_shape, w.shape, strides, padding)
        kh, kw, c, mult = w.shape
        if mult == 1 and c >= PACK_MIN_CHANNELS and math.prod(input_shape):
            c4 = -(-c // 4)
            dz4, w4 = packed_channels(dz, dz.size // c, c), packed_channels(w, kh * kw, c, keep=True)
            out4 = empty((math.prod(input_shape[:3]) * c4, 4), dz.dtype, RGBA32F)
            inputs = (dz4.id, w4.id, *geo[:4], *geo[5:])
            rows, width = input_shape[0] * input_shape[1], input_shape[2]
            if tuple(strides) != (1, 1) or not rt.four_pixels(grad_input4_pipes, out4, inputs, c4, (), rows, width):
                draw(grad_input4_pipe, out4.id, *inputs, c4)
            return rt.unpack(out4, input_shape, c)
        out = empty(input_shape, dz.dtype)
        if out.size:
            draw(grad_input_pipe, out.id, dz.id, w.id, *geo)
        return out

    def depthwise_conv2d_grad_filter(x, dz, filter_shape, strides=(1, 1), padding="same"):
        filter_shape = tuple(filter_shape)
        g, geo = params(x.shape, filter_shape, strides, padding)
        size = filter_shape[0] * filter_shape[1] * filter_shape[2] * filter_shape[3]
        pixels = x.shape[0] * g.out_h * g.out_w
        if not size:
            return empty(filter_shape, x.dtype)
        kh, kw, c, mult = filter_shape
        if mult == 1 and c >= PACK_MIN_CHANNELS:
            c4 = -(-c // 4)
            texels = kh * kw * c4
            parts, chunk = split(pixels, texels)
            x4, dz4 = packed_channels(x, x.size // c, c), packed_channels(dz, pixels, c)
            partial4 = empty((parts * texels, 4), x.dtype, RGBA32F)
            draw(grad_filter4_pipe, partial4.id, x4.id, dz4.id, *geo[:4], *geo[5:], c4, texels, pixels, chunk)
            if parts > 1:  # summed packed: (tap, c4) texels, rows of c channels in c4 texels
                partial4 = rt.column_sum_packed(partial4, parts, texels)
            return rt.unpack(partial4, filter_shape, c)
        parts, chunk = split(pixels, size)
        partial = empty((parts, size), x.dtype)
        draw(grad_filter_pipe, partial.id, x.id, dz.id, *geo, size, pixels, chunk)
        if parts == 1:
            return rt.view(partial, filter_shape)
        return rt.column_sum(partial, parts, size, filter_shape)

    return {
        "depthwise_conv2d": depthwise_conv2d,
        "depthwise_conv2d_grad_input": depthwise_conv2d_grad_input,
        "depthwise_conv2d_grad_filter": depthwise_conv2d_grad_filter,
    }
