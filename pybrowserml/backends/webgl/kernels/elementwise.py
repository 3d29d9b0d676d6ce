"""Elementwise kernels, activation gradients and sums (shaders/elementwise.glsl).

Binary ops read a scalar or an array broadcast along leading axes (a bias over the last axis) in
place; other broadcasts first expand the operands (broadcast_to). Reductions over axes that are not
leading move them to the front first (transpose), then sum or take maxima down the columns, in two
draws when the columns are long (partial sums of CHUNK rows, then their sum), so that enough fragments
run at once.
"""

from __future__ import annotations

import math

import numpy as np

from ...kernel_names import GRAD_ACTIVATIONS
from ..runtime import F32, RGBA32F, GLArray

BINARY_OPS = {"add": 0, "sub": 1, "mul": 2, "div": 3, "maximum": 4}
UNARY_OPS = {
    "scale": 0,
    "relu": 1,
    "relu6": 2,
    "where_positive": 3,
    "neg": 4,
    "exp": 5,
    "log": 6,
    "sqrt": 7,
    "abs": 8,
    "square": 9,
    "sigmoid": 10,
    "tanh": 11,
    "clip": 12,
    "pow_scalar": 13,
}

# A column sum splits its rows into partial sums when fewer than TARGET_FRAGMENTS outputs would run.
TARGET_FRAGMENTS = 4096
MIN_CHUNK = 32
# activation_grad of at least this many elements (a multiple of 4) computes four per fragment, packed.
PACKED_GRAD_MIN_SIZE = 1024


def broadcast_counts(a_shape: tuple, b_shape: tuple):
    """(out shape, a's element count, b's element count) when each shape, without its leading 1s, is a
    trailing part of the broadcast shape, so that output element i reads a[i % a_n] and b[i % b_n];
    None for any other broadcast."""
    try:
        out = np.broadcast_shapes(a_shape, b_shape)
    except ValueError:
        return None  # the numpy fallback raises numpy's own message

    def repeats(shape):
        trimmed = shape[next((i for i, d in enumerate(shape) if d != 1), len(shape)) :]
        return not trimmed or out[len(out) - len(trimmed) :] == trimmed

    if repeats(a_shape) and repeats(b_shape):
        return out, math.prod(a_shape), math.prod(b_shape)
    return None


def make_table(rt) -> dict:
    draw, empty = rt.draw, rt.empty
    binary_pipe = rt.program("elementwise", "binary")
    unary_pipe = rt.program("elementwise", "unary")
    grad_pipe = rt.program("elementwise", "activation_grad")
    grad4_pipe = rt.program("elementwise", "activation_grad4")
    sum_pipe = rt.program("elementwise", "column_sum")
    sum4_pipe = rt.program("elementwise", "column_sum4")
    max_pipe = rt.program("elementwise", "column_max")
    argmax_pipe = rt.program("elementwise", "row_argmax")

    def device(value):
        return value if isinstance(value, GLArray) else rt.upload(value)

    def binary(name):
        op = BINARY_OPS[name]

        def kernel(a, b):
            a, b = device(a), device(b)
            if a.dtype is not F32 or b.dtype is not F32:
                return rt.fallback(name, (a, b), {})  # numpy's result dtype for integer operands
            if a.shape == b.shape:
                shape, na, nb = a.shape, a.size, b.size
            else:
                counts = broadcast_counts(a.shape, b.shape)
                if counts is None:
                    shape = np.broadcast_shapes(a.shape, b.shape)
                    a, b = rt.broadcast_to(a, shape), rt.broadcast_to(b, shape)
                    counts = shape, a.size, b.size
                shape, na, nb = counts
            out = empty(shape, a.dtype)
            if out.size:
                draw(binary_pipe, out.id, a.id, b.id, max(na, 1), max(nb, 1), op)
            return out

        return kernel

    def unary(name, params=lambda: (0.0, 0.0)):
        op = UNARY_OPS[name]

        def kernel(a, *args, **attrs):
            if a.dtype is not F32:
                return rt.fallback(name, (a, *args), attrs)
            alpha, beta = params(*args, **attrs)
            out = empty(a.shape, a.dtype)
            if out.size:
                draw(unary_pipe, out.id, a.id, op, alpha, beta)
            return out

        return kernel

    def activation_grad(dy, y, activation=None):
        code = GRAD_ACTIVATIONS.get(activation)
        if code is None:
            raise ValueError(f"unknown activation {activation!r}: use one of {sorted(map(str, GRAD_ACTIVATIONS))}")
        if dy.size % 4 == 0 and dy.size >= PACKED_GRAD_MIN_SIZE:
            dy4, y4 = rt.packed_twin(dy), rt.packed_twin(y)
            out4 = empty((dy.size // 4, 4), dy.dtype, RGBA32F)
            draw(grad4_pipe, out4.id, (dy4 or dy).id, (y4 or y).id, code, int(dy4 is not None), int(y4 is not None))
            return rt.unpack(out4, dy.shape, 4)
        out = empty(dy.shape, dy.dtype)
        if out.size:
            draw(grad_pipe, out.id, dy.id, y.id, code)
        return out

    def parts_of(rows: int, cols: int) -> tuple[int, int]:
        """(parts, chunk) of a column reduction's partial sums, or (1, rows) when it needs none."""
        if cols >= TARGET_FRAGMENTS or rows < 2 * MIN_CHUNK:
            return 1, rows
        chunk = -(-rows // min(-(-TARGET_FRAGMENTS // cols), rows // MIN_CHUNK))
        return -(-rows // chunk), chunk

    def column_reduce(a: GLArray, rows: int, cols: int, shape: tuple, scale: float = 1.0, pipe=sum_pipe):
        """shape-d array of the sums (or, with max_pipe, maxima) over rows of `a` viewed as (rows, cols),
        times scale. A sum of an array that has a packed twin (a deferred unpack) sums the twin."""
        out = empty(shape, a.dtype)
        if cols == 0 or not out.size:
            return out
        if rows == 0:
            rt.js.fill(out.id, 0)
            return out
        twin = rt.packed_twin(a) if pipe is sum_pipe and cols % 4 == 0 else None
        if twin is not None:
            return rt.unpack(column_sum_packed(twin, rows, cols // 4, scale), shape, cols)
        parts, chunk = parts_of(rows, cols)
        if parts > 1:
            partial = empty((parts, cols), a.dtype)
            draw(pipe, partial.id, a.id, rows, cols, chunk, 1.0)
            a, rows = partial, parts
        draw(pipe, out.id, a.id, rows, cols, rows, scale)
        return out

    def column_sum_packed(a4: GLArray, rows: int, cols4: int, scale: float = 1.0) -> GLArray:
        """The column sums of a packed array of rows of cols4 texels, as one packed row (cols4 texels)."""
        parts, chunk = parts_of(rows, cols4)
        if parts > 1:
            partial = empty((parts * cols4, 4), a4.dtype, RGBA32F)
            draw(sum4_pipe, partial.id, a4.id, rows, cols4, chunk, 1.0)
            a4, rows = partial, parts
        out4 = empty((cols4, 4), a4.dtype, RGBA32F)
        draw(sum4_pipe, out4.id, a4.id, rows, cols4, rows, scale)
        return out4

    rt.column_sum_packed = column_sum_packed  # the depthwise filter gradient's packed partial sums

    def column_sum(a: GLArray, rows: int, cols: int, shape: tuple, scale: float = 1.0) -> GLArray:
        return column_reduce(a, rows, cols, shape, scale)

    rt.column_sum = column_sum  # the loss and convolution kernels reduce with it too

    def bias_grad(dz):
        cols = dz.shape[-1]
        return column_sum(dz, dz.size // cols if cols else 0, cols, (cols,))

    def activation_bias_grad(dy, y, activation=None):
        dz = activation_grad(dy, y, activation)
        return dz, bias_grad(dz)

    def leading(a, axes):
        """`a` with `axes` moved to the front (a copy when they are not already there)."""
        if axes == tuple(range(len(axes))):
            return a
        rest = tuple(ax for ax in range(a.ndim) if ax not in axes)
        return rt.transpose(a, axes + rest)

    def reduction(name, pipe, mean=False):
        def kernel(a, axis=None, keepdims=False):
            if axis is None:
                axes = tuple(range(a.ndim))
            else:
                axes = tuple(sorted({ax % a.ndim for ax in ((axis,) if isinstance(axis, int) else axis)}))
            if a.dtype is not F32 or (pipe is max_pipe and any(a.shape[ax] == 0 for ax in axes)):
                return rt.fallback(name, (a,), {"axis": axis, "keepdims": keepdims})  # numpy's dtype or error
            rows = math.prod(a.shape[ax] for ax in axes)
            kept = tuple(d for ax, d in enumerate(a.shape) if ax not in axes)
            shape = tuple(1 if ax in axes else d for ax, d in enumerate(a.shape)) if keepdims else kept
            scale = 1.0 / rows if mean and rows else 1.0
            return column_reduce(leading(a, axes), rows, math.prod(kept), shape, scale, pipe)

        return kernel

    def sum_to_shape(g, shape):
        shape = tuple(int(d) for d in shape)
        if g.shape == shape:
            return g
        lead = g.ndim - len(shape)
        if g.dtype is not F32 or lead < 0:
            return rt.fallback("sum_to_shape", (g,), {"shape": shape})
        axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(shape) if d == 1 and g.shape[lead + i] != 1)
        rows = math.prod(g.shape[ax] for ax in axes)
        kept = tuple(d for ax, d in enumerate(g.shape) if ax not in axes)
        return column_reduce(leading(g, axes), rows, math.prod(kept), shape)

    def argmax(a, axis=-1):
        axis %= a.ndim
        if a.dtype is not F32 or a.shape[axis] == 0:
            return rt.fallback("argmax", (a,), {"axis": axis})
        if axis != a.ndim - 1:
            a = rt.transpose(a, tuple(ax for ax in range(a.ndim) if ax != axis) + (axis,))
        out = empty(a.shape[:-1], "int32")
        if out.size:
            draw(argmax_pipe, out.id, a.id, a.shape[-1])
        return out

    table = {name: binary(name) for name in BINARY_OPS}
    table.update(
        {
            name: unary(name)
            for name in (
                "relu",
                "relu6",
                "where_positive",
                "neg",
                "exp",
                "log",
                "sqrt",
                "abs",
                "square",
                "sigmoid",
                "tanh",
            )
        }
    )
    table["scale"] = unary("scale", lambda alpha=1.0, beta=0.0: (float(alpha), float(beta)))
    table["clip"] = unary("clip", lambda lo, hi: (float(lo), float(hi)))
    table["pow_scalar"] = unary("pow_scalar", lambda p: (float(p), 0.0))
    table.update(
        activation_grad=activation_grad,
        bias_grad=bias_grad,
        activation_bias_grad=activation_bias_grad,
        sum=reduction("sum", sum_pipe),
        mean=reduction("mean", sum_pipe, mean=True),
        max=reduction("max", max_pipe),
        sum_to_shape=sum_to_shape,
        argmax=argmax,
    )
    return table
