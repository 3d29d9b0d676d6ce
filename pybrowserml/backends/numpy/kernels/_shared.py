"""What several numpy kernel families share: padding, im2col window views, the fused activation epilogue."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided


def pad(x, pads_h, pads_w, value=0.0):
    """x (NHWC) padded by pads_h = (top, bottom) and pads_w = (left, right) with `value`."""
    if pads_h == (0, 0) and pads_w == (0, 0):
        return x
    return np.pad(x, ((0, 0), pads_h, pads_w, (0, 0)), constant_values=value)


def windows(xp, kh, kw, oh, ow, strides):
    """A read-only view (N, OH, OW, KH, KW, C) of every window: im2col without copying."""
    n, _, _, c = xp.shape
    sn, sh_, sw_, sc = xp.strides
    sh, sw = strides
    return as_strided(xp, (n, oh, ow, kh, kw, c), (sn, sh_ * sh, sw_ * sw, sh_, sw_, sc), writeable=False)


def window_slice(kh_i, kw_i, oh, ow, strides):
    """The index of the padded input each output reads at window offset (kh_i, kw_i)."""
    sh, sw = strides
    return (slice(None), slice(kh_i, kh_i + sh * (oh - 1) + 1, sh), slice(kw_i, kw_i + sw * (ow - 1) + 1, sw))


def crop(xp, input_shape, pads_h, pads_w):
    """The unpadded part of a padded gradient, as a new contiguous array of `input_shape`."""
    h, w = input_shape[1], input_shape[2]
    return np.ascontiguousarray(xp[:, pads_h[0] : pads_h[0] + h, pads_w[0] : pads_w[0] + w, :])


def activate(y, activation):
    """The fused activation epilogue of dense/conv/depthwise, applied in place to the kernel's output."""
    if activation is None or activation == "linear":
        return y
    if activation == "relu":
        return np.maximum(y, 0, out=y)
    if activation == "relu6":
        return np.clip(y, 0, 6, out=y)
    raise ValueError(f"unknown fused activation {activation!r}: use None, 'relu' or 'relu6'")
