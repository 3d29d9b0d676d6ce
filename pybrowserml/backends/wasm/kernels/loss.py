"""WASM kernels of the loss family: softmax cross-entropy and its gradient, count_correct (the
accuracy metric), confusion_matrix (the mean-IoU metric), softmax and log_softmax over the last axis (csrc/loss.c)."""

from __future__ import annotations

from ._common import F32, I32, all_f32, fallback_of


def _labels_ok(name, logits, labels, sparse):
    """True when the C kernel handles these labels; raises on shapes numpy would reject."""
    if logits.ndim != 2:
        raise ValueError(f"{name}: logits must be 2-D (batch, classes), got shape {logits.shape}")
    n, k = logits.shape
    if sparse:
        if labels.shape != (n,):
            raise ValueError(
                f"{name}: sparse labels must have shape ({n},) (one class index per row), "
                f"got {labels.shape}; use sparse=False for one-hot labels"
            )
        return labels.dtype == I32 and k > 0
    if labels.shape != (n, k):
        raise ValueError(
            f"{name}: one-hot labels must have shape {(n, k)}, got {labels.shape}; use sparse=True for class indices"
        )
    return labels.dtype == F32 and k > 0


def _raise_bad_labels(name, bad, k):
    raise ValueError(
        f"{name}: {bad} sparse label(s) outside [0, {k}): labels must be class indices "
        f"0..{k - 1} of the model's {k} outputs"
    )


def make_kernels(rt):
    """The kernel table entries of this family, bound to one WasmRuntime."""
    ex = rt.exports
    # Exports are looked up once: each Python -> JS call then costs ~1 us.
    pb_xent, pb_xent_grad, pb_count, pb_softmax = (
        ex.pb_softmax_xent,
        ex.pb_softmax_xent_grad,
        ex.pb_count_correct,
        ex.pb_softmax,
    )
    pb_confusion = ex.pb_confusion_matrix
    fallback = fallback_of(rt)

    def softmax_xent(logits, labels, sparse=True):
        if not all_f32(logits) or not _labels_ok("softmax_xent", logits, labels, sparse):
            return fallback("softmax_xent", logits, labels, sparse=sparse)
        n, k = logits.shape
        loss, probs = rt.empty(()), rt.empty((n, k))
        bad = pb_xent(logits.ptr, labels.ptr, probs.ptr, loss.ptr, n, k, int(bool(sparse)))
        if bad:
            _raise_bad_labels("softmax_xent", bad, k)
        return loss, probs

    def softmax_xent_grad(probs, labels, g, sparse=True):
        if not all_f32(probs, g) or g.size != 1 or not _labels_ok("softmax_xent_grad", probs, labels, sparse):
            return fallback("softmax_xent_grad", probs, labels, g, sparse=sparse)
        n, k = probs.shape
        dlogits = rt.empty((n, k))
        bad = pb_xent_grad(probs.ptr, labels.ptr, g.ptr, dlogits.ptr, n, k, int(bool(sparse)))
        if bad:
            _raise_bad_labels("softmax_xent_grad", bad, k)
        return dlogits

    def count_correct(logits, labels, sparse=True):
        if not all_f32(logits) or not _labels_ok("count_correct", logits, labels, sparse):
            return fallback("count_correct", logits, labels, sparse=sparse)
        n, k = logits.shape
        out = rt.empty(())
        pb_count(logits.ptr, labels.ptr, out.ptr, n, k, int(bool(sparse)))
        return out

    def confusion_matrix(logits, labels):
        if logits.ndim < 1 or tuple(labels.shape) != tuple(logits.shape[:-1]):
            raise ValueError(
                f"confusion_matrix: labels of shape {labels.shape} do not match logits of shape {logits.shape} "
                f"(one class index per position: labels must have shape {logits.shape[:-1]})"
            )
        if not all_f32(logits) or labels.dtype != I32 or logits.shape[-1] == 0:
            return fallback("confusion_matrix", logits, labels)
        k = logits.shape[-1]
        counts = rt.empty((k, k))
        bad = pb_confusion(logits.ptr, labels.ptr, counts.ptr, logits.size // k, k)
        if bad:
            raise ValueError(
                f"confusion_matrix: {bad} label(s) outside [0, {k}): labels must be class indices 0..{k - 1}"
            )
        return counts

    def softmax_kernel(name, log):
        def kernel(a, axis=-1):
            last = a.ndim > 0 and axis in (-1, a.ndim - 1)
            if not all_f32(a) or not last or a.size == 0:
                return fallback(name, a, axis=axis)
            y = rt.empty(a.shape)
            pb_softmax(a.ptr, y.ptr, a.size // a.shape[-1], a.shape[-1], int(log))
            return y

        kernel.__name__ = name
        return kernel

    return {
        "softmax_xent": softmax_xent,
        "softmax_xent_grad": softmax_xent_grad,
        "count_correct": count_correct,
        "confusion_matrix": confusion_matrix,
        "softmax": softmax_kernel("softmax", False),
        "log_softmax": softmax_kernel("log_softmax", True),
    }
