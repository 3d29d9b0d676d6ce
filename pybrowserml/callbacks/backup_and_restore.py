"""BackupAndRestore: checkpoints that let an interrupted fit continue exactly where it stopped.

A checkpoint holds the weights, the optimizer state (step count and slots), the epoch, the step within
the epoch and the random state of the shuffling and of dropout, so `fit(..., resume=True)` after a crash
(or a page reload) ends with the same weights as a run that was never interrupted.

Where it goes:
- CPython: a directory (`backup_dir`), one record written atomically (temp file + rename).
- Browser: IndexedDB, store "checkpoints", key `backup_dir` (a name). IndexedDB is asynchronous, so the
  hooks that write return awaitables (fit_async awaits them; plain fit refuses them with a clear error)
  and so does `restore`.
Either way a record is replaced in one atomic write: a half-written checkpoint is never read.

The record is an .npz (numpy arrays, loaded with allow_pickle=False: no code runs when reading it) with
a JSON "meta" entry for the counters and random states.
"""

from __future__ import annotations

import io
import json

import numpy as np

from .base import Callback

CHECKPOINTS_NAMESPACE = "checkpoints"
RECORD_KEY = "latest"
FORMAT = "pybrowserml-checkpoint"
VERSION = 1
# The entries of model.fit_state.to_dict() a checkpoint holds (next to the format's own entries).
FIT_STATE_KEYS = ("epoch", "step", "rng_state", "next_epoch_rng_state", "dropout_states", "dropout_states_at_step")


class CheckpointError(ValueError):
    """A checkpoint that does not belong to this model or cannot be read."""


class BackupAndRestore(Callback):
    """Keras's BackupAndRestore: back up the training state; `fit(..., resume=True)` continues from it.

    Args:
        backup_dir: a directory (CPython) or a name (browser, the IndexedDB key) for this run's backup.
        save_freq: "epoch" (at each epoch end) or an int: every that many batches.
        delete_checkpoint: delete the backup when training finishes normally (it stays after a crash).
    """

    def __init__(self, backup_dir="pybrowserml-backup", save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool) or save_freq < 1):
            raise ValueError(
                f"BackupAndRestore: save_freq must be 'epoch' or a positive int number of batches, got {save_freq!r}"
            )
        import os

        self.backup_dir = os.fspath(backup_dir)
        if not self.backup_dir:
            raise ValueError("BackupAndRestore: backup_dir must be a directory (CPython) or a name (browser)")
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self._batches_since_save = 0
        self._store = None

    # -- storage: a sync directory store in CPython, IndexedDB (async) in the browser ------------------------------
    def _open(self):
        if self._store is None:
            from ..browser import is_pyodide
            from ..storage import DirectoryStore, open_store

            if is_pyodide():
                from ..storage.keys import check_key

                check_key(self.backup_dir)
                self._store = open_store(CHECKPOINTS_NAMESPACE, backend="indexeddb")
            else:
                self._store = DirectoryStore(self.backup_dir)
        return self._store

    def _key(self):
        return self.backup_dir if getattr(self._open(), "backend", "") == "indexeddb" else RECORD_KEY

    def _is_async(self):
        return not hasattr(self._open(), "put_sync")

    def _put(self, data):
        store = self._open()
        return store.put(self._key(), data) if self._is_async() else store.put_sync(self._key(), data)

    def _delete(self):
        store = self._open()
        return store.delete(self._key()) if self._is_async() else store.delete_sync(self._key())

    # -- hooks -----------------------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._batches_since_save = 0

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return None
        self._batches_since_save += 1
        if self._batches_since_save < self.save_freq:
            return None
        self._batches_since_save = 0
        return self._put(self._encode(self._state_now()))

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq != "epoch":
            return None
        return self._put(self._encode(self._state_after_epoch()))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:
            return self._delete()
        return None

    # -- what a checkpoint holds -----------------------------------------------------------------------------------
    def _fit_state(self):
        state = getattr(self.model, "fit_state", None)
        if state is None:
            raise RuntimeError("BackupAndRestore only works inside model.fit / fit_async")
        return state

    def _state_after_epoch(self):
        """Resume at the start of the next epoch (the shuffling generator as the next epoch finds it)."""
        return self._fit_state().next_epoch()

    def _state_now(self):
        """Resume after the batch just finished: replay this epoch's shuffle, skip the steps done."""
        state = self._fit_state()
        if state.step >= self.params.get("steps", float("inf")):
            return self._state_after_epoch()  # the last batch of the epoch: same as an epoch-end backup
        return state

    def _encode(self, progress) -> bytes:
        model = self.model
        arrays = {f"weight_{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}
        optimizer = model.optimizer.get_state()
        slots = {}
        for name, values in optimizer["slots"].items():
            slots[name] = len(values)
            arrays.update({f"slot_{name}_{i}": np.asarray(v) for i, v in enumerate(values)})
        meta = {
            "format": FORMAT,
            "version": VERSION,
            **progress.to_dict(),
            "optimizer_iterations": optimizer["iterations"],
            "slots": slots,
            "weights": [[w.name, list(w.shape)] for w in model.weights],
        }
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype="uint8")
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    # -- restoring -----------------------------------------------------------------------------------------------
    def restore(self, model):
        """Load the latest checkpoint into `model` (weights, optimizer state) and return the saved fit
        state (`model.fit_state.to_dict()`: "epoch", "step", "rng_state", ...) for fit to continue from, or
        None when there is no checkpoint. In the browser this is a coroutine."""
        store = self._open()
        if self._is_async():
            return self._restore_async(store, model)
        return self._apply(store.get_sync(self._key()), model)

    async def _restore_async(self, store, model):
        return self._apply(await store.get(self._key()), model)

    def _apply(self, data, model):
        if data is None:
            return None
        meta, weights, slots = _decode(data)
        # Weights are matched by order and shape, not by name: auto-generated layer names (conv2d_3, ...)
        # differ between two model objects built the same way in one process.
        shapes = [list(w.shape) for w in model.weights]
        if [shape for _, shape in meta["weights"]] != shapes:
            raise CheckpointError(
                f"the checkpoint in {self.backup_dir!r} was written for another model: its "
                f"{len(meta['weights'])} weights have shapes "
                f"{[shape for _, shape in meta['weights']][:4]}..., this model's {len(shapes)} "
                f"have {shapes[:4]}...; use another backup_dir or delete this one"
            )
        if model.optimizer is None:
            raise RuntimeError("restore: compile the model (same optimizer as the interrupted run) first")
        model.set_weights(weights)
        model.optimizer.set_state(
            {"iterations": meta["optimizer_iterations"], "slots": slots}, variables=model.trainable_weights
        )
        return {key: meta.get(key) for key in FIT_STATE_KEYS}


def _decode(data: bytes):
    try:
        with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as archive:
            meta = json.loads(archive["meta"].tobytes().decode("utf-8"))
            if meta.get("format") != FORMAT or meta.get("version") != VERSION:
                raise CheckpointError(
                    f"not a version-{VERSION} pybrowserml checkpoint "
                    f"(format {meta.get('format')!r}, version {meta.get('version')!r})"
                )
            weights = [archive[f"weight_{i}"] for i in range(len(meta["weights"]))]
            slots = {name: [archive[f"slot_{name}_{i}"] for i in range(count)] for name, count in meta["slots"].items()}
    except CheckpointError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError) as e:
        raise CheckpointError(
            f"the checkpoint cannot be read ({type(e).__name__}: {e}); delete it to start over"
        ) from e
    return meta, weights, slots
