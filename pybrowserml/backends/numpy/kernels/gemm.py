"""Matrix products: matmul, dense (bias and activation fused) and the grouped (block-diagonal) dense
kernels with their two gradients (groups: _groups.py)."""

from __future__ import annotations

import numpy as np

from ._groups import block_indices, group_plan
from ._shared import activate


def matmul(a, b, transpose_a=False, transpose_b=False):
    return (a.T if transpose_a else a) @ (b.T if transpose_b else b)


def dense(x, w, b=None, activation=None):
    y = x @ w
    if b is not None:
        y += b
    return activate(y, activation)


# The grouped kernels as one product with the block-diagonal matrix the groups describe (zeros off the
# blocks): an oracle formulated independently of the backends' loops over groups.


def _block_diagonal(kernel, w, plan):
    if w.ndim != 1:
        raise ValueError(
            f"{kernel}: the weight must be flat (every group's block one after another), got shape {w.shape}"
        )
    rows, cols = block_indices(plan)
    dense = np.zeros((plan.in_features, plan.units), dtype=w.dtype)
    dense[rows, cols] = w
    return dense


def _check_rows(kernel, what, shape, expected):
    if tuple(shape) != tuple(expected):
        raise ValueError(f"{kernel}: {what} has shape {tuple(shape)}, expected {tuple(expected)}")


def grouped_dense(x, w, b=None, groups=(), activation=None):
    plan = group_plan(groups, x.shape[-1], w.size, "grouped_dense")
    if b is not None:
        _check_rows("grouped_dense", "the bias", b.shape, (plan.units,))
    return dense(x, _block_diagonal("grouped_dense", w, plan), b, activation)


def grouped_dense_grad_input(dz, w, groups=(), input_shape=()):
    input_shape = tuple(int(d) for d in input_shape)
    plan = group_plan(groups, input_shape[-1] if input_shape else 0, w.size, "grouped_dense_grad_input")
    _check_rows("grouped_dense_grad_input", "the output gradient", dz.shape, input_shape[:-1] + (plan.units,))
    return (dz @ _block_diagonal("grouped_dense_grad_input", w, plan).T).reshape(input_shape)


def grouped_dense_grad_filter(x, dz, groups=()):
    plan = group_plan(groups, x.shape[-1], None, "grouped_dense_grad_filter")
    _check_rows("grouped_dense_grad_filter", "the output gradient", dz.shape, x.shape[:-1] + (plan.units,))
    rows, cols = block_indices(plan)
    return (x.reshape(-1, plan.in_features).T @ dz.reshape(-1, plan.units))[rows, cols]


KERNELS = {
    "matmul": matmul,
    "dense": dense,
    "grouped_dense": grouped_dense,
    "grouped_dense_grad_input": grouped_dense_grad_input,
    "grouped_dense_grad_filter": grouped_dense_grad_filter,
}
