"""Load the package's own JS modules and WASM kernels from the wheel's files.

The wheel is all a page needs: scripts/build puts the bridges (web/bridge/*.mjs) and compiled kernels
into pybrowserml/_assets/, micropip unpacks them into Pyodide's file system, and this module turns
them into a JS module (through a Blob URL) or a compiled WebAssembly.Module. No other URL, no script
tag. Bridge modules must therefore be self-contained (no `import` of sibling files).
"""

from __future__ import annotations

from importlib import resources

from . import require_pyodide

_modules: dict = {}
_wasm: dict = {}


def asset_bytes(name: str) -> bytes:
    """The bytes of a packaged asset; a clear error if the wheel was built without it."""
    path = resources.files("pybrowserml").joinpath("_assets", name)
    if not path.is_file():
        raise FileNotFoundError(
            f"pybrowserml asset {name!r} is not in this installation: the wheel was built without it "
            "(run scripts/build, which compiles web/kernels/wasm and copies web/bridge into the package)")
    return path.read_bytes()


def _to_uint8array(data: bytes):
    from pyodide.ffi import to_js

    return to_js(memoryview(data))


async def import_module(name: str):
    """Import a packaged JS module (e.g. "echo.mjs") once per session and return its namespace."""
    require_pyodide("import_module")
    if name not in _modules:
        import js
        from pyodide.code import run_js
        from pyodide.ffi import to_js

        blob = js.Blob.new(to_js([_to_uint8array(asset_bytes(name))]),
                           to_js({"type": "text/javascript"}, dict_converter=js.Object.fromEntries))
        url = js.URL.createObjectURL(blob)
        try:
            _modules[name] = await run_js("(url) => import(url)")(url)
        finally:
            js.URL.revokeObjectURL(url)
    return _modules[name]


async def compile_wasm(name: str):
    """Compile a packaged .wasm file once per session and return the WebAssembly.Module."""
    require_pyodide("compile_wasm")
    if name not in _wasm:
        import js

        _wasm[name] = await js.WebAssembly.compile(_to_uint8array(asset_bytes(name)))
    return _wasm[name]
