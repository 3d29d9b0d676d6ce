"""Softmax, log-softmax, softmax cross-entropy (sparse or one-hot labels) and its gradient, accuracy counts."""

from __future__ import annotations

import numpy as np


def softmax(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(a, axis=-1):
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _onehot(labels, classes, dtype):
    out = np.zeros((labels.shape[0], classes), dtype=dtype)
    out[np.arange(labels.shape[0]), labels.astype(np.int64)] = 1
    return out


def softmax_xent(logits, labels, sparse=True):
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    log_probs = shifted - np.log(total)
    target = _onehot(labels, logits.shape[1], logits.dtype) if sparse else labels
    loss = -(target * log_probs).sum() / logits.shape[0]
    return np.asarray(loss, dtype=logits.dtype), (exp / total).astype(logits.dtype)


def softmax_xent_grad(probs, labels, g, sparse=True):
    target = _onehot(labels, probs.shape[1], probs.dtype) if sparse else labels
    return ((probs - target) * (g / probs.shape[0])).astype(probs.dtype)


def count_correct(logits, labels, sparse=True):
    truth = labels if sparse else labels.argmax(axis=1)
    return np.asarray((logits.argmax(axis=1) == truth).sum(), dtype=np.float32)


def confusion_matrix(logits, labels):
    """counts[t, p]: how many positions with label t have their logits' argmax (the first maximum) at p.

    logits (..., classes), integer labels of the leading shape; float32 counts (classes, classes), summed
    on the device by the mean-IoU metric."""
    k = logits.shape[-1]
    if labels.shape != logits.shape[:-1]:
        raise ValueError(
            f"confusion_matrix: labels of shape {labels.shape} do not match logits of shape {logits.shape} "
            f"(one class index per position: labels must have shape {logits.shape[:-1]})"
        )
    truth = labels.reshape(-1).astype(np.int64)
    bad = int(((truth < 0) | (truth >= k)).sum())
    if bad:
        raise ValueError(f"confusion_matrix: {bad} label(s) outside [0, {k}): labels must be class indices 0..{k - 1}")
    predicted = logits.reshape(-1, k).argmax(axis=1)
    # np.intp: bincount's index type, 32-bit in Pyodide
    return np.bincount((truth * k + predicted).astype(np.intp), minlength=k * k).reshape(k, k).astype(np.float32)


KERNELS = {
    "softmax": softmax,
    "log_softmax": log_softmax,
    "softmax_xent": softmax_xent,
    "softmax_xent_grad": softmax_xent_grad,
    "count_correct": count_correct,
    "confusion_matrix": confusion_matrix,
}
