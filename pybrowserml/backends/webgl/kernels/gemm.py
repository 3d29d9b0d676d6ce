"""matmul and dense (shaders/gemm.glsl): one draw, with the transposes, the bias and the activation folded in."""

from __future__ import annotations

from ...kernel_names import FUSED_ACTIVATIONS


def make_table(rt) -> dict:
    draw, empty = rt.draw, rt.empty
    pipe = rt.program("gemm", "gemm")

    def gemm(a, b, bias, m, n, k, ta, tb, act):
        out = empty((m, n), a.dtype)
        if out.size:
            if k == 0:
                rt.js.fill(out.id, 0)  # an empty sum (then the bias and activation, on the rare k = 0)
                if bias is None and act == 0:
                    return out
            has_bias = 0 if bias is None else 1
            draw(pipe, out.id, a.id, b.id, rt.dummy_id if bias is None else bias.id, m, n, k, ta, tb, has_bias, act)
        return out

    rt.gemm = gemm  # pointwise convolutions are GEMMs (kernels/conv.py)

    def matmul(a, b, transpose_a=False, transpose_b=False):
        if a.ndim != 2 or b.ndim != 2 or a.dtype.name != "float32" or b.dtype.name != "float32":
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
