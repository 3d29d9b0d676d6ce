"""Adam/AdamW and SGD updates over lists of parameters, in place (shaders/optim.glsl): one draw per
parameter writes the parameter and its slots together (multiple render targets)."""

from __future__ import annotations

import math


def make_table(rt) -> dict:
    draw = rt.draw
    adam_pipe = rt.program("optim", "adam")
    sgd_pipe = rt.program("optim", "sgd")

    def adam_update(
        params, grads, ms, vs, lr=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-7, step=1, weight_decay=0.0, decoupled=True
    ):
        alpha = lr * math.sqrt(1 - beta2**step) / (1 - beta1**step)
        decay = weight_decay * lr if decoupled else 0.0
        l2 = 0.0 if decoupled else float(weight_decay)
        for p, g, m, v in zip(params, grads, ms, vs):
            if p.size:
                draw(adam_pipe, p.id, m.id, v.id, p.id, g.id, m.id, v.id, alpha, beta1, beta2, epsilon, decay, l2)

    def sgd_update(params, grads, velocities, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        for p, g, v in zip(params, grads, velocities):
            if p.size:
                draw(sgd_pipe, p.id, v.id, p.id, g.id, v.id, lr, momentum, int(bool(nesterov)), weight_decay * lr)

    return {"adam_update": adam_update, "sgd_update": sgd_update}
