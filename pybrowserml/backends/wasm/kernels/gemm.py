"""WASM kernels of the gemm family: matmul and dense (csrc/gemm.c, bias and activation fused in)."""

from __future__ import annotations

from ...kernel_names import FUSED_ACTIVATIONS
from ._common import all_f32, check_shape, fallback_of, size


def make_kernels(rt):
    """The kernel table entries of this family, bound to one WasmRuntime."""
    # Exports are looked up once: each Python -> JS call then costs ~1 us.
    pb_gemm = rt.exports.pb_gemm
    fallback = fallback_of(rt)

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

    return {"matmul": matmul, "dense": dense}
