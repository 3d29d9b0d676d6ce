"""conv2d and its gradients (shaders/conv.wgsl): implicit-GEMM forward and filter gradient (split over
the pixels into partial sums when the filter is small), direct input gradient; conv2d_transpose, the
input gradient with a bias and activation."""

from __future__ import annotations

import math

from ....geometry import window_geometry
from ...kernel_names import FUSED_ACTIVATIONS

TILE = 64
K_STEP = 16
# Workgroups a filter gradient aims for (split-K), and the fewest pixels one workgroup sums.
TARGET_GROUPS = 64
MIN_CHUNK = 256


def make_table(rt) -> dict:
    dispatch, empty, grid = rt.dispatch, rt.empty, rt.grid
    # The blocked kernels (no workgroup memory) measured faster than the tiled ones on SwiftShader and
    # llvmpipe; the tiled `forward` / `grad_filter` stay in conv.wgsl for real GPUs to try.
    forward_pipe = rt.pipeline("conv", "forward_blocked")
    grad_input_pipe = rt.pipeline("conv", "grad_input")
    transpose_pipe = rt.pipeline("conv", "transpose")
    grad_filter_pipe = rt.pipeline("conv", "grad_filter_blocked")
    gemm_pipe = rt.pipeline("gemm", "gemm")

    def pointwise(g, filter_shape, strides) -> bool:
        """A 1x1 conv with stride 1 and no padding: a plain GEMM over the pixels (x viewed as (pixels, c))."""
        return filter_shape[:2] == (1, 1) and tuple(strides) == (1, 1) and g.pad_top == g.pad_left == 0

    def gemm(a, b, bias, out, m, n, k, ta, tb, act, splits=1, kchunk=None):
        # shaders/gemm.wgsl's register-blocked GEMM (2-3x faster on SwiftShader than the tiled one here)
        dispatch(
            gemm_pipe,
            -(-n // TILE),
            -(-m // TILE),
            splits,
            a.id,
            b.id,
            rt.dummy_id if bias is None else bias.id,
            out.id,
            m,
            n,
            k,
            ta,
            tb,
            0 if bias is None else 1,
            act,
            k if kchunk is None else kchunk,
        )

    def params(input_shape, filter_shape, strides, padding):
        n, h, w, c = input_shape
        kh, kw, fc, o = filter_shape
        if fc != c:
            raise ValueError(f"conv2d: input has {c} channels, filter expects {fc}")
        g = window_geometry(input_shape, kh, kw, strides, padding)
        return g, (n, h, w, c, g.out_h, g.out_w, kh, kw, strides[0], strides[1], g.pad_top, g.pad_left, o)

    def conv2d(x, w, b=None, strides=(1, 1), padding="same", activation=None):
        act = FUSED_ACTIVATIONS.get(activation)
        if act is None:
            raise ValueError(f"unknown fused activation {activation!r}: use None, 'relu' or 'relu6'")
        g, geo = params(x.shape, w.shape, strides, padding)
        kh, kw, c, o = w.shape
        out = empty((x.shape[0], g.out_h, g.out_w, o), x.dtype)
        m, k = out.size // o if o else 0, kh * kw * c
        if out.size and pointwise(g, w.shape, strides):
            gemm(x, w, b, out, m, o, k, 0, 0, act)
        elif out.size:
            dispatch(
                forward_pipe,
                -(-o // TILE),
                -(-m // TILE),
                1,
                x.id,
                w.id,
                rt.dummy_id if b is None else b.id,
                out.id,
                m,
                o,
                k,
                *geo,
                0 if b is None else 1,
                act,
                k,
            )
        return out

    def conv2d_grad_input(dz, w, input_shape, strides=(1, 1), padding="same"):
        g, geo = params(tuple(input_shape), w.shape, strides, padding)
        out = empty(input_shape, dz.dtype)
        c, o = w.shape[2], w.shape[3]
        if out.size and pointwise(g, w.shape, strides):
            gemm(dz, w, None, out, out.size // c, c, o, 0, 1, 0)  # dz (pixels, o) @ w^T (o, c)
        elif out.size:
            gx, gy = grid(out.size)
            dispatch(grad_input_pipe, gx, gy, 1, dz.id, w.id, out.id, 0, 0, 0, *geo, 0, 0, 0)
        return out

    def conv2d_transpose(x, w, b=None, *, output_shape, strides=(1, 1), padding="same", activation=None):
        act = FUSED_ACTIVATIONS.get(activation)
        if act is None:
            raise ValueError(f"unknown fused activation {activation!r}: use None, 'relu' or 'relu6'")
        g, geo = params(tuple(output_shape), w.shape, strides, padding)
        out = empty(output_shape, x.dtype)
        c, o = w.shape[2], w.shape[3]
        if out.size and pointwise(g, w.shape, strides):
            gemm(x, w, b, out, out.size // c, c, o, 0, 1, act)  # x (pixels, o) @ w^T (o, c) + b
        elif out.size:
            gx, gy = grid(out.size)
            bias_id = rt.dummy_id if b is None else b.id
            dispatch(transpose_pipe, gx, gy, 1, x.id, w.id, bias_id, out.id, 0, 0, 0, *geo, int(b is not None), act, 0)
        return out

    def conv2d_grad_filter(x, dz, filter_shape, strides=(1, 1), padding="same"):
        filter_shape = tuple(filter_shape)
        _, geo = params(x.shape, filter_shape, strides, padding)
        kh, kw, c, o = filter_shape
        m, pixels = kh * kw * c, dz.size // o if o else 0
        tiles = -(-m // TILE) * -(-o // TILE)
        splits = max(1, min(-(-pixels // MIN_CHUNK), TARGET_GROUPS // tiles))
        per_split = -(-pixels // splits)
        chunk = -(-per_split // K_STEP) * K_STEP  # whole K steps, so that no slice starts mid-step
        splits = max(1, -(-pixels // chunk)) if pixels else 1
        target = empty(filter_shape, x.dtype) if splits == 1 else empty((splits, m * o), x.dtype)
        if math.prod(filter_shape) and pointwise(
            window_geometry(x.shape, kh, kw, strides, padding), filter_shape, strides
        ):
            # dw (c, o) = x^T (c, pixels) @ dz (pixels, o), split over the pixels like the tiled kernel
            gemm(x, dz, None, target, c, o, pixels, 1, 0, 0, splits, chunk)
        elif math.prod(filter_shape):
            dispatch(
                grad_filter_pipe,
                -(-o // TILE),
                -(-m // TILE),
                splits,
                x.id,
                dz.id,
                rt.dummy_id,
                target.id,
                m,
                o,
                pixels,
                *geo,
                0,
                0,
                chunk,
            )
        if splits == 1:
            return target
        return rt.column_sum(target, splits, m * o, filter_shape)

    return {
        "conv2d": conv2d,
        "conv2d_grad_input": conv2d_grad_input,
        "conv2d_grad_filter": conv2d_grad_filter,
        "conv2d_transpose": conv2d_transpose,
    }
