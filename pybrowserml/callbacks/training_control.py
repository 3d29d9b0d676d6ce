"""TrainingControl: pause, resume and stop a running fit from outside it (a page's buttons, another thread).

A page keeps one TrainingControl, passes it to `fit_async(callbacks=[control])` and wires its buttons to
`control.pause()`, `control.resume()` and `control.stop()`:
- pause: after the current batch, fit waits until resume() (or stop()). Under fit_async the wait is an
  awaitable that polls every `poll_seconds`, so the page's event loop keeps running (the buttons, the
  charts, a worker's message handler): nothing blocks. Under plain fit in CPython (no running event loop)
  the training thread blocks on a threading.Event that resume()/stop() from another thread sets.
- stop: after the current batch, `model.stop_training = True`, so fit ends as Keras's does (the epoch's
  logs are still read and on_epoch_end / on_train_end still run: a checkpoint callback keeps its state).
Each call returns at once; `state` says where the run is ("idle", "running", "pausing" (the current batch
still runs), "paused" (fit is waiting), "stopping", "stopped", "finished"), and `on_state(state)`, if given, is called on every change (e.g. to update a button).
"""

from __future__ import annotations

import asyncio
import threading

from .base import Callback

STATES = ("idle", "running", "pausing", "paused", "stopping", "stopped", "finished")


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


class TrainingControl(Callback):
    """`control = TrainingControl(); task = model.fit_async(..., callbacks=[control]); control.pause()`."""

    def __init__(self, on_state=None, poll_seconds: float = 0.05):
        super().__init__()
        if on_state is not None and not callable(on_state):
            raise TypeError(f"TrainingControl: on_state must be a function of the new state, got {on_state!r}")
        if not poll_seconds > 0:
            raise ValueError(f"TrainingControl: poll_seconds must be > 0, got {poll_seconds!r}")
        self.on_state = on_state
        self.poll_seconds = float(poll_seconds)
        self.state = "idle"
        self._pause_requested = False
        self._stop_requested = False
        self._resumed = threading.Event()  # set while not paused: what a blocked sync fit waits on
        self._resumed.set()

    # -- what the page calls --------------------------------------------------------------------------------
    def pause(self):
        """Wait after the current batch until resume() or stop(). Does nothing once stopped."""
        if self._stop_requested or self.state in ("stopped", "finished"):
            return
        self._pause_requested = True
        self._resumed.clear()
        if self.state == "running":
            self._set_state("pausing")

    def resume(self):
        """Go on training after a pause."""
        self._pause_requested = False
        self._resumed.set()
        if self.state in ("pausing", "paused"):
            self._set_state("running")

    def stop(self):
        """End the fit after the current batch (it sets model.stop_training); also ends a pause."""
        self._stop_requested = True
        self._pause_requested = False
        self._resumed.set()
        if self.model is not None:
            self.model.stop_training = True
        if self.state in ("running", "pausing", "paused"):
            self._set_state("stopping")

    @property
    def paused(self) -> bool:
        return self._pause_requested

    # -- hooks ------------------------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        # A control is reusable: each fit starts running (or paused, or stops at once if stop() came first).
        self._set_state("pausing" if self._pause_requested else "running")

    def on_train_batch_begin(self, batch, logs=None):
        if self._stop_requested:  # a stop() before fit or between batches: not one more batch
            self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        if self._stop_requested:
            self.model.stop_training = True
            return None
        if not self._pause_requested:
            return None
        self._set_state("paused")  # from here on no batch runs until resume() or stop()
        if _in_event_loop():
            return self._wait_async()
        self._resumed.wait()  # plain fit in CPython: resume()/stop() come from another thread
        self._after_wait()
        return None

    def on_train_end(self, logs=None):
        self._set_state("stopped" if self._stop_requested or self.model.stop_training else "finished")
        self._stop_requested = False

    # -- internals --------------------------------------------------------------------------------------------
    async def _wait_async(self):
        # Polling (not an asyncio.Event) so that resume() may come from any thread or from JS without a loop.
        while self._pause_requested and not self._stop_requested:
            await asyncio.sleep(self.poll_seconds)
        self._after_wait()

    def _after_wait(self):
        if self._stop_requested:
            self.model.stop_training = True

    def _set_state(self, state):
        if state == self.state:
            return
        self.state = state
        if self.on_state is not None:
            self.on_state(state)
