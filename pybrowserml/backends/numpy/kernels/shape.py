"""Shapes and dtypes: reshape, transpose, broadcast, concat, slice, the sum of a gradient's parts, casts."""

from __future__ import annotations

import math

import numpy as np


def concat(arrays, axis=-1, lazy=False):
    """lazy: a device backend may defer the copy (backends/wasm: ConcatArray); numpy always copies."""
    return np.concatenate(arrays, axis=axis)


def _slice_view(a, axis, start, stop):
    index = [slice(None)] * a.ndim
    index[axis] = slice(start, stop)
    return a[tuple(index)]


def slice_(a, axis, start, stop):
    return np.ascontiguousarray(_slice_view(a, axis, start, stop))


def strides_of(shape) -> list[int]:
    """Row-major element strides of `shape` (the GPU backends' gather kernels index with them)."""
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= d
    return strides[::-1]


def reshape_target(shape, size: int) -> tuple:
    """`shape` with its one -1 replaced, as numpy's reshape does, for an array of `size` elements; a clear
    error when it does not fit. For the device backends, whose reshape is a view of the same buffer."""
    shape = tuple(int(d) for d in (shape if isinstance(shape, (tuple, list)) else (shape,)))
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: at most one dimension can be -1, got {shape}")
    if -1 in shape:
        known = math.prod(d for d in shape if d != -1)
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape an array of {size} elements into shape {shape}")
        shape = tuple(size // known if d == -1 else d for d in shape)
    if math.prod(shape) != size:
        raise ValueError(f"cannot reshape an array of {size} elements into shape {shape}")
    return shape


def parts_shape(shapes, slices) -> tuple:
    """The common shape of a gradient sum's parts (add_parts): shapes[i], cut to start:stop along axis
    where slices[i] is (axis, start, stop). A clear error when the entries do not fit or differ."""
    if not shapes or len(shapes) != len(slices):
        raise ValueError(
            f"add_parts: need one slice entry (None or (axis, start, stop)) per array, got "
            f"{len(shapes)} arrays and {len(slices)} slice entries"
        )
    result = []
    for shape, cut in zip(shapes, slices):
        shape = tuple(shape)
        if cut is not None:
            axis, start, stop = cut
            if not -len(shape) <= axis < len(shape) or not 0 <= start <= stop <= shape[axis]:
                raise ValueError(f"add_parts: slice {start}:{stop} of axis {axis} does not fit shape {shape}")
            axis %= len(shape)
            shape = shape[:axis] + (stop - start,) + shape[axis + 1 :]
        result.append(shape)
    if any(shape != result[0] for shape in result):
        raise ValueError(f"add_parts: all parts must have the same shape, got {result}")
    return result[0]


def add_parts(arrays, slices):
    """The sum of a gradient's parts: arrays[i], or arrays[i][start:stop along axis] where slices[i] is
    (axis, start, stop) (a concat input's share of the concat's gradient). A new array; no part is written."""
    parts_shape([a.shape for a in arrays], slices)
    views = [a if s is None else _slice_view(a, *s) for a, s in zip(arrays, slices)]
    out = views[0] + views[1] if len(views) > 1 else views[0].copy()
    for v in views[2:]:
        np.add(out, v, out=out)
    return out


def from_uint8(a, scale=1 / 255):
    """uint8 pixels -> float32 a * scale: batches travel to the device as uint8 and become floats there."""
    if a.dtype != np.uint8:
        raise TypeError(
            f"from_uint8 converts uint8 arrays, got {a.dtype}: "
            "use the 'cast' kernel (or ops on float32 data) for other dtypes"
        )
    return a.astype(np.float32) * np.float32(scale)


KERNELS = {
    "reshape": lambda a, shape: a.reshape(shape),
    "transpose": lambda a, axes=None: np.ascontiguousarray(np.transpose(a, axes)),
    "broadcast_to": lambda a, shape: np.ascontiguousarray(np.broadcast_to(a, shape)),
    "concat": concat,
    "slice": slice_,
    "add_parts": add_parts,
    "cast": lambda a, dtype: a.astype(dtype),
    "from_uint8": from_uint8,
}
