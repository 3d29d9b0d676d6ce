"""Pixel remapping and its adjoint (shaders/remap.glsl): a gather each (the gradient sums, per input pixel,
the outputs that copied it, so no two fragments write one element)."""

from __future__ import annotations


def make_table(rt) -> dict:
    draw, empty = rt.draw, rt.empty
    remap_pipe = rt.program("remap", "remap")
    grad_pipe = rt.program("remap", "remap_grad")

    def remap_pixels(x, rows, cols, fill_value=0.0):
        n, h, w, c = x.shape
        oh, ow = rows.shape[1], cols.shape[1]
        out = empty((n, oh, ow, c), x.dtype)
        if out.size:
            draw(remap_pipe, out.id, x.id, rows.id, cols.id, n, h, w, c, oh, ow, float(fill_value))
        return out

    def remap_pixels_grad(dy, rows, cols, input_shape):
        input_shape = tuple(input_shape)
        n, h, w, c = input_shape
        out = empty(input_shape, dy.dtype)
        if out.size:
            draw(grad_pipe, out.id, dy.id, rows.id, cols.id, n, h, w, c, dy.shape[1], dy.shape[2])
        return out

    return {"remap_pixels": remap_pixels, "remap_pixels_grad": remap_pixels_grad}
