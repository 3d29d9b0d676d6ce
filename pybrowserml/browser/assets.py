"""Load the package's own JS modules and WASM kernels from the wheel's files.

The wheel is all a page needs: each package keeps its JS modules next to its Python (e.g.
``storage/js/idb_store.mjs``) and the WASM backend's compiled kernels in ``backends/wasm/_build/``
(scripts/build); micropip unpacks them into Pyodide's file system, and this module turns them into a
JS module (through a Blob URL) or a compiled WebAssembly.Module. No other URL, no script tag. A
module must therefore be self-contained (no `import` of sibling files).

Assets are named by their path inside the package, with forward slashes: "backends/wasm/js/runtime.mjs".
"""

from __future__ import annotations

from importlib import resources

from . import require_pyodide

_modules: dict = {}
_wasm: dict = {}


def asset_bytes(path: str) -> bytes:
    """The bytes of a packaged asset (`path` inside the pybrowserml package); a clear error if it is not
    in this installation."""
    asset = resources.files("pybrowserml").joinpath(*path.split("/"))
    if not asset.is_file():
        hint = (
            (
                "the wheel was built without the compiled kernels: run scripts/build, which compiles "
                "backends/wasm/csrc into backends/wasm/_build"
            )
            if path.endswith(".wasm")
            else "check the path (relative to the pybrowserml package, e.g. 'storage/js/idb_store.mjs')"
        )
        raise FileNotFoundError(f"pybrowserml asset {path!r} is not in this installation: {hint}")
    return asset.read_bytes()


def _to_uint8array(data: bytes):
    from pyodide.ffi import to_js

    return to_js(memoryview(data))


async def import_module(path: str):
    """Import a packaged JS module (e.g. "storage/js/idb_store.mjs") once per session; returns its namespace."""
    require_pyodide("import_module")
    if path not in _modules:
        import js
        from pyodide.code import run_js
        from pyodide.ffi import to_js

        blob = js.Blob.new(
            to_js([_to_uint8array(asset_bytes(path))]),
            to_js({"type": "text/javascript"}, dict_converter=js.Object.fromEntries),
        )
        url = js.URL.createObjectURL(blob)
        try:
            _modules[path] = await run_js("(url) => import(url)")(url)
        finally:
            js.URL.revokeObjectURL(url)
    return _modules[path]


async def compile_wasm(path: str):
    """Compile a packaged .wasm file (e.g. "backends/wasm/_build/kernels.wasm") once per session and
    return the WebAssembly.Module."""
    require_pyodide("compile_wasm")
    if path not in _wasm:
        import js

        _wasm[path] = await js.WebAssembly.compile(_to_uint8array(asset_bytes(path)))
    return _wasm[path]
