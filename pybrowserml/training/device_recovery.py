"""Continuing a fit on the next backend when its device is lost (a lost WebGL context, a destroyed WebGPU device).

While fit runs on a backend that can lose its device (anything but numpy), `DeviceRecovery` keeps a host
snapshot of everything a step changes: every model weight (moving statistics included), the optimizer's
step count and slots (Adam's moments), the epoch's loss/metric sums and the FitState (epoch, step,
random layers' generator states). It is taken at the start of each epoch and then at the first log
readback at least SNAPSHOT_SECONDS after the previous one: the loop is already waiting for the device
there, so the snapshot adds the transfer of the weights (all read in one batch of readbacks) but never
an extra stall.

On DeviceLostError, `recover` picks the next backend of the auto order that probes well
(backends/auto.py), moves the model's variables and the optimizer onto it from the snapshot, and
restarts the epoch's batches at the snapshot's step with the same permutation and random states, so
replaying the few batches since the snapshot gives the same weights as if nothing had happened (up to
float differences between backends).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import time
import warnings

import numpy as np

from .. import backends
from ..backends import auto

# Seconds of training between snapshots (at most that much is replayed after a lost device).
SNAPSHOT_SECONDS = 2.0


def needs_recovery(backend) -> bool:
    """Whether a fit on `backend` keeps snapshots: numpy's arrays are host memory and cannot be lost."""
    return backend.name != "numpy"


def read_all(backend, arrays, asynchronous):
    """Generator: host copies of `arrays`; under fit_async one awaitable for all of them, so the
    readbacks overlap."""
    if not asynchronous:
        return [backend.download(a) for a in arrays]
    values = [backend.download_async(a) for a in arrays]
    pending = [v for v in values if inspect.isawaitable(v)]
    if pending:
        done = iter((yield asyncio.gather(*pending)))
        values = [next(done) if inspect.isawaitable(v) else v for v in values]
    return values


@dataclasses.dataclass
class Snapshot:
    """Host copies of a fit's state after `fit_state.step` batches of `fit_state.epoch`."""

    fit_state: object
    weights: list
    iterations: int
    slots: dict
    totals: list  # per accumulator: (count, host values of result_arrays())
    taken_at: float


class DeviceRecovery:
    """The snapshots of one fit and the move to the next backend when the device is lost."""

    def __init__(self, model):
        self.model = model
        self.snapshot: Snapshot | None = None
        self.snapshot_seconds = 0.0  # time spent taking snapshots in this fit (for measurements)
        self.snapshots_taken = 0

    def active(self) -> bool:
        """Whether snapshots are still needed: not once the fit has moved to numpy."""
        return needs_recovery(self.model.home_backend())

    def due(self) -> bool:
        if self.snapshot is not None and time.monotonic() - self.snapshot.taken_at < SNAPSHOT_SECONDS:
            return False
        return self.active()

    def take(self, totals, fit_state, asynchronous):
        """Generator: snapshot the model, its optimizer and `totals` now (nothing once on numpy)."""
        if not self.active():
            return
        started = time.monotonic()
        model, optimizer = self.model, self.model.optimizer
        weights = model.weights
        slot_names = list(optimizer._slots) if optimizer._variables is not None else []
        slot_arrays = [a for name in slot_names for a in optimizer._slots[name]]
        total_arrays = [metric.result_arrays() for _, metric in totals]
        arrays = [w.data for w in weights] + slot_arrays + [a for group in total_arrays for a in group]
        host = yield from read_all(model.home_backend(), arrays, asynchronous)
        host_weights, rest = host[: len(weights)], host[len(weights) :]
        slots, per_slot = {}, len(optimizer._variables or ())
        for index, name in enumerate(slot_names):
            slots[name] = rest[index * per_slot : (index + 1) * per_slot]
        rest = rest[len(slot_arrays) :]
        saved_totals = []
        for (_, metric), group in zip(totals, total_arrays):
            saved_totals.append((metric.count, rest[: len(group)]))
            rest = rest[len(group) :]
        self.snapshot = Snapshot(
            dataclasses.replace(fit_state), host_weights, optimizer.iterations, slots, saved_totals, time.monotonic()
        )
        self.snapshot_seconds += time.monotonic() - started
        self.snapshots_taken += 1

    def recover(self, lost, batches, new_totals, asynchronous):
        """Generator: after `lost` (a DeviceLostError), continue on the next backend that works.

        Returns (totals, epoch batches) to go on with: the totals restored from the snapshot, and the
        epoch's batches from the snapshot's step on the new backend."""
        snapshot = self.snapshot
        if snapshot is None or snapshot.fit_state.epoch != batches.state.epoch:
            raise lost  # lost while taking this epoch's first snapshot: nothing of this epoch to go on from
        backend, skipped = yield from auto.choose(auto.fallback_order(lost.backend_name), asynchronous=asynchronous)
        state = snapshot.fit_state
        lost_step = batches.state.step
        warnings.warn(
            f"{lost}; training continues on the {backend.name} backend from epoch {state.epoch + 1}, "
            f"step {lost_step} (replaying {lost_step - state.step} batches from a snapshot)"
            + "".join(f"; {name} skipped: {reason}" for name, reason in skipped.items()),
            RuntimeWarning,
            stacklevel=2,
        )
        backends.set_backend(backend.name)
        self._move_model(backend, snapshot)
        batches.backend = backend
        epoch_batches = batches.epoch(state.epoch, dataclasses.replace(state))
        totals = new_totals()
        for (_, metric), (count, values) in zip(totals, snapshot.totals):
            if count:
                metric._total = backend.upload(np.asarray(values[0], dtype=np.float32))
                metric.count = count
        return totals, epoch_batches

    def _move_model(self, backend, snapshot):
        model, optimizer = self.model, self.model.optimizer
        for variable, host in zip(model.weights, snapshot.weights):
            variable._bind(backend.upload(host), backend, variable.requires_grad)
        if optimizer._variables is not None:
            optimizer._build(optimizer._variables)
            optimizer.set_state({"iterations": snapshot.iterations, "slots": snapshot.slots})
        else:
            optimizer.iterations = snapshot.iterations
