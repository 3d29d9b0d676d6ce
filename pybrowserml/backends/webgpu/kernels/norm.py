"""Batch normalisation over every axis but the last (shaders/norm.wgsl): statistics per channel, then one
elementwise pass (training: 2 dispatches, inference: 1, gradient: 2)."""

from __future__ import annotations


def make_table(rt) -> dict:
    dispatch, empty, grid = rt.dispatch, rt.empty, rt.grid
    stats_pipe = rt.pipeline("norm", "stats")
    normalize_pipe = rt.pipeline("norm", "normalize")
    grad_stats_pipe = rt.pipeline("norm", "grad_stats")
    grad_input_pipe = rt.pipeline("norm", "grad_input")

    def normalize(x, gamma, beta, mean, var, epsilon):
        out = empty(x.shape, x.dtype)
        if out.size:
            c = x.shape[-1]
            gx, gy = grid(out.size)
            dispatch(
                normalize_pipe,
                gx,
                gy,
                1,
                x.id,
                gamma.id,
                beta.id,
                mean.id,
                var.id,
                out.id,
                out.size // c,
                c,
                float(epsilon),
            )
        return out

    def batch_norm_train(x, gamma, beta, epsilon=1e-3):
        c = x.shape[-1]
        mean, var = empty((c,), x.dtype), empty((c,), x.dtype)
        rows = x.size // c if c else 0
        if rows and c:
            gx, gy = grid(c)
            dispatch(stats_pipe, gx, gy, 1, x.id, mean.id, var.id, rows, c, float(epsilon))
        return normalize(x, gamma, beta, mean, var, epsilon), mean, var

    def batch_norm_infer(x, gamma, beta, mean, var, epsilon=1e-3):
        return normalize(x, gamma, beta, mean, var, epsilon)

    def batch_norm_grad(dy, x, gamma, mean, var, epsilon=1e-3):
        c = x.shape[-1]
        rows = x.size // c if c else 0
        dgamma, dbeta, dx = empty((c,), x.dtype), empty((c,), x.dtype), empty(x.shape, x.dtype)
        if rows and c:
            gx, gy = grid(c)
            dispatch(
                grad_stats_pipe, gx, gy, 1, dy.id, x.id, mean.id, var.id, dgamma.id, dbeta.id, rows, c, float(epsilon)
            )
            gx, gy = grid(x.size)
            dispatch(
                grad_input_pipe,
                gx,
                gy,
                1,
                dy.id,
                x.id,
                gamma.id,
                mean.id,
                var.id,
                dgamma.id,
                dbeta.id,
                dx.id,
                rows,
                c,
                float(epsilon),
            )
        return dx, dgamma, dbeta

    return {
        "batch_norm_train": batch_norm_train,
        "batch_norm_infer": batch_norm_infer,
        "batch_norm_grad": batch_norm_grad,
    }
