"""Batch normalisation over every axis but the last: training (batch statistics), inference, gradient."""

from __future__ import annotations

import numpy as np


def _channel_axes(x):
    return tuple(range(x.ndim - 1))


def batch_norm_train(x, gamma, beta, epsilon=1e-3):
    axes = _channel_axes(x)
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    y = (x - mean) / np.sqrt(var + epsilon) * gamma + beta
    return y.astype(x.dtype), mean.astype(x.dtype), var.astype(x.dtype)


def batch_norm_infer(x, gamma, beta, mean, var, epsilon=1e-3):
    return ((x - mean) / np.sqrt(var + epsilon) * gamma + beta).astype(x.dtype)


def batch_norm_grad(dy, x, gamma, mean, var, epsilon=1e-3):
    axes = _channel_axes(x)
    count = x.size // x.shape[-1]
    inv_std = 1.0 / np.sqrt(var + epsilon)
    x_hat = (x - mean) * inv_std
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * x_hat).sum(axis=axes)
    dx = gamma * inv_std / count * (count * dy - dbeta - x_hat * dgamma)
    return dx.astype(x.dtype), dgamma.astype(x.dtype), dbeta.astype(x.dtype)


KERNELS = {
    "batch_norm_train": batch_norm_train,
    "batch_norm_infer": batch_norm_infer,
    "batch_norm_grad": batch_norm_grad,
}
