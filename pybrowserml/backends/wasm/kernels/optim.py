"""WASM kernels of the optim family: Adam(W) and SGD (momentum, Nesterov) updates, in place over lists
of parameters (csrc/optim.c). The lists' pointer arrays are kept in WASM memory across steps."""

from __future__ import annotations

import math

from ._common import all_f32, fallback_of


def _check_lists(name, first, *others):
    for other in others:
        for a, b in zip(first, other):
            if a.shape != b.shape:
                raise ValueError(
                    f"{name}: a parameter of shape {a.shape} was paired with a state or gradient of shape {b.shape}"
                )


def make_kernels(rt):
    """The kernel table entries of this family, bound to one WasmRuntime."""
    ex = rt.exports
    pb_adam, pb_sgd = ex.pb_adam_update, ex.pb_sgd_update
    fallback = fallback_of(rt)

    def sizes_ptr(arrays):
        return rt.int_list([a.size for a in arrays], keep=True)

    def adam_update(
        params, grads, ms, vs, lr=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-7, step=1, weight_decay=0.0, decoupled=True
    ):
        params, grads, ms, vs = list(params), list(grads), list(ms), list(vs)
        count = min(len(params), len(grads), len(ms), len(vs))  # zip() semantics, like numpy
        params, grads, ms, vs = params[:count], grads[:count], ms[:count], vs[:count]
        if not all_f32(*params, *grads, *ms, *vs):
            return fallback(
                "adam_update",
                params,
                grads,
                ms,
                vs,
                lr=lr,
                beta1=beta1,
                beta2=beta2,
                epsilon=epsilon,
                step=step,
                weight_decay=weight_decay,
                decoupled=decoupled,
            )
        if count == 0:
            return None
        _check_lists("adam_update", params, grads, ms, vs)
        alpha = lr * math.sqrt(1 - beta2**step) / (1 - beta1**step)
        decay = weight_decay * lr if weight_decay and decoupled else 0.0
        l2 = weight_decay if weight_decay and not decoupled else 0.0
        pb_adam(
            rt.ptr_list(params, keep=True),
            rt.ptr_list(grads),
            rt.ptr_list(ms, keep=True),
            rt.ptr_list(vs, keep=True),
            sizes_ptr(params),
            count,
            float(alpha),
            float(1 - beta1),
            float(1 - beta2),
            float(epsilon),
            float(decay),
            float(l2),
        )
        return None

    def sgd_update(params, grads, velocities, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        params, grads, velocities = list(params), list(grads), list(velocities)
        count = min(len(params), len(grads), len(velocities))  # zip() semantics, like numpy
        params, grads, velocities = params[:count], grads[:count], velocities[:count]
        if not all_f32(*params, *grads, *velocities):
            return fallback(
                "sgd_update",
                params,
                grads,
                velocities,
                lr=lr,
                momentum=momentum,
                nesterov=nesterov,
                weight_decay=weight_decay,
            )
        if count == 0:
            return None
        _check_lists("sgd_update", params, grads, velocities)
        decay = weight_decay * lr if weight_decay else 0.0
        pb_sgd(
            rt.ptr_list(params, keep=True),
            rt.ptr_list(grads),
            rt.ptr_list(velocities, keep=True),
            sizes_ptr(params),
            count,
            float(lr),
            float(momentum),
            int(bool(nesterov)),
            float(decay),
        )
        return None

    return {"adam_update": adam_update, "sgd_update": sgd_update}
