"""Losses by Keras name. Cross-entropies are computed from logits by one fused, stable kernel.

With a softmax head (Keras style: the model outputs probabilities) and from_logits=False, the model
hands the loss the head's logits instead and the softmax is fused into the loss; the results equal
Keras's, without log(0). A loss you write yourself is any callable(y_true, y_pred) built from tensor
ops; its gradient comes from autograd.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .tensor import Tensor


def _positions(labels, like, shape):
    """Labels of a per-position loss with the positions flattened (a view on the device, no gradient)."""
    labels = ops._labels(labels, like)
    return Tensor.wrap(labels.backend.run("reshape", labels.data, shape=shape), labels.backend)


class Loss:
    name = "loss"
    fuses_softmax = False  # True: can take the logits of a softmax head instead of its probabilities

    def __call__(self, y_true, y_pred):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name}


class _CrossEntropy(Loss):
    sparse = True
    fuses_softmax = True

    def __init__(self, from_logits=False):
        self.from_logits = from_logits

    def from_logits_call(self, y_true, logits):
        if logits.ndim > 2:  # per pixel (segmentation): the mean over every position of every image
            classes = logits.shape[-1]
            logits = ops.reshape(logits, (-1, classes))
            y_true = _positions(y_true, logits, (-1,) if self.sparse else (-1, classes))
        return ops.softmax_xent(logits, y_true, sparse=self.sparse)

    def __call__(self, y_true, y_pred):
        if self.from_logits:
            return self.from_logits_call(y_true, y_pred)
        # Probabilities given directly (not through a model's softmax head): clip like Keras, then -log.
        y_true = y_true if isinstance(y_true, Tensor) else ops.as_tensor(y_true, like=y_pred)
        log_p = ops.log(ops.clip(y_pred, 1e-7, 1.0 - 1e-7))
        if self.sparse:
            classes = y_pred.shape[-1]
            onehot = Tensor(np.eye(classes, dtype="float32")[y_true.numpy().astype(int)], backend=y_pred.backend)
        else:
            onehot = y_true
        return ops.neg(ops.mean(ops.sum(onehot * log_p, axis=-1)))

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}


class SparseCategoricalCrossentropy(_CrossEntropy):
    """Integer labels (batch,), predictions (batch, classes); or per pixel, labels (batch, height, width)
    and predictions (batch, height, width, classes), averaged over every pixel (segmentation)."""

    name = "sparse_categorical_crossentropy"
    sparse = True


class CategoricalCrossentropy(_CrossEntropy):
    """One-hot (or soft) labels (batch, classes)."""

    name = "categorical_crossentropy"
    sparse = False


class MeanSquaredError(Loss):
    name = "mean_squared_error"

    def __call__(self, y_true, y_pred):
        y_true = y_true if isinstance(y_true, Tensor) else ops.as_tensor(y_true, like=y_pred)
        if tuple(y_true.shape) != tuple(y_pred.shape):
            raise ValueError(
                f"mean squared error: labels of shape {y_true.shape} do not match predictions of shape {y_pred.shape}"
            )
        return ops.mean(ops.square(y_pred - y_true))


class LossFunction(Loss):
    """Wraps a user callable(y_true, y_pred) -> Tensor (a per-sample loss is averaged)."""

    def __init__(self, fn):
        self.fn = fn
        self.name = getattr(fn, "__name__", "custom_loss")

    def __call__(self, y_true, y_pred):
        y_true = y_true if isinstance(y_true, Tensor) else ops.as_tensor(y_true, like=y_pred)
        value = self.fn(y_true, y_pred)
        if not isinstance(value, Tensor):
            raise TypeError(f"loss {self.name!r} must return a Tensor built from pybrowserml ops, got {type(value)}")
        return value if value.ndim == 0 else ops.mean(value)


_ALIASES = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
}


def get(identifier) -> Loss:
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _ALIASES:
            raise ValueError(f"unknown loss {identifier!r}: use one of {sorted(_ALIASES)}, a Loss or a callable")
        return _ALIASES[identifier]()
    if callable(identifier):
        return LossFunction(identifier)
    raise TypeError(f"loss must be a name, a Loss or a callable(y_true, y_pred), got {identifier!r}")


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return SparseCategoricalCrossentropy(from_logits)(y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    return CategoricalCrossentropy(from_logits)(y_true, y_pred)


def mean_squared_error(y_true, y_pred):
    return MeanSquaredError()(y_true, y_pred)
