"""Metrics by Keras name, accumulated ON THE DEVICE.

A metric keeps running sums as backend arrays (`add` / `count_correct` kernels) and reads them back
only in `result()`. The training loop calls `update_state` after every step and `result()` only when
logs are due (epoch end, or the progress bar at most every ~100 ms), so a WASM or GPU backend is never
forced to copy data back to Python in the middle of a step.

"accuracy" (or "acc") resolves like Keras: SparseCategoricalAccuracy with integer labels (a sparse
loss), CategoricalAccuracy with one-hot labels. Both count rows whose argmax is the right class; they
work on logits or probabilities alike (softmax keeps the argmax).
"""

from __future__ import annotations

import numpy as np

from .backends import get_backend
from .tensor import Tensor


def _data(value):
    return value.data if isinstance(value, Tensor) else value


class Metric:
    """Base class: a total and a count living on the backend; `result() = total / count`."""

    name = "metric"

    def __init__(self, name=None):
        if name is not None:
            self.name = name
        self.reset_state()

    def reset_state(self) -> None:
        self.backend = get_backend()
        self._total = self.backend.zeros((), "float32")
        self.count = 0  # samples seen: a host int (batch sizes are known on the host)

    def _add(self, device_scalar, n: int) -> None:
        self._total = self.backend.run("add", self._total, device_scalar)
        self.count += int(n)

    def update_state(self, y_true, y_pred) -> None:
        raise NotImplementedError

    def result_arrays(self) -> list:
        """The device arrays the result is made of, for a caller that reads them back itself (the trainer
        awaits download_async in the browser); finish with result_from_host. Empty before any update."""
        return [self._total] if self.count else []

    def result_from_host(self, values) -> float:
        """The metric from the host copies of result_arrays(), in the same order."""
        return float(values[0]) / self.count if self.count else 0.0

    def result(self) -> float:
        """The metric so far (one scalar download). 0.0 before any update."""
        return self.result_from_host([self.backend.download(a) for a in self.result_arrays()])

    def get_config(self) -> dict:
        return {"name": self.name}


class Mean(Metric):
    """Sample-weighted mean of batch values: `update_state(batch_mean, n)` (the loss uses it)."""

    name = "mean"

    def update_state(self, value, n=1) -> None:
        scaled = self.backend.run("scale", _data(value), alpha=float(n), beta=0.0)
        self._add(scaled, n)


class SparseCategoricalAccuracy(Metric):
    """Fraction of rows whose argmax equals the integer label."""

    name = "accuracy"
    sparse = True

    def update_state(self, y_true, y_pred) -> None:
        correct = self.backend.run("count_correct", _data(y_pred), _data(y_true), sparse=self.sparse)
        self._add(correct, y_pred.shape[0])


class CategoricalAccuracy(SparseCategoricalAccuracy):
    """Fraction of rows whose argmax equals the argmax of the one-hot label."""

    sparse = False


class MeanIoU(Metric):
    """Mean intersection over union of a segmentation: per class |pred & true| / |pred | true|, averaged
    over the classes present in the labels or the predictions (Keras's MeanIoU on argmax predictions).

    A confusion matrix (classes x classes) is summed on the device; one readback per result()."""

    name = "mean_iou"

    def __init__(self, num_classes=None, name=None):
        self.num_classes = num_classes
        super().__init__(name)

    def reset_state(self) -> None:
        self.backend = get_backend()
        self._counts = None
        self.count = 0

    def update_state(self, y_true, y_pred) -> None:
        if self.num_classes is not None and y_pred.shape[-1] != self.num_classes:
            raise ValueError(
                f"mean_iou: the model outputs {y_pred.shape[-1]} classes but the metric was made for "
                f"{self.num_classes}: use MeanIoU(num_classes={y_pred.shape[-1]})"
            )
        counts = self.backend.run("confusion_matrix", _data(y_pred), _data(y_true))
        self._counts = counts if self._counts is None else self.backend.run("add", self._counts, counts)
        self.count += int(y_pred.shape[0])

    def result_arrays(self) -> list:
        return [self._counts] if self.count else []

    def result_from_host(self, values) -> float:
        if not self.count:
            return 0.0
        counts = np.asarray(values[0], dtype=np.float64)
        intersection = np.diag(counts)
        union = counts.sum(axis=0) + counts.sum(axis=1) - intersection
        present = union > 0
        return float((intersection[present] / union[present]).mean()) if present.any() else 0.0

    def get_config(self) -> dict:
        return {"name": self.name, "num_classes": self.num_classes}


ACCURACY_NAMES = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy")


def get(identifier, loss=None) -> Metric:
    """A metric from a Keras name or an instance. Plain "accuracy" follows the loss's label format."""
    if isinstance(identifier, Metric):
        return identifier
    if identifier == "sparse_categorical_accuracy":
        return SparseCategoricalAccuracy()
    if identifier == "categorical_accuracy":
        return CategoricalAccuracy()
    if identifier == "mean_iou":
        return MeanIoU()
    if identifier in ("accuracy", "acc"):
        sparse = getattr(loss, "sparse", None) is True
        return SparseCategoricalAccuracy() if sparse else CategoricalAccuracy()
    raise ValueError(
        f"unknown metric {identifier!r}: supported are {[*ACCURACY_NAMES, 'mean_iou']} or a Metric instance"
    )
