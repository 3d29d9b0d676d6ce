"""Callback: the Keras-compatible base class of everything that hooks into fit/evaluate/predict.

History and CallbackList (the training loop's view of a list of callbacks) live here too.
"""

from __future__ import annotations


class Callback:
    """Base class for callbacks. Override any hook; the defaults do nothing.

    ``model`` and ``params`` (``{"verbose", "epochs", "steps"}``) are set by the training loop before
    ``on_train_begin``. ``logs`` dicts map metric names to Python floats.
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_params(self, params):
        self.params = dict(params or {})

    def set_model(self, model):
        self.model = model

    # Keras keeps on_batch_* as aliases of on_train_batch_*: the train hooks call them.
    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass


class History(Callback):
    """Records the epoch logs of a fit: `history.history["loss"]`, `history.epoch`. fit returns it."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self


class CallbackList:
    """Calls a hook on every callback; collects what they return that must be awaited.

    A hook may return an awaitable (e.g. a checkpoint written to IndexedDB): `call` returns those, and
    the training loop awaits them in fit_async; sync fit refuses them with a clear error.
    """

    def __init__(self, callbacks=None, model=None, params=None, add_history=False, progress=None):
        self.callbacks = list(callbacks or [])
        if progress is not None:
            from ._progress import ProgressCallback

            if not any(isinstance(c, ProgressCallback) for c in self.callbacks):
                self.callbacks.append(progress)
        self.history = None
        if add_history:
            self.history = next((c for c in self.callbacks if isinstance(c, History)), None)
            if self.history is None:
                self.history = History()
                self.callbacks.insert(0, self.history)
        for callback in self.callbacks:
            if model is not None:
                callback.set_model(model)
            if params is not None:
                callback.set_params(params)

    def call(self, hook: str, *args) -> list:
        import inspect

        pending = []
        for callback in self.callbacks:
            result = getattr(callback, hook)(*args)
            if inspect.isawaitable(result):
                pending.append(result)
        return pending

    def __iter__(self):
        return iter(self.callbacks)
