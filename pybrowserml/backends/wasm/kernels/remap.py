"""WASM kernel of the remap family: remap_pixels (RandomTranslation), a gather of whole pixels by
per-image row and column index maps (csrc/remap.c). Its gradient (a scatter-add, needed only when the
images themselves need a gradient) is left to the numpy fallback."""

from __future__ import annotations

from ._common import F32, I32


def make_kernels(rt):
    """The kernel table entries of this family, bound to one WasmRuntime."""
    pb_remap_pixels = rt.exports.pb_remap_pixels

    def remap_pixels(x, rows, cols, fill_value=0.0):
        if x.dtype != F32 or x.ndim != 4 or rows.dtype != I32 or cols.dtype != I32:
            return rt.fallback("remap_pixels", (x, rows, cols), {"fill_value": fill_value})
        n, h, w, c = x.shape
        if rows.ndim != 2 or cols.ndim != 2 or rows.shape[0] != n or cols.shape[0] != n:
            raise ValueError(
                f"remap_pixels: rows and cols must be (batch, size) maps for a batch of {n}, "
                f"got {rows.shape} and {cols.shape}"
            )
        h_out, w_out = rows.shape[1], cols.shape[1]
        y = rt.empty((n, h_out, w_out, c))
        if y.size:
            pb_remap_pixels(x.ptr, rows.ptr, cols.ptr, y.ptr, n, h, w, c, h_out, w_out, float(fill_value))
        return y

    return {"remap_pixels": remap_pixels}
