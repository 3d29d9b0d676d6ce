"""The "auto" backend choice: the first backend of AUTO_ORDER that really works here.

Each candidate is created and then checked on a tiny known computation (a matmul and a relu against
numpy, read back as the training loop would), so a backend that starts but computes wrongly, or whose
device cannot render float32 (WebGL2 without EXT_color_buffer_float), is skipped with the reason
recorded. The same probe picks the backend a fit continues on after its device is lost
(``fallback_order(name)``). The probes are step generators (like the training loops): they yield the
awaitables of asynchronous creation and readback, so they run under ``set_backend_async`` and inside
``fit_async`` alike.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np

AUTO_ORDER = ("webgpu", "webgl", "wasm", "numpy")

# The check: relu(a @ b) on values whose exact products are representable in float32.
_CHECK_A = (np.arange(12, dtype=np.float32).reshape(3, 4) - 5.0) / 4.0
_CHECK_B = (np.arange(20, dtype=np.float32).reshape(4, 5) - 9.0) / 8.0
_CHECK_EXPECTED = np.maximum(_CHECK_A @ _CHECK_B, 0.0)

_last_report: dict | None = None


def fallback_order(lost_name: str) -> tuple[str, ...]:
    """The backends to try after `lost_name` fails: those after it in AUTO_ORDER (all but it if it is
    not in the order)."""
    if lost_name in AUTO_ORDER:
        return AUTO_ORDER[AUTO_ORDER.index(lost_name) + 1 :]
    return tuple(name for name in AUTO_ORDER if name != lost_name)


def _awaited(value):
    """Inside a step generator: `value`, or what it resolves to if it is awaitable."""
    if inspect.isawaitable(value):
        value = yield value
    return value


def _check_computation(backend, asynchronous):
    """Generator: None if relu(a @ b) on `backend` matches numpy, else what went wrong."""
    result = backend.run("relu", backend.run("matmul", backend.upload(_CHECK_A), backend.upload(_CHECK_B)))
    got = np.asarray(
        (yield from _awaited(backend.download_async(result))) if asynchronous else backend.download(result)
    )
    if got.shape != _CHECK_EXPECTED.shape:
        return f"its check computation gave shape {got.shape} instead of {_CHECK_EXPECTED.shape}"
    worst = float(np.abs(got - _CHECK_EXPECTED).max())
    if not worst <= 1e-4:
        return f"its check computation (relu(a @ b), 3x4 @ 4x5) is off by {worst:g} from numpy"
    return None


def _create(name, module, force, asynchronous):
    """Generator: the named backend, created if need be; raises why it cannot be used."""
    from . import _created

    backend = _created.get(name)
    if backend is not None:
        return backend
    if not asynchronous:  # only backends that start synchronously (numpy, or any already created)
        return module.create()
    renderable = getattr(module, "float32_renderable", None)
    if renderable is not None and not (yield from _awaited(renderable())):
        reason = "its device cannot render to float32 textures, so training on it would lose precision"
        if not force:
            raise RuntimeError(reason + " (force=True uses it anyway)")
        warnings.warn(f"using the {name} backend although {reason}", stacklevel=4)
    create_async = getattr(module, "create_async", None)
    return (yield from _awaited(create_async())) if create_async else module.create()


def probe(name: str, force: bool = False, asynchronous: bool = True):
    """Generator: (backend, None) if the named backend can be created and computes right, else
    (None, reason). A device that cannot render float32 is refused unless `force` (then used, with a
    warning). Not `asynchronous` (inside a synchronous fit), only backends that need no awaiting qualify."""
    from . import _MODULES, _created, _module_for, addons, registered_backends, usable

    if name not in registered_backends():
        return None, "not part of this build of pybrowserml"
    try:
        if asynchronous and name not in _created and not addons.is_installed(_MODULES[name]):
            # the quick device check first, so a page does not download the add-on of a backend it cannot run
            if not (yield from _awaited(usable.check_async(name))):
                return (
                    None,
                    f"this browser has no {usable.NEEDS.get(name, 'device for it')} (its add-on was not installed)",
                )
            yield from _awaited(addons.ensure(name, _MODULES[name]))
        backend = yield from _create(name, _module_for(name), force, asynchronous)
        problem = yield from _check_computation(backend, asynchronous)
    except Exception as error:  # any failure to start or to compute means: not this backend
        return None, str(error) if isinstance(error, RuntimeError) else f"{type(error).__name__}: {error}"
    if problem is not None:
        return None, problem
    _created[name] = backend
    return backend, None


def choose(order=AUTO_ORDER, force: bool = False, asynchronous: bool = True):
    """Generator: the first backend of `order` that probes well and {name: reason} for those skipped
    before it; RuntimeError listing every reason if none works."""
    skipped = {}
    for name in order:
        backend, reason = yield from probe(name, force, asynchronous)
        if backend is not None:
            return backend, skipped
        skipped[name] = reason
    details = "; ".join(f"{name}: {reason}" for name, reason in skipped.items())
    raise RuntimeError(f"no backend works here ({details})")


async def drive(steps):
    """Await a probe generator to its end (set_backend_async; a fit drives them with its own loop)."""
    value, error = None, None
    while True:
        try:
            item = steps.send(value) if error is None else steps.throw(error)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        try:
            value = await item
        except Exception as failure:  # raised in the generator, where it waited
            error = failure


def record(backend, skipped: dict, force: bool) -> None:
    global _last_report
    _last_report = {"chosen": backend, "skipped": dict(skipped), "forced": bool(force)}


def auto_report() -> dict | None:
    """What the last ``set_backend_async("auto")`` chose and why: {"chosen": name, "skipped": {name:
    reason}, "forced", "fallbacks": the chosen backend's per-op numpy fallback counts so far,
    "missing_kernels": the kernels it runs on numpy}; None before any "auto" choice."""
    if _last_report is None:
        return None
    backend = _last_report["chosen"]
    return {
        "chosen": backend.name,
        "skipped": dict(_last_report["skipped"]),
        "forced": _last_report["forced"],
        "fallbacks": dict(backend.fallback_counts),
        "missing_kernels": backend.missing_kernels(),
    }
