"""Pixel remapping and its adjoint (shaders/remap.wgsl): a gather each (the gradient sums, per input pixel,
the outputs that copied it, so no two invocations write one element)."""

from __future__ import annotations


def make_table(rt) -> dict:
    dispatch, empty, grid = rt.dispatch, rt.empty, rt.grid
    remap_pipe = rt.pipeline("remap", "remap")
    grad_pipe = rt.pipeline("remap", "remap_grad")

    def indices(values):
        return values if values.dtype.name == "int32" else rt.run_cast(values, "int32")

    def remap_pixels(x, rows, cols, fill_value=0.0):
        n, h, w, c = x.shape
        oh, ow = rows.shape[1], cols.shape[1]
        out = empty((n, oh, ow, c), x.dtype)
        if out.size:
            gx, gy = grid(out.size)
            dispatch(
                remap_pipe,
                gx,
                gy,
                1,
                x.id,
                indices(rows).id,
                indices(cols).id,
                out.id,
                n,
                h,
                w,
                c,
                oh,
                ow,
                float(fill_value),
            )
        return out

    def remap_pixels_grad(dy, rows, cols, input_shape):
        n, h, w, c = input_shape
        out = empty(tuple(input_shape), dy.dtype)
        if out.size:
            gx, gy = grid(out.size)
            dispatch(
                grad_pipe,
                gx,
                gy,
                1,
                dy.id,
                indices(rows).id,
                indices(cols).id,
                out.id,
                n,
                h,
                w,
                c,
                dy.shape[1],
                dy.shape[2],
                0.0,
            )
        return out

    return {"remap_pixels": remap_pixels, "remap_pixels_grad": remap_pixels_grad}
