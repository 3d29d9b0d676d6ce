"""Optimizer steps (Keras 3's Adam/AdamW and SGD), updating lists of parameters and slots in place."""

from __future__ import annotations

import numpy as np


def adam_update(
    params, grads, ms, vs, lr=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-7, step=1, weight_decay=0.0, decoupled=True
):
    """Keras 3's Adam: bias correction folded into the step size; AdamW decays weights first."""
    alpha = lr * np.sqrt(1 - beta2**step) / (1 - beta1**step)
    for p, g, m, v in zip(params, grads, ms, vs):
        if weight_decay:
            if decoupled:
                p -= p * (weight_decay * lr)
            else:
                g = g + weight_decay * p
        m += (g - m) * (1 - beta1)
        v += (g * g - v) * (1 - beta2)
        p -= (alpha * m / (np.sqrt(v) + epsilon)).astype(p.dtype)


def sgd_update(params, grads, velocities, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
    """Keras 3's SGD: velocity = momentum * velocity - lr * g; weight decay is decoupled."""
    for p, g, v in zip(params, grads, velocities):
        if weight_decay:
            p -= p * (weight_decay * lr)
        if momentum:
            v *= momentum
            v -= lr * g
            p += (momentum * v - lr * g) if nesterov else v
        else:
            p -= lr * g


KERNELS = {
    "adam_update": adam_update,
    "sgd_update": sgd_update,
}
