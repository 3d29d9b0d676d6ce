"""Browser downloads: hand bytes to the user as a file (Blob + an <a download> click), Pyodide only."""

from __future__ import annotations

from ..browser import require_pyodide


def trigger_download(data: bytes, filename: str, mime_type: str = "application/json") -> None:
    """Offer `data` as a download named `filename` (the browser's normal download, no server involved)."""
    require_pyodide("pybrowserml.io.trigger_download")
    if not isinstance(filename, str) or not filename or "/" in filename or "\\" in filename:
        raise ValueError(f"download file name {filename!r} must be a plain non-empty name without '/' or '\\'")
    import js
    from pyodide.ffi import to_js

    # One copy into a JS Uint8Array; the Blob takes it from there.
    buffer = js.Uint8Array.new(len(data))
    buffer.assign(memoryview(bytes(data)))
    options = to_js({"type": mime_type}, dict_converter=js.Object.fromEntries)
    blob = js.Blob.new(to_js([buffer]), options)
    url = js.URL.createObjectURL(blob)
    link = js.document.createElement("a")
    link.href = url
    link.download = filename
    link.style.display = "none"
    js.document.body.appendChild(link)
    try:
        link.click()
    finally:
        link.remove()
        # Revoke after the click has been handled: the browser has already taken the blob's content.
        js.setTimeout(_revoker(url), 0)


def _revoker(url):
    import js
    from pyodide.ffi import create_once_callable

    return create_once_callable(lambda *args: js.URL.revokeObjectURL(url))
