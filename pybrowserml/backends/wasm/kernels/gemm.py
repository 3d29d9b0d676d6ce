"""WASM kernels of the gemm family: matmul and dense (csrc/gemm.c, bias and activation fused in), and the
grouped (block-diagonal) dense kernels with their gradients (csrc/grouped_gemm.c)."""

from __future__ import annotations

from ...kernel_names import FUSED_ACTIVATIONS
from ...numpy.kernels._groups import group_plan, normalize_groups
from ._common import all_f32, check_shape, fallback_of, size

# Group lists kept in WASM memory by value (a packed network's layers ask for the same few every step,
# and an upload costs ~20 us in Pyodide); the oldest goes beyond this many.
KEPT_GROUP_LISTS = 64
# Groups per call csrc/grouped_gemm.c takes (MAX_GROUPS there); more run on numpy.
MAX_GROUPS = 64


def group_list(plan) -> list[int]:
    """The int32 description csrc/grouped_gemm.c reads: the count, then per group units, out_start, w_start,
    the segment count and its (start, width) pairs."""
    values = [len(plan.groups)]
    for group in plan.groups:
        values += [group.units, group.out_start, group.w_start, len(group.segments)]
        for start, width in group.segments:
            values += [start, width]
    return values


def make_kernels(rt):
    """The kernel table entries of this family, bound to one WasmRuntime."""
    ex = rt.exports
    # Exports are looked up once: each Python -> JS call then costs ~1 us.
    pb_gemm, pb_fill_f32 = ex.pb_gemm, ex.pb_fill_f32
    pb_grouped, pb_grouped_dx, pb_grouped_dw = (
        ex.pb_grouped_dense,
        ex.pb_grouped_dense_grad_input,
        ex.pb_grouped_dense_grad_filter,
    )
    fallback = fallback_of(rt)
    plans: dict = {}  # (groups, in_features) -> (plan, pointer to its group list), in order of use

    def planned(kernel, groups, in_features, weight_size=None):
        """(the checked plan, the pointer to its group list) for `groups`; a packed network passes the same
        tuple every step, so the usual case is one dict lookup."""
        try:
            key = (groups, in_features)
            entry = plans.pop(key, None)
        except TypeError:  # unhashable (lists): normalised first
            key, entry = None, None
        if entry is None:
            normalized = normalize_groups(groups, kernel)
            plan = group_plan(normalized, in_features, None, kernel)
            key = (normalized, in_features) if key is None else key
            if len(plans) >= KEPT_GROUP_LISTS:
                rt.free_ints(plans.pop(next(iter(plans)))[1])
            entry = (plan, rt.alloc_ints(group_list(plan)))
        plans[key] = entry  # (re-)inserted last: the dict's order is the order of use
        if weight_size is not None and weight_size != entry[0].weight_size:
            group_plan(normalize_groups(groups, kernel), in_features, weight_size, kernel)  # raises the error
        return entry

    def matmul(a, b, transpose_a=False, transpose_b=False):
        if a.ndim != 2 or b.ndim != 2 or not all_f32(a, b):
            return fallback("matmul", a, b, transpose_a=transpose_a, transpose_b=transpose_b)
        m, k = a.shape[::-1] if transpose_a else a.shape
        k2, n = b.shape[::-1] if transpose_b else b.shape
        if k != k2:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} do not align "
                f"(transpose_a={transpose_a}, transpose_b={transpose_b})"
            )
        y = rt.empty((m, n))
        pb_gemm(a.ptr, a.shape[1], int(transpose_a), b.ptr, b.shape[1], int(transpose_b), y.ptr, n, m, n, k, 0, 0, 0)
        return y

    def dense(x, w, b=None, activation=None):
        act = FUSED_ACTIVATIONS.get(activation)
        if act is None or w.ndim != 2 or not all_f32(x, w, b):
            return fallback("dense", x, w, b, activation=activation)
        k, n = w.shape
        if x.shape[-1] != k:
            raise ValueError(f"dense: input has {x.shape[-1]} features, the weights expect {k}")
        if b is not None:
            check_shape("dense", "the bias", b.shape, (n,))
        rows = x.size // k if k else size(x.shape[:-1])
        y = rt.empty(x.shape[:-1] + (n,))
        pb_gemm(x.ptr, k, 0, w.ptr, n, 0, y.ptr, n, rows, n, k, b.ptr if b is not None else 0, act, 0)
        return y

    def _flat_weight(kernel, w):
        if w.ndim != 1:
            raise ValueError(
                f"{kernel}: the weight must be flat (every group's block one after another), got shape {w.shape}"
            )

    def grouped_dense(x, w, b=None, groups=(), activation=None):
        act = FUSED_ACTIVATIONS.get(activation)
        if act is None or x.ndim == 0 or not all_f32(x, w, b):
            return fallback("grouped_dense", x, w, b, groups=groups, activation=activation)
        _flat_weight("grouped_dense", w)
        plan, groups_ptr = planned("grouped_dense", groups, x.shape[-1], w.size)
        if len(plan.groups) > MAX_GROUPS:
            return fallback("grouped_dense", x, w, b, groups=groups, activation=activation)
        if b is not None:
            check_shape("grouped_dense", "the bias", b.shape, (plan.units,))
        y = rt.empty(x.shape[:-1] + (plan.units,))
        rows = size(x.shape[:-1])
        if y.size:
            pb_grouped(
                x.ptr, plan.in_features, w.ptr, b.ptr if b is not None else 0, y.ptr, plan.units, rows, groups_ptr, act
            )
        return y

    def grouped_dense_grad_input(dz, w, groups=(), input_shape=()):
        input_shape = tuple(int(d) for d in input_shape)
        if not input_shape or not all_f32(dz, w):
            return fallback("grouped_dense_grad_input", dz, w, groups=groups, input_shape=input_shape)
        _flat_weight("grouped_dense_grad_input", w)
        plan, groups_ptr = planned("grouped_dense_grad_input", groups, input_shape[-1], w.size)
        if len(plan.groups) > MAX_GROUPS:
            return fallback("grouped_dense_grad_input", dz, w, groups=groups, input_shape=input_shape)
        check_shape("grouped_dense_grad_input", "the output gradient", dz.shape, input_shape[:-1] + (plan.units,))
        dx = rt.empty(input_shape)
        if dx.size and sum(g.in_features for g in plan.groups) < plan.in_features:  # columns no group reads
            pb_fill_f32(dx.ptr, 0.0, dx.size)
        if dx.size:
            pb_grouped_dx(dz.ptr, plan.units, w.ptr, dx.ptr, plan.in_features, size(input_shape[:-1]), groups_ptr)
        return dx

    def grouped_dense_grad_filter(x, dz, groups=()):
        if x.ndim == 0 or not all_f32(x, dz):
            return fallback("grouped_dense_grad_filter", x, dz, groups=groups)
        plan, groups_ptr = planned("grouped_dense_grad_filter", groups, x.shape[-1])
        if len(plan.groups) > MAX_GROUPS:
            return fallback("grouped_dense_grad_filter", x, dz, groups=groups)
        check_shape("grouped_dense_grad_filter", "the output gradient", dz.shape, x.shape[:-1] + (plan.units,))
        dw = rt.empty((plan.weight_size,))
        pb_grouped_dw(x.ptr, plan.in_features, dz.ptr, plan.units, dw.ptr, size(x.shape[:-1]), groups_ptr)
        return dw

    return {
        "matmul": matmul,
        "dense": dense,
        "grouped_dense": grouped_dense,
        "grouped_dense_grad_input": grouped_dense_grad_input,
        "grouped_dense_grad_filter": grouped_dense_grad_filter,
    }
