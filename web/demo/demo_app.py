# The demo's Python, run as it is by both demo pages: pyscript.html (PyScript, on the page's main thread)
# and index.html (plain Pyodide in a Web Worker, worker.mjs). It is what a user would write: load a
# dataset, build the reference network, fit_async with callbacks, evaluate, predict, save quantized JSON.
#
# It talks to the page through two globals, so it does not care which page (or thread) it runs in:
# - `demoUI.handle(kind, json)` (JS, set by ui.mjs on the page or by worker.mjs, which posts it to the
#   page): every event the page draws (progress, charts, results). Payloads are JSON text.
# - `pybrowsermlDemo` (set here): the commands the page sends: start, pause, resume, stop, predict,
#   download, clear_backup. Each returns at once; long work runs as an asyncio task.
import asyncio
import json
import time

import js
import numpy as np
from pyodide.ffi import create_proxy, to_js

import pybrowserml as pb
from pybrowserml import data, zoo
from pybrowserml.callbacks import BackupAndRestore, Callback, TrainingControl
from pybrowserml.data.fashion_mnist import FASHION_MNIST_URL
from pybrowserml.data.mnist import MNIST_DIGITS_URL
from pybrowserml.data.sources import absolute_url
from pybrowserml.storage import open_store

DATASETS = {
    "fashion_mnist": {
        "title": "Fashion-MNIST",
        "load": data.load_fashion_mnist_async,
        "url": FASHION_MNIST_URL,
        "classes": list(data.FASHION_MNIST_CLASSES),
    },
    "mnist": {
        "title": "MNIST",
        "load": data.load_mnist_async,
        "url": MNIST_DIGITS_URL,
        "classes": [str(d) for d in range(10)],
    },
}
# One epoch at Adam 3e-3 reaches ~82% on Fashion-MNIST; at Keras's 1e-3 this network starts slowly (~77%).
DEFAULTS = dict(
    dataset="fashion_mnist",
    backend="auto",
    epochs=1,
    batch_size=32,
    train_samples=60000,
    test_samples=10000,
    learning_rate=3e-3,
    seed=0,
    backup_every=20,  # batches between IndexedDB backups (what "resume after reload" continues from)
)
BACKUP_STORE = "demo"  # IndexedDB store (pybrowserml.storage) holding the settings of the backed-up run
GRID = 16  # test images shown with their predictions


def emit(kind, payload=None):
    js.demoUI.handle(kind, json.dumps(payload if payload is not None else {}))


def backup_name(dataset):
    return f"demo-{dataset}"


def backend_info():
    backend = pb.get_backend()
    info = {"active": backend.name, "threads": 1, "relaxed_simd": False}
    runtime = getattr(backend, "rt", None)
    if runtime is not None:
        info.update(threads=int(runtime.threads), relaxed_simd=bool(runtime.relaxed_simd))
    return info


class PageReporter(Callback):
    """Sends fit's progress to the page: the first step, the running loss/accuracy (as often as fit reads
    them, every log_every seconds), each epoch's logs."""

    def __init__(self):
        super().__init__()
        self.first_step_sent = False
        self.epoch = 0

    def on_train_begin(self, logs=None):
        emit("train_begin", {"epochs": self.params["epochs"], "steps": self.params["steps"]})

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        steps = self.params["steps"]
        if not self.first_step_sent:
            self.first_step_sent = True
            emit("first_step", {"epoch": self.epoch, "step": batch, "time": time.time() * 1000})
        if "loss" in logs:
            emit(
                "batch",
                {
                    "epoch": self.epoch,
                    "step": batch,
                    "steps": steps,
                    "x": self.epoch + (batch + 1) / steps,
                    "loss": logs["loss"],
                    "accuracy": logs.get("accuracy"),
                },
            )

    def on_epoch_end(self, epoch, logs=None):
        emit("epoch", {"epoch": epoch, "logs": logs or {}})


class DemoApp:
    def __init__(self):
        self.settings = dict(DEFAULTS)
        self.model = None
        self.control = TrainingControl(on_state=lambda state: emit("state", {"state": state}))
        self.task = None
        self.test = None
        self.classes = DATASETS["fashion_mnist"]["classes"]

    # -- start-up: what the page shows before anything is trained ---------------------------------------------
    async def hello(self):
        backends = ["auto"] + [name for name in pb.available_backends()]
        emit("hello", {"version": pb.__version__, "backends": backends, "datasets": list(DATASETS)})
        await self.announce_backup()

    async def announce_backup(self):
        saved = await open_store(BACKUP_STORE).get("settings")
        keys = await open_store("checkpoints").keys()
        if saved is not None:
            settings = json.loads(saved)
            if backup_name(settings["dataset"]) in keys:
                emit("resumable", {"settings": settings})
                return
        emit("resumable", {"settings": None})

    # -- commands (the page's buttons) --------------------------------------------------------------------------
    def start(self, settings_json="{}", resume=False):
        if self.task is not None and not self.task.done():
            emit("error", {"message": "training is already running: pause or stop it first"})
            return
        self.task = asyncio.ensure_future(self._guard(self._run(json.loads(str(settings_json)), bool(resume))))

    def resume_saved(self):
        async def run():
            saved = await open_store(BACKUP_STORE).get("settings")
            if saved is None:
                raise RuntimeError("no saved run to resume: train first (the backup is written while it trains)")
            await self._run(json.loads(saved), True)

        if self.task is not None and not self.task.done():
            emit("error", {"message": "training is already running: stop it before resuming the saved run"})
            return
        self.task = asyncio.ensure_future(self._guard(run()))

    def pause(self):
        self.control.pause()

    def resume(self):
        self.control.resume()

    def stop(self):
        self.control.stop()

    def predict(self, pixels):
        asyncio.ensure_future(self._guard(self._predict(pixels)))

    def download(self):
        asyncio.ensure_future(self._guard(self._download()))

    # -- the work ---------------------------------------------------------------------------------------------
    async def _guard(self, work):
        try:
            await work
        except Exception as error:  # shown on the page (and in its console), never swallowed
            emit("error", {"message": f"{type(error).__name__}: {error}"})

    async def _use_backend(self, name):
        emit("status", {"text": f"starting the {name} backend"})
        await pb.set_backend_async(name)
        emit("backend", backend_info())

    async def _load(self, name):
        spec = DATASETS[name]
        from pybrowserml.data import DatasetCache, default_cache

        key = DatasetCache.key(name, absolute_url(spec["url"]))
        cached = any(record["key"] == key for record in await default_cache().list())
        emit("dataset", {"name": name, "title": spec["title"], "state": "cached" if cached else "downloading"})
        started = time.perf_counter()

        def progress(done, total):
            emit(
                "dataset", {"name": name, "title": spec["title"], "state": "downloading", "done": done, "total": total}
            )

        (x_train, y_train), (x_test, y_test) = await spec["load"](progress=progress)
        emit(
            "dataset",
            {
                "name": name,
                "title": spec["title"],
                "state": "ready",
                "was_cached": cached,
                "train": len(x_train),
                "test": len(x_test),
                "seconds": time.perf_counter() - started,
            },
        )
        return (x_train, y_train), (x_test, y_test)

    async def _run(self, settings, resume):
        unknown = sorted(set(settings) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"unknown demo settings {unknown}; the demo takes {sorted(DEFAULTS)}")
        s = dict(DEFAULTS, **settings)
        if s["dataset"] not in DATASETS:
            raise ValueError(f"unknown dataset {s['dataset']!r}: choose one of {list(DATASETS)}")
        self.settings = s
        self.classes = DATASETS[s["dataset"]]["classes"]
        # The backend's start-up (compiling its WASM or shaders) and the dataset load overlap.
        _, ((x_train, y_train), (x_test, y_test)) = await asyncio.gather(
            self._use_backend(s["backend"]), self._load(s["dataset"])
        )
        x_train, y_train = x_train[: int(s["train_samples"])], y_train[: int(s["train_samples"])]
        self.test = (x_test[: int(s["test_samples"])], y_test[: int(s["test_samples"])])

        pb.set_random_seed(int(s["seed"]))
        model = zoo.dense_block_cnn(input_shape=(28, 28, 1), classes=10)
        model.compile(
            optimizer=pb.optimizers.Adam(float(s["learning_rate"])),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        self.model = model
        emit("model", {"name": "dense_block_cnn", "params": model.count_params()})

        # The settings go beside the backup so that a reloaded page resumes the same run exactly.
        await open_store(BACKUP_STORE).put("settings", json.dumps(s).encode())
        backup = BackupAndRestore(backup_name(s["dataset"]), save_freq=int(s["backup_every"]), delete_checkpoint=False)
        emit("status", {"text": "resuming the saved run" if resume else "training"})
        history = await model.fit_async(
            x_train,
            y_train,
            batch_size=int(s["batch_size"]),
            epochs=int(s["epochs"]),
            seed=int(s["seed"]),
            verbose=0,
            resume=resume,
            callbacks=[backup, PageReporter(), self.control],
        )
        if self.control.state == "finished":  # a stopped run keeps its backup: "resume saved run" continues it
            await open_store("checkpoints").delete(backup_name(s["dataset"]))
            await open_store(BACKUP_STORE).delete("settings")
        await self.announce_backup()
        emit("history", {"history": history.history, "stopped": self.control.state == "stopped"})
        await self._results()

    async def _results(self):
        x_test, y_test = self.test
        emit("status", {"text": f"evaluating on {len(x_test)} test images"})
        probs = await self.model.predict_async(x_test, batch_size=256, verbose=0)
        predicted = probs.argmax(1)
        accuracy = float((predicted == y_test).mean())
        from pybrowserml.io import encode_model  # imported here: saving is not on the way to the first step

        confusion = np.bincount(y_test * 10 + predicted, minlength=100).reshape(10, 10)
        float32_bytes = len(encode_model(self.model, "float32")[0])
        quantized_bytes = len(encode_model(self.model, "uint8")[0])
        emit(
            "results",
            {
                "accuracy": accuracy,
                "classes": self.classes,
                "confusion": confusion.tolist(),
                "grid": {
                    "pixels": x_test[:GRID, :, :, 0].reshape(GRID, -1).tolist(),
                    "labels": y_test[:GRID].tolist(),
                    "predicted": predicted[:GRID].tolist(),
                },
                "sizes": {"float32": float32_bytes, "uint8": quantized_bytes, "params": self.model.count_params()},
            },
        )
        emit("status", {"text": f"done: test accuracy {100 * accuracy:.2f}%"})

    async def _predict(self, pixels):
        if self.model is None:
            raise RuntimeError("train a model first: there is nothing to predict with yet")
        # The page resized its drawing canvas to 28x28 and sends its 784 grey levels (uint8).
        image = np.frombuffer(pixels.to_bytes(), dtype=np.uint8)
        if image.size != 28 * 28:
            raise ValueError(f"the drawing must be 28x28 = 784 pixels, got {image.size}")
        probs = await self.model.predict_async(image.reshape(1, 28, 28, 1), verbose=0)
        best = int(probs[0].argmax())
        emit("prediction", {"label": best, "name": self.classes[best], "probs": probs[0].tolist()})

    async def _download(self):
        if self.model is None:
            raise RuntimeError("train a model first: there is nothing to download yet")
        from pybrowserml.io import encode_model

        data, _ = encode_model(self.model, "uint8")
        name = f"{self.settings['dataset'].replace('_', '-')}-dense-block-cnn-uint8.json"
        emit("download", {"filename": name, "text": data.decode()})


app = DemoApp()
# The commands, as a plain JS object of functions (proxies kept alive for the page's lifetime).
js.pybrowsermlDemo = to_js(
    {
        name: create_proxy(getattr(app, name))
        for name in ("start", "resume_saved", "pause", "resume", "stop", "predict", "download")
    },
    dict_converter=js.Object.fromEntries,
)
asyncio.ensure_future(app._guard(app.hello()))
