"""conv2d and its gradients (shaders/conv.glsl; pointwise 1x1 convolutions run the GEMM of gemm.glsl): direct forward with the bias and activation fused, a
gather for the input gradient, and the filter gradient in partial sums over chunks of output pixels
(added by the column sum) so that enough fragments run when the filter is small. A forward with 4 or
more output channels computes four of them per fragment from the filter packed along them, and the filter
gradient four of them from the output gradient packed along them."""

from __future__ import annotations

import math

from ....geometry import window_geometry
from ...kernel_names import FUSED_ACTIVATIONS
from ..runtime import RGBA32F

# Fragments a filter gradient's partial sums aim for, and the fewest pixels one partial sum covers.
TARGET_FRAGMENTS = 16384
MIN_CHUNK = 64
# A forward with at least this many output channels computes four per fragment (forward4).
PACK_MIN_OUTPUTS = 4
# ... and four pixels share each filter fetch: four neighbours of a row with a 3-wide filter at stride 1
# (forward4_row3, sharing input values too), else one per quarter of the output from this many pixels on
# (forward4_quarters); then the reorder (a draw for row neighbours, copies for quarters).
QUARTERS_MIN_PIXELS = 64


def split(pixels: int, size: int) -> tuple[int, int]:
    """(parts, chunk): `pixels` summed in `parts` chunks of `chunk` for each of `size` outputs."""
    parts = max(1, min(TARGET_FRAGMENTS // max(size, 1), pixels // MIN_CHUNK))
    chunk = max(1, -(-pixels // parts))
    return max(1, -(-pixels // chunk)), chunk


def pointwise(filter_shape, strides) -> bool:
    """A 1x1 window at stride 1 (either padding: none is needed): the convolution is a GEMM over the pixels."""
    return filter_shape[0] == filter_shape[1] == 1 and tuple(strides) == (1, 1)


def make_table(rt) -> dict:
    draw, empty = rt.draw, rt.empty
    forward_pipe = rt.program("conv", "forward")
    forward4_pipe = rt.program("conv", "forward4")
    forward4_pipes = {"quarters": rt.program("conv", "forward4_quarters"), "row3": rt.program("conv", "forward4_row3")}
    columns_pipe = rt.program("depthwise", "interleave_columns")
    grad_input_pipe = rt.program("conv", "grad_input")
    grad_filter_pipe = rt.program("conv", "grad_filter")
    grad_filter4_pipe = rt.program("conv", "grad_filter4")

    def four_pixels(pipes, out4, inputs, c4, epilogue, rows, out_w, row3=False):
        """Draws a packed kernel into out4 (rows * out_w pixels of c4 texels) four pixels per fragment, then
        puts them in order (a draw for row neighbours, copies for quarters), and returns True; False (nothing
        drawn) when neither way applies: four neighbours of a row (`row3`: a 3-wide filter at stride 1, 4+
        pixels wide; pipes["row3"]), else one pixel per quarter of the result from QUARTERS_MIN_PIXELS
        pixels on (pipes["quarters"]). The
        kernel's arguments are its outputs, `inputs`, c4, the blocking (texels per row or per quarter) and
        `epilogue`."""
        if row3 and out_w >= 4:
            # eight neighbours (pipes["row8"], where there is one) when that computes no more pixels than four
            group = 8 if "row8" in pipes and -(-out_w // 8) * 8 == -(-out_w // 4) * 4 else 4
            groups = -(-out_w // group)
            texels = rows * groups * c4
            columns = [empty((texels, 4), out4.dtype, RGBA32F) for _ in range(group)]
            ids = [q.id for q in columns]
            draw(pipes["row8" if group == 8 else "row3"], *ids, *inputs, c4, groups, *epilogue)
            stacked = empty((group * texels, 4), out4.dtype, RGBA32F)
            rt.js.placeParts(stacked.id, texels, *ids)
            draw(columns_pipe, out4.id, stacked.id, out_w, groups, c4, texels, group.bit_length() - 1)
            return True
        if rows * out_w >= QUARTERS_MIN_PIXELS:
            pq = -(-(rows * out_w) // 4)
            quarters = [empty((pq * c4, 4), out4.dtype, RGBA32F) for _ in range(4)]
            draw(pipes["quarters"], *(q.id for q in quarters), *inputs, c4, pq, *epilogue)
            rt.interleave(out4, quarters, pq, c4)
            return True
        return False

    rt.four_pixels = four_pixels  # the depthwise kernels block their pixels the same way

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
        if pointwise(w.shape, strides):
            pixels, (c, o) = x.size // x.shape[3], w.shape[2:]
            out = rt.gemm(rt.view(x, (pixels, c)), rt.view(w, (c, o)), b, pixels, o, c, 0, 0, act)
            return rt.view(out, x.shape[:3] + (o,))
        shape = (x.shape[0], g.out_h, g.out_w, w.shape[3])
        kh, kw, c, o = w.shape
        bias = rt.dummy_id if b is None else b.id
        if o >= PACK_MIN_OUTPUTS and math.prod(shape):
            o4 = -(-o // 4)
            w4 = rt.pack(w, kh * kw * c, o, o, 1, keep=True)[0]
            out4 = empty((math.prod(shape[:3]) * o4, 4), x.dtype, RGBA32F)
            inputs, epilogue = (x.id, w4.id, bias, *geo), (0 if b is None else 1, act)
            row3 = kw == 3 and strides[1] == 1
            if not four_pixels(forward4_pipes, out4, inputs, o4, epilogue, shape[0] * g.out_h, g.out_w, row3):
                draw(forward4_pipe, out4.id, *inputs, o4, *epilogue)
            return rt.unpack(out4, shape, o)
        out = empty(shape, x.dtype)
        if out.size:
            draw(forward_pipe, out.id, x.id, w.id, bias, *geo, 0 if b is None else 1, act)
        return out

    def conv2d_grad_input(dz, w, input_shape, strides=(1, 1), padding="same"):
        input_shape = tuple(input_shape)
        _, geo = params(input_shape, w.shape, strides, padding)
        if pointwise(w.shape, strides):
            pixels, (c, o) = dz.size // dz.shape[3], w.shape[2:]
            out = rt.gemm(rt.view(dz, (pixels, o)), rt.view(w, (c, o)), None, pixels, c, o, 0, 1, 0)
            return rt.view(out, input_shape)
        out = empty(input_shape, dz.dtype)
        if out.size:
            draw(grad_input_pipe, out.id, dz.id, w.id, *geo)
        return out

    def conv2d_grad_filter(x, dz, filter_shape, strides=(1, 1), padding="same"):
        filter_shape = tuple(filter_shape)
        g, geo = params(x.shape, filter_shape, strides, padding)
        size = filter_shape[0] * filter_shape[1] * filter_shape[2] * filter_shape[3]
        pixels = x.shape[0] * g.out_h * g.out_w
        if not size:
            return empty(filter_shape, x.dtype)
        if pointwise(filter_shape, strides):  # x^T @ dz over the pixels
            c, o = filter_shape[2:]
            out = rt.gemm(rt.view(x, (pixels, c)), rt.view(dz, (pixels, o)), None, c, o, pixels, 1, 0, 0)
            return rt.view(out, filter_shape)
        kh, kw, c, o = filter_shape
        if o >= PACK_MIN_OUTPUTS:  # four output channels per fragment, partial sums packed
            o4 = -(-o // 4)
            texels = kh * kw * c * o4
            parts, chunk = split(pixels, texels)
            dz4 = rt.pack(dz, pixels, o, o, 1)[0]
            partial4 = empty((parts * texels, 4), x.dtype, RGBA32F)
            draw(grad_filter4_pipe, partial4.id, x.id, dz4.id, *geo[:-1], o4, texels, pixels, chunk)
            if parts > 1:
                partial4 = rt.column_sum_packed(partial4, parts, texels)
            return rt.unpack(partial4, filter_shape, o)
        parts, chunk = split(pixels, size)
        partial = empty((parts, size), x.dtype)
        draw(grad_filter_pipe, partial.id, x.id, dz.id, *geo, size, pixels, chunk)
        if parts == 1:
            return rt.view(partial, filter_shape)
        return rt.column_sum(partial, parts, size, filter_shape)

    return {"conv2d": conv2d, "conv2d_grad_input": conv2d_grad_input, "conv2d_grad_filter": conv2d_grad_filter}
