"""Softmax cross-entropy, its gradient, the count of correct predictions and the confusion matrix
(shaders/loss.glsl). Per-row results are summed by the column sum, so loss and count stay on the GPU as
scalars. softmax and log_softmax run a row kernel of shaders/elementwise.glsl over the last axis (another
axis is moved last and back)."""

from __future__ import annotations


def make_table(rt) -> dict:
    draw, empty = rt.draw, rt.empty
    probs_pipe = rt.program("loss", "probs")
    row_loss_pipe = rt.program("loss", "row_loss")
    grad_pipe = rt.program("loss", "grad")
    correct_pipe = rt.program("loss", "correct")
    softmax_pipe = rt.program("elementwise", "row_softmax")

    def row_softmax(name, take_log):
        def kernel(a, axis=-1):
            axis %= a.ndim
            if a.dtype.name != "float32" or a.shape[axis] == 0:
                return rt.fallback(name, (a,), {"axis": axis})
            order = tuple(ax for ax in range(a.ndim) if ax != axis) + (axis,)
            x = a if axis == a.ndim - 1 else rt.transpose(a, order)
            out = empty(x.shape, x.dtype)
            if out.size:
                draw(softmax_pipe, out.id, x.id, x.shape[-1], take_log)
            return out if x is a else rt.transpose(out, tuple(order.index(ax) for ax in range(a.ndim)))

        return kernel

    def softmax_xent(logits, labels, sparse=True):
        rows, classes = logits.shape
        probs = empty(logits.shape, logits.dtype)
        row_loss = empty((rows,), logits.dtype)
        if rows and classes:
            draw(probs_pipe, probs.id, logits.id, classes, int(bool(sparse)))
            draw(row_loss_pipe, row_loss.id, logits.id, labels.id, classes, int(bool(sparse)))
        return rt.column_sum(row_loss, rows, 1, (), 1.0 / rows if rows else 0.0), probs

    def softmax_xent_grad(probs, labels, g, sparse=True):
        rows, classes = probs.shape
        out = empty(probs.shape, probs.dtype)
        if out.size:
            draw(grad_pipe, out.id, probs.id, labels.id, g.id, classes, int(bool(sparse)), rows)
        return out

    def count_correct(logits, labels, sparse=True):
        rows, classes = logits.shape
        correct = empty((rows,), logits.dtype)
        if rows:
            draw(correct_pipe, correct.id, logits.id, labels.id, classes, int(bool(sparse)))
        return rt.column_sum(correct, rows, 1, ())

    return {
        "softmax": row_softmax("softmax", 0),
        "log_softmax": row_softmax("log_softmax", 1),
        "softmax_xent": softmax_xent,
        "softmax_xent_grad": softmax_xent_grad,
        "count_correct": count_correct,
    }
