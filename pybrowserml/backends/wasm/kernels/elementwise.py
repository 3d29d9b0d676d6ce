"""WASM elementwise and reduction kernels a training step calls most: add/sub/mul/div, scale, relu,
relu6, where_positive, activation_grad (alone and fused with the bias gradient), bias_grad, sum,
mean and sum_to_shape (csrc/elementwise.c).

The C loops cover the broadcasts the engine produces (same shape, a scalar, a bias-like
trailing-axis operand) and reductions over everything or over all axes but the channels; anything
else is handed to the numpy fallback (counted).
"""

from __future__ import annotations

import numpy as np

from ...kernel_names import GRAD_ACTIVATIONS
from ._common import all_f32, fallback_of, size

BINARY_OPS = {"add": 0, "sub": 1, "mul": 2, "div": 3}


def _strip_leading_ones(shape):
    shape = tuple(shape)
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


def _period(operand_shape, out_shape):
    """How an operand repeats across the output in memory: its size when it is a scalar, the same
    shape, or a trailing-axis suffix of the output (a bias); None for any other broadcast."""
    n = size(operand_shape)
    if n == 1 or tuple(operand_shape) == tuple(out_shape):
        return n if n != 1 else 1
    core = _strip_leading_ones(operand_shape)
    if core and tuple(out_shape[len(out_shape) - len(core) :]) == core:
        return n
    return None


def _normalise_axes(axis, ndim):
    """Sorted non-negative axes, or None when they are not valid for ndim (numpy then reports it)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    normal = set()
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            return None
        normal.add(int(a) % ndim)
    return tuple(sorted(normal)) if len(normal) == len(axes) else None


def make_kernels(rt):
    """The kernel table entries of this family, bound to one WasmRuntime."""
    ex = rt.exports
    # Exports are looked up once: each Python -> JS call then costs ~1 us.
    pb_binary, pb_scale, pb_activation = ex.pb_binary, ex.pb_scale, ex.pb_activation
    pb_activation_grad, pb_where_positive = ex.pb_activation_grad, ex.pb_where_positive
    pb_sum_rows, pb_sum_all = ex.pb_sum_rows, ex.pb_sum_all
    pb_activation_bias_grad = ex.pb_activation_bias_grad
    fallback = fallback_of(rt)

    def binary(name):
        op = BINARY_OPS[name]

        def kernel(a, b):
            if not all_f32(a, b):
                return fallback(name, a, b)
            try:
                out_shape = np.broadcast_shapes(a.shape, b.shape)
            except ValueError:
                raise ValueError(f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None
            pa, pb = _period(a.shape, out_shape), _period(b.shape, out_shape)
            n = size(out_shape)
            # the C loop handles one broadcast period at most (besides scalars)
            if pa is None or pb is None or (pa not in (1, n) and pb not in (1, n) and pa != pb):
                return fallback(name, a, b)
            y = rt.empty(out_shape)
            if n:
                pb_binary(op, a.ptr, pa, b.ptr, pb, y.ptr, n)
            return y

        kernel.__name__ = name
        return kernel

    def scale(a, alpha=1.0, beta=0.0):
        if not all_f32(a):
            return fallback("scale", a, alpha=alpha, beta=beta)
        y = rt.empty(a.shape)
        pb_scale(a.ptr, y.ptr, a.size, float(alpha), float(beta))
        return y

    def unary_activation(name):
        code = GRAD_ACTIVATIONS[name]

        def kernel(a):
            if not all_f32(a):
                return fallback(name, a)
            y = rt.empty(a.shape)
            pb_activation(a.ptr, y.ptr, a.size, code)
            return y

        kernel.__name__ = name
        return kernel

    def activation_grad(dy, y, activation=None):
        code = GRAD_ACTIVATIONS.get(activation)
        if code is None or not all_f32(dy, y) or dy.shape != y.shape:
            return fallback("activation_grad", dy, y, activation=activation)
        if code == 0:
            return dy  # numpy returns dy itself for the identity
        dx = rt.empty(dy.shape)
        pb_activation_grad(dy.ptr, y.ptr, dx.ptr, dy.size, code)
        return dx

    def activation_bias_grad(dy, y, activation=None):
        """(dz, db) = (activation_grad(dy, y), bias_grad(dz)) in one pass over dz."""
        code = GRAD_ACTIVATIONS.get(activation)
        if code is None or not all_f32(dy, y) or dy.shape != y.shape or dy.ndim == 0:
            return fallback("activation_bias_grad", dy, y, activation=activation)
        cols = dy.shape[-1]
        dz, db = rt.empty(dy.shape), rt.empty((cols,))
        pb_activation_bias_grad(dy.ptr, y.ptr, dz.ptr, db.ptr, dy.size // cols if cols else 0, cols, code)
        return dz, db

    def bias_grad(dz):
        if not all_f32(dz) or dz.ndim == 0:
            return fallback("bias_grad", dz)
        cols = dz.shape[-1]
        out = rt.empty((cols,))
        pb_sum_rows(dz.ptr, out.ptr, dz.size // cols if cols else 0, cols)
        return out

    def where_positive(a):
        if not all_f32(a):
            return fallback("where_positive", a)
        y = rt.empty(a.shape)
        pb_where_positive(a.ptr, y.ptr, a.size)
        return y

    def reduction(name, is_mean):
        def kernel(a, axis=None, keepdims=False):
            axes = _normalise_axes(axis, a.ndim)
            if not all_f32(a) or axes is None or a.size == 0:
                return fallback(name, a, axis=axis, keepdims=keepdims)
            if len(axes) == a.ndim:  # everything: a scalar
                out = rt.empty((1,) * a.ndim if keepdims else ())
                pb_sum_all(a.ptr, out.ptr, a.size, 1.0 / a.size if is_mean else 1.0)
                return out
            if axes == tuple(range(a.ndim - 1)):  # all but the channels: per-channel sums
                cols = a.shape[-1]
                out = rt.empty((1,) * (a.ndim - 1) + (cols,) if keepdims else (cols,))
                rows = a.size // cols
                pb_sum_rows(a.ptr, out.ptr, rows, cols)
                if is_mean:
                    pb_scale(out.ptr, out.ptr, cols, 1.0 / rows, 0.0)
                return out
            return fallback(name, a, axis=axis, keepdims=keepdims)

        kernel.__name__ = name
        return kernel

    def sum_to_shape(g, shape):
        shape = tuple(shape)
        if g.shape == shape:
            return g
        if not all_f32(g) or g.size == 0:
            return fallback("sum_to_shape", g, shape=shape)
        target = size(shape)
        core = _strip_leading_ones(shape)
        if target == 1 and len(shape) <= g.ndim:
            out = rt.empty(shape)
            pb_sum_all(g.ptr, out.ptr, g.size, 1.0)
            return out
        if len(shape) <= g.ndim and core and g.shape[g.ndim - len(core) :] == core:
            out = rt.empty(shape)
            pb_sum_rows(g.ptr, out.ptr, g.size // target, target)
            return out
        return fallback("sum_to_shape", g, shape=shape)

    return {
        **{name: binary(name) for name in BINARY_OPS},
        "scale": scale,
        "relu": unary_activation("relu"),
        "relu6": unary_activation("relu6"),
        "activation_grad": activation_grad,
        "activation_bias_grad": activation_bias_grad,
        "bias_grad": bias_grad,
        "where_positive": where_positive,
        "sum": reduction("sum", False),
        "mean": reduction("mean", True),
        "sum_to_shape": sum_to_shape,
    }
