"""A segmentation task from real data: MNIST digits with per-pixel masks of their strokes."""

from __future__ import annotations

import numpy as np

from ._sync import dual
from .mnist import load_mnist_async

SEGMENTATION_CLASSES = ("digit", "foreground")
FOREGROUND_THRESHOLD = 128  # uint8 intensity from which a pixel belongs to the stroke


def mnist_masks(x, y, classes="digit", threshold=FOREGROUND_THRESHOLD):
    """Per-pixel labels (N, H, W) int32 of uint8 digit images x (N, H, W, 1) with digit labels y (N,).

    classes="digit": 0 for background, 1 + the digit for the pixels of its stroke (11 classes);
    classes="foreground": 0 background, 1 stroke (2 classes). A pixel is stroke from `threshold` on."""
    if classes not in SEGMENTATION_CLASSES:
        raise ValueError(f"classes must be one of {SEGMENTATION_CLASSES}, got {classes!r}")
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 4 or x.shape[-1] != 1 or y.shape != (len(x),):
        raise ValueError(f"mnist_masks: needs images (N, H, W, 1) and labels (N,), got {x.shape} and {y.shape}")
    stroke = x[..., 0] >= threshold
    value = (y.astype(np.int32) + 1)[:, None, None] if classes == "digit" else np.int32(1)
    return np.where(stroke, value, 0).astype(np.int32)


def _resized(x, masks, size):
    """Images and masks scaled by a whole factor (nearest), so a mask stays exact."""
    factor, rest = divmod(size, x.shape[1])
    if rest or factor < 1:
        raise ValueError(f"size must be a positive multiple of {x.shape[1]} (the digits' size), got {size}")
    if factor == 1:
        return x, masks
    grow = lambda a: np.repeat(np.repeat(a, factor, axis=1), factor, axis=2)  # noqa: E731
    return grow(x), grow(masks)


async def load_mnist_segmentation_async(path=None, classes="digit", size=28, cache=True):
    """MNIST as segmentation: ((x_train, masks_train), (x_test, masks_test)).

    x uint8 (N, size, size, 1) as load_mnist gives them (same split); masks int32 (N, size, size) from
    mnist_masks (`classes` "digit": 11 classes, background + one per digit; "foreground": 2). `size`, a
    multiple of 28, scales images and masks up by nearest neighbour (for larger inputs of one network)."""
    if classes not in SEGMENTATION_CLASSES:
        raise ValueError(f"classes must be one of {SEGMENTATION_CLASSES}, got {classes!r}")
    (x_train, y_train), (x_test, y_test) = await load_mnist_async(path, cache)
    return tuple(_resized(x, mnist_masks(x, y, classes), size) for x, y in ((x_train, y_train), (x_test, y_test)))


load_mnist_segmentation = dual(load_mnist_segmentation_async)
