"""The training job of `pybrowserml train`, the same code in a browser page (Pyodide) and in CPython.

`run_async(settings, report)` picks the backend, loads the dataset (in the browser: fetched from the
server once, then read from IndexedDB), trains the reference network (zoo.dense_block_cnn), evaluates it
and saves the quantized JSON (a browser download in a page, a file in CPython). It describes what it does
as events, plain dicts passed to `report`; in a page `print_events` prints them as JSON lines to the
console, where the command reads them.
"""

from __future__ import annotations

import json
import time

from ..callbacks import Callback

EVENT_PREFIX = "[pybrowserml-train] "

DEFAULTS = dict(
    dataset="fashion-mnist",
    backend="wasm",
    epochs=1,
    batch_size=32,
    learning_rate=3e-3,
    seed=0,
    quantize="uint8",
    train_samples=None,
    test_samples=None,
    output="model.json",
    progress_every=2.0,
)
DATASETS = ("fashion-mnist", "mnist", "digits")
_CACHE_NAMES = {"fashion-mnist": "fashion_mnist", "mnist": "mnist"}  # their DatasetCache names in a page
BACKENDS = ("wasm", "webgpu", "webgl", "auto", "numpy")


def print_events(event: dict) -> None:
    """The page's reporter: one console line per event (Pyodide's stdout goes to console.log)."""
    print(EVENT_PREFIX + json.dumps(event), flush=True)


def check_settings(settings: dict) -> dict:
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown training settings {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    s = {**DEFAULTS, **settings}
    if s["dataset"] not in DATASETS:
        raise ValueError(f"unknown dataset {s['dataset']!r}: choose one of {', '.join(DATASETS)}")
    if s["backend"] not in BACKENDS:
        raise ValueError(f"unknown backend {s['backend']!r}: choose one of {', '.join(BACKENDS)}")
    for key in ("epochs", "batch_size"):
        if not isinstance(s[key], int) or s[key] < 1:
            raise ValueError(f"{key.replace('_', '-')} must be an int >= 1, got {s[key]!r}")
    for key in ("train_samples", "test_samples"):
        if s[key] is not None and (not isinstance(s[key], int) or s[key] < 1):
            raise ValueError(f"{key.replace('_', '-')} must be an int >= 1, got {s[key]!r}")
    return s


async def _cached(name) -> bool | None:
    """In a page: whether the dataset is already in the IndexedDB cache (None where nothing is cached)."""
    from .. import data
    from ..browser import is_pyodide

    if not is_pyodide() or name not in _CACHE_NAMES:
        return None
    return any(record["name"] == _CACHE_NAMES[name] for record in await data.default_cache().list())


async def _load(name):
    from .. import data

    loader = {
        "fashion-mnist": data.load_fashion_mnist_async,
        "mnist": data.load_mnist_async,
        "digits": data.load_digits_async,
    }[name]
    return await loader()


def _threads(backend):
    return getattr(getattr(backend, "rt", None), "threads", None)


async def run_async(settings: dict, report=print_events) -> dict:
    """Train as `settings` say (see DEFAULTS); returns the summary (also reported as the "done" event)."""
    import pybrowserml as pb

    s = check_settings(settings)
    backend = await pb.set_backend_async(s["backend"])
    report({"event": "backend", "asked": s["backend"], "name": backend.name, "threads": _threads(backend)})

    cached = await _cached(s["dataset"])
    started = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = await _load(s["dataset"])
    report(
        {
            "event": "dataset",
            "name": s["dataset"],
            "train": len(x_train),
            "test": len(x_test),
            "shape": list(x_train.shape[1:]),
            "seconds": time.perf_counter() - started,
            "cached": cached,
        }
    )
    classes = int(max(y_train.max(), y_test.max())) + 1
    if s["train_samples"]:
        x_train, y_train = x_train[: s["train_samples"]], y_train[: s["train_samples"]]
    if s["test_samples"]:
        x_test, y_test = x_test[: s["test_samples"]], y_test[: s["test_samples"]]

    pb.set_random_seed(s["seed"])
    model = pb.zoo.dense_block_cnn(input_shape=tuple(x_train.shape[1:]), classes=classes)
    model.compile(pb.optimizers.Adam(s["learning_rate"]), "sparse_categorical_crossentropy", metrics=["accuracy"])
    report({"event": "model", "name": model.name, "params": model.count_params(), "classes": classes})

    progress = _Progress(report, s["epochs"], s["batch_size"], len(x_train), s["progress_every"])
    started = time.perf_counter()
    history = await model.fit_async(
        x_train,
        y_train,
        batch_size=s["batch_size"],
        epochs=s["epochs"],
        seed=s["seed"],
        verbose=0,
        callbacks=[progress],
    )
    train_seconds = time.perf_counter() - started
    test_loss, test_accuracy = await model.evaluate_async(x_test, y_test, batch_size=256, verbose=0)
    saved = model.save_json(s["output"], quantize=s["quantize"])
    summary = {
        "event": "done",
        "dataset": s["dataset"],
        "backend": backend.name,
        "threads": _threads(backend),
        "params": model.count_params(),
        "epochs": s["epochs"],
        "train_samples": len(x_train),
        "test_samples": len(x_test),
        "train_seconds": train_seconds,
        "samples_per_second": s["epochs"] * len(x_train) / train_seconds,
        "train_accuracy": float(history.history["accuracy"][-1]),
        "test_loss": float(test_loss),
        "test_accuracy": float(test_accuracy),
        "quantize": saved["quantize"],
        "json_bytes": saved["bytes"],
        "float32_json_bytes": saved["float32_json_bytes"],
        "float32_weight_bytes": 4 * model.count_params(),
        "max_abs_error": saved["max_abs_error"],
        "output": saved.get("path") or saved.get("download"),
    }
    report(summary)
    return summary


class _Progress(Callback):
    """Reports the running loss/accuracy every `every` seconds within an epoch, and each epoch's logs."""

    def __init__(self, report, epochs, batch_size, samples, every):
        super().__init__()
        self.report, self.epochs, self.every = report, epochs, every
        self.batch_size, self.samples = batch_size, samples
        self.steps = -(-samples // batch_size)
        self.logs = {}
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = self.last = time.perf_counter()
        self.epoch, self.logs = epoch, {}

    def on_train_batch_end(self, batch, logs=None):
        self.logs.update({k: float(v) for k, v in (logs or {}).items() if k in ("loss", "accuracy")})
        now = time.perf_counter()
        if now - self.last < self.every or batch + 1 == self.steps:
            return
        self.last = now
        done = min((batch + 1) * self.batch_size, self.samples)
        self.report(
            {
                "event": "progress",
                "epoch": self.epoch + 1,
                "epochs": self.epochs,
                "step": batch + 1,
                "steps": self.steps,
                "samples_per_second": done / (now - self.epoch_started),
                **self.logs,
            }
        )

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.epoch_started
        self.report(
            {
                "event": "epoch",
                "epoch": epoch + 1,
                "epochs": self.epochs,
                "seconds": seconds,
                "samples_per_second": self.samples / seconds,
                **{k: float(v) for k, v in (logs or {}).items() if isinstance(v, (int, float))},
            }
        )
