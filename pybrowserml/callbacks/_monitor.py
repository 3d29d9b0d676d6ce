"""MonitorCallback: shared "is this value an improvement?" logic of EarlyStopping and ModelCheckpoint.

Mirrors Keras 3's MonitorCallback: the direction (min or max) is fixed by ``mode``, or in "auto" mode
inferred from the monitored name once the model's metrics are known (at the first epoch end).
"""

from __future__ import annotations

import math
import warnings

from .base import Callback

# Metric names (without "val_") whose value should go up; everything loss-like goes down.
_HIGHER_IS_BETTER = ("acc", "accuracy", "auc", "precision", "recall", "f1", "fmeasure", "iou")
_LOWER_IS_BETTER = ("loss", "error", "mae", "mse", "rmse", "crossentropy", "hinge", "divergence")


def _less(a, b):
    return a < b


def _greater(a, b):
    return a > b


def metric_direction(monitor: str, model=None) -> str | None:
    """ "up", "down", or None when the direction of `monitor` cannot be told from its name or metric."""
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss" or name.endswith("_loss"):
        return "down"
    # A metric object may say its direction itself (Keras uses a private _direction attribute).
    for metric in getattr(model, "metrics", None) or ():
        if getattr(metric, "name", None) == name:
            direction = getattr(metric, "direction", None) or getattr(metric, "_direction", None)
            if direction in ("up", "down"):
                return direction
    lowered = name.lower()
    if any(word in lowered for word in _HIGHER_IS_BETTER):
        return "up"
    if any(word in lowered for word in _LOWER_IS_BETTER):
        return "down"
    return None


def as_scalar(value):
    """A logged value as a Python float (logs may hold numpy scalars or 0-d arrays)."""
    return float(value)


def is_invalid(value) -> bool:
    value = as_scalar(value)
    return math.isnan(value) or math.isinf(value)


class MonitorCallback(Callback):
    """Base of callbacks that watch one logged quantity and act when it stops improving."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode {mode!r} is unknown, falling back to 'auto'.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.baseline = baseline
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = _less
        elif self.mode == "max":
            self.monitor_op = _greater
        else:
            direction = metric_direction(self.monitor, self.model)
            if direction is None:
                raise ValueError(
                    f"{type(self).__name__} received monitor={self.monitor!r}, but cannot tell whether that "
                    "metric should be maximized or minimized. Pass mode='max' to use the highest value, "
                    "or mode='min' to use the lowest value."
                )
            self.monitor_op = _greater if direction == "up" else _less
        # Stored signed, like Keras: improvement means monitor_op(current - min_delta, best).
        if self.monitor_op is _less:
            self.min_delta = -abs(self.min_delta)
        if self.best is None:
            self.best = math.inf if self.monitor_op is _less else -math.inf

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        return bool(self.monitor_op(as_scalar(monitor_value) - self.min_delta, reference_value))

    def _missing_monitor_warning(self, logs, what):
        warnings.warn(
            f"{what} is conditioned on metric `{self.monitor}` which is not available. "
            f"Available metrics are: {','.join(list((logs or {}).keys()))}",
            stacklevel=3,
        )
