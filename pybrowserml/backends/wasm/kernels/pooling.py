"""WASM kernels of the pooling family: global average pooling, max and average pooling, nearest
upsampling, and their gradients (csrc/pooling.c). Global average pooling reads a lazy concat's parts in place."""

from __future__ import annotations

from ....geometry import pair, window_geometry
from ._common import all_f32, channel_groups, fallback_of, require_4d


def _window(name, x_shape, pool_size, strides, padding):
    """(output shape, C dimensions) of a pooling window: the geometry shared by the four kernels."""
    require_4d(x_shape, name)
    ph, pw = pair(pool_size, "pool_size")
    sh, sw = pair(strides, "strides")
    oh, ow, (pt, _), (pl, _) = window_geometry(x_shape, ph, pw, (sh, sw), padding)
    n, h, w, c = x_shape
    return (n, oh, ow, c), (n, h, w, c, ph, pw, sh, sw, pt, pl, oh, ow)


def make_kernels(rt):
    """The kernel table entries of this family, bound to one WasmRuntime."""
    ex = rt.exports
    # Exports are looked up once: each Python -> JS call then costs ~1 us.
    pb_gap, pb_gap_grad = ex.pb_global_avg_pool, ex.pb_global_avg_pool_grad
    pb_maxpool, pb_maxpool_grad = ex.pb_max_pool2d, ex.pb_max_pool2d_grad
    pb_avgpool, pb_avgpool_grad = ex.pb_avg_pool2d, ex.pb_avg_pool2d_grad
    pb_upsample, pb_upsample_grad = ex.pb_upsample_nearest2d, ex.pb_upsample_nearest2d_grad
    fallback = fallback_of(rt)

    def global_avg_pool(x):
        if not all_f32(x):
            return fallback("global_avg_pool", x)
        require_4d(x.shape, "global_avg_pool")
        n, h, w, c = x.shape
        y = rt.empty((n, c))
        if y.size:
            offset = 0
            for g in channel_groups(x):  # a lazy concat is pooled part by part into its columns of y
                if g.shape[-1]:
                    pb_gap(g.ptr, y.ptr + 4 * offset, n, h * w, g.shape[-1], c)
                offset += g.shape[-1]
        return y

    def global_avg_pool_grad(dy, input_shape):
        if not all_f32(dy):
            return fallback("global_avg_pool_grad", dy, input_shape=input_shape)
        require_4d(input_shape, "global_avg_pool_grad", "input_shape")
        n, h, w, c = input_shape
        dx = rt.empty(tuple(input_shape))
        if dx.size:
            pb_gap_grad(dy.ptr, dx.ptr, n, h * w, c)
        return dx

    def max_pool2d(x, pool_size=(2, 2), strides=(2, 2), padding="valid"):
        if not all_f32(x):
            return fallback("max_pool2d", x, pool_size=pool_size, strides=strides, padding=padding)
        out_shape, dims = _window("max_pool2d", x.shape, pool_size, strides, padding)
        y = rt.empty(out_shape)
        if y.size:
            pb_maxpool(x.ptr, y.ptr, *dims)
        return y

    def max_pool2d_grad(dy, x, y, pool_size=(2, 2), strides=(2, 2), padding="valid"):
        if not all_f32(dy, x, y):
            return fallback("max_pool2d_grad", dy, x, y, pool_size=pool_size, strides=strides, padding=padding)
        out_shape, dims = _window("max_pool2d_grad", x.shape, pool_size, strides, padding)
        if dy.shape != out_shape or y.shape != out_shape:
            raise ValueError(
                f"max_pool2d_grad: dy {dy.shape} and y {y.shape} must both have the pooled shape {out_shape}"
            )
        dx = rt.empty(x.shape)
        if dx.size:
            pb_maxpool_grad(dy.ptr, x.ptr, y.ptr, dx.ptr, *dims)
        return dx

    def avg_pool2d(x, pool_size=(2, 2), strides=(2, 2), padding="valid"):
        if not all_f32(x):
            return fallback("avg_pool2d", x, pool_size=pool_size, strides=strides, padding=padding)
        out_shape, dims = _window("avg_pool2d", x.shape, pool_size, strides, padding)
        y = rt.empty(out_shape)
        if y.size:
            pb_avgpool(x.ptr, y.ptr, *dims)
        return y

    def avg_pool2d_grad(dy, input_shape, pool_size=(2, 2), strides=(2, 2), padding="valid"):
        if not all_f32(dy):
            return fallback(
                "avg_pool2d_grad", dy, input_shape=input_shape, pool_size=pool_size, strides=strides, padding=padding
            )
        out_shape, dims = _window("avg_pool2d_grad", tuple(input_shape), pool_size, strides, padding)
        if dy.shape != out_shape:
            raise ValueError(f"avg_pool2d_grad: dy has shape {dy.shape}, expected the pooled shape {out_shape}")
        dx = rt.empty(tuple(input_shape))
        if dx.size:
            pb_avgpool_grad(dy.ptr, dx.ptr, *dims)
        return dx

    def upsample_nearest2d(x, size=(2, 2)):
        if not all_f32(x):
            return fallback("upsample_nearest2d", x, size=size)
        require_4d(x.shape, "upsample_nearest2d")
        sh, sw = pair(size, "size")
        n, h, w, c = x.shape
        y = rt.empty((n, h * sh, w * sw, c))
        if y.size:
            pb_upsample(x.ptr, y.ptr, n, h, w, c, sh, sw)
        return y

    def upsample_nearest2d_grad(dy, size=(2, 2)):
        if not all_f32(dy):
            return fallback("upsample_nearest2d_grad", dy, size=size)
        require_4d(dy.shape, "upsample_nearest2d_grad", "output gradient")
        sh, sw = pair(size, "size")
        n, ho, wo, c = dy.shape
        if ho % sh or wo % sw:
            raise ValueError(
                f"upsample_nearest2d_grad: the output gradient {dy.shape} is not a whole number of {sh}x{sw} blocks"
            )
        dx = rt.empty((n, ho // sh, wo // sw, c))
        if dx.size:
            pb_upsample_grad(dy.ptr, dx.ptr, n, ho // sh, wo // sw, c, sh, sw)
        return dx

    return {
        "global_avg_pool": global_avg_pool,
        "global_avg_pool_grad": global_avg_pool_grad,
        "max_pool2d": max_pool2d,
        "max_pool2d_grad": max_pool2d_grad,
        "avg_pool2d": avg_pool2d,
        "avg_pool2d_grad": avg_pool2d_grad,
        "upsample_nearest2d": upsample_nearest2d,
        "upsample_nearest2d_grad": upsample_nearest2d_grad,
    }
