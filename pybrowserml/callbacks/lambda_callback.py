"""LambdaCallback: build a callback from plain functions."""

from __future__ import annotations

from .base import Callback

# Hook name -> number of positional arguments the user's function receives (Keras signatures).
_HOOKS = {
    "on_epoch_begin": 2,
    "on_epoch_end": 2,
    "on_train_begin": 1,
    "on_train_end": 1,
    "on_train_batch_begin": 2,
    "on_train_batch_end": 2,
    "on_test_begin": 1,
    "on_test_end": 1,
    "on_test_batch_begin": 2,
    "on_test_batch_end": 2,
    "on_predict_begin": 1,
    "on_predict_end": 1,
    "on_predict_batch_begin": 2,
    "on_predict_batch_end": 2,
}


class LambdaCallback(Callback):
    """Callback whose hooks are the functions passed by keyword.

    Epoch and batch hooks are called as ``f(epoch_or_batch, logs)``, begin/end hooks as ``f(logs)``::

        LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))

    ``on_batch_begin`` / ``on_batch_end`` are accepted as the Keras aliases of the train batch hooks.
    """

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **kwargs,
    ):
        super().__init__()
        hooks = dict(
            on_epoch_begin=on_epoch_begin,
            on_epoch_end=on_epoch_end,
            on_train_begin=on_train_begin,
            on_train_end=on_train_end,
            on_train_batch_begin=on_train_batch_begin,
            on_train_batch_end=on_train_batch_end,
        )
        for alias, hook in (("on_batch_begin", "on_train_batch_begin"), ("on_batch_end", "on_train_batch_end")):
            if alias in kwargs:
                if hooks[hook] is not None:
                    raise TypeError(f"LambdaCallback got both {alias} and {hook}: pass only one")
                hooks[hook] = kwargs.pop(alias)
        for name in list(kwargs):
            if name in _HOOKS:
                hooks[name] = kwargs.pop(name)
        if kwargs:
            raise TypeError(f"LambdaCallback got unknown hooks {sorted(kwargs)}; known hooks: {sorted(_HOOKS)}")
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback {name} must be callable, got {type(fn).__name__}")
            setattr(self, name, _bind(fn, _HOOKS[name]))


def _bind(fn, arity):
    if arity == 2:
        return lambda index, logs=None: fn(index, logs)
    return lambda logs=None: fn(logs)
