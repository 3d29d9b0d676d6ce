"""Depthwise conv2d and its gradients (shaders/depthwise.glsl): direct loops; the filter gradient sums
over chunks of output pixels in partial rows, added by the column sum.

With multiplier 1 and at least PACK_MIN_CHANNELS channels (the reference network's case), the forward
and the input gradient pack their operands along channels (gemm.glsl's pack4: four channels per RGBA32F
texel), compute four channels per fragment and unpack the result: three extra small draws for about a
third of the texture fetches. They also compute four pixels per fragment: a 3-wide forward at stride 1 four
neighbours of a row sharing their input and filter fetches, the others (from QUARTERS_MIN_PIXELS on) one
pixel per quarter of the result sharing each filter fetch. The filter gradient packs too, and sums its
packed partial sums."""

from __future__ import annotations

import math

from ....geometry import window_geometry
from ...kernel_names import FUSED_ACTIVATIONS
from ..runtime import RGBA32F
from .conv import split

PACK_MIN_CHANNELS = 4
# The packed forward (and the input gradient at stride 1) computes four pixels per fragment, one per quarter
# of its result, from this many pixels on (shaders/depthwise.glsl *_quarters; one more draw, the interleave).
QUARTERS_MIN_PIXELS = 64


def make_table(rt) -> dict:
    draw, empty = rt.draw, rt.empty
    forward_pipe = rt.program("depthwise", "forward")
    grad_input_pipe = rt.program("depthwise", "grad_input")
    grad_filter_pipe = rt.program("depthwise", "grad_filter")
    forward4_pipe = rt.program("depthwise", "forward4")
    grad_input4_pipe = rt.program("depthwise", "grad_input4")
    grad_filter4_pipe = rt.program("depthwise", "grad_filter4")
    quarters_pipe = rt.program("depthwise", "forward4_quarters")
    grad_input_quarters_pipe = rt.program("depthwise", "grad_input4_quarters")
    interleave_pipe = rt.program("gemm", "interleave4")
    row3_pipe = rt.program("depthwise", "forward4_row3")
    columns_pipe = rt.program("depthwise", "interleave_columns")

    def packed_channels(array, pixels, c):
        """`array` viewed as (pixels, c), packed four channels per texel."""
        return rt.pack(array, pixels, c, c, 1)[0]

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
            x4, w4 = packed_channels(x, x.size // c, c), packed_channels(w, kh * kw, c)
            out4 = empty((math.prod(shape[:3]) * c4, 4), x.dtype, RGBA32F)
            bias, has_bias = (rt.dummy_id, 0) if b is None else (b.id, 1)
            pixels = math.prod(shape[:3])
            if kw == 3 and strides[1] == 1 and g.out_w >= 4:
                ow4 = -(-g.out_w // 4)
                cols = [empty((shape[0] * g.out_h * ow4 * c4, 4), x.dtype, RGBA32F) for _ in range(4)]
                ids = [q.id for q in cols]
                draw(row3_pipe, *ids, x4.id, w4.id, bias, *geo[:4], *geo[5:], c4, ow4, has_bias, act)
                draw(columns_pipe, out4.id, *ids, g.out_w, ow4, c4)
            elif pixels >= QUARTERS_MIN_PIXELS:
                pq = -(-pixels // 4)
                quarters = [empty((pq * c4, 4), x.dtype, RGBA32F) for _ in range(4)]  # (alive until drawn)
                ids = [q.id for q in quarters]
                draw(quarters_pipe, *ids, x4.id, w4.id, bias, *geo[:4], *geo[5:], c4, pq, has_bias, act)
                draw(interleave_pipe, out4.id, *ids, pq, c4)
            else:
                draw(forward4_pipe, out4.id, x4.id, w4.id, bias, *geo[:4], *geo[5:], c4, has_bias, act)
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
            dz4, w4 = packed_channels(dz, dz.size // c, c), packed_channels(w, kh * kw, c)
            pixels = math.prod(input_shape[:3])
            out4 = empty((pixels * c4, 4), dz.dtype, RGBA32F)
            if pixels >= QUARTERS_MIN_PIXELS and tuple(strides) == (1, 1):
                pq = -(-pixels // 4)
                quarters = [empty((pq * c4, 4), dz.dtype, RGBA32F) for _ in range(4)]
                draw(grad_input_quarters_pipe, *(q.id for q in quarters), dz4.id, w4.id, *geo[:4], *geo[5:], c4, pq)
                draw(interleave_pipe, out4.id, *(q.id for q in quarters), pq, c4)
            else:
                draw(grad_input4_pipe, out4.id, dz4.id, w4.id, *geo[:4], *geo[5:], c4)
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
