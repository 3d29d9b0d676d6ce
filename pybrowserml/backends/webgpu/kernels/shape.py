"""Shapes and dtypes (shaders/shape.wgsl): reshape (a view); concat, slice and add_parts view their arrays as
(rows, row width) around the axis and copy column blocks (concat and add_parts of 4-byte arrays: up to
PARTS_PER_DISPATCH parts in one dispatch); transpose and broadcast_to are one strided gather; cast and
from_uint8 convert (uint8 arrays are stored packed)."""

from __future__ import annotations

import math

import numpy as np

from ...numpy.kernels.shape import parts_shape, reshape_target, strides_of
from ..runtime import DTYPES

MAX_DIMS = 6  # of the gather kernel
PARTS_PER_DISPATCH = 7  # sources of concat_parts / sum_parts: 7 + the output = 8 storage bindings
# Dtype codes of the cast kernel: the kinds it reads; it writes float32 or int32 only.
CAST_KINDS = {DTYPES["float32"]: 0, DTYPES["int32"]: 1, DTYPES["uint8"]: 2}


def make_table(rt) -> dict:
    dispatch, empty, grid = rt.dispatch, rt.empty, rt.grid
    copy_pipe = rt.pipeline("shape", "copy_columns")
    concat_pipe = rt.pipeline("shape", "concat_parts")
    sum_pipe = rt.pipeline("shape", "sum_parts")
    gather_pipe = rt.pipeline("shape", "gather")
    uint8_pipe = rt.pipeline("shape", "from_uint8")
    cast_pipe = rt.pipeline("shape", "cast")

    def gather(a, shape, strides):
        """A new array of `shape` whose element (i0, i1, ...) is a's flat element sum(i_k * strides[k]); None
        beyond MAX_DIMS dimensions."""
        if len(shape) > MAX_DIMS:
            return None
        out = empty(shape, a.dtype)
        if out.size:
            pad = MAX_DIMS - len(shape)
            gx, gy = grid(out.size)
            dispatch(gather_pipe, gx, gy, 1, a.id, out.id, out.size, 0, *([1] * pad), *shape, *([0] * pad), *strides)
        return out

    def transpose(a, axes=None):
        axes = tuple(reversed(range(a.ndim))) if axes is None else tuple(ax % a.ndim for ax in axes)
        if sorted(axes) != list(range(a.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {a.ndim} axes of {a.shape}")
        if a.dtype.itemsize != 4:
            return rt.fallback("transpose", (a,), {"axes": axes})
        source = strides_of(a.shape)
        out = gather(a, tuple(a.shape[ax] for ax in axes), [source[ax] for ax in axes])
        return rt.fallback("transpose", (a,), {"axes": axes}) if out is None else out

    def broadcast_to(a, shape):
        shape = tuple(int(d) for d in shape)
        np.broadcast_shapes(a.shape, shape)  # numpy's message for shapes that do not broadcast
        lead = len(shape) - a.ndim
        if lead < 0 or np.broadcast_shapes(a.shape, shape) != shape:
            raise ValueError(f"cannot broadcast an array of shape {a.shape} to shape {shape}")
        if a.dtype.itemsize != 4:
            return rt.fallback("broadcast_to", (a,), {"shape": shape})
        source = [0] * lead + [0 if d == 1 else s for d, s in zip(a.shape, strides_of(a.shape))]
        out = gather(a, shape, source)
        return rt.fallback("broadcast_to", (a,), {"shape": shape}) if out is None else out

    def from_uint8(a, scale=1 / 255):
        if a.dtype != DTYPES["uint8"]:
            raise TypeError(
                f"from_uint8 converts uint8 arrays, got {a.dtype}: "
                "use the 'cast' kernel (or ops on float32 data) for other dtypes"
            )
        out = empty(a.shape, "float32")
        if out.size:
            gx, gy = grid(out.size)
            dispatch(uint8_pipe, gx, gy, 1, a.id, out.id, out.size, float(scale))
        return out

    def cast(a, dtype):
        target = np.dtype(dtype)
        if target == a.dtype:
            return copy_of(a)
        if target.name not in ("float32", "int32"):
            return rt.fallback("cast", (a,), {"dtype": dtype})
        out = empty(a.shape, target)
        if out.size:
            gx, gy = grid(out.size)
            dispatch(cast_pipe, gx, gy, 1, a.id, out.id, out.size, CAST_KINDS[a.dtype] * 3 + CAST_KINDS[target])
        return out

    # The elementwise, reduction and softmax kernels move axes with these.
    rt.transpose, rt.broadcast_to, rt.run_cast = transpose, broadcast_to, cast

    def copy_of(a):
        out = empty(a.shape, a.dtype)
        words = -(-a.nbytes // 4)
        copy_columns(a, out, 1, words, words, 0, words, 0)
        return out

    def copy_columns(src, dst, rows, width, src_width, src_offset, dst_width, dst_offset, accumulate=0):
        if rows and width:
            gx, gy = grid(rows * width)
            dispatch(
                copy_pipe,
                gx,
                gy,
                1,
                src.id,
                dst.id,
                rows,
                width,
                src_width,
                src_offset,
                dst_width,
                dst_offset,
                accumulate,
            )

    def multi_part(pipe, sources, words, rows, total, accumulate=0):
        """One dispatch of concat_parts or sum_parts over `sources` (at most PARTS_PER_DISPATCH) with
        their 4-word descriptors `words`, into dst (the last source entry is the output)."""
        *parts, dst = sources
        ids = [a.id for a in parts] + [rt.dummy_id] * (PARTS_PER_DISPATCH - len(parts))
        described = [w for quad in words for w in quad] + [0] * (4 * (PARTS_PER_DISPATCH - len(parts)))
        if pipe is concat_pipe:  # one workgroup layer per part, each as wide as the widest part
            gx, gy = grid(rows * max(quad[1] for quad in words))
            layers = len(parts)
        else:
            (gx, gy), layers = grid(rows * total), 1
        dispatch(pipe, gx, gy, layers, *ids, dst.id, rows, total, len(parts), accumulate, *described)

    def reshape(a, shape):
        return rt.view(a, reshape_target(shape, a.size))

    def concat(arrays, axis=-1, lazy=False):
        first = arrays[0].shape
        axis %= len(first)
        for a in arrays:
            if len(a.shape) != len(first) or a.shape[:axis] + a.shape[axis + 1 :] != first[:axis] + first[axis + 1 :]:
                raise ValueError(f"concat along axis {axis}: shapes {[x.shape for x in arrays]} differ elsewhere")
        out = empty(first[:axis] + (sum(a.shape[axis] for a in arrays),) + first[axis + 1 :], arrays[0].dtype)
        rows = math.prod(first[:axis])
        inner = math.prod(first[axis + 1 :])
        total, offset = out.shape[axis] * inner, 0
        if out.dtype.itemsize == 4 and rows and total:
            for first_part in range(0, len(arrays), PARTS_PER_DISPATCH):
                chunk = arrays[first_part : first_part + PARTS_PER_DISPATCH]
                words = []
                for a in chunk:
                    words.append((offset, a.shape[axis] * inner, 0, 0))
                    offset += a.shape[axis] * inner
                multi_part(concat_pipe, [*chunk, out], words, rows, total)
            return out
        for a in arrays:
            width = a.shape[axis] * inner
            copy_columns(a, out, rows, width, width, 0, total, offset)
            offset += width
        return out

    def slice_(a, axis, start, stop):
        axis %= a.ndim
        start, stop, _ = slice(start, stop).indices(a.shape[axis])
        stop = max(start, stop)
        out = empty(a.shape[:axis] + (stop - start,) + a.shape[axis + 1 :], a.dtype)
        inner = math.prod(a.shape[axis + 1 :])
        copy_columns(
            a,
            out,
            math.prod(a.shape[:axis]),
            (stop - start) * inner,
            a.shape[axis] * inner,
            start * inner,
            (stop - start) * inner,
            0,
        )
        return out

    def add_parts(arrays, slices):
        shape = parts_shape([a.shape for a in arrays], slices)
        out = empty(shape, arrays[0].dtype)
        if out.dtype.name == "float32" and out.size:
            words = []
            for a, cut in zip(arrays, slices):
                if cut is None:
                    words.append((out.size, out.size, 0, 0))
                else:
                    axis, start, stop = cut
                    inner = math.prod(a.shape[axis % a.ndim + 1 :])
                    words.append(((stop - start) * inner, a.shape[axis] * inner, start * inner, 0))
            for first in range(0, len(arrays), PARTS_PER_DISPATCH):
                chunk = list(arrays[first : first + PARTS_PER_DISPATCH])
                multi_part(
                    sum_pipe, [*chunk, out], words[first : first + PARTS_PER_DISPATCH], 1, out.size, int(first > 0)
                )
            return out
        for i, (a, cut) in enumerate(zip(arrays, slices)):
            if cut is None:
                copy_columns(a, out, 1, a.size, a.size, 0, a.size, 0, int(i > 0))
            else:
                axis, start, stop = cut
                axis %= a.ndim
                inner = math.prod(a.shape[axis + 1 :])
                width = (stop - start) * inner
                copy_columns(
                    a, out, math.prod(a.shape[:axis]), width, a.shape[axis] * inner, start * inner, width, 0, int(i > 0)
                )
        return out

    return {
        "reshape": reshape,
        "concat": concat,
        "slice": slice_,
        "add_parts": add_parts,
        "transpose": transpose,
        "broadcast_to": broadcast_to,
        "cast": cast,
        "from_uint8": from_uint8,
    }
