"""Pixel remapping (whole-pixel geometric augmentations such as RandomTranslation) and its adjoint."""

from __future__ import annotations

import numpy as np


def remap_pixels(x, rows, cols, fill_value=0.0):
    """y[n, i, j] = x[n, rows[n, i], cols[n, j]], fill_value where an index is -1 (ops.remap_pixels)."""
    batch = np.arange(len(x))[:, None, None]
    y = x[batch, np.maximum(rows, 0)[:, :, None], np.maximum(cols, 0)[:, None, :]]
    outside = (rows < 0)[:, :, None] | (cols < 0)[:, None, :]
    y[outside] = fill_value
    return y


def remap_pixels_grad(dy, rows, cols, input_shape):
    """The adjoint of remap_pixels: each output pixel's gradient goes back to the pixel it copied."""
    dx = np.zeros(input_shape, dtype=dy.dtype)
    inside = (rows >= 0)[:, :, None] & (cols >= 0)[:, None, :]
    batch = np.broadcast_to(np.arange(len(dy))[:, None, None], inside.shape)
    r = np.broadcast_to(rows[:, :, None], inside.shape)
    c = np.broadcast_to(cols[:, None, :], inside.shape)
    np.add.at(dx, (batch[inside], r[inside], c[inside]), dy[inside])
    return dx


KERNELS = {
    "remap_pixels": remap_pixels,
    "remap_pixels_grad": remap_pixels_grad,
}
