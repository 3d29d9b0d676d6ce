"""Load the package's own JS modules from the wheel's files, and find the URLs a page serves it from.

Each package keeps its JS modules next to its Python (e.g. ``storage/js/idb_store.mjs``); micropip (or
pyodide.loadPackage) unpacks them into Pyodide's file system, and this module turns them into a JS module
through a Blob URL. No other URL, no script tag. A module must therefore be self-contained (no `import` of
sibling files). The one thing served beside the wheel rather than in it is the WASM kernels (they would be
most of its size, and a page runs one of four): backends/wasm/modules.py fetches them, from a URL found
with ``installed_wheel_url`` and ``page_url`` below.

Assets are named by their path inside the package, with forward slashes: "backends/wasm/js/runtime.mjs".
"""

from __future__ import annotations

from importlib import resources

from . import require_pyodide

_modules: dict = {}
# The files in .dist-info where installers record the wheel's URL: micropip writes PYODIDE_URL (and a
# PYODIDE_SOURCE that may be just "pypi"); pyodide.loadPackage writes PYODIDE_SOURCE (the URL it was given).
_URL_RECORDS = ("PYODIDE_URL", "PYODIDE_SOURCE")


def has_asset(path: str) -> bool:
    """True when the packaged asset `path` is in this installation."""
    return resources.files("pybrowserml").joinpath(*path.split("/")).is_file()


def page_url() -> str:
    """The URL of the page (or worker script) running this Python: what relative URLs are resolved against."""
    import js

    return str(js.location.href)


def installed_wheel_url() -> str | None:
    """The absolute URL of the wheel this installation came from, when its installer recorded one."""
    from importlib import metadata
    from urllib.parse import urljoin

    try:
        dist = metadata.distribution("pybrowserml")
    except metadata.PackageNotFoundError:  # imported from a source tree, not installed
        return None
    for record in _URL_RECORDS:
        text = (dist.read_text(record) or "").strip()
        if text.endswith(".whl") and not text.startswith(("emfs:", "file:")):
            return urljoin(page_url(), text)
    return None


def served_folder(global_name: str, what: str, example: str, beside_wheel: str, error: type[Exception]):
    """(URL of the folder serving `what`, or None; where that URL came from, for messages).

    First found: ``globalThis.<global_name>``, set by the page (or worker) and resolved against it (a value
    that is not a non-empty string raises `error`); then `beside_wheel` ("wasm/", or "" for the wheel's own
    folder) resolved against the URL of the wheel this installation came from."""
    from urllib.parse import urljoin

    import js

    base = getattr(js, global_name, None)
    if base is not None:
        if not isinstance(base, str) or not base:
            raise error(
                f"globalThis.{global_name} must be the URL (a string) of the folder serving pybrowserml's "
                f"{what}, e.g. {example!r}, got {base!r}"
            )
        return urljoin(page_url(), base if base.endswith("/") else base + "/"), f"globalThis.{global_name}"
    wheel = installed_wheel_url()
    if wheel is not None:
        where = f"the folder {beside_wheel} beside" if beside_wheel else "the folder of"
        return urljoin(wheel, beside_wheel or "./"), f"{where} the wheel {wheel}"
    return None, f"no URL: the page set no globalThis.{global_name} and the wheel's URL is not recorded"


def asset_bytes(path: str) -> bytes:
    """The bytes of a packaged asset (`path` inside the pybrowserml package); a clear error if it is not
    in this installation."""
    asset = resources.files("pybrowserml").joinpath(*path.split("/"))
    if not asset.is_file():
        raise FileNotFoundError(
            f"pybrowserml asset {path!r} is not in this installation: check the path "
            "(relative to the pybrowserml package, e.g. 'storage/js/idb_store.mjs')"
        )
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
