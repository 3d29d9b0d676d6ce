"""Backend registry: which backend new tensors live on, and what each holds.

Backends are created lazily by name. A backend that needs asynchronous start-up in the browser
(compiling its WASM module, requesting a GPU adapter) provides ``create_async()`` in its module;
``set_backend_async`` awaits it and works in CPython too. ``set_backend`` is the synchronous form
for backends that are ready (numpy always is; wasm once it has been created in this session).

The browser backends ship as add-on wheels beside the core (backends/addons.py): creating one
asynchronously installs its add-on in the page first when the page did not install it with the core.
"""

from __future__ import annotations

import importlib
import logging

from . import addons, auto, usable
from .base import Backend

# name -> module path providing create() and, optionally, create_async(); numpy is the default
_MODULES = {
    "numpy": "pybrowserml.backends.numpy",
    "wasm": "pybrowserml.backends.wasm",
    "webgpu": "pybrowserml.backends.webgpu",
    "webgl": "pybrowserml.backends.webgl",
}
log = logging.getLogger("pybrowserml.backends")
_created: dict[str, Backend] = {}
_created_with: dict[str, dict] = {}  # the options each backend was created with


def registered_backends() -> list[str]:
    """Every backend this build of pybrowserml has (usable here or not); the "auto" order draws on it."""
    return list(_MODULES)


def _usable(name, known) -> bool:
    if name in _created:
        return True
    report = auto.auto_report()
    if report is not None and name in report["skipped"]:  # an "auto" choice found it failing here
        return False
    return known is True


def available_backends() -> list[str]:
    """The backends usable here: ["numpy"] in CPython; in the browser also wasm (WebAssembly), webgl (a WebGL2
    context that renders float32) and webgpu once a GPU adapter is known to exist (after it was created, or
    after ``await available_backends_async()`` or ``set_backend_async("auto")`` asked for one)."""
    return [name for name in _MODULES if _usable(name, usable.check(name))]


async def available_backends_async() -> list[str]:
    """available_backends, asking for a GPU adapter where that is the only way to know (webgpu), and
    installing the add-on wheel of each usable backend this page does not have yet (one whose add-on cannot
    be installed is not available; the log says why)."""
    names = []
    for name in _MODULES:
        if not _usable(name, await usable.check_async(name)):
            continue
        try:
            await addons.ensure(name, _MODULES[name])
        except addons.AddonUnavailable as error:
            log.warning("%s", error)
            continue
        names.append(name)
    return names


def get_backend(name: str | None = None) -> Backend:
    """The current backend, or the named one if it has already been created."""
    if name is None:
        return _current
    if name in _created:
        return _created[name]
    return _create(name)


def _check_known(name):
    if name not in _MODULES:
        raise ValueError(f"unknown backend {name!r}: choose one of {registered_backends()}")


def _module_for(name):
    _check_known(name)
    try:
        return importlib.import_module(_MODULES[name])
    except ModuleNotFoundError as error:
        if error.name != _MODULES[name]:  # something the backend imports is missing, not the backend
            raise
        raise addons.AddonUnavailable(addons.not_installed(name)) from None


async def _module_for_async(name):
    """_module_for, installing the backend's add-on wheel first if this page does not have it."""
    _check_known(name)
    await addons.ensure(name, _MODULES[name])
    return _module_for(name)


def _create(name):
    backend = _module_for(name).create()
    _created[name] = backend
    return backend


_current: Backend = _create("numpy")


def set_backend(name: str) -> Backend:
    """Make `name` the backend of tensors and models created from now on."""
    global _current
    _current = get_backend(name)
    return _current


async def set_backend_async(name: str, **options) -> Backend:
    """Like set_backend, but awaits a backend's asynchronous start-up (needed in the browser).

    `options` go to the backend's constructor, e.g. ``set_backend_async("wasm", threads=2)``. Asking
    again with other options creates a new backend for tensors made from now on; tensors made
    before keep living on the backend that made them.

    ``set_backend_async("auto")`` takes the first of webgpu, webgl, wasm, numpy that can be created here
    and computes right (see backends/auto.py; ``auto_report()`` says what was chosen and why the others
    were not). ``force=True`` also accepts a device that cannot render float32, with a warning."""
    global _current
    if name == "auto":
        force = bool(options.pop("force", False))
        if options:
            raise TypeError(f"set_backend_async('auto') takes only force=, got {sorted(options)}")
        backend, skipped = await auto.drive(auto.choose(auto.AUTO_ORDER, force=force))
        auto.record(backend, skipped, force)
        _current = backend
        return backend
    if name not in _created or (options and options != _created_with.get(name)):
        module = await _module_for_async(name)
        create_async = getattr(module, "create_async", None)
        if create_async is None and options:
            raise TypeError(f"the {name!r} backend takes no options (got {sorted(options)})")
        _created[name] = await create_async(**options) if create_async else module.create()
        _created_with[name] = dict(options)
    _current = _created[name]
    return _current


def auto_report() -> dict | None:
    """What ``set_backend_async("auto")`` chose, why the others were not, and the chosen backend's
    per-op numpy fallback counts (None before any "auto" choice)."""
    return auto.auto_report()


def memory() -> dict:
    """Live device arrays and bytes, and the numpy fallbacks, for each backend created in this session
    (pybrowserml.memory() adds the live tensors)."""
    report = {}
    for name, backend in _created.items():
        entry = dict(backend.memory())
        entry["fallbacks"] = dict(backend.fallback_counts)
        report[name] = entry
    return report


__all__ = [
    "Backend",
    "auto_report",
    "available_backends",
    "available_backends_async",
    "get_backend",
    "registered_backends",
    "set_backend",
    "set_backend_async",
    "memory",
]
