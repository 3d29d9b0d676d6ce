"""Elementwise ops (numpy broadcasting), activations and their gradients, bias gradients, reductions."""

from __future__ import annotations

import numpy as np


def activation_grad(dy, y, activation=None):
    """dy through an activation, from the activation's output y."""
    if activation is None or activation == "linear":
        return dy
    if activation == "relu":
        return dy * (y > 0)
    if activation == "relu6":
        return dy * ((y > 0) & (y < 6))
    if activation == "sigmoid":
        return dy * y * (1 - y)
    if activation == "tanh":
        return dy * (1 - y * y)
    raise ValueError(f"unknown activation {activation!r}")


def bias_grad(dz):
    return dz.reshape(-1, dz.shape[-1]).sum(axis=0)


def activation_bias_grad(dy, y, activation=None):
    """The backward of bias + activation in one kernel: (activation_grad(dy, y), bias_grad of that)."""
    dz = activation_grad(dy, y, activation)
    return dz, bias_grad(dz)


def sum_to_shape(g, shape):
    """Undo numpy broadcasting: sum g down to `shape`."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, d in enumerate(shape) if d == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def _reduction(fn):
    def kernel(a, axis=None, keepdims=False):
        return np.asarray(fn(a, axis=axis, keepdims=keepdims), dtype=a.dtype)

    return kernel


KERNELS = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "maximum": np.maximum,
    "neg": np.negative,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "square": np.square,
    "pow_scalar": lambda a, p: np.power(a, p).astype(a.dtype),
    "scale": lambda a, alpha=1.0, beta=0.0: (a * alpha + beta).astype(a.dtype),
    "relu": lambda a: np.maximum(a, 0),
    "relu6": lambda a: np.clip(a, 0, 6),
    "sigmoid": lambda a: (1 / (1 + np.exp(-a))).astype(a.dtype),
    "tanh": np.tanh,
    "clip": lambda a, lo, hi: np.clip(a, lo, hi),
    "where_positive": lambda a: (a > 0).astype(a.dtype),
    "activation_grad": activation_grad,
    "bias_grad": bias_grad,
    "activation_bias_grad": activation_bias_grad,
    "sum": _reduction(np.sum),
    "mean": _reduction(np.mean),
    "max": _reduction(np.max),
    "sum_to_shape": sum_to_shape,
    "argmax": lambda a, axis=-1: a.argmax(axis=axis).astype(np.int32),
}
