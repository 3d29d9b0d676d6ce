"""Checks on what users pass to fit/evaluate/predict, with errors that say what is wrong and what to do."""

from __future__ import annotations

import numpy as np

from .input_scaling import check_input_scaling
from .layers.base import shape_str


def as_inputs(x, model, where: str) -> np.ndarray:
    if isinstance(x, (list, tuple)):
        x = np.asarray(x)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{where}: x must be a numpy array (uint8 pixels or floats), got {type(x).__name__}")
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"{where}: the dataset is empty (x has shape {x.shape}); pass at least one sample")
    if x.dtype.kind not in "uif":
        raise TypeError(f"{where}: x must hold numbers (uint8 pixels or floats), got dtype {x.dtype}")
    expected = model.input_shape
    if expected is None:
        # A Sequential model started without Input(...): like Keras, it is built from the first data it sees
        # (a layer that cannot take that shape says so, naming itself).
        model.build(tuple(int(d) for d in x.shape[1:]))
        expected = model.input_shape
    if tuple(x.shape[1:]) != tuple(expected):
        hint = ""
        if tuple(x.shape[1:]) == tuple(expected[:-1]) and expected[-1] == 1:
            hint = ": add the channel axis with x[..., None]"
        elif x.ndim - 1 != len(expected):
            hint = f": the model takes rank-{len(expected) + 1} inputs (batch first)"
        raise ValueError(
            f"{where}: model {model.name!r} expects inputs of shape {shape_str((None, *expected))}, "
            f"got {shape_str((None, *x.shape[1:]))} (x.shape = {x.shape}){hint}"
        )
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ValueError(f"{where}: x contains {bad} NaN or infinite values; clean or impute them before training")
    check_input_scaling(x, model, where)
    return x


def check_batch_size(batch_size, where: str) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"{where}: batch_size must be an int >= 1, got {batch_size!r}")
    return int(batch_size)


def as_labels(y, x, model, loss, where: str) -> np.ndarray:
    if isinstance(y, (list, tuple)):
        y = np.asarray(y)
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{where}: y must be a numpy array, got {type(y).__name__}")
    if len(y) != len(x):
        raise ValueError(f"{where}: x has {len(x)} samples but y has {len(y)}; they must match")
    outputs = model.output_shape
    sparse = getattr(loss, "sparse", None)
    if sparse is True:
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        per_position = tuple(outputs[:-1])  # a segmentation model: one label per pixel
        if y.ndim != 1 and not (per_position and tuple(y.shape[1:]) == per_position):
            expected = shape_str((None, *per_position)) if per_position else "(batch,)"
            raise ValueError(
                f"{where}: loss {loss.name!r} takes integer class labels of shape {expected}, got "
                f"{y.shape}; for one-hot labels use loss='categorical_crossentropy'"
            )
        if y.dtype.kind not in "iu":
            raise TypeError(
                f"{where}: loss {loss.name!r} takes integer class labels, got dtype {y.dtype}; "
                "convert them with y.astype('int32')"
            )
        classes = outputs[-1]
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= classes:
            raise ValueError(
                f"{where}: labels must be in [0, {classes - 1}] for a model with {classes} outputs, "
                f"got values from {low} to {high}"
            )
        return y.astype("int32", copy=False)
    if y.dtype.kind not in "uif":
        raise TypeError(f"{where}: y must hold numbers, got dtype {y.dtype}")
    if tuple(y.shape[1:]) != tuple(outputs):
        raise ValueError(
            f"{where}: loss {loss.name!r} needs labels of shape {shape_str((None, *outputs))} like the "
            f"model's output, got {shape_str((None, *y.shape[1:]))}"
        )
    y = y.astype("float32", copy=False)
    if not np.isfinite(y).all():
        raise ValueError(f"{where}: y contains NaN or infinite values")
    return y
