"""Run the package's async loaders synchronously in CPython, and pick the right style per platform.

The loaders are written once, as coroutines, because in the browser fetching and IndexedDB are
asynchronous. In CPython their awaits never suspend (file I/O, urllib, the directory store), so the
training package's driver runs them to completion (this also works inside a running event loop, such
as Jupyter's, where asyncio.run would refuse).
"""

from __future__ import annotations

import functools

from ..browser import is_pyodide
from ..training.driver import drive

MUST_AWAIT = (
    "this operation has to wait for the browser (network, IndexedDB, canvas): call its *_async variant with await"
)


def run_sync(coroutine):
    """The result of a coroutine that never suspends; a clear error if it has to wait on something."""
    return drive(coroutine, MUST_AWAIT)


def sync_or_awaitable(coroutine):
    """In Pyodide return the awaitable (`await load_x()`); in CPython run it and return the result."""
    if is_pyodide():
        return coroutine
    return run_sync(coroutine)


def dual(coroutine_function):
    """`load_x` from `load_x_async`: runs it in CPython, returns the awaitable in the browser."""

    @functools.wraps(coroutine_function)
    def load(*args, **kwargs):
        return sync_or_awaitable(coroutine_function(*args, **kwargs))

    load.__name__ = load.__qualname__ = coroutine_function.__name__.removesuffix("_async")
    return load
