"""ModelCheckpoint: save the model or its weights to a file during training (Keras semantics).

Formats (the choice is made in one place, ``save_checkpoint``):
- ``save_weights_only=True``: a ``.npz`` file (``numpy.savez``) of ``model.get_weights()`` in order;
  read it back with ``load_checkpoint_weights(path)`` and ``model.set_weights(...)``.
- ``save_weights_only=False``: the package's JSON model format, written by
  ``model.save_json(path, quantize="float32", store="file")``; the path must end in ``.json``.

In the browser (Pyodide) the file is written to Pyodide's in-memory file system: it is gone when the
page closes. Checkpoints that survive a reload are BackupAndRestore's job (IndexedDB).
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from ._monitor import MonitorCallback

WEIGHTS_SUFFIX = ".npz"
MODEL_SUFFIX = ".json"


def save_checkpoint(model, filepath: str, weights_only: bool) -> None:
    """Write `model` (or only its weights) to `filepath`; the single place that picks the format."""
    dirname = os.path.dirname(filepath)
    if dirname:
        os.makedirs(dirname, exist_ok=True)
    if os.path.isdir(filepath):
        raise IsADirectoryError(f"ModelCheckpoint filepath {filepath!r} is an existing directory: give a file name")
    if weights_only:
        weights = [np.asarray(w) for w in model.get_weights()]
        # Write next to the target and rename, so an interrupted save never leaves a truncated file.
        tmp = filepath + ".tmp.npz"
        np.savez(tmp, *weights)
        os.replace(tmp, filepath)
        return
    # store="file": in the browser too a file (Pyodide's in-memory file system), never a download per epoch.
    model.save_json(filepath, quantize="float32", store="file")


def load_checkpoint_weights(filepath: str) -> list:
    """The weight arrays of a ``.npz`` checkpoint, in ``model.get_weights()`` order."""
    with np.load(filepath) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


class ModelCheckpoint(MonitorCallback):
    """Save the model or its weights after every epoch, or every `save_freq` batches.

    Args (Keras names and defaults):
        filepath: where to save; may contain ``{epoch:02d}``, ``{batch}`` and any log key, e.g.
            ``"ckpt/model-{epoch:02d}-{val_loss:.2f}.weights.npz"``. Must end in ``.npz`` when
            `save_weights_only` is True, in ``.json`` otherwise.
        monitor, mode: the quantity that decides what is "best" when `save_best_only` is True.
        verbose: 1 prints a message at each save decision.
        save_best_only: only save when `monitor` improved on the best value so far.
        save_weights_only: save only the weights (``.npz``) instead of the whole model (``.json``).
        save_freq: "epoch", or an int number of batches between saves.
        initial_value_threshold: the initial "best" value when `save_best_only` is True.
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        super().__init__(monitor=monitor, mode=mode, baseline=initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool) or save_freq < 1):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq!r}. Expected 'epoch' or a positive int number of batches"
            )
        suffix = WEIGHTS_SUFFIX if save_weights_only else MODEL_SUFFIX
        if not self.filepath.endswith(suffix):
            what = "weights (save_weights_only=True)" if save_weights_only else "a whole model"
            raise ValueError(
                f"ModelCheckpoint saving {what} needs a filepath ending in {suffix!r}. "
                f"Received: filepath={self.filepath!r}"
            )

    def on_train_begin(self, logs=None):
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            if self.monitor_op is None and self.save_best_only:
                self._set_monitor_op()
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None and self.save_best_only:
            self._set_monitor_op()  # delayed until the model's metrics exist
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:  # a new epoch started (batches are zero-indexed)
            add_batches = batch + 1
        else:
            add_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        if np.ndim(current) > 0:
            warnings.warn(
                f"Can save best model only when `monitor` is a scalar value. Received: {current}. "
                "Falling back to `save_best_only=False`.",
                stacklevel=3,
            )
            return True
        current = float(current)
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to {current:.5f}, "
                    f"saving model to {filepath}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs or {})
        if self._should_save_model(epoch, logs, filepath):
            save_checkpoint(self.model, filepath, self.save_weights_only)

    def _get_file_path(self, epoch, batch, logs):
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as exc:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {exc} is not '
                f"a log key; available: epoch, batch, {', '.join(logs)}"
            ) from exc
