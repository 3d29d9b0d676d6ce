"""Softmax cross-entropy, its gradient, the count of correct predictions and the confusion matrix
(shaders/loss.wgsl).
The per-row results are summed by the column sum, so loss and count stay on the GPU as scalars.
softmax and log_softmax run a row kernel of shaders/elementwise.wgsl over the last axis (another axis
is moved last and back)."""

from __future__ import annotations

import numpy as np


def _label_kind(labels, sparse: bool) -> int:
    if not sparse:
        return 2
    return 1 if labels.dtype == np.float32 else 0


def make_table(rt) -> dict:
    dispatch, empty, grid = rt.dispatch, rt.empty, rt.grid
    xent_pipe = rt.pipeline("loss", "softmax_xent")
    grad_pipe = rt.pipeline("loss", "softmax_xent_grad")
    correct_pipe = rt.pipeline("loss", "correct")
    confusion_pipe = rt.pipeline("loss", "confusion")
    softmax_pipe = rt.pipeline("elementwise", "row_softmax")

    def row_softmax(name, take_log):
        def kernel(a, axis=-1):
            axis %= a.ndim
            if a.dtype.name != "float32" or a.shape[axis] == 0:
                return rt.fallback(name, (a,), {"axis": axis})
            order = tuple(ax for ax in range(a.ndim) if ax != axis) + (axis,)
            x = a if axis == a.ndim - 1 else rt.transpose(a, order)
            out = empty(x.shape, x.dtype)
            rows = out.size // x.shape[-1]
            if rows:
                gx, gy = grid(rows)
                dispatch(softmax_pipe, gx, gy, 1, x.id, out.id, rows, x.shape[-1], take_log)
            return out if x is a else rt.transpose(out, tuple(order.index(ax) for ax in range(a.ndim)))

        return kernel

    def softmax_xent(logits, labels, sparse=True):
        rows, classes = logits.shape
        probs = empty(logits.shape, logits.dtype)
        row_loss = empty((rows,), logits.dtype)
        if rows:
            gx, gy = grid(rows)
            dispatch(
                xent_pipe,
                gx,
                gy,
                1,
                logits.id,
                labels.id,
                probs.id,
                row_loss.id,
                rows,
                classes,
                _label_kind(labels, sparse),
                0.0,
            )
        return rt.column_sum(row_loss, rows, 1, (), 1.0 / rows if rows else 0.0), probs

    def softmax_xent_grad(probs, labels, g, sparse=True):
        rows, classes = probs.shape
        out = empty(probs.shape, probs.dtype)
        if out.size:
            gx, gy = grid(out.size)
            dispatch(
                grad_pipe,
                gx,
                gy,
                1,
                probs.id,
                labels.id,
                g.id,
                out.id,
                rows,
                classes,
                _label_kind(labels, sparse),
                1.0 / rows,
            )
        return out

    def count_correct(logits, labels, sparse=True):
        rows, classes = logits.shape
        correct = empty((rows,), logits.dtype)
        if rows:
            gx, gy = grid(rows)
            dispatch(
                correct_pipe,
                gx,
                gy,
                1,
                logits.id,
                labels.id,
                correct.id,
                rows,
                classes,
                _label_kind(labels, sparse),
                0.0,
            )
        return rt.column_sum(correct, rows, 1, ())

    def confusion_matrix(logits, labels):
        if logits.ndim < 1 or tuple(labels.shape) != tuple(logits.shape[:-1]):
            raise ValueError(
                f"confusion_matrix: labels of shape {labels.shape} do not match logits of shape {logits.shape} "
                f"(one class index per position: labels must have shape {logits.shape[:-1]})"
            )
        k = logits.shape[-1]
        if logits.dtype.name != "float32" or labels.dtype.name != "int32" or k == 0:
            return rt.fallback("confusion_matrix", (logits, labels), {})
        # Counted with atomic adds into int32 words, then cast to float32 (what the metric sums). Labels
        # outside [0, k) are counted nowhere: saying so would need a read back per batch.
        counts = rt.zeros((k, k), "int32")
        rows = labels.size
        if rows:
            gx, gy = grid(rows)
            dispatch(confusion_pipe, gx, gy, 1, logits.id, labels.id, counts.id, rows, k, 0, 0.0)
        return rt.run_cast(counts, "float32")

    return {
        "softmax": row_softmax("softmax", 0),
        "log_softmax": row_softmax("log_softmax", 1),
        "softmax_xent": softmax_xent,
        "softmax_xent_grad": softmax_xent_grad,
        "count_correct": count_correct,
        "confusion_matrix": confusion_matrix,
    }
