"""WASM kernels of the GEMM family: matmul, dense, bias_grad, conv2d and its two gradients.

Every function has exactly the signature and result of the numpy kernel of the same name
(backends/numpy_backend.py): shapes are checked and computed here (the C side trusts them),
outputs allocated with ``rt.empty``, then one exported C function (web/kernels/wasm/gemm.c,
conv.c, conv_direct.c, elementwise.c for bias_grad) does the work, bias and activation fused in.
Other dtypes or activations go to ``rt.fallback``, the numpy path of the backend, which counts them.
"""

from __future__ import annotations

import numpy as np

from ..numpy_backend import _geometry

F32 = np.dtype(np.float32)

# Activation codes of web/kernels/wasm/pb.h.
FUSED_ACTIVATIONS = {None: 0, "linear": 0, "relu": 1, "relu6": 2}


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _check_conv_shapes(kernel, input_shape, filter_shape):
    if len(input_shape) != 4:
        raise ValueError(f"{kernel}: the input must be NHWC (4-D), got shape {tuple(input_shape)}")
    if len(filter_shape) != 4:
        raise ValueError(f"{kernel}: the filter must be HWIO (kh, kw, in, out), got shape {tuple(filter_shape)}")
    if input_shape[-1] != filter_shape[2]:
        raise ValueError(f"{kernel}: input has {input_shape[-1]} channels, filter expects {filter_shape[2]}")


def _check_shape(kernel, what, shape, expected):
    """The C kernels trust their dimensions: a wrong shape must stop here, not read past an array."""
    if tuple(shape) != tuple(expected):
        raise ValueError(f"{kernel}: {what} has shape {tuple(shape)}, expected {tuple(expected)}")


def conv_geometry(input_shape, kh, kw, strides, padding):
    """(oh, ow, pad_top, pad_left) with TensorFlow's padding rule (the numpy backend's own helper)."""
    oh, ow, (pad_top, _), (pad_left, _) = _geometry(input_shape, kh, kw, strides, padding)
    return oh, ow, pad_top, pad_left


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


def make_kernels(rt):
    """The kernel table entries of this module, bound to one WasmRuntime."""
    ex = rt.exports
    # Exports are looked up once: each Python -> JS call then costs ~1 us (PLATFORM.md).
    pb_gemm, pb_conv2d = ex.pb_gemm, ex.pb_conv2d
    pb_conv2d_grad_input, pb_conv2d_grad_filter = ex.pb_conv2d_grad_input, ex.pb_conv2d_grad_filter
    pb_conv2d_direct, pb_conv2d_direct_grad_filter = ex.pb_conv2d_direct, ex.pb_conv2d_direct_grad_filter
    pb_sum_rows = ex.pb_sum_rows
    fallback = lambda name, *args, **attrs: rt.fallback(name, args, attrs)  # noqa: E731

    def all_f32(*arrays):
        return all(a is None or a.dtype == F32 for a in arrays)

    # -- dense and matmul ----------------------------------------------------------------------
    def matmul(a, b, transpose_a=False, transpose_b=False):
        if a.ndim != 2 or b.ndim != 2 or not all_f32(a, b):
            return fallback("matmul", a, b, transpose_a=transpose_a, transpose_b=transpose_b)
        m, k = a.shape[::-1] if transpose_a else a.shape
        k2, n = b.shape[::-1] if transpose_b else b.shape
        if k != k2:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align "
                             f"(transpose_a={transpose_a}, transpose_b={transpose_b})")
        y = rt.empty((m, n))
        pb_gemm(a.ptr, a.shape[1], int(transpose_a), b.ptr, b.shape[1], int(transpose_b),
                y.ptr, n, m, n, k, 0, 0, 0)
        return y

    def dense(x, w, b=None, activation=None):
        act = FUSED_ACTIVATIONS.get(activation)
        if act is None or w.ndim != 2 or not all_f32(x, w, b):
            return fallback("dense", x, w, b, activation=activation)
        k, n = w.shape
        if x.shape[-1] != k:
            raise ValueError(f"dense: input has {x.shape[-1]} features, the weights expect {k}")
        if b is not None:
            _check_shape("dense", "the bias", b.shape, (n,))
        rows = x.size // k if k else _size(x.shape[:-1])
        y = rt.empty(x.shape[:-1] + (n,))
        pb_gemm(x.ptr, k, 0, w.ptr, n, 0, y.ptr, n, rows, n, k, b.ptr if b is not None else 0, act, 0)
        return y

    def bias_grad(dz):
        if not all_f32(dz) or dz.ndim == 0:
            return fallback("bias_grad", dz)
        cols = dz.shape[-1]
        out = rt.empty((cols,))
        pb_sum_rows(dz.ptr, out.ptr, dz.size // cols if cols else 0, cols)
        return out

    # -- conv2d --------------------------------------------------------------------------------
    def conv2d(x, w, b=None, strides=(1, 1), padding="same", activation=None):
        act = FUSED_ACTIVATIONS.get(activation)
        if act is None or not all_f32(x, w, b):
            return fallback("conv2d", x, w, b, strides=strides, padding=padding, activation=activation)
        _check_conv_shapes("conv2d", x.shape, w.shape)
        kh, kw, c, o = w.shape
        n, h, wd, _ = x.shape
        if b is not None:
            _check_shape("conv2d", "the bias", b.shape, (o,))
        oh, ow, pt, pl = conv_geometry(x.shape, kh, kw, strides, padding)
        y = rt.empty((n, oh, ow, o))
        run = pb_conv2d_direct if uses_direct_conv(c, kh, kw) else pb_conv2d
        run(x.ptr, w.ptr, b.ptr if b is not None else 0, y.ptr, n, h, wd, c, kh, kw, o,
            strides[0], strides[1], pt, pl, oh, ow, act)
        return y

    def conv2d_grad_input(dz, w, input_shape, strides=(1, 1), padding="same"):
        if not all_f32(dz, w):
            return fallback("conv2d_grad_input", dz, w, input_shape=input_shape, strides=strides, padding=padding)
        _check_conv_shapes("conv2d_grad_input", input_shape, w.shape)
        kh, kw, c, o = w.shape
        n, h, wd, _ = input_shape
        oh, ow, pt, pl = conv_geometry(input_shape, kh, kw, strides, padding)
        _check_shape("conv2d_grad_input", "the output gradient", dz.shape, (n, oh, ow, o))
        dx = rt.empty(tuple(input_shape))
        pb_conv2d_grad_input(dz.ptr, w.ptr, dx.ptr, n, h, wd, c, kh, kw, o, strides[0], strides[1], pt, pl, oh, ow)
        return dx

    def conv2d_grad_filter(x, dz, filter_shape, strides=(1, 1), padding="same"):
        if not all_f32(x, dz):
            return fallback("conv2d_grad_filter", x, dz, filter_shape=filter_shape, strides=strides, padding=padding)
        _check_conv_shapes("conv2d_grad_filter", x.shape, filter_shape)
        kh, kw, c, o = filter_shape
        n, h, wd, _ = x.shape
        oh, ow, pt, pl = conv_geometry(x.shape, kh, kw, strides, padding)
        _check_shape("conv2d_grad_filter", "the output gradient", dz.shape, (n, oh, ow, o))
        dw = rt.empty(tuple(filter_shape))
        if n * oh * ow == 0:
            ex.pb_fill_f32(dw.ptr, 0.0, dw.size)
        else:
            run = pb_conv2d_direct_grad_filter if uses_direct_conv(c, kh, kw) else pb_conv2d_grad_filter
            run(x.ptr, dz.ptr, dw.ptr, n, h, wd, c, kh, kw, o, strides[0], strides[1], pt, pl, oh, ow)
        return dw

    return {
        "matmul": matmul,
        "dense": dense,
        "bias_grad": bias_grad,
        "conv2d": conv2d,
        "conv2d_grad_input": conv2d_grad_input,
        "conv2d_grad_filter": conv2d_grad_filter,
    }
