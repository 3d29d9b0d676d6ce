"""Depthwise conv2d and its gradients (shaders/depthwise.wgsl): direct loops; the filter gradient sums
over the pixels in partial rows, added by the column sum."""

from __future__ import annotations

from ....geometry import window_geometry
from ...kernel_names import FUSED_ACTIVATIONS

# Invocations a filter gradient's partial sums aim for.
TARGET_INVOCATIONS = 16384


def make_table(rt) -> dict:
    dispatch, empty, grid = rt.dispatch, rt.empty, rt.grid
    forward_pipe = rt.pipeline("depthwise", "forward")
    grad_input_pipe = rt.pipeline("depthwise", "grad_input")
    grad_filter_pipe = rt.pipeline("depthwise", "grad_filter")
    # 4 channels per invocation (vec4) where the multiplier is 1 and the channels a multiple of 4
    forward4_pipe = rt.pipeline("depthwise", "forward4")
    grad_input4_pipe = rt.pipeline("depthwise", "grad_input4")

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
        out = empty((x.shape[0], g.out_h, g.out_w, w.shape[2] * w.shape[3]), x.dtype)
        vec4 = w.shape[3] == 1 and w.shape[2] % 4 == 0
        if out.size:
            gx, gy = grid(out.size // 4 if vec4 else out.size)
            dispatch(
                forward4_pipe if vec4 else forward_pipe,
                gx,
                gy,
                1,
                x.id,
                w.id,
                rt.dummy_id if b is None else b.id,
                out.id,
                *geo,
                0 if b is None else 1,
                act,
                0,
            )
        return out

    def depthwise_conv2d_grad_input(dz, w, input_shape, strides=(1, 1), padding="same"):
        _, geo = params(tuple(input_shape), w.shape, strides, padding)
        out = empty(input_shape, dz.dtype)
        vec4 = w.shape[3] == 1 and w.shape[2] % 4 == 0
        if out.size:
            gx, gy = grid(out.size // 4 if vec4 else out.size)
            dispatch(grad_input4_pipe if vec4 else grad_input_pipe, gx, gy, 1, dz.id, w.id, out.id, *geo, 0, 0, 0)
        return out

    def depthwise_conv2d_grad_filter(x, dz, filter_shape, strides=(1, 1), padding="same"):
        filter_shape = tuple(filter_shape)
        g, geo = params(x.shape, filter_shape, strides, padding)
        size = filter_shape[0] * filter_shape[1] * filter_shape[2] * filter_shape[3]
        pixels = x.shape[0] * g.out_h * g.out_w
        if not size:
            return empty(filter_shape, x.dtype)
        parts = max(1, min(pixels, TARGET_INVOCATIONS // size))
        partial = empty((parts, size), x.dtype)
        gx, gy = grid(parts * size)
        dispatch(grad_filter_pipe, gx, gy, 1, x.id, dz.id, partial.id, *geo, 0, 0, parts)
        if parts == 1:
            return rt.view(partial, filter_shape)
        return rt.column_sum(partial, parts, size, filter_shape)

    return {
        "depthwise_conv2d": depthwise_conv2d,
        "depthwise_conv2d_grad_input": depthwise_conv2d_grad_input,
        "depthwise_conv2d_grad_filter": depthwise_conv2d_grad_filter,
    }
