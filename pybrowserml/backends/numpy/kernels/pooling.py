"""Pooling with TensorFlow semantics: global average, max and average pooling, and their gradients."""

from __future__ import annotations

import numpy as np

from ....geometry import window_geometry
from ._shared import crop, pad, window_slice, windows


def global_avg_pool(x):
    return x.mean(axis=(1, 2))


def global_avg_pool_grad(dy, input_shape):
    _, h, w, _ = input_shape
    return np.broadcast_to((dy / (h * w))[:, None, None, :], input_shape).copy()


def max_pool2d(x, pool_size=(2, 2), strides=(2, 2), padding="valid"):
    oh, ow, ph, pw = window_geometry(x.shape, *pool_size, strides, padding)
    cols = windows(pad(x, ph, pw, -np.inf), *pool_size, oh, ow, strides)
    return cols.max(axis=(3, 4))


def max_pool2d_grad(dy, x, y, pool_size=(2, 2), strides=(2, 2), padding="valid"):
    """Each window's gradient goes to its first maximum, as TensorFlow's MaxPoolGrad does."""
    oh, ow, ph, pw = window_geometry(x.shape, *pool_size, strides, padding)
    xp = pad(x, ph, pw, -np.inf)
    dxp = np.zeros(xp.shape, dtype=dy.dtype)
    taken = np.zeros(y.shape, dtype=bool)
    for i in range(pool_size[0]):
        for j in range(pool_size[1]):
            window = window_slice(i, j, oh, ow, strides)
            hit = (xp[window] == y) & ~taken
            dxp[window] += dy * hit
            taken |= hit
    return crop(dxp, x.shape, ph, pw)


def _avg_pool_counts(input_shape, pool_size, strides, padding):
    """How many real (unpadded) inputs each window averages: TensorFlow excludes the padding."""
    ones = np.ones((1, input_shape[1], input_shape[2], 1), dtype=np.float64)
    oh, ow, ph, pw = window_geometry(ones.shape, *pool_size, strides, padding)
    return windows(pad(ones, ph, pw), *pool_size, oh, ow, strides).sum(axis=(3, 4))


def avg_pool2d(x, pool_size=(2, 2), strides=(2, 2), padding="valid"):
    oh, ow, ph, pw = window_geometry(x.shape, *pool_size, strides, padding)
    cols = windows(pad(x, ph, pw), *pool_size, oh, ow, strides)
    counts = _avg_pool_counts(x.shape, pool_size, strides, padding)
    return (cols.sum(axis=(3, 4)) / counts).astype(x.dtype)


def avg_pool2d_grad(dy, input_shape, pool_size=(2, 2), strides=(2, 2), padding="valid"):
    oh, ow, ph, pw = window_geometry(input_shape, *pool_size, strides, padding)
    counts = _avg_pool_counts(input_shape, pool_size, strides, padding)
    share = (dy / counts).astype(dy.dtype)
    n, h, w, c = input_shape
    dxp = np.zeros((n, h + sum(ph), w + sum(pw), c), dtype=dy.dtype)
    for i in range(pool_size[0]):
        for j in range(pool_size[1]):
            dxp[window_slice(i, j, oh, ow, strides)] += share
    return crop(dxp, input_shape, ph, pw)


def upsample_nearest2d(x, size=(2, 2)):
    """Each pixel repeated size[0] x size[1] times (UpSampling2D, nearest)."""
    return np.repeat(np.repeat(x, size[0], axis=1), size[1], axis=2)


def upsample_nearest2d_grad(dy, size=(2, 2)):
    """The sum of each size[0] x size[1] block of the output gradient."""
    n, h, w, c = dy.shape
    sh, sw = size
    return dy.reshape(n, h // sh, sh, w // sw, sw, c).sum(axis=(2, 4))


KERNELS = {
    "global_avg_pool": global_avg_pool,
    "global_avg_pool_grad": global_avg_pool_grad,
    "max_pool2d": max_pool2d,
    "max_pool2d_grad": max_pool2d_grad,
    "avg_pool2d": avg_pool2d,
    "avg_pool2d_grad": avg_pool2d_grad,
    "upsample_nearest2d": upsample_nearest2d,
    "upsample_nearest2d_grad": upsample_nearest2d_grad,
}
