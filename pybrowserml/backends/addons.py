"""The browser backends' add-on wheels: installing one in the page when its backend is first created there.

Each browser backend (wasm, webgl, webgpu) ships as its own wheel, ``pybrowserml-backend-<name>``, which
installs ``pybrowserml/backends/<name>/`` beside this core package (scripts/split_wheels.py). A page that
installs only the core gets a backend's add-on here, once, when it creates that backend
(``set_backend_async``, the "auto" probes, ``available_backends_async``). The add-on's file name comes from
the core's table ``backends/_build/addons.json`` (scripts/build writes it), and the folder it is fetched from
is, first found:

1. ``globalThis.pybrowserml_wheels``, when the page (or worker) sets it to the URL of the folder holding the
   add-on wheels, e.g. ``globalThis.pybrowserml_wheels = "/static/pybrowserml/"`` (relative to the page);
2. the folder of the core wheel this installation came from (micropip and ``pyodide.loadPackage`` record
   its URL in the .dist-info), which is where scripts/build and ``pybrowserml serve`` put the add-ons.

micropip installs the add-on (its one dependency, this pybrowserml, is installed already).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import sys
from urllib.parse import urljoin

from ..browser import is_pyodide
from ..browser.assets import asset_bytes, has_asset, served_folder

log = logging.getLogger("pybrowserml.backends")

ADDONS_TABLE = "backends/_build/addons.json"
WHEELS_GLOBAL = "pybrowserml_wheels"


class AddonUnavailable(RuntimeError):
    """A backend's folder is not installed and its add-on wheel could not be installed."""


def distribution(name: str) -> str:
    """The add-on's distribution name, as micropip, pip and PyScript's `packages` know it."""
    return f"pybrowserml-backend-{name}"


def is_installed(module: str) -> bool:
    """True when the backend module (e.g. "pybrowserml.backends.wasm") is imported or can be imported here."""
    return module in sys.modules or importlib.util.find_spec(module) is not None


def wheel_file(name: str) -> str | None:
    """The file name of the named backend's add-on wheel in this build, or None if it names none."""
    if not has_asset(ADDONS_TABLE):
        return None
    return json.loads(asset_bytes(ADDONS_TABLE)).get(name)


def wheels_base() -> tuple[str | None, str]:
    """(URL of the folder serving the add-on wheels, or None; where that URL came from, for messages)."""
    return served_folder(WHEELS_GLOBAL, "add-on wheels", "/static/pybrowserml/", "", AddonUnavailable)


def _how_to_install(name: str, file: str) -> str:
    return (
        f"Serve {file} beside the core wheel (scripts/build puts every wheel in .build/dist/, and "
        f"`pybrowserml serve` serves them), or install it with the core in one go: "
        f"micropip.install([core_wheel_url, '<folder>/{file}']), or list it after the core in PyScript's "
        f'"packages", or set globalThis.{WHEELS_GLOBAL} to the URL of the folder holding it.'
    )


def not_installed(name: str) -> str:
    """Why the named backend cannot be imported synchronously here, and what to do."""
    if not is_pyodide():
        return (
            f"the {name} backend runs inside Pyodide (a browser or a worker), from its add-on wheel "
            f"{distribution(name)}, which is not installed here; in CPython use the numpy backend"
        )
    file = wheel_file(name) or f"{distribution(name)} (its wheel)"
    return (
        f"the {name} backend's add-on {file} is not installed in this page: "
        f"`await pybrowserml.set_backend_async({name!r})` installs it. " + _how_to_install(name, file)
    )


async def _micropip():
    try:
        import micropip
    except ModuleNotFoundError:  # a page that installed the core with pyodide.loadPackage
        import pyodide_js

        await pyodide_js.loadPackage("micropip")
        import micropip
    return micropip


async def ensure(name: str, module: str) -> None:
    """Make the backend module `module` importable, installing the named backend's add-on if need be."""
    if is_installed(module):
        return
    if not is_pyodide():
        raise AddonUnavailable(not_installed(name))
    file = wheel_file(name)
    if file is None:
        raise AddonUnavailable(
            f"the {name} backend is not installed and this pybrowserml has no table naming its add-on wheel "
            f"({ADDONS_TABLE}): install the core wheel scripts/build makes, with {distribution(name)} beside it"
        )
    base, origin = wheels_base()
    if base is None:
        raise AddonUnavailable(
            f"the {name} backend's add-on {file} is not installed, and there is nothing to fetch it from "
            f"({origin}). " + _how_to_install(name, file)
        )
    url = urljoin(base, file)
    micropip = await _micropip()
    log.info("installing the %s backend's add-on from %s", name, url)
    try:
        await micropip.install(url)
    except Exception as error:  # micropip's message says how the fetch or the install failed
        raise AddonUnavailable(
            f"could not install the {name} backend's add-on from {url} (the URL came from {origin}): "
            f"{error}. " + _how_to_install(name, file)
        ) from error
    importlib.invalidate_caches()
    if not is_installed(module):
        raise AddonUnavailable(
            f"{url} installed, but {module} still cannot be imported: is it the add-on of this "
            f"pybrowserml's version (the core's table names {file})?"
        )
