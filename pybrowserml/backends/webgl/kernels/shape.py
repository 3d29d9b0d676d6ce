"""Shapes and dtypes (shaders/shape.glsl): reshape is a view; concat, slice and add_parts view their arrays
as (rows, row width) around the axis and gather column blocks (four parts per draw); a lazy concat of
equal packed parts is stacked instead (no draw: runtime.StackedConcat); transpose and broadcast_to are one
strided gather; cast and from_uint8 convert (uint8 arrays are R8 textures)."""

from __future__ import annotations

import math

import numpy as np

from ...numpy.kernels.shape import parts_shape, reshape_target, strides_of
from ..runtime import DTYPES, RGBA32F, StackedConcat

MAX_DIMS = 6  # of the gather kernel
PARTS_PER_DRAW = 4  # of the concat and add_parts kernels (plus the array so far)


def make_table(rt) -> dict:
    draw, empty = rt.draw, rt.empty
    gather_pipe = rt.program("shape", "gather")
    concat_pipe = rt.program("shape", "concat")
    concat4_pipe = rt.program("shape", "concat4")
    slice_pipe = rt.program("shape", "slice")
    add_parts_pipe = rt.program("shape", "add_parts")
    add_parts4_pipe = rt.program("shape", "add_parts4")
    cast_pipe = rt.program("shape", "cast")
    uint8_pipe = rt.program("shape", "from_uint8")
    dummy = rt.dummy_id

    def gather(a, shape, strides):
        """A new array of `shape` whose element (i0, i1, ...) is a's flat element sum(i_k * strides[k]); None
        beyond MAX_DIMS dimensions."""
        if len(shape) > MAX_DIMS:
            return None
        out = empty(shape, a.dtype)
        if out.size:
            pad = MAX_DIMS - len(shape)
            draw(gather_pipe, out.id, a.id, *([1] * pad), *shape, *([0] * pad), *strides)
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
            draw(uint8_pipe, out.id, a.id, float(scale))
        return out

    def cast(a, dtype):
        target = np.dtype(dtype)
        if target.name not in ("float32", "int32"):
            return rt.fallback("cast", (a,), {"dtype": dtype})
        if a.dtype.itemsize == 1:
            mode = 2
        else:
            mode = 1 if a.dtype.name == "float32" and target.name == "int32" else 0
        out = empty(a.shape, target)
        if out.size:
            draw(cast_pipe, out.id, a.id, mode)
        return out

    # The elementwise, reduction and softmax kernels move axes with these.
    rt.transpose, rt.broadcast_to, rt.run_cast = transpose, broadcast_to, cast

    def reshape(a, shape):
        return rt.view(a, reshape_target(shape, a.size))

    def packed_parts(arrays, axis, inner, rows):
        """The parts' packed twins (rows of width / 4 texels) when every part has one (outputs of packed
        kernels not read as R32F yet: the dense blocks' pointwise convolutions), else None."""
        packed = []
        for a in arrays:
            owner = a if a.base is None else a.base
            width = a.shape[axis] * inner
            if owner.packed is None or width % 4 or rt.js.twin(a.id) != owner.packed.id:
                return None
            packed.append(rt.pack(a, rows, width, width, 1)[0])
        return packed

    def concat_packed(parts, widths, out, total):
        """concat over packed parts into a packed result, unpacked only when read as R32F (and taken as
        it is by the next pack of the same rows: the dense block's next depthwise)."""
        total4 = total // 4
        out4 = empty((out.size // 4, 4), out.dtype, RGBA32F)
        offset = 0
        for start in range(0, len(parts), PARTS_PER_DRAW):
            group = parts[start : start + PARTS_PER_DRAW]
            ids, offsets = [], [offset]
            for p, width in zip(group, widths[start : start + PARTS_PER_DRAW]):
                ids.append(p.id)
                offset += width
                offsets.append(offset)
            ids += [dummy] * (PARTS_PER_DRAW - len(group))
            offsets += [offset] * (PARTS_PER_DRAW + 1 - len(offsets))
            has_prev = int(start > 0)
            draw(concat4_pipe, out4.id, *ids, out4.id if has_prev else dummy, total4, has_prev, *offsets)
        return rt.unpack(out4, out.shape, total)

    def stacked(parts, part_width, out, materialize):
        """A lazy concat of equal packed parts as a StackedConcat: each part's texture copied whole into
        one texture (one after another, no draw), read as it is by the kernels that
        know the layout."""
        texels = parts[0].size // 4
        stack = empty((len(parts) * texels, 4), out.dtype, RGBA32F)
        rt.js.placeParts(stack.id, texels, *(p.id for p in parts))
        return StackedConcat(rt, stack, texels, part_width, out.shape, out.dtype, materialize)

    def concat(arrays, axis=-1, lazy=False):
        first = arrays[0].shape
        axis %= len(first)
        for a in arrays:
            if len(a.shape) != len(first) or a.shape[:axis] + a.shape[axis + 1 :] != first[:axis] + first[axis + 1 :]:
                raise ValueError(f"concat along axis {axis}: shapes {[x.shape for x in arrays]} differ elsewhere")
            if a.dtype != arrays[0].dtype:
                return rt.fallback("concat", (arrays,), {"axis": axis, "lazy": lazy})
        out = empty(first[:axis] + (sum(a.shape[axis] for a in arrays),) + first[axis + 1 :], arrays[0].dtype)
        if not out.size or arrays[0].dtype.itemsize != 4:
            return out if not out.size else rt.fallback("concat", (arrays,), {"axis": axis, "lazy": lazy})
        inner = math.prod(first[axis + 1 :])
        total = out.shape[axis] * inner
        packed = packed_parts(arrays, axis, inner, out.size // total)
        if packed is not None:
            widths = [a.shape[axis] * inner // 4 for a in arrays]
            if lazy and inner == 1 and len(packed) > 1 and len(set(widths)) == 1:
                return stacked(packed, widths[0], out, lambda: concat(arrays, axis))
            return concat_packed(packed, widths, out, total)
        offset = 0
        for start in range(0, len(arrays), PARTS_PER_DRAW):
            group = arrays[start : start + PARTS_PER_DRAW]
            ids, offsets = [], [offset]
            for a in group:
                ids.append(a.id)
                offset += a.shape[axis] * inner
                offsets.append(offset)
            ids += [dummy] * (PARTS_PER_DRAW - len(group))
            offsets += [offset] * (PARTS_PER_DRAW + 1 - len(offsets))
            has_prev = int(start > 0)
            draw(concat_pipe, out.id, *ids, out.id if has_prev else dummy, total, has_prev, *offsets)
        return out

    def slice_(a, axis, start, stop):
        axis %= a.ndim
        start, stop, _ = slice(start, stop).indices(a.shape[axis])
        stop = max(start, stop)
        out = empty(a.shape[:axis] + (stop - start,) + a.shape[axis + 1 :], a.dtype)
        if out.size:
            if a.dtype.itemsize != 4:
                return rt.fallback("slice", (a,), {"axis": axis, "start": start, "stop": stop})
            inner = math.prod(a.shape[axis + 1 :])
            draw(slice_pipe, out.id, a.id, (stop - start) * inner, a.shape[axis] * inner, start * inner)
        return out

    def add_parts(arrays, slices):
        shape = parts_shape([a.shape for a in arrays], slices)
        out = empty(shape, arrays[0].dtype)
        if not out.size:
            return out
        if any(a.dtype.itemsize != 4 for a in arrays):
            return rt.fallback("add_parts", (arrays, slices), {})
        words = []
        for a, cut in zip(arrays, slices):
            if cut is None:
                words.append((a.id, a.size, a.size, 0))
            else:
                axis, start, stop = cut
                axis %= a.ndim
                inner = math.prod(a.shape[axis + 1 :])
                words.append((a.id, (stop - start) * inner, a.shape[axis] * inner, start * inner))
        twins = [rt.packed_twin(a) for a in arrays]
        if all(t is not None for t in twins) and all(v % 4 == 0 for w in words for v in w[1:]):
            # every part has a packed twin and starts and ends on texels: sum the twins, four per fragment
            out4 = empty((out.size // 4, 4), out.dtype, RGBA32F)
            words = [(t.id, *(v // 4 for v in w[1:])) for t, w in zip(twins, words)]
            sum_parts(add_parts4_pipe, out4, words)
            return rt.unpack(out4, shape, 4)
        sum_parts(add_parts_pipe, out, words)
        return out

    def sum_parts(pipe, out, words):
        """out = the sum of the parts (id, width, source width, offset), PARTS_PER_DRAW per draw."""
        for start in range(0, len(words), PARTS_PER_DRAW):
            group = words[start : start + PARTS_PER_DRAW]
            padded = group + [(dummy, 1, 1, 0)] * (PARTS_PER_DRAW - len(group))
            has_prev = int(start > 0)
            draw(
                pipe,
                out.id,
                *(w[0] for w in padded),
                out.id if has_prev else dummy,
                len(group),
                has_prev,
                *(v for w in padded for v in w[1:]),
            )

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
