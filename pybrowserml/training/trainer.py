"""The trainer: Keras's compile / train_step / fit / evaluate / predict, mixed into Model.

Each loop is one generator, read top to bottom, so that the same loop serves `fit` (CPython: `drive`
runs it straight through) and `await fit_async` (the browser: `drive_async` gives the page's event
loop a turn every `yield_every` seconds and awaits callbacks that write to IndexedDB).

Data flows one way: batches from the EpochIterator (uint8 stays uint8 until the device) -> forward,
backward and ONE optimizer kernel call on device -> loss and metric sums accumulated on device -> read
back only when logs are due (at most every `log_every` seconds and at epoch end), never in the middle
of a step; under fit_async through the backend's download_async.
"""

from __future__ import annotations

import copy
import inspect
import time
import warnings

import numpy as np

from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import optimizers as optimizers_module
from .. import random as pb_random
from ..backends.base import DeviceLostError
from ..callbacks import default_progress
from ..callbacks.base import CallbackList
from ..input_scaling import integer_scale, record_training_inputs
from ..tensor import no_grad
from ..validation import as_inputs, as_labels, check_batch_size
from .device_recovery import DeviceRecovery, needs_recovery
from .driver import await_all, drive, drive_async, read_back
from .epoch_iterator import EpochIterator, FitState


def _refusal(where):
    return (
        f"{where}: a callback returned an awaitable (e.g. a checkpoint written to IndexedDB); "
        f"use `await model.{where}_async(...)` instead"
    )


class Trainer:
    """compile, train_step and the fit / evaluate / predict loops of a model (a mixin of Model, which
    provides `call`, `ends_in_softmax`, `trainable_weights`, `home_backend` and `random_layers`)."""

    def _init_trainer(self):
        self.optimizer = None
        self.loss = None
        self.metrics_names: list[str] = []
        self.compiled_metrics: list = []  # (log name, Metric) pairs from compile(metrics=...)
        self.stop_training = False
        self.history = None
        self.fit_state: FitState | None = None  # during fit: where it is (see FitState)
        self.device_recovery = None  # during fit on a device that can be lost: its DeviceRecovery

    # -- compile ---------------------------------------------------------------------------------------
    def compile(self, optimizer="adam", loss=None, metrics=None):
        """Keras's compile. The default optimizer is Adam (learning rate 1e-3)."""
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='sparse_categorical_crossentropy'")
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = losses_module.get(loss)
        if getattr(self.loss, "from_logits", False) and self.built and self.ends_in_softmax():
            warnings.warn(
                f"model {self.name!r} ends in a softmax (it outputs probabilities) but the loss has "
                "from_logits=True; use from_logits=False (the default): the softmax is then fused "
                "into the loss, which is stable",
                stacklevel=2,
            )
        self.compiled_metrics = []
        for identifier in list(metrics or []):
            metric = metrics_module.get(identifier, self.loss)
            self.compiled_metrics.append((identifier if isinstance(identifier, str) else metric.name, metric))
        # The compiled metric names, as passed (io saves them to re-compile a loaded model).
        self.metrics_names = [name for name, _ in self.compiled_metrics]
        self.compiled = True

    def _require_compiled(self, where):
        if self.optimizer is None or self.loss is None:
            raise RuntimeError(f"{where}: call model.compile(optimizer, loss, metrics) first")

    # -- one step -----------------------------------------------------------------------------------------
    def _loss_and_output(self, x, y, training):
        use_logits = (
            getattr(self.loss, "fuses_softmax", False)
            and not getattr(self.loss, "from_logits", True)
            and self.ends_in_softmax()
        )
        out = self.call(x, training=training, logits=use_logits)
        value = self.loss.from_logits_call(y, out) if use_logits else self.loss(y, out)
        return value, out

    def _accumulate(self, totals, value, out, y, n):
        """Running sums on device (metrics' update_state): nothing is read back here."""
        for name, metric in totals:
            if name == "loss":
                metric.update_state(value, n)
            else:
                metric.update_state(y, out)

    def _new_totals(self):
        """Fresh accumulators for one epoch (or one evaluation): the loss mean and each compiled metric."""
        totals = [("loss", metrics_module.Mean("loss"))]
        for name, metric in self.compiled_metrics:
            fresh = copy.copy(metric)
            fresh.reset_state()
            totals.append((name, fresh))
        return totals

    def _read_totals(self, totals, asynchronous):
        """Generator: the logs, one scalar readback per device sum (awaited under fit_async)."""
        logs = {}
        for name, metric in totals:
            values = []
            for array in metric.result_arrays():
                values.append((yield from read_back(metric.backend, array, asynchronous)))
            logs[name] = metric.result_from_host(values)
        return logs

    def train_step(self, x, y, totals=None):
        """Forward, backward and one optimizer update on a batch of tensors; sums go into `totals` on device."""
        trainable = self.trainable_weights
        for v in trainable:
            v.grad = None
        value, out = self._loss_and_output(x, y, training=True)
        value.backward()
        self.optimizer.apply_gradients(trainable)
        if totals is not None:
            self._accumulate(totals, value, out, y, x.shape[0])
        return value

    def train_on_batch(self, x, y):
        """Keras's train_on_batch: one step, returns the batch loss as a float."""
        self._require_compiled("train_on_batch")
        x = as_inputs(x, self, "train_on_batch")
        y = as_labels(y, x, self, self.loss, "train_on_batch")
        record_training_inputs(self, x)
        _, xb, yb = next(EpochIterator(x, y, len(x), self.home_backend(), integer_scale=integer_scale(self)).batches())
        return float(self.train_step(xb, yb).item())

    # -- fit ----------------------------------------------------------------------------------------------------
    def fit(
        self,
        x=None,
        y=None,
        batch_size=32,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        initial_epoch=0,
        seed=None,
        resume=False,
        log_every=0.1,
    ):
        """Keras's fit; returns a History (history.history: loss, metrics, val_*, learning_rate per epoch).

        x: integer pixels in [0, 255] (any integer dtype; uploaded as uint8 and scaled by 1/255 on the device
        batch by batch, so the dataset stays uint8 in memory) or floats (used as they are; a warning when they
        look like unscaled 0-255 pixels). A model beginning with Rescaling takes every dtype as it is. y: int labels (N,) for sparse
        losses, (N, classes) floats otherwise. `seed` fixes the shuffling (the weights come from
        `pybrowserml.set_random_seed` or the builder's seed). `log_every`: seconds between reads of the
        running loss/metrics for the progress bar.

        Resume: `resume=True` asks the first callback with a `restore(model)` method (e.g.
        pybrowserml.callbacks.BackupAndRestore) to restore weights and optimizer state; it returns None
        (nothing saved: start afresh) or the `model.fit_state.to_dict()` it saved, and fit continues
        from there exactly as the uninterrupted run would have (same weights; the resumed epoch's logged
        loss and metrics average only the batches run after the resume).
        """
        loop = self._fit_loop(
            x,
            y,
            batch_size,
            epochs,
            verbose,
            callbacks,
            validation_split,
            validation_data,
            shuffle,
            initial_epoch,
            seed,
            resume,
            log_every,
            asynchronous=False,
        )
        return drive(loop, _refusal("fit"))

    async def fit_async(
        self,
        x=None,
        y=None,
        batch_size=32,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        initial_epoch=0,
        seed=None,
        resume=False,
        log_every=0.1,
        yield_every=0.1,
    ):
        """fit for the browser: yields to the page's event loop every `yield_every` seconds (like TF.js's
        yieldEvery) so the page stays responsive, awaits callbacks that write to IndexedDB and reads the
        logs back with the backend's download_async."""
        loop = self._fit_loop(
            x,
            y,
            batch_size,
            epochs,
            verbose,
            callbacks,
            validation_split,
            validation_data,
            shuffle,
            initial_epoch,
            seed,
            resume,
            log_every,
            asynchronous=True,
        )
        return await drive_async(loop, yield_every)

    def _fit_loop(
        self,
        x,
        y,
        batch_size,
        epochs,
        verbose,
        callbacks,
        validation_split,
        validation_data,
        shuffle,
        initial_epoch,
        seed,
        resume,
        log_every,
        asynchronous,
    ):
        self._require_compiled("fit")
        batch_size = check_batch_size(batch_size, "fit")
        x = as_inputs(x, self, "fit")
        y = as_labels(y, x, self, self.loss, "fit")
        if not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
        if validation_data is None and validation_split:
            if not 0.0 < validation_split < 1.0:
                raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
            cut = int(len(x) * (1.0 - validation_split))  # Keras takes the last samples, before shuffling
            if cut < 1 or cut == len(x):
                raise ValueError(f"fit: validation_split={validation_split} leaves no samples on one side of {len(x)}")
            x, y, validation_data = x[:cut], y[:cut], (x[cut:], y[cut:])
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val)")
            val_x = as_inputs(validation_data[0], self, "fit (validation_data)")
            val_y = as_labels(validation_data[1], val_x, self, self.loss, "fit (validation_data)")

        rng = np.random.default_rng(seed if seed is not None else pb_random.generator().integers(2**63 - 1))
        record_training_inputs(self, x)
        batches = EpochIterator(
            x,
            y,
            batch_size,
            self.home_backend(),
            shuffle=shuffle,
            rng=rng,
            random_layers=self.random_layers(),
            integer_scale=integer_scale(self),
        )
        steps = batches.steps
        cbs = self._callback_list(
            callbacks,
            verbose,
            {"verbose": verbose, "epochs": epochs, "steps": steps, "batch_size": batch_size, "samples": len(x)},
            history=True,
        )
        self.stop_training = False
        start_epoch, restored = initial_epoch, None

        yield from await_all(cbs.call("on_train_begin", {}))
        if resume:
            restored = yield from self._restore_from_checkpoint(cbs)
            if restored is not None:
                start_epoch = restored.epoch

        epoch_logs = {}
        recovery = DeviceRecovery(self) if needs_recovery(self.home_backend()) else None
        self.device_recovery = recovery
        for epoch in range(start_epoch, epochs):
            epoch_batches = batches.epoch(epoch, restored if epoch == start_epoch else None)
            self.fit_state = batches.state
            yield from await_all(cbs.call("on_epoch_begin", epoch, {}))
            validation = (val_x, val_y, batch_size) if validation_data is not None else None
            epoch_logs = yield from self._epoch_surviving_device_loss(
                batches, epoch_batches, cbs, validation, log_every, asynchronous, recovery
            )
            epoch_logs["learning_rate"] = self.optimizer.current_learning_rate()
            yield from await_all(cbs.call("on_epoch_end", epoch, epoch_logs))
            if self.stop_training:
                break
        yield from await_all(cbs.call("on_train_end", epoch_logs))
        return cbs.history

    def _epoch_surviving_device_loss(self, batches, epoch_batches, cbs, validation, log_every, asynchronous, recovery):
        """Generator: one epoch's training and validation; the epoch logs. If the device is lost and
        `recovery` holds a snapshot, the epoch goes on on the next backend from the snapshot: the batches
        since it are replayed without calling the batch callbacks again."""
        totals = self._new_totals()
        replay_until = 0
        while True:
            try:
                if recovery is not None:
                    self.fit_state = batches.state
                    if batches.state.step == 0 or recovery.snapshot is None:
                        yield from recovery.take(totals, batches.state, asynchronous)
                return (
                    yield from self._epoch(
                        batches, epoch_batches, totals, cbs, validation, log_every, asynchronous, recovery, replay_until
                    )
                )
            except DeviceLostError as lost:
                if recovery is None:
                    raise
                replay_until = max(replay_until, batches.state.step)
                totals, epoch_batches = yield from recovery.recover(lost, batches, self._new_totals, asynchronous)
                self.fit_state = batches.state

    def _epoch(self, batches, epoch_batches, totals, cbs, validation, log_every, asynchronous, recovery, replay_until):
        """Generator: train on `epoch_batches` (steps before `replay_until` are replays: no batch callbacks),
        then validate; the epoch logs."""
        steps = batches.steps
        last_read = time.monotonic()
        for step, xb, yb in epoch_batches:
            replaying = step < replay_until
            if not replaying:
                yield from await_all(cbs.call("on_train_batch_begin", step, {}))
                if self.stop_training:  # set before this batch (a stop button, on_epoch_begin): train no more
                    break
            self.train_step(xb, yb, totals)
            batches.step_done(step)
            batch_logs = {"size": xb.shape[0]}
            now = time.monotonic()
            if not replaying and (now - last_read >= log_every or step == steps - 1):
                batch_logs.update((yield from self._read_totals(totals, asynchronous)))  # between steps
                last_read = now
                if recovery is not None and recovery.due():
                    yield from recovery.take(totals, batches.state, asynchronous)
            if not replaying:
                yield from await_all(cbs.call("on_train_batch_end", step, batch_logs))
            yield None  # a point where fit_async may give the page's event loop a turn
            if self.stop_training:
                break
        epoch_logs = yield from self._read_totals(totals, asynchronous)
        if validation is not None:
            val_x, val_y, batch_size = validation
            val_logs = yield from self._evaluate_batches(val_x, val_y, batch_size, cbs, asynchronous, log_every)
            epoch_logs.update({"val_" + name: value for name, value in val_logs.items()})
        return epoch_logs

    def _restore_from_checkpoint(self, cbs):
        restorers = [c for c in cbs if hasattr(c, "restore")]
        if not restorers:
            raise ValueError(
                "fit(resume=True) needs a checkpoint callback, e.g. "
                "callbacks=[pybrowserml.callbacks.BackupAndRestore('my-run')]"
            )
        result = restorers[0].restore(self)
        if inspect.isawaitable(result):
            result = yield result
        return None if result is None else FitState.from_dict(result)

    # -- evaluate and predict --------------------------------------------------------------------------------------
    def _evaluate_batches(self, x, y, batch_size, cbs, asynchronous, log_every=0.1):
        """Generator: the test loop (also fit's validation). Sums stay on device until logs are due."""
        totals = self._new_totals()
        batches = EpochIterator(x, y, batch_size, self.home_backend(), integer_scale=integer_scale(self))
        last_step = batches.steps - 1
        last_read = time.monotonic()
        yield from await_all(cbs.call("on_test_begin", {}))
        with no_grad():
            for step, xb, yb in batches.batches():
                yield from await_all(cbs.call("on_test_batch_begin", step, {}))
                value, out = self._loss_and_output(xb, yb, training=False)
                self._accumulate(totals, value, out, yb, xb.shape[0])
                batch_logs = {}
                now = time.monotonic()
                if now - last_read >= log_every or step == last_step:
                    batch_logs = yield from self._read_totals(totals, asynchronous)
                    last_read = now
                yield from await_all(cbs.call("on_test_batch_end", step, batch_logs))
                yield None
        logs = yield from self._read_totals(totals, asynchronous)
        yield from await_all(cbs.call("on_test_end", dict(logs)))
        return logs

    def _evaluate_loop(self, x, y, batch_size, verbose, callbacks, return_dict, asynchronous):
        self._require_compiled("evaluate")
        batch_size = check_batch_size(batch_size, "evaluate")
        x = as_inputs(x, self, "evaluate")
        y = as_labels(y, x, self, self.loss, "evaluate")
        cbs = self._callback_list(
            callbacks,
            verbose,
            {"verbose": verbose, "epochs": 1, "steps": -(-len(x) // batch_size), "batch_size": batch_size},
        )
        logs = yield from self._evaluate_batches(x, y, batch_size, cbs, asynchronous)
        if return_dict:
            return logs
        return logs["loss"] if len(logs) == 1 else list(logs.values())

    def evaluate(self, x=None, y=None, batch_size=32, verbose="auto", callbacks=None, return_dict=False):
        """Keras's evaluate: the loss, or [loss, *metrics] with metrics (a dict with return_dict=True)."""
        loop = self._evaluate_loop(x, y, batch_size, verbose, callbacks, return_dict, asynchronous=False)
        return drive(loop, _refusal("evaluate"))

    async def evaluate_async(
        self, x=None, y=None, batch_size=32, verbose="auto", callbacks=None, return_dict=False, yield_every=0.1
    ):
        """evaluate for the browser: gives the page's event loop a turn every `yield_every` seconds."""
        loop = self._evaluate_loop(x, y, batch_size, verbose, callbacks, return_dict, asynchronous=True)
        return await drive_async(loop, yield_every)

    def _predict_loop(self, x, batch_size, verbose, callbacks, asynchronous):
        batch_size = check_batch_size(batch_size, "predict")
        x = as_inputs(x, self, "predict")
        batches = EpochIterator(x, None, batch_size, self.home_backend(), integer_scale=integer_scale(self))
        cbs = self._callback_list(
            callbacks, verbose, {"verbose": verbose, "epochs": 1, "steps": batches.steps, "batch_size": batch_size}
        )
        outputs = []
        yield from await_all(cbs.call("on_predict_begin", {}))
        with no_grad():
            for step, xb, _ in batches.batches():
                yield from await_all(cbs.call("on_predict_batch_begin", step, {}))
                out = self.call(xb, training=False)
                # predict's job is to bring data back
                outputs.append((yield from read_back(out.backend, out.data, asynchronous)))
                yield from await_all(cbs.call("on_predict_batch_end", step, {"outputs": outputs[-1]}))
                yield None
        yield from await_all(cbs.call("on_predict_end", {}))
        return np.concatenate(outputs)

    def predict(self, x, batch_size=32, verbose="auto", callbacks=None) -> np.ndarray:
        """Model outputs for x (probabilities with a softmax head), as one numpy array."""
        return drive(self._predict_loop(x, batch_size, verbose, callbacks, asynchronous=False), _refusal("predict"))

    async def predict_async(self, x, batch_size=32, verbose="auto", callbacks=None, yield_every=0.1) -> np.ndarray:
        """predict for the browser: gives the page's event loop a turn every `yield_every` seconds."""
        return await drive_async(self._predict_loop(x, batch_size, verbose, callbacks, asynchronous=True), yield_every)

    def _callback_list(self, callbacks, verbose, params, history=False):
        return CallbackList(
            callbacks, model=self, add_history=history, progress=default_progress(verbose), params=params
        )
