"""What the terminal progress bar and the DOM progress element share: timing, throttling, formatting.

Reading a logged value may cost a device read (a loss still on the WASM/GPU side), so values are only
converted when a line is actually rendered, and renders are throttled (``interval`` seconds apart).
"""

from __future__ import annotations

import time

from .base import Callback

DEFAULT_INTERVAL = 0.1  # seconds between two renders: at most ~10 updates per second


def format_value(value) -> str:
    """A metric value like Keras prints it: 4 decimals, or scientific notation when tiny."""
    value = float(value)
    return f"{value:.4f}" if abs(value) > 1e-3 or value == 0 else f"{value:.4e}"


def format_logs(logs, skip=("batch", "size")) -> str:
    """ " - loss: 0.5300 - accuracy: 0.8100" for every numeric entry of `logs`, in order."""
    parts = []
    for key, value in (logs or {}).items():
        if key in skip:
            continue
        try:
            parts.append(f"{key}: {format_value(value)}")
        except (TypeError, ValueError):
            continue  # a non-numeric log entry (a string, a list) is not progress information
    return "".join(f" - {p}" for p in parts)


def format_duration(seconds: float) -> str:
    """ "3s", "1:05", "1:02:03" like Keras's ETA."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{(seconds % 3600) // 60:02d}:{seconds % 60:02d}"
    if seconds >= 60:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds}s"


def format_time_per_step(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


class ProgressTracker:
    """Counts steps of one epoch (or one evaluate/predict run), decides when to render, and keeps the
    latest logged values: a training loop may log metrics only on some batches (it reads them from the
    device at most every ~0.1 s), and a render in between shows the latest ones it was given."""

    def __init__(self, interval=DEFAULT_INTERVAL, clock=time.monotonic):
        self.interval = interval
        self.clock = clock
        self.target = None
        self.current = 0
        self.start = 0.0
        self.values = {}
        self._last_render = None

    def begin(self, target):
        self.target = int(target) if target else None
        self.current = 0
        self.start = self.clock()
        self.values = {}
        self._last_render = None

    def remember(self, logs):
        """Keep the entries of `logs` (unread: a value is converted only when a line is rendered)."""
        for key, value in (logs or {}).items():
            if key not in ("batch", "size"):
                self.values[key] = value
        return self.values

    def update(self, current, finalize=False) -> bool:
        """Record progress; True when a line should be rendered now.

        That is the first step, the last one, an explicit finalize, or `interval` seconds after the
        previous render; in between nothing is rendered, so no logged value is read.
        """
        self.current = current
        now = self.clock()
        due = (
            finalize
            or self._last_render is None
            or now - self._last_render >= self.interval
            or (self.target is not None and current >= self.target)
        )
        if due:
            self._last_render = now
        return due

    @property
    def elapsed(self) -> float:
        return self.clock() - self.start

    @property
    def time_per_step(self) -> float:
        return self.elapsed / self.current if self.current else 0.0

    @property
    def eta(self):
        if self.target is None or not self.current:
            return None
        return self.time_per_step * max(self.target - self.current, 0)

    def steps_text(self) -> str:
        if self.target is None:
            return f"{self.current}/Unknown"
        width = len(str(self.target))
        return f"{self.current:>{width}}/{self.target}"


def normalize_verbose(verbose) -> int:
    """Keras's verbose values: "auto" means 1 (a live bar), 0 silent, 1 bar, 2 one line per epoch."""
    if verbose == "auto":
        return 1
    if verbose in (None, False):
        return 0
    if verbose is True:
        return 1
    try:
        verbose = int(verbose)
    except (TypeError, ValueError):
        raise ValueError(f'verbose must be "auto", 0, 1 or 2, got {verbose!r}') from None
    if verbose not in (0, 1, 2):
        raise ValueError(f'verbose must be "auto", 0, 1 or 2, got {verbose!r}')
    return verbose


class ProgressCallback(Callback):
    """Marker base of the progress displays (terminal and DOM): a training loop adds one of these
    when verbose != 0 unless the user already passed one."""
