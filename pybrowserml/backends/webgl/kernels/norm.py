"""Batch normalisation over every axis but the last (shaders/norm.glsl): statistics per channel (mean and
variance in one draw), then one elementwise pass (training: 2 draws, inference: 1, gradient: 2)."""

from __future__ import annotations


def make_table(rt) -> dict:
    draw, empty = rt.draw, rt.empty
    stats_pipe = rt.program("norm", "stats")
    normalize_pipe = rt.program("norm", "normalize")
    grad_stats_pipe = rt.program("norm", "grad_stats")
    grad_input_pipe = rt.program("norm", "grad_input")

    def normalize(x, gamma, beta, mean, var, epsilon):
        out = empty(x.shape, x.dtype)
        if out.size:
            draw(normalize_pipe, out.id, x.id, gamma.id, beta.id, mean.id, var.id, x.shape[-1], float(epsilon))
        return out

    def batch_norm_train(x, gamma, beta, epsilon=1e-3):
        c = x.shape[-1]
        mean, var = empty((c,), x.dtype), empty((c,), x.dtype)
        rows = x.size // c if c else 0
        if rows and c:
            draw(stats_pipe, mean.id, var.id, x.id, rows, c)
        return normalize(x, gamma, beta, mean, var, epsilon), mean, var

    def batch_norm_infer(x, gamma, beta, mean, var, epsilon=1e-3):
        return normalize(x, gamma, beta, mean, var, epsilon)

    def batch_norm_grad(dy, x, gamma, mean, var, epsilon=1e-3):
        c = x.shape[-1]
        rows = x.size // c if c else 0
        dgamma, dbeta, dx = empty((c,), x.dtype), empty((c,), x.dtype), empty(x.shape, x.dtype)
        if rows and c:
            draw(grad_stats_pipe, dgamma.id, dbeta.id, dy.id, x.id, mean.id, var.id, rows, c, float(epsilon))
            draw(
                grad_input_pipe,
                dx.id,
                dy.id,
                x.id,
                gamma.id,
                mean.id,
                var.id,
                dgamma.id,
                dbeta.id,
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
