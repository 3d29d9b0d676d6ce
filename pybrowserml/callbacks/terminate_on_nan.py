"""TerminateOnNaN: stop training as soon as a batch loss is NaN or infinite."""

from __future__ import annotations

from ._monitor import is_invalid
from .base import Callback


class TerminateOnNaN(Callback):
    """Set ``model.stop_training`` when the batch loss is NaN or +-inf (Keras semantics).

    The loop finishes the current batch and ends training; the epoch's remaining batches are skipped.
    It checks the loss whenever the batch logs carry one: pybrowserml's fit reads the (running mean)
    loss from the device at most every ``log_every`` seconds, so detection can lag by that long; pass
    ``fit(..., log_every=0)`` to check after every batch.
    """

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and is_invalid(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
