"""Matrix products: matmul, dense (bias and activation fused) and the grouped (block-diagonal) dense
kernels with their two gradients (groups: _groups.py)."""

from __future__ import annotations

import numpy as np

from ._groups import group_plan
from ._shared import activate


def matmul(a, b, transpose_a=False, transpose_b=False):
    return (a.T if transpose_a else a) @ (b.T if transpose_b else b)


def dense(x, w, b=None, activation=None):
    y = x @ w
    if b is not None:
        y += b
    return activate(y, activation)


def _check_flat_weight(kernel, w):
    if w.ndim != 1:
        raise ValueError(
            f"{kernel}: the weight must be flat (every group's block one after another), got shape {w.shape}"
        )


def _group_input(rows, group):
    """The group's input columns side by side (a view when it reads one segment)."""
    parts = [rows[:, start : start + width] for start, width in group.segments]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def _block(w, group):
    return w[group.w_start : group.w_start + group.in_features * group.units].reshape(group.in_features, group.units)


def grouped_dense(x, w, b=None, groups=(), activation=None):
    """act(y + b) where each group's output columns are its input columns times its own weight block."""
    _check_flat_weight("grouped_dense", w)
    plan = group_plan(groups, x.shape[-1], w.size, "grouped_dense")
    if b is not None and b.shape != (plan.units,):
        raise ValueError(f"grouped_dense: the bias has shape {b.shape}, expected ({plan.units},)")
    rows = x.reshape(-1, plan.in_features)
    y = np.empty((rows.shape[0], plan.units), dtype=np.result_type(x, w))
    for group in plan.groups:
        y[:, group.out_start : group.out_start + group.units] = _group_input(rows, group) @ _block(w, group)
    if b is not None:
        y += b
    return activate(y, activation).reshape(x.shape[:-1] + (plan.units,))


def grouped_dense_grad_input(dz, w, groups=(), input_shape=()):
    """dx: each group's input columns get its output gradient times its block transposed; columns no group
    reads get zeros."""
    _check_flat_weight("grouped_dense_grad_input", w)
    input_shape = tuple(int(d) for d in input_shape)
    if not input_shape:
        raise ValueError("grouped_dense_grad_input: give the input_shape")
    plan = group_plan(groups, input_shape[-1], w.size, "grouped_dense_grad_input")
    if dz.shape != input_shape[:-1] + (plan.units,):
        raise ValueError(
            f"grouped_dense_grad_input: the output gradient has shape {dz.shape}, expected "
            f"{input_shape[:-1] + (plan.units,)}"
        )
    rows = dz.reshape(-1, plan.units)
    dx = np.zeros((rows.shape[0], plan.in_features), dtype=np.result_type(dz, w))
    for group in plan.groups:
        part = rows[:, group.out_start : group.out_start + group.units] @ _block(w, group).T
        offset = 0
        for start, width in group.segments:
            dx[:, start : start + width] = part[:, offset : offset + width]
            offset += width
    return dx.reshape(input_shape)


def grouped_dense_grad_filter(x, dz, groups=()):
    """The flat weight gradient: each group's block is its input columns transposed times its output gradient."""
    plan = group_plan(groups, x.shape[-1], None, "grouped_dense_grad_filter")
    if dz.shape != x.shape[:-1] + (plan.units,):
        raise ValueError(
            f"grouped_dense_grad_filter: the output gradient has shape {dz.shape}, expected "
            f"{x.shape[:-1] + (plan.units,)}"
        )
    rows, drows = x.reshape(-1, plan.in_features), dz.reshape(-1, plan.units)
    dw = np.empty(plan.weight_size, dtype=np.result_type(x, dz))
    for group in plan.groups:
        block = _group_input(rows, group).T @ drows[:, group.out_start : group.out_start + group.units]
        dw[group.w_start : group.w_start + block.size] = block.reshape(-1)
    return dw


KERNELS = {
    "matmul": matmul,
    "dense": dense,
    "grouped_dense": grouped_dense,
    "grouped_dense_grad_input": grouped_dense_grad_input,
    "grouped_dense_grad_filter": grouped_dense_grad_filter,
}
