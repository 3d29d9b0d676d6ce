"""How `pybrowserml train` shows the training job's events in the terminal.

On a terminal the in-epoch progress rewrites one line (carriage return); piped or redirected, every
progress event is a full line of its own, flushed at once, so `... | tee log` shows progress during an
epoch too. Everything else is one line per event.
"""

from __future__ import annotations

import sys


def _kib(n):
    return f"{n:,} bytes ({n / 1024:.1f} KiB)"


class Renderer:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._open_line = False  # a \r progress line is showing (TTY only)
        self.summary = None

    @property
    def progress_every(self) -> float:
        """Seconds between in-epoch progress events: often on a terminal, every 2 s in a log."""
        return 0.25 if self.tty else 2.0

    def line(self, text: str) -> None:
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def __call__(self, event: dict) -> None:
        kind = event.get("event")
        handler = getattr(self, f"_{kind}", None)
        if handler is None:
            self.line(f"  {event}")
        else:
            handler(event)

    def _backend(self, e):
        threads = f", {e['threads']} thread{'s' if e['threads'] != 1 else ''}" if e.get("threads") else ""
        asked = f" (asked for {e['asked']})" if e.get("asked") not in (None, e["name"]) else ""
        self.line(f"backend: {e['name']}{threads}{asked}")

    def _dataset(self, e):
        shape = "x".join(str(d) for d in e["shape"])
        where = {True: ", already cached in IndexedDB", False: ", fetched, now cached in IndexedDB"}.get(
            e.get("cached"), ""
        )
        self.line(
            f"dataset: {e['name']}, {e['train']:,} train / {e['test']:,} test images {shape}, {e['seconds']:.1f} s{where}"
        )

    def _model(self, e):
        self.line(f"model: {e['name']}, {e['params']:,} parameters, {e['classes']} classes")

    def _progress(self, e):
        metrics = "".join(f" {k} {e[k]:.4f}" for k in ("loss", "accuracy") if k in e)
        text = (
            f"epoch {e['epoch']}/{e['epochs']} step {e['step']}/{e['steps']}{metrics} "
            f"{e['samples_per_second']:.0f} samples/s"
        )
        if self.tty:
            self.stream.write("\r" + text + "\033[K")
            self.stream.flush()
            self._open_line = True
        else:
            self.line(text)

    def _epoch(self, e):
        metrics = "".join(f" {k} {e[k]:.4f}" for k in ("loss", "accuracy") if k in e)
        self.line(
            f"epoch {e['epoch']}/{e['epochs']} done:{metrics} in {e['seconds']:.1f} s "
            f"({e['samples_per_second']:.0f} samples/s)"
        )

    def _done(self, e):
        self.summary = e

    def print_summary(self, output_path=None) -> None:
        e = self.summary
        threads = f", {e['threads']} threads" if e.get("threads") and e["threads"] > 1 else ""
        self.line("")
        self.line(f"trained {e['params']:,}-parameter dense_block_cnn on {e['dataset']} ({e['backend']}{threads})")
        self.line(
            f"  test accuracy  {100 * e['test_accuracy']:.2f}% on {e['test_samples']:,} images "
            f"(train accuracy {100 * e['train_accuracy']:.2f}%, {e['epochs']} epoch(s) of {e['train_samples']:,})"
        )
        self.line(f"  speed          {e['samples_per_second']:.0f} samples/s ({e['train_seconds']:.1f} s training)")
        self.line(f"  model JSON     {output_path or e['output']}")
        self.line(
            f"  sizes          {_kib(e['json_bytes'])} {e['quantize']} JSON, "
            f"{100 * e['json_bytes'] / e['float32_json_bytes']:.1f}% of float32 JSON ({_kib(e['float32_json_bytes'])}); "
            f"weights as float32 {_kib(e['float32_weight_bytes'])}; max |weight error| {e['max_abs_error']:.2g}"
        )
