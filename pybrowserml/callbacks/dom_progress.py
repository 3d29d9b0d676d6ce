"""DomProgress: training progress shown in the web page, for fit() running in Pyodide.

Renders into a container element (found by id, or created and appended to ``document.body``)::

    <div id="pybrowserml-progress" class="pybrowserml-progress" data-state="running" data-epoch="2" ...>
      <div class="pbml-title">Epoch 2/5</div>
      <progress max="1875" value="120"></progress>
      <span class="pbml-status">120/1875 - ETA: 3s - 4100 samples/s - loss: 0.5300 - accuracy: 0.8100</span>
      <ol class="pbml-epochs"><li>Epoch 1/5 - 1875/1875 - 5s - loss: 0.6100 - val_loss: 0.5200</li></ol>
    </div>

The page only repaints when Python yields to the browser, so live updates need ``fit_async``. Updates
are throttled (``interval``) and read the logged values only when they render. The module imports in
CPython; using the callback there raises, since there is no page (use ProgbarLogger).
"""

from __future__ import annotations

import time

from ..browser import is_pyodide
from ._progress import (
    DEFAULT_INTERVAL,
    ProgressCallback,
    ProgressTracker,
    format_duration,
    format_logs,
    normalize_verbose,
)

DEFAULT_CONTAINER_ID = "pybrowserml-progress"


def _browser_document():
    if not is_pyodide():
        raise RuntimeError(
            "DomProgress needs a web page (Pyodide in a browser); in CPython use ProgbarLogger, "
            "or pass document=... to render into another DOM"
        )
    import js  # only exists inside Pyodide

    return js.document


class DomProgress(ProgressCallback):
    """Show epoch, step, loss and metrics, throughput and ETA in a DOM element.

    Args:
        container: the id of the element to render into (created under ``document.body`` when no
            element has that id), or the element itself.
        interval: minimum seconds between two updates of the element.
        document: the DOM document to use; the page's ``js.document`` by default.
    """

    def __init__(
        self, container=DEFAULT_CONTAINER_ID, interval=DEFAULT_INTERVAL, document=None, verbose=1, clock=time.monotonic
    ):
        super().__init__()
        if not isinstance(container, str) and not hasattr(container, "appendChild"):
            raise TypeError(
                f"DomProgress container must be an element id (str) or a DOM element, got {type(container).__name__}"
            )
        self.container = container
        self.verbose = normalize_verbose(verbose)
        self._document = document
        self._tracker = ProgressTracker(interval=interval, clock=clock)
        self._el = {}
        self._epochs = 1
        self._epoch = 0
        self._train_start = 0.0
        self._clock = clock
        self._in_fit = False

    # -- the element -------------------------------------------------------------------------------
    @property
    def document(self):
        if self._document is None:
            self._document = _browser_document()
        return self._document

    @property
    def element(self):
        """The container element (found or created on first use)."""
        if "root" not in self._el:
            self._build()
        return self._el["root"]

    def _build(self):
        doc = self.document
        root = self.container
        if isinstance(root, str):
            found = doc.getElementById(root)
            if not found:
                found = doc.createElement("div")
                found.id = root
                doc.body.appendChild(found)
            root = found
        root.innerHTML = ""  # the element is ours from now on: drop any previous run's content
        root.classList.add("pybrowserml-progress")  # keeps the page's own classes on its container
        title = doc.createElement("div")
        title.className = "pbml-title"
        bar = doc.createElement("progress")
        bar.value = 0
        status = doc.createElement("span")
        status.className = "pbml-status"
        epochs = doc.createElement("ol")
        epochs.className = "pbml-epochs"
        for child in (title, bar, status, epochs):
            root.appendChild(child)
        self._el = {"root": root, "title": title, "bar": bar, "status": status, "epochs": epochs}

    def _set_data(self, **values):
        root = self.element
        for key, value in values.items():
            root.setAttribute(f"data-{key.replace('_', '-')}", str(value))

    # -- rendering --------------------------------------------------------------------------------
    def _throughput(self):
        t = self._tracker
        if not t.current or t.elapsed <= 0:
            return ""
        steps_per_s = t.current / t.elapsed
        batch_size = self.params.get("batch_size")
        if batch_size:
            return f" - {steps_per_s * batch_size:.0f} samples/s"
        return f" - {steps_per_s:.1f} steps/s"

    def _render(self, logs, final=False):
        t = self._tracker
        bar = self._el["bar"]
        if t.target:
            bar.max = t.target
            bar.value = min(t.current, t.target)
        eta = "" if final or not t.eta else f" - ETA: {format_duration(t.eta)}"
        elapsed = f" - {format_duration(t.elapsed)}" if final else ""
        text = f"{t.steps_text()}{elapsed}{eta}{self._throughput()}{format_logs(logs)}"
        self._el["status"].textContent = text
        self._set_data(step=t.current)
        loss = (logs or {}).get("loss")
        if loss is not None:
            self._set_data(loss=f"{float(loss):.6g}")
        return text

    # -- training ---------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._in_fit = True
        self._epochs = int(self.params.get("epochs") or 1)
        self._train_start = self._clock()
        self._build()
        self._set_data(state="running", epochs=self._epochs)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        steps = self.params.get("steps")
        self._tracker.begin(steps)
        self._el["title"].textContent = f"Epoch {epoch + 1}/{self._epochs}"
        bar = self._el["bar"]
        if steps:
            bar.max = int(steps)
            bar.value = 0
        else:
            bar.removeAttribute("value")  # an indeterminate <progress> while the total is unknown
        self._set_data(epoch=epoch + 1, steps=steps or "")

    def on_train_batch_end(self, batch, logs=None):
        values = self._tracker.remember(logs)
        if self._tracker.update(batch + 1):
            self._render(values)

    def on_epoch_end(self, epoch, logs=None):
        self._tracker.update(self._tracker.current, finalize=True)
        text = self._render(logs, final=True)
        item = self.document.createElement("li")
        item.textContent = f"Epoch {epoch + 1}/{self._epochs} - {text}"
        self._el["epochs"].appendChild(item)

    def on_train_end(self, logs=None):
        self._in_fit = False
        done = self._epoch + 1
        self._el[
            "title"
        ].textContent = f"Epoch {done}/{self._epochs} - done in {format_duration(self._clock() - self._train_start)}"
        self._set_data(state="done")

    # -- evaluate called directly -------------------------------------------------------------------
    def on_test_begin(self, logs=None):
        if self._in_fit:
            return
        if "root" not in self._el:
            self._build()
        self._tracker.begin(self.params.get("steps"))
        self._el["title"].textContent = "Evaluating"
        self._set_data(state="evaluating")

    def on_test_batch_end(self, batch, logs=None):
        if self._in_fit:
            return
        values = self._tracker.remember(logs)
        if self._tracker.update(batch + 1):
            self._render(values)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._tracker.update(self._tracker.current, finalize=True)
            self._render(logs, final=True)
            self._el["title"].textContent = "Evaluation done"
            self._set_data(state="done")


def has_document() -> bool:
    """True in a Pyodide page with a DOM (False in CPython and in a web worker)."""
    if not is_pyodide():
        return False
    import js

    return bool(getattr(js, "document", None))
