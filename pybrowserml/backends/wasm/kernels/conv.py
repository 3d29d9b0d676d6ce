"""WASM kernels of the conv family: conv2d and its two gradients, and conv2d_transpose (csrc/conv.c:
im2col + GEMM; csrc/conv_direct.c: direct kernels for inputs with few channels)."""

from __future__ import annotations

from typing import NamedTuple

from ....geometry import window_geometry
from ...kernel_names import FUSED_ACTIVATIONS
from ._common import all_f32, check_shape, fallback_of

# conv2d and conv2d_grad_filter run the direct kernels of conv_direct.c up to this many input
# channels, im2col + GEMM (conv.c) above. Measured in Chromium, one thread, batch 32 (28x28, 14x14
# and 7x7 images, 3x3 and 5x5 filters, 16..128 output channels, stride 1 and 2): with C <= 4 the
# direct kernels were faster on every shape (x1.02 to x4, the 3x3 1->16 stem x2.8 forward and x4
# grad_filter); from C = 6 a 14x14 layer with 128 filters is already at par or slower (x0.97) and
# the gain elsewhere shrinks (x1.1 to x1.6).
DIRECT_CONV_MAX_CHANNELS = 4


def uses_direct_conv(in_channels, kh, kw):
    """Whether conv2d / conv2d_grad_filter take the direct kernels (conv_direct.c) for this filter.

    With few input channels im2col + GEMM multiplies by a matrix only kh*kw*C deep (9 for a 3x3
    stem on grey images), where the GEMM's packing and set-up dominate (6-7 GFLOP/s for K = 9, ~30
    for deep ones) and the patch matrix is kh*kw times the input; the direct kernels read each
    window straight from the image instead. A 1x1 filter stays on conv.c: at stride 1 it is one GEMM
    over the NHWC input, with no im2col at all. conv2d_grad_input always stays on conv.c (a stem's
    input needs no gradient).
    """
    return 1 <= in_channels <= DIRECT_CONV_MAX_CHANNELS and (kh, kw) != (1, 1)


def _check_conv_shapes(kernel, input_shape, filter_shape):
    if len(input_shape) != 4:
        raise ValueError(f"{kernel}: the input must be NHWC (4-D), got shape {tuple(input_shape)}")
    if len(filter_shape) != 4:
        raise ValueError(f"{kernel}: the filter must be HWIO (kh, kw, in, out), got shape {tuple(filter_shape)}")
    if input_shape[-1] != filter_shape[2]:
        raise ValueError(f"{kernel}: input has {input_shape[-1]} channels, filter expects {filter_shape[2]}")


class ConvGeometry(NamedTuple):
    """The arguments every conv.c / conv_direct.c entry point takes after its pointers, in that order."""

    n: int
    h: int
    w: int
    c: int
    kh: int
    kw: int
    o: int
    stride_h: int
    stride_w: int
    pad_top: int
    pad_left: int
    oh: int
    ow: int


def conv_geometry(input_shape, filter_shape, strides, padding) -> ConvGeometry:
    kh, kw, c, o = filter_shape
    n, h, wd, _ = input_shape
    oh, ow, (pt, _), (pl, _) = window_geometry(input_shape, kh, kw, strides, padding)
    return ConvGeometry(n, h, wd, c, kh, kw, o, strides[0], strides[1], pt, pl, oh, ow)


def make_kernels(rt):
    """The kernel table entries of this family, bound to one WasmRuntime."""
    ex = rt.exports
    # Exports are looked up once: each Python -> JS call then costs ~1 us.
    pb_conv2d, pb_fill_f32 = ex.pb_conv2d, ex.pb_fill_f32
    pb_conv2d_grad_input, pb_conv2d_grad_filter = ex.pb_conv2d_grad_input, ex.pb_conv2d_grad_filter
    pb_conv2d_direct, pb_conv2d_direct_grad_filter = ex.pb_conv2d_direct, ex.pb_conv2d_direct_grad_filter
    pb_conv2d_transpose = ex.pb_conv2d_transpose
    fallback = fallback_of(rt)

    def conv2d(x, w, b=None, strides=(1, 1), padding="same", activation=None):
        act = FUSED_ACTIVATIONS.get(activation)
        if act is None or not all_f32(x, w, b):
            return fallback("conv2d", x, w, b, strides=strides, padding=padding, activation=activation)
        _check_conv_shapes("conv2d", x.shape, w.shape)
        g = conv_geometry(x.shape, w.shape, strides, padding)
        if b is not None:
            check_shape("conv2d", "the bias", b.shape, (g.o,))
        y = rt.empty((g.n, g.oh, g.ow, g.o))
        run = pb_conv2d_direct if uses_direct_conv(g.c, g.kh, g.kw) else pb_conv2d
        run(x.ptr, w.ptr, b.ptr if b is not None else 0, y.ptr, *g, act)
        return y

    def conv2d_grad_input(dz, w, input_shape, strides=(1, 1), padding="same"):
        if not all_f32(dz, w):
            return fallback("conv2d_grad_input", dz, w, input_shape=input_shape, strides=strides, padding=padding)
        _check_conv_shapes("conv2d_grad_input", input_shape, w.shape)
        g = conv_geometry(input_shape, w.shape, strides, padding)
        check_shape("conv2d_grad_input", "the output gradient", dz.shape, (g.n, g.oh, g.ow, g.o))
        dx = rt.empty(tuple(input_shape))
        pb_conv2d_grad_input(dz.ptr, w.ptr, dx.ptr, *g)
        return dx

    def conv2d_transpose(x, w, b=None, *, output_shape, strides=(1, 1), padding="same", activation=None):
        act = FUSED_ACTIVATIONS.get(activation)
        if act is None or not all_f32(x, w, b):
            return fallback(
                "conv2d_transpose",
                x,
                w,
                b,
                output_shape=output_shape,
                strides=strides,
                padding=padding,
                activation=activation,
            )
        _check_conv_shapes("conv2d_transpose", output_shape, w.shape)
        g = conv_geometry(output_shape, w.shape, strides, padding)
        if b is not None:
            check_shape("conv2d_transpose", "the bias", b.shape, (g.c,))
        check_shape("conv2d_transpose", "the input", x.shape, (g.n, g.oh, g.ow, g.o))
        y = rt.empty(tuple(output_shape))
        pb_conv2d_transpose(x.ptr, w.ptr, b.ptr if b is not None else 0, y.ptr, *g, act)
        return y

    def conv2d_grad_filter(x, dz, filter_shape, strides=(1, 1), padding="same"):
        if not all_f32(x, dz):
            return fallback("conv2d_grad_filter", x, dz, filter_shape=filter_shape, strides=strides, padding=padding)
        _check_conv_shapes("conv2d_grad_filter", x.shape, filter_shape)
        g = conv_geometry(x.shape, filter_shape, strides, padding)
        check_shape("conv2d_grad_filter", "the output gradient", dz.shape, (g.n, g.oh, g.ow, g.o))
        dw = rt.empty(tuple(filter_shape))
        if g.n * g.oh * g.ow == 0:
            pb_fill_f32(dw.ptr, 0.0, dw.size)
        else:
            run = pb_conv2d_direct_grad_filter if uses_direct_conv(g.c, g.kh, g.kw) else pb_conv2d_grad_filter
            run(x.ptr, dz.ptr, dw.ptr, *g)
        return dw

    return {
        "conv2d": conv2d,
        "conv2d_grad_input": conv2d_grad_input,
        "conv2d_grad_filter": conv2d_grad_filter,
        "conv2d_transpose": conv2d_transpose,
    }
