"""Global average pooling, windowed max and average pooling, nearest upsampling, and their gradients
(shaders/pooling.wgsl). The gradients are gathers: one invocation per input element sums over the windows
(or upsampled blocks) that contain it."""

from __future__ import annotations

from ....geometry import window_geometry


def make_table(rt) -> dict:
    dispatch, empty, grid = rt.dispatch, rt.empty, rt.grid
    pool_pipe = rt.pipeline("pooling", "global_avg_pool")
    grad_pipe = rt.pipeline("pooling", "global_avg_pool_grad")
    window_pipes = {
        name: rt.pipeline("pooling", name)
        for name in ("max_pool2d", "max_pool2d_grad", "avg_pool2d", "avg_pool2d_grad")
    }
    upsample_pipe = rt.pipeline("pooling", "upsample_nearest2d")
    upsample_grad_pipe = rt.pipeline("pooling", "upsample_nearest2d_grad")

    def global_avg_pool(x):
        n, h, w, c = x.shape
        out = empty((n, c), x.dtype)
        if out.size:
            gx, gy = grid(out.size)
            dispatch(pool_pipe, gx, gy, 1, x.id, out.id, n, h * w, c, 1.0 / (h * w) if h * w else 0.0)
        return out

    def global_avg_pool_grad(dy, input_shape):
        n, h, w, c = input_shape
        out = empty(input_shape, dy.dtype)
        if out.size:
            gx, gy = grid(out.size)
            dispatch(grad_pipe, gx, gy, 1, dy.id, out.id, n, h * w, c, 1.0 / (h * w))
        return out

    def window(input_shape, pool_size, strides, padding):
        """(output shape, the Window uniform words) of a pooling window over NHWC `input_shape`."""
        n, h, w, c = input_shape
        kh, kw = pool_size
        g = window_geometry(input_shape, kh, kw, strides, padding)
        return (n, g.out_h, g.out_w, c), (
            n,
            h,
            w,
            c,
            g.out_h,
            g.out_w,
            kh,
            kw,
            strides[0],
            strides[1],
            g.pad_top,
            g.pad_left,
        )

    def pooled(name):
        pipe = window_pipes[name]

        def kernel(x, pool_size=(2, 2), strides=(2, 2), padding="valid"):
            shape, words = window(x.shape, pool_size, strides, padding)
            out = empty(shape, x.dtype)
            if out.size:
                gx, gy = grid(out.size)
                dispatch(pipe, gx, gy, 1, x.id, out.id, *words)
            return out

        return kernel

    def max_pool2d_grad(dy, x, y, pool_size=(2, 2), strides=(2, 2), padding="valid"):
        _, words = window(x.shape, pool_size, strides, padding)
        out = empty(x.shape, dy.dtype)
        if out.size:
            gx, gy = grid(out.size)
            dispatch(window_pipes["max_pool2d_grad"], gx, gy, 1, dy.id, x.id, out.id, *words)
        return out

    def avg_pool2d_grad(dy, input_shape, pool_size=(2, 2), strides=(2, 2), padding="valid"):
        input_shape = tuple(input_shape)
        _, words = window(input_shape, pool_size, strides, padding)
        out = empty(input_shape, dy.dtype)
        if out.size:
            gx, gy = grid(out.size)
            dispatch(window_pipes["avg_pool2d_grad"], gx, gy, 1, dy.id, out.id, *words)
        return out

    def upsample_nearest2d(x, size=(2, 2)):
        n, h, w, c = x.shape
        sh, sw = map(int, size)
        out = empty((n, h * sh, w * sw, c), x.dtype)
        if out.size:
            gx, gy = grid(out.size)
            dispatch(upsample_pipe, gx, gy, 1, x.id, out.id, n, h, w, c, sh, sw)
        return out

    def upsample_nearest2d_grad(dy, size=(2, 2)):
        n, oh, ow, c = dy.shape
        sh, sw = map(int, size)
        if sh <= 0 or sw <= 0 or oh % sh or ow % sw:
            return rt.fallback("upsample_nearest2d_grad", (dy,), {"size": size})  # numpy's own error
        out = empty((n, oh // sh, ow // sw, c), dy.dtype)
        if out.size:
            gx, gy = grid(out.size)
            dispatch(upsample_grad_pipe, gx, gy, 1, dy.id, out.id, n, oh // sh, ow // sw, c, sh, sw)
        return out

    return {
        "global_avg_pool": global_avg_pool,
        "global_avg_pool_grad": global_avg_pool_grad,
        "max_pool2d": pooled("max_pool2d"),
        "max_pool2d_grad": max_pool2d_grad,
        "avg_pool2d": pooled("avg_pool2d"),
        "avg_pool2d_grad": avg_pool2d_grad,
        "upsample_nearest2d": upsample_nearest2d,
        "upsample_nearest2d_grad": upsample_nearest2d_grad,
    }
