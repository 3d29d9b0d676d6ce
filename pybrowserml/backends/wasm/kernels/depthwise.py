"""WASM kernels of the depthwise family: depthwise_conv2d (bias and activation fused) and its two
gradients (csrc/depthwise.c, depthwise3x3.c). The forward pass and grad_filter read a lazy concat's
parts in place (up to MAX_GROUPS channel groups), so a dense block's concat is never copied."""

from __future__ import annotations

from ....geometry import pair, window_geometry
from ...kernel_names import FUSED_ACTIVATIONS
from ._common import MAX_GROUPS, all_f32, channel_groups, fallback_of, require_4d


def make_kernels(rt):
    """The kernel table entries of this family, bound to one WasmRuntime."""
    ex = rt.exports
    # Exports are looked up once: each Python -> JS call then costs ~1 us.
    pb_dw, pb_dw_gi, pb_dw_gf = (
        ex.pb_depthwise_conv2d,
        ex.pb_depthwise_conv2d_grad_input,
        ex.pb_depthwise_conv2d_grad_filter,
    )
    fallback = fallback_of(rt)

    def group_args(x, m=1):
        """(count, x0, c0, ..., x3, c3) of the depthwise kernels' grouped input."""
        groups = channel_groups(x) if m == 1 else [x]
        args = [len(groups)]
        for g in groups:
            args += [g.ptr, g.shape[-1]]
        return args + [0, 0] * (MAX_GROUPS - len(groups))

    def depthwise_conv2d(x, w, b=None, strides=(1, 1), padding="same", activation=None):
        act = FUSED_ACTIVATIONS.get(activation)
        if act is None or not all_f32(x, w, b):
            return fallback("depthwise_conv2d", x, w, b, strides=strides, padding=padding, activation=activation)
        require_4d(x.shape, "depthwise_conv2d")
        kh, kw, c, m = w.shape
        if x.shape[-1] != c:
            raise ValueError(f"depthwise_conv2d: input has {x.shape[-1]} channels, filter expects {c}")
        if b is not None and b.shape != (c * m,):
            raise ValueError(f"depthwise_conv2d: bias has shape {b.shape}, expected ({c * m},)")
        sh, sw = strides = pair(strides, "strides")
        n, h, wd, _ = x.shape
        oh, ow, (pt, _), (pl, _) = window_geometry(x.shape, kh, kw, strides, padding)
        y = rt.empty((n, oh, ow, c * m))
        if y.size:
            pb_dw(
                *group_args(x, m),
                w.ptr,
                b.ptr if b is not None else 0,
                y.ptr,
                n,
                h,
                wd,
                c,
                m,
                kh,
                kw,
                sh,
                sw,
                pt,
                pl,
                oh,
                ow,
                act,
            )
        return y

    def depthwise_conv2d_grad_input(dz, w, input_shape, strides=(1, 1), padding="same"):
        if not all_f32(dz, w):
            return fallback(
                "depthwise_conv2d_grad_input", dz, w, input_shape=input_shape, strides=strides, padding=padding
            )
        require_4d(input_shape, "depthwise_conv2d_grad_input", "input_shape")
        kh, kw, c, m = w.shape
        sh, sw = strides = pair(strides, "strides")
        n, h, wd, _ = input_shape
        oh, ow, (pt, _), (pl, _) = window_geometry(input_shape, kh, kw, strides, padding)
        if dz.shape != (n, oh, ow, c * m):
            raise ValueError(f"depthwise_conv2d_grad_input: dz has shape {dz.shape}, expected {(n, oh, ow, c * m)}")
        dx = rt.empty(tuple(input_shape))
        if dx.size:
            pb_dw_gi(dz.ptr, w.ptr, dx.ptr, n, h, wd, c, m, kh, kw, sh, sw, pt, pl, oh, ow)
        return dx

    def depthwise_conv2d_grad_filter(x, dz, filter_shape, strides=(1, 1), padding="same"):
        if not all_f32(x, dz):
            return fallback(
                "depthwise_conv2d_grad_filter", x, dz, filter_shape=filter_shape, strides=strides, padding=padding
            )
        require_4d(x.shape, "depthwise_conv2d_grad_filter")
        kh, kw, c, m = filter_shape
        sh, sw = strides = pair(strides, "strides")
        n, h, wd, _ = x.shape
        oh, ow, (pt, _), (pl, _) = window_geometry(x.shape, kh, kw, strides, padding)
        if dz.shape != (n, oh, ow, c * m):
            raise ValueError(f"depthwise_conv2d_grad_filter: dz has shape {dz.shape}, expected {(n, oh, ow, c * m)}")
        dw = rt.empty(tuple(filter_shape))
        if dw.size:
            pb_dw_gf(*group_args(x, m), dz.ptr, dw.ptr, n, h, wd, c, m, kh, kw, sh, sw, pt, pl, oh, ow)
        return dw

    return {
        "depthwise_conv2d": depthwise_conv2d,
        "depthwise_conv2d_grad_input": depthwise_conv2d_grad_input,
        "depthwise_conv2d_grad_filter": depthwise_conv2d_grad_filter,
    }
