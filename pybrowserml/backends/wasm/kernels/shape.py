"""WASM kernels of the shape family: reshape (a view of the same block, no copy), concat, slice,
2-D transpose, add_parts (the autograd engine's sum of a gradient's parts) and from_uint8 (a uint8
batch to float32 on the device) (csrc/shape.c). concat, slice and transpose copy 32-bit elements:
float32 and int32 alike."""

from __future__ import annotations

import math

import numpy as np

from ...numpy.kernels.shape import parts_shape
from ..runtime import ConcatArray
from ._common import F32, I32, U8, all_f32, fallback_of, size


def make_kernels(rt):
    """The kernel table entries of this family, bound to one WasmRuntime."""
    ex = rt.exports
    # Exports are looked up once: each Python -> JS call then costs ~1 us.
    pb_copy_rows, pb_concat_rows, pb_transpose2d = ex.pb_copy_rows, ex.pb_concat_rows, ex.pb_transpose2d
    pb_add_parts, pb_from_uint8 = ex.pb_add_parts, ex.pb_from_uint8
    fallback = fallback_of(rt)

    def concat(arrays, axis=-1, lazy=False):
        """lazy=True: a concat along the last axis of float32 arrays may return a ConcatArray, copied
        only if a kernel that cannot read the parts needs it (the parts must not change meanwhile)."""
        arrays = list(arrays)
        if not arrays:
            raise ValueError("concat: need at least one array to concatenate")
        first = arrays[0]
        ndim = first.ndim
        if ndim == 0 or first.dtype not in (F32, I32) or any(a.dtype != first.dtype for a in arrays):
            return fallback("concat", arrays, axis=axis)
        if not -ndim <= axis < ndim:
            raise ValueError(f"concat: axis {axis} is out of range for {ndim}-D arrays")
        axis %= ndim
        for a in arrays:
            if a.ndim != ndim or a.shape[:axis] != first.shape[:axis] or a.shape[axis + 1 :] != first.shape[axis + 1 :]:
                raise ValueError(
                    f"concat: all arrays must match except along axis {axis}; got shapes {[x.shape for x in arrays]}"
                )
        out_shape = first.shape[:axis] + (sum(a.shape[axis] for a in arrays),) + first.shape[axis + 1 :]
        if lazy and axis == ndim - 1 and first.dtype == F32 and len(arrays) > 1:
            return ConcatArray(rt, arrays, out_shape, first.dtype)
        y = rt.empty(out_shape, first.dtype)
        if y.size == 0:
            return y
        rows = math.prod(first.shape[:axis])
        inner = math.prod(first.shape[axis + 1 :])
        widths = [a.shape[axis] * inner for a in arrays]
        if len(arrays) <= 3:
            rt.copy_side_by_side(arrays, y, rows, widths)  # a few inputs: one strided copy each, no list
        else:
            pb_concat_rows(rt.ptr_list(arrays), rt.int_list(widths), len(arrays), y.ptr, rows)
        return y

    def slice_(a, axis, start, stop):
        if a.ndim == 0 or a.dtype not in (F32, I32):
            return fallback("slice", a, axis=axis, start=start, stop=stop)
        if not -a.ndim <= axis < a.ndim:
            raise ValueError(f"slice: axis {axis} is out of range for a {a.ndim}-D array")
        axis %= a.ndim
        lo, hi, _ = slice(start, stop).indices(a.shape[axis])  # numpy's clipping of start/stop
        length = max(hi - lo, 0)
        out_shape = a.shape[:axis] + (length,) + a.shape[axis + 1 :]
        y = rt.empty(out_shape, a.dtype)
        if y.size:
            rows = math.prod(a.shape[:axis])
            inner = math.prod(a.shape[axis + 1 :])
            pb_copy_rows(a.ptr + 4 * lo * inner, a.shape[axis] * inner, y.ptr, length * inner, rows, length * inner)
        return y

    def reshape(a, shape):
        """A view of the same WASM memory (no copy), like numpy's reshape of a contiguous array."""
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
        if shape.count(-1) > 1 or any(d < -1 for d in shape):
            raise ValueError(f"reshape: invalid shape {shape} (at most one -1, no other negative sizes)")
        if -1 in shape:
            known = math.prod(d for d in shape if d != -1)
            if known == 0 or a.size % known:
                raise ValueError(f"reshape: cannot reshape an array of {a.size} elements into shape {shape}")
            shape = tuple(a.size // known if d == -1 else d for d in shape)
        if math.prod(shape) != a.size:
            raise ValueError(
                f"reshape: cannot reshape an array of shape {a.shape} ({a.size} elements) into shape {shape}"
            )
        return rt.view(a, shape)

    def transpose(a, axes=None):
        swap = a.ndim == 2 and (axes is None or tuple(int(ax) % 2 for ax in axes) == (1, 0))
        if a.dtype not in (F32, I32) or not swap:
            return fallback("transpose", a, axes=axes)
        rows, cols = a.shape
        y = rt.empty((cols, rows), a.dtype)
        if y.size:
            pb_transpose2d(a.ptr, y.ptr, rows, cols)
        return y

    def add_parts(arrays, slices):
        """The sum of the parts: arrays[i], or its slice (axis, start, stop) when slices[i] is one."""
        arrays, slices = list(arrays), list(slices)
        shape = parts_shape([a.shape for a in arrays], slices)
        axes = {s[0] % a.ndim for a, s in zip(arrays, slices) if s is not None}
        if not all_f32(*arrays) or len(axes) > 1:
            return fallback("add_parts", arrays, slices)
        out = rt.empty(shape)
        if not out.size:
            return out
        if axes:
            axis = axes.pop()
            rows, inner = size(shape[:axis]), size(shape[axis + 1 :])
            width = shape[axis] * inner
        else:  # whole arrays only: any row split will do; rows of 1024 sum in L1 and split over threads
            rows, width = (out.size // 1024, 1024) if out.size % 1024 == 0 else (1, out.size)
        sources = []
        for a, s in zip(arrays, slices):
            if s is None:
                sources += [a.ptr, width]
            else:
                sources += [a.ptr + 4 * s[1] * inner, a.shape[axis] * inner]
        # four parts per call (the C kernel takes them as arguments); the running sum leads the next call
        pb_add_parts(out.ptr, rows, width, min(len(arrays), 4), *sources[:8], *[0] * (8 - len(sources[:8])))
        for first in range(4, len(arrays), 3):
            chunk = [out.ptr, width] + sources[2 * first : 2 * first + 6]
            pb_add_parts(out.ptr, rows, width, len(chunk) // 2, *chunk, *[0] * (8 - len(chunk)))
        return out

    def from_uint8(a, scale=1 / 255):
        """A new float32 array a * scale from a uint8 one (a batch of images sent to the device as bytes)."""
        if a.dtype != U8:
            return fallback("from_uint8", a, scale=scale)
        y = rt.empty(a.shape)
        if y.size:
            pb_from_uint8(a.ptr, y.ptr, y.size, float(scale))
        return y

    return {
        "reshape": reshape,
        "transpose": transpose,
        "concat": concat,
        "slice": slice_,
        "add_parts": add_parts,
        "from_uint8": from_uint8,
    }
