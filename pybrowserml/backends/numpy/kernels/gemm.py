"""Matrix products: matmul and dense (bias and activation fused)."""

from __future__ import annotations

from ._shared import activate


def matmul(a, b, transpose_a=False, transpose_b=False):
    return (a.T if transpose_a else a) @ (b.T if transpose_b else b)


def dense(x, w, b=None, activation=None):
    y = x @ w
    if b is not None:
        y += b
    return activate(y, activation)


KERNELS = {
    "matmul": matmul,
    "dense": dense,
}
