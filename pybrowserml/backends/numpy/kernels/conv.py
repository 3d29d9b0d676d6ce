"""2-D convolution (NHWC, HWIO filters, TensorFlow padding), its two gradients, and the transposed conv.

im2col views (``as_strided``) contracted with ``tensordot`` so CPython's BLAS does the work.
"""

from __future__ import annotations

import numpy as np

from ....geometry import window_geometry
from ._shared import activate, crop, pad, window_slice, windows


def conv2d(x, w, b=None, strides=(1, 1), padding="same", activation=None):
    kh, kw, c, o = w.shape
    if x.shape[-1] != c:
        raise ValueError(f"conv2d: input has {x.shape[-1]} channels, filter expects {c}")
    oh, ow, ph, pw = window_geometry(x.shape, kh, kw, strides, padding)
    if kh == kw == 1 and strides == (1, 1):
        y = (x.reshape(-1, c) @ w.reshape(c, o)).reshape(x.shape[0], oh, ow, o)
    else:
        cols = windows(pad(x, ph, pw), kh, kw, oh, ow, strides)
        y = np.tensordot(cols, w, axes=([3, 4, 5], [0, 1, 2]))
    if b is not None:
        y += b
    return activate(y, activation)


def conv2d_grad_input(dz, w, input_shape, strides=(1, 1), padding="same"):
    kh, kw, c, o = w.shape
    oh, ow, ph, pw = window_geometry(input_shape, kh, kw, strides, padding)
    n, h, wd, _ = input_shape
    if kh == kw == 1 and strides == (1, 1):
        return (dz.reshape(-1, o) @ w.reshape(c, o).T).reshape(input_shape)
    cols = np.tensordot(dz, w, axes=([3], [3]))  # (N, OH, OW, KH, KW, C)
    dxp = np.zeros((n, h + sum(ph), wd + sum(pw), c), dtype=dz.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[window_slice(i, j, oh, ow, strides)] += cols[:, :, :, i, j, :]
    return crop(dxp, input_shape, ph, pw)


def conv2d_grad_filter(x, dz, filter_shape, strides=(1, 1), padding="same"):
    kh, kw, c, o = filter_shape
    oh, ow, ph, pw = window_geometry(x.shape, kh, kw, strides, padding)
    if kh == kw == 1 and strides == (1, 1):
        return (x.reshape(-1, c).T @ dz.reshape(-1, o)).reshape(filter_shape)
    cols = windows(pad(x, ph, pw), kh, kw, oh, ow, strides)
    return np.tensordot(cols, dz, axes=([0, 1, 2], [0, 1, 2]))


def conv2d_transpose(x, w, b=None, *, output_shape, strides=(1, 1), padding="same", activation=None):
    """act(transposed conv + b) into output_shape: conv2d_grad_input of x for the conv2d whose input has
    that shape (filter (kh, kw, output channels, input channels), as Keras stores Conv2DTranspose's)."""
    y = conv2d_grad_input(x, w, tuple(output_shape), strides, padding)
    if b is not None:
        y += b
    return activate(y, activation)


KERNELS = {
    "conv2d": conv2d,
    "conv2d_grad_input": conv2d_grad_input,
    "conv2d_grad_filter": conv2d_grad_filter,
    "conv2d_transpose": conv2d_transpose,
}
