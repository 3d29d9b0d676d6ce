"""Training: the Trainer mixed into models (compile, train_step, fit / evaluate / predict loops), the
EpochIterator and FitState it trains from, and the one sync/async driver of the package's step generators."""

from __future__ import annotations

from .driver import await_all, drive, drive_async, read_back
from .epoch_iterator import EpochIterator, FitState, input_tensor, random_states, set_random_states
from .trainer import Trainer

__all__ = [
    "EpochIterator",
    "FitState",
    "Trainer",
    "await_all",
    "drive",
    "drive_async",
    "input_tensor",
    "random_states",
    "read_back",
    "set_random_states",
]
