"""Helpers shared by the kernel families of the wasm backend.

Every kernel has exactly the signature and result of the numpy kernel of the same name (the
oracle): shapes are checked and computed in Python (the C side trusts them), outputs allocated with
``rt.empty``, then one exported C function (csrc/<family>.c) does the work. Cases the C side does
not cover (other dtypes, other broadcasts or axes) go to ``rt.fallback``, the numpy path of the
backend, which counts them: results never depend on which path ran.
"""

from __future__ import annotations

import numpy as np

from ..runtime import ConcatArray

F32 = np.dtype(np.float32)
I32 = np.dtype(np.int32)
U8 = np.dtype(np.uint8)

# Channel groups a depthwise or pooling kernel reads in place of one input (PB_DW_MAX_PARTS in depthwise.c).
MAX_GROUPS = 4


def size(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def all_f32(*arrays) -> bool:
    """True when every array given (None for an absent bias) is float32, the C kernels' dtype."""
    return all(a is None or a.dtype == F32 for a in arrays)


def fallback_of(rt):
    """fallback(name, *args, **attrs): the call run on numpy instead (rt.fallback, set by WasmBackend)."""
    return lambda name, *args, **attrs: rt.fallback(name, args, attrs)


def check_shape(kernel, what, shape, expected):
    """The C kernels trust their dimensions: a wrong shape must stop here, not read past an array."""
    if tuple(shape) != tuple(expected):
        raise ValueError(f"{kernel}: {what} has shape {tuple(shape)}, expected {tuple(expected)}")


def require_4d(array_shape, kernel, what="input"):
    if len(array_shape) != 4:
        raise ValueError(
            f"{kernel}: the {what} must be 4-D NHWC (batch, height, width, channels), got shape {tuple(array_shape)}"
        )


def channel_groups(x):
    """A lazy concat's parts (the kernels gather them, so the concat is never copied), else [x]."""
    if isinstance(x, ConcatArray) and not x.materialized and len(x.parts) <= MAX_GROUPS:
        return x.parts
    return [x]
