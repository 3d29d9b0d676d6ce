"""One driver for the package's step generators, synchronous in CPython and asynchronous in the browser.

Long-running work (the fit / evaluate / predict loops, the dataset loaders) is written once, as a
generator or coroutine, and driven here. It yields None at points where the browser may take a turn,
and an awaitable when it has to wait (a callback writing to IndexedDB, a log readback, a fetch):
- `drive(steps, refusal)` runs it straight through (CPython, also inside a running event loop such as
  Jupyter's, where asyncio.run would refuse). It cannot wait, so an awaitable is refused with
  `RuntimeError(refusal)`.
- `await drive_async(steps, yield_every)` awaits each awaitable (an exception it raises is raised in the
  generator where it waited) and, every `yield_every` seconds, gives the page's event loop a turn so
  that the page stays responsive (like TF.js's yieldEvery).
- `read_back(backend, array, asynchronous)` (inside a loop: `value = yield from read_back(...)`) reads a
  device array with the backend's `download` when driven by `drive`, or awaits its `download_async`
  under `drive_async` (WebGPU can only read back asynchronously).
"""

from __future__ import annotations

import asyncio
import inspect
import time

# A real timer, not sleep(0): Pyodide schedules 0-delay callbacks through a message channel, which Chromium
# runs ahead of the page's timers (a 20 ms setInterval fired only every ~250 ms).
_YIELD_SECONDS = 0.001


def drive(steps, refusal: str):
    """Run a generator or a coroutine to its end and return its value; `RuntimeError(refusal)` if it has
    to wait for something (it is then closed, so that nothing is left half-done)."""
    try:
        while True:
            item = steps.send(None)
            if item is not None:
                break
    except StopIteration as stop:
        return stop.value
    if inspect.iscoroutine(item):
        item.close()  # a coroutine we will not run: close it so Python does not warn that it was never awaited
    steps.close()
    raise RuntimeError(refusal)


async def drive_async(steps, yield_every: float):
    """Run a step generator to its end in the browser and return its value (see the module docstring)."""
    value, error = None, None
    last_yield = time.monotonic()
    while True:
        try:
            item = steps.send(value) if error is None else steps.throw(error)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        if item is not None:
            try:
                value = await item
            except Exception as failure:  # raised where the generator waited, so that it can handle it
                error = failure
            last_yield = time.monotonic()
        elif time.monotonic() - last_yield >= yield_every:
            await asyncio.sleep(_YIELD_SECONDS)
            last_yield = time.monotonic()


def await_all(pending):
    """Inside a step generator: hand each awaitable (e.g. from callbacks) to the driver."""
    yield from pending


def read_back(backend, array, asynchronous: bool):
    """Inside a step generator: the host copy of a device array (`download`, or `download_async` awaited
    through the driver when `asynchronous`)."""
    if not asynchronous:
        return backend.download(array)
    value = backend.download_async(array)
    if inspect.isawaitable(value):
        value = yield value
    return value
