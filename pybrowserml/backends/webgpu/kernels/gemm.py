"""matmul and dense (shaders/gemm.wgsl): one tiled GEMM dispatch with the transposes, the bias and the
activation folded in."""

from __future__ import annotations

from ...kernel_names import FUSED_ACTIVATIONS

TILE = 64  # rows and columns of C per workgroup (shaders/gemm.wgsl)


def make_table(rt) -> dict:
    dispatch, empty = rt.dispatch, rt.empty
    pipe = rt.pipeline("gemm", "gemm")

    def gemm(a, b, bias, m, n, k, ta, tb, act):
        out = empty((m, n), a.dtype)
        if m and n:
            dispatch(
                pipe,
                -(-n // TILE),
                -(-m // TILE),
                1,
                a.id,
                b.id,
                rt.dummy_id if bias is None else bias.id,
                out.id,
                m,
                n,
                k,
                ta,
                tb,
                0 if bias is None else 1,
                act,
                k,
            )
        return out

    def matmul(a, b, transpose_a=False, transpose_b=False):
        if a.ndim != 2 or b.ndim != 2:
            return rt.fallback("matmul", (a, b), {"transpose_a": transpose_a, "transpose_b": transpose_b})
        m, k = a.shape[::-1] if transpose_a else a.shape
        kb, n = b.shape[::-1] if transpose_b else b.shape
        if k != kb:
            raise ValueError(
                f"matmul: shapes {a.shape}{'^T' if transpose_a else ''} and "
                f"{b.shape}{'^T' if transpose_b else ''} do not fit ({k} != {kb})"
            )
        return gemm(a, b, None, m, n, k, int(transpose_a), int(transpose_b), 0)

    def dense(x, w, b=None, activation=None):
        act = FUSED_ACTIVATIONS.get(activation)
        if act is None:
            raise ValueError(f"unknown fused activation {activation!r}: use None, 'relu' or 'relu6'")
        if x.ndim < 1 or w.ndim != 2 or x.shape[-1] != w.shape[0]:
            raise ValueError(
                f"dense: input {x.shape} and kernel {w.shape} do not fit (a 2-d kernel whose "
                "rows match the input's last axis)"
            )
        if x.ndim == 2:
            return gemm(x, w, b, x.shape[0], w.shape[1], x.shape[1], 0, 0, act)
        # over the last axis: the leading axes are rows of one GEMM
        rows = x.size // x.shape[-1]
        out = gemm(rt.view(x, (rows, x.shape[-1])), w, b, rows, w.shape[1], x.shape[-1], 0, 0, act)
        return rt.view(out, x.shape[:-1] + (w.shape[1],))

    return {"matmul": matmul, "dense": dense}
