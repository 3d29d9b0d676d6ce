"""ProgbarLogger: Keras-style progress output for CPython terminals (and Pyodide's console).

On a TTY with verbose=1 the current line is rewritten with a carriage return until the epoch ends::

    Epoch 1/5
     120/1875 [=>............................] - ETA: 44s - 25ms/step - loss: 0.5300 - accuracy: 0.8100
    1875/1875 [==============================] - 47s 25ms/step - loss: 0.4100 - accuracy: 0.8600

Otherwise (verbose=2, or output to a file or pipe) one line per epoch::

    Epoch 1/5 - 1875/1875 - 47s 25ms/step - loss: 0.5300 - accuracy: 0.8100 - val_loss: 0.4412
"""

from __future__ import annotations

import sys
import time

from ._progress import (
    DEFAULT_INTERVAL,
    ProgressCallback,
    ProgressTracker,
    format_duration,
    format_logs,
    format_time_per_step,
    normalize_verbose,
)

BAR_WIDTH = 30


def render_bar(current, target, width=BAR_WIDTH) -> str:
    """ "[=====>........]" for `current` of `target` steps ("" when the total is unknown)."""
    if not target:
        return ""
    filled = int(width * min(current, target) / target)
    if current >= target:
        return "[" + "=" * width + "]"
    head = ">" if filled < width else ""
    return "[" + "=" * filled + head + "." * (width - filled - len(head)) + "]"


class ProgbarLogger(ProgressCallback):
    """Print training progress: a live bar on a terminal, one line per epoch otherwise.

    Args:
        verbose: 1 or "auto" = live bar (on a TTY), 2 = one line per epoch; None takes ``params["verbose"]``.
        stream: where to write (sys.stdout by default, looked up at each write).
        interval: minimum seconds between two updates of the live bar.
    """

    def __init__(self, verbose=None, stream=None, interval=DEFAULT_INTERVAL, clock=time.monotonic):
        super().__init__()
        self.verbose = None if verbose is None else normalize_verbose(verbose)
        self._stream = stream
        self._tracker = ProgressTracker(interval=interval, clock=clock)
        self._epochs = 1
        self._epoch = 0
        self._in_fit = False
        self._line_width = 0
        self._live = False

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def stream(self):
        return self._stream if self._stream is not None else sys.stdout

    def _verbosity(self):
        if self.verbose is not None:
            return self.verbose
        return normalize_verbose(self.params.get("verbose", 1))

    def _dynamic(self):
        isatty = getattr(self.stream, "isatty", None)
        return self._verbosity() == 1 and bool(isatty and isatty())

    def _write(self, text):
        self.stream.write(text)
        flush = getattr(self.stream, "flush", None)
        if flush:
            flush()

    def _begin(self, target):
        self._live = self._dynamic()
        self._line_width = 0
        self._tracker.begin(target)

    def _render_live(self, logs, final=False):
        t = self._tracker
        line = f"{t.steps_text()} {render_bar(t.current, t.target)}"
        if final or (t.target and t.current >= t.target):
            line += f" - {format_duration(t.elapsed)} {format_time_per_step(t.time_per_step)}"
        else:
            eta = f" - ETA: {format_duration(t.eta)}" if t.eta is not None else ""
            line += f"{eta} - {format_time_per_step(t.time_per_step)}"
        line += format_logs(logs)
        # Pad with spaces so a shorter line fully covers the previous one after the carriage return.
        padded = line.ljust(self._line_width)
        self._line_width = len(line)
        self._write("\r" + padded)

    def _final_line(self, logs, prefix=""):
        t = self._tracker
        return (
            f"{prefix}{t.steps_text()} - {format_duration(t.elapsed)} "
            f"{format_time_per_step(t.time_per_step)}{format_logs(logs)}"
        )

    def _progress(self, step_done, logs):
        values = self._tracker.remember(logs)
        if self._live and self._tracker.update(step_done):
            self._render_live(values)
        else:
            self._tracker.current = step_done

    def _finish(self, logs, prefix=""):
        if self._live:
            self._tracker.update(self._tracker.current, finalize=True)
            self._render_live(logs, final=True)
            self._write("\n")
        else:
            self._write(self._final_line(logs, prefix) + "\n")

    # -- training --------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._in_fit = True
        self._epochs = int(self.params.get("epochs") or 1)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if not self._verbosity():
            return
        self._begin(self.params.get("steps"))
        if self._live:
            self._write(f"Epoch {epoch + 1}/{self._epochs}\n")

    def on_train_batch_end(self, batch, logs=None):
        if self._verbosity():
            self._progress(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self._verbosity():
            self._finish(logs, prefix="" if self._live else f"Epoch {epoch + 1}/{self._epochs} - ")

    def on_train_end(self, logs=None):
        self._in_fit = False

    # -- evaluate / predict called directly (inside fit, validation is summarised in the epoch line) --
    def on_test_begin(self, logs=None):
        if not self._in_fit and self._verbosity():
            self._begin(self.params.get("steps"))

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit and self._verbosity():
            self._progress(batch + 1, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit and self._verbosity():
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        if self._verbosity():
            self._begin(self.params.get("steps"))

    def on_predict_batch_end(self, batch, logs=None):
        if self._verbosity():
            self._progress(batch + 1, None)

    def on_predict_end(self, logs=None):
        if self._verbosity():
            self._finish(None)
