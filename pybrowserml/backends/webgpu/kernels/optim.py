"""Adam/AdamW and SGD updates over lists of parameters, in place (shaders/optim.wgsl): Adam updates two
parameters per dispatch (p, g, m, v of each: the 8 storage bindings a WebGPU stage allows by default),
SGD one."""

from __future__ import annotations

import math


def make_table(rt) -> dict:
    dispatch, grid = rt.dispatch, rt.grid
    adam_pipe = rt.pipeline("optim", "adam")
    adam_pair_pipe = rt.pipeline("optim", "adam_pair")
    sgd_pipe = rt.pipeline("optim", "sgd")

    def adam_update(
        params, grads, ms, vs, lr=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-7, step=1, weight_decay=0.0, decoupled=True
    ):
        alpha = lr * math.sqrt(1 - beta2**step) / (1 - beta1**step)
        decay = weight_decay * lr if decoupled else 0.0
        l2 = 0.0 if decoupled else float(weight_decay)
        coefficients = (alpha, beta1, beta2, epsilon, decay, l2)
        quads = [(p, g, m, v) for p, g, m, v in zip(params, grads, ms, vs) if p.size]
        while quads:
            p, g, m, v = quads.pop(0)
            if quads:
                p2, g2, m2, v2 = quads[0]
                ids = (p.id, g.id, m.id, v.id, p2.id, g2.id, m2.id, v2.id)
                if len(set(ids)) == 8:  # a buffer in both halves (a parameter listed twice) goes one by one
                    quads.pop(0)
                    gx, gy = grid(p.size + p2.size)
                    dispatch(adam_pair_pipe, gx, gy, 1, *ids, p.size, p2.size, *coefficients)
                    continue
            gx, gy = grid(p.size)
            dispatch(adam_pipe, gx, gy, 1, p.id, g.id, m.id, v.id, p.size, *coefficients)

    def sgd_update(params, grads, velocities, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        for p, g, v in zip(params, grads, velocities):
            if p.size:
                gx, gy = grid(p.size)
                dispatch(
                    sgd_pipe, gx, gy, 1, p.id, g.id, v.id, p.size, lr, momentum, int(bool(nesterov)), weight_decay * lr
                )

    return {"adam_update": adam_update, "sgd_update": sgd_update}
