"""WASM kernels of the norm family: batch normalisation (statistics over all axes but the last) for
training, inference and its gradient (csrc/norm.c)."""

from __future__ import annotations

from ._common import all_f32, fallback_of


def _bn_dims(name, x, *per_channel):
    """(rows, channels) of a batch-norm input, its per-channel operands checked."""
    if x.ndim < 1:
        raise ValueError(f"{name}: the input needs a channel axis, got a scalar")
    c = x.shape[-1]
    for a in per_channel:
        if a.shape != (c,):
            raise ValueError(f"{name}: per-channel arrays must have shape ({c},), got {a.shape}")
    return (x.size // c if c else 0), c


def make_kernels(rt):
    """The kernel table entries of this family, bound to one WasmRuntime."""
    ex = rt.exports
    # Exports are looked up once: each Python -> JS call then costs ~1 us.
    pb_bn_train, pb_bn_infer, pb_bn_grad = ex.pb_batch_norm_train, ex.pb_batch_norm_infer, ex.pb_batch_norm_grad
    fallback = fallback_of(rt)

    def batch_norm_train(x, gamma, beta, epsilon=1e-3):
        if not all_f32(x, gamma, beta) or x.size == 0:
            return fallback("batch_norm_train", x, gamma, beta, epsilon=epsilon)
        rows, c = _bn_dims("batch_norm_train", x, gamma, beta)
        y, mean, var = rt.empty(x.shape), rt.empty((c,)), rt.empty((c,))
        pb_bn_train(x.ptr, gamma.ptr, beta.ptr, y.ptr, mean.ptr, var.ptr, rows, c, float(epsilon))
        return y, mean, var

    def batch_norm_infer(x, gamma, beta, mean, var, epsilon=1e-3):
        if not all_f32(x, gamma, beta, mean, var):
            return fallback("batch_norm_infer", x, gamma, beta, mean, var, epsilon=epsilon)
        rows, c = _bn_dims("batch_norm_infer", x, gamma, beta, mean, var)
        y = rt.empty(x.shape)
        if y.size:
            pb_bn_infer(x.ptr, gamma.ptr, beta.ptr, mean.ptr, var.ptr, y.ptr, rows, c, float(epsilon))
        return y

    def batch_norm_grad(dy, x, gamma, mean, var, epsilon=1e-3):
        if not all_f32(dy, x, gamma, mean, var) or x.size == 0:
            return fallback("batch_norm_grad", dy, x, gamma, mean, var, epsilon=epsilon)
        rows, c = _bn_dims("batch_norm_grad", x, gamma, mean, var)
        if dy.shape != x.shape:
            raise ValueError(f"batch_norm_grad: dy has shape {dy.shape}, x has {x.shape}")
        dx, dgamma, dbeta = rt.empty(x.shape), rt.empty((c,)), rt.empty((c,))
        pb_bn_grad(dy.ptr, x.ptr, gamma.ptr, mean.ptr, var.ptr, dx.ptr, dgamma.ptr, dbeta.ptr, rows, c, float(epsilon))
        return dx, dgamma, dbeta

    return {
        "batch_norm_train": batch_norm_train,
        "batch_norm_infer": batch_norm_infer,
        "batch_norm_grad": batch_norm_grad,
    }
