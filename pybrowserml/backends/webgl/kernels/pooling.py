"""Global average pooling, windowed max and average pooling, nearest upsampling and their gradients
(shaders/pooling.glsl). The gradients are gathers: one fragment per input element sums over the windows
that contain it."""

from __future__ import annotations

from ....geometry import window_geometry
from ..runtime import RGBA32F, StackedConcat


def make_table(rt) -> dict:
    draw, empty = rt.draw, rt.empty
    pool_pipe = rt.program("pooling", "global_avg_pool")
    pool4_pipe = rt.program("pooling", "global_avg_pool4")
    grad_pipe = rt.program("pooling", "global_avg_pool_grad")
    window_pipes = {
        name: rt.program("pooling", name) for name in ("max_pool2d", "max_pool2d_grad", "avg_pool2d", "avg_pool2d_grad")
    }
    upsample_pipe = rt.program("pooling", "upsample")
    upsample_grad_pipe = rt.program("pooling", "upsample_grad")

    def global_avg_pool(x):
        n, h, w, c = x.shape
        if isinstance(x, StackedConcat):  # the last dense block's concat: its parts' twins, stacked
            source, layout = x.stack, (x.part_width, x.part_width, x.part_texels)
        else:  # a deferred unpack's twin
            twin = rt.packed_twin(x) if c % 4 == 0 and x.size else None
            source, layout = twin, (c // 4, c // 4, 0)
        if source is not None:
            out4 = empty((n * c // 4, 4), x.dtype, RGBA32F)
            draw(pool4_pipe, out4.id, source.id, h * w, c // 4, 1.0 / (h * w), *layout)
            return rt.unpack(out4, (n, c), c)
        out = empty((n, c), x.dtype)
        if out.size:
            draw(pool_pipe, out.id, x.id, h * w, c, 1.0 / (h * w) if h * w else 0.0)
        return out

    def global_avg_pool_grad(dy, input_shape):
        input_shape = tuple(input_shape)
        n, h, w, c = input_shape
        out = empty(input_shape, dy.dtype)
        if out.size:
            draw(grad_pipe, out.id, dy.id, h * w, c, 1.0 / (h * w))
        return out

    def window(input_shape, pool_size, strides, padding):
        """(output shape, the window uniforms) of a pooling window over NHWC `input_shape`."""
        n, h, w, c = input_shape
        kh, kw = pool_size
        g = window_geometry(input_shape, kh, kw, strides, padding)
        words = (n, h, w, c, g.out_h, g.out_w, kh, kw, strides[0], strides[1], g.pad_top, g.pad_left)
        return (n, g.out_h, g.out_w, c), words

    def pooled(name):
        pipe = window_pipes[name]

        def kernel(x, pool_size=(2, 2), strides=(2, 2), padding="valid"):
            shape, words = window(x.shape, pool_size, strides, padding)
            out = empty(shape, x.dtype)
            if out.size:
                draw(pipe, out.id, x.id, *words)
            return out

        return kernel

    def max_pool2d_grad(dy, x, y, pool_size=(2, 2), strides=(2, 2), padding="valid"):
        _, words = window(x.shape, pool_size, strides, padding)
        out = empty(x.shape, dy.dtype)
        if out.size:
            draw(window_pipes["max_pool2d_grad"], out.id, dy.id, x.id, y.id, *words)
        return out

    def avg_pool2d_grad(dy, input_shape, pool_size=(2, 2), strides=(2, 2), padding="valid"):
        input_shape = tuple(input_shape)
        _, words = window(input_shape, pool_size, strides, padding)
        out = empty(input_shape, dy.dtype)
        if out.size:
            draw(window_pipes["avg_pool2d_grad"], out.id, dy.id, *words)
        return out

    def upsample_nearest2d(x, size=(2, 2)):
        n, h, w, c = x.shape
        sy, sx = size
        out = empty((n, h * sy, w * sx, c), x.dtype)
        if out.size:
            draw(upsample_pipe, out.id, x.id, h, w, c, sy, sx)
        return out

    def upsample_nearest2d_grad(dy, size=(2, 2)):
        n, oh, ow, c = dy.shape
        sy, sx = size
        if oh % sy or ow % sx:
            raise ValueError(f"upsample_nearest2d_grad: gradient of shape {dy.shape} is not a multiple of {size}")
        out = empty((n, oh // sy, ow // sx, c), dy.dtype)
        if out.size:
            draw(upsample_grad_pipe, out.id, dy.id, oh // sy, ow // sx, c, sy, sx)
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
