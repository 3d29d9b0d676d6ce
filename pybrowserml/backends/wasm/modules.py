"""Where the compiled kernels come from: served beside the wheel, and only the one a page runs is fetched.

The wheel carries no .wasm (it would weigh 4 x 170 KB for one module used). scripts/build serves the four
modules in its dist folder, `wasm/` beside the wheel, under names with their content hash (listed in
``_build/modules.json``, which is in the wheel), and the runtime compiles the one it needs while it downloads
(``WebAssembly.compileStreaming``, js/runtime.mjs). The folder's URL is, first found:

1. ``globalThis.pybrowserml_assets``, when the page (or worker) sets it before starting the backend, e.g.
   ``globalThis.pybrowserml_assets = "/static/pybrowserml/wasm/"`` (relative to the page);
2. ``wasm/`` beside the wheel this installation came from (micropip and ``pyodide.loadPackage`` record the
   wheel's URL in its .dist-info).

A development install whose package still holds ``_build/<module>`` (the files scripts/build_wasm compiles)
uses those bytes when no URL is known or the fetch fails.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urljoin

from ...browser.assets import asset_bytes, has_asset, served_folder

log = logging.getLogger("pybrowserml.backends.wasm")

ASSETS_GLOBAL = "pybrowserml_assets"
SERVED_FOLDER = "wasm/"
BUILD_DIR = "backends/wasm/_build"
NAMES_TABLE = f"{BUILD_DIR}/modules.json"

_compiled: dict = {}


class KernelsUnavailable(RuntimeError):
    """The compiled kernels could not be loaded (not served where the page looks, or not built)."""


def module_path(name: str) -> str:
    """The path of a compiled module (e.g. "kernels.wasm") inside a development checkout's package."""
    return f"{BUILD_DIR}/{name}"


def served_name(name: str) -> str:
    """The file name the module `name` is served under (with this build's content hash)."""
    if not has_asset(NAMES_TABLE):
        raise KernelsUnavailable(
            f"this installation has no {NAMES_TABLE}, the table of the served WASM kernels: "
            "build the wheel with scripts/build, which compiles the kernels and writes it"
        )
    table = json.loads(asset_bytes(NAMES_TABLE))
    if name not in table:
        raise KernelsUnavailable(f"no WASM module {name!r} in this build (it has {sorted(table)})")
    return table[name]


def kernels_base() -> tuple[str | None, str]:
    """(URL of the folder serving the kernels, or None; where that URL came from, for messages)."""
    return served_folder(ASSETS_GLOBAL, "WASM kernels", "/static/pybrowserml/wasm/", SERVED_FOLDER, KernelsUnavailable)


async def compile_kernels(name: str, helpers):
    """The compiled WebAssembly.Module `name` (e.g. "kernels_relaxed.wasm"), once per session.
    `helpers` is js/runtime.mjs (its compileUrl fetches and compiles in one go)."""
    if name in _compiled:
        return _compiled[name]
    base, origin = kernels_base()
    problem = origin
    if base is not None:
        url = urljoin(base, served_name(name))
        try:
            _compiled[name] = await helpers.compileUrl(url)
            return _compiled[name]
        except Exception as error:  # a JsException: the JS message says which URL and how it failed
            problem = f"{_js_message(error)}; the URL came from {origin}"
    if has_asset(module_path(name)):  # a development install: the package still holds the module
        import js
        from pyodide.ffi import to_js

        log.info("wasm backend: %s from the package's own files (%s)", name, problem)
        _compiled[name] = await js.WebAssembly.compile(to_js(memoryview(asset_bytes(module_path(name)))))
        return _compiled[name]
    raise KernelsUnavailable(
        f"could not load the WASM kernels {name}: {problem}. Serve the files scripts/build puts in "
        f".build/dist/{SERVED_FOLDER} in a folder {SERVED_FOLDER} beside the wheel (pybrowserml serve does), or set "
        f"globalThis.{ASSETS_GLOBAL} to the URL of the folder holding them before starting the backend. "
        "The wheel and the kernels must come from the same build (the file names carry a content hash)."
    )


def _js_message(error) -> str:
    text = str(error)
    return text.removeprefix("Error: ")
