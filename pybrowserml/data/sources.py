"""Where dataset bytes come from: a URL, a local path, bytes, or a file the user picked in the page.

In the browser a URL is fetched with the page's fetch (relative URLs resolve against the page); in
CPython with urllib. A JS File or Blob (from an <input type="file">, or a drop) is read with
arrayBuffer(). Strings: "http(s)://..." is always a URL; in CPython any other string is a path; in
the browser a string is a path only if that file exists in Pyodide's file system, else a URL.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from ..browser import is_pyodide


class DatasetSourceError(OSError):
    """A dataset source could not be read (HTTP error, missing file, network failure)."""


_URL_SCHEMES = ("http", "https", "blob", "data")


def is_js_file(source) -> bool:
    """A JS File/Blob (anything with arrayBuffer(), seen from Python as a JsProxy)."""
    return type(source).__name__.startswith("Js") and hasattr(source, "arrayBuffer")


def is_url(source) -> bool:
    if not isinstance(source, str):
        return False
    if urlsplit(source).scheme in _URL_SCHEMES:
        return True
    return is_pyodide() and not os.path.exists(source)


def absolute_url(url: str) -> str:
    """The URL resolved against the page (browser); unchanged in CPython."""
    if is_pyodide():
        import js

        return str(js.URL.new(url, js.location.href).href)
    return url


def join_url(base: str, name: str) -> str:
    return base if base.endswith("/") and not name else base.rstrip("/") + "/" + name


async def fetch_url(url: str) -> bytes:
    """GET url -> bytes; DatasetSourceError naming the URL and status on failure."""
    if is_pyodide():
        from pyodide.http import pyfetch

        try:
            response = await pyfetch(url)
        except Exception as e:  # network failure, blocked request, CORS
            raise DatasetSourceError(
                f"could not fetch {url}: {e}; check the URL and that the page's server serves it"
            ) from e
        if not response.ok:
            raise DatasetSourceError(
                f"could not fetch {url}: HTTP {response.status} {response.status_text}; "
                "check the URL and that the page's server serves it"
            )
        return await response.bytes()
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            return response.read()
    except urllib.error.HTTPError as e:
        raise DatasetSourceError(f"could not fetch {url}: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError) as e:
        raise DatasetSourceError(f"could not fetch {url}: {getattr(e, 'reason', e)}") from e


def read_path(path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as e:
        raise DatasetSourceError(f"dataset file {path} does not exist") from e
    except OSError as e:
        raise DatasetSourceError(f"cannot read dataset file {path}: {e.strerror}") from e


async def read_js_file(file) -> bytes:
    """The bytes of a JS File/Blob (one copy into Python)."""
    buffer = await file.arrayBuffer()
    return buffer.to_bytes()


def js_file_list(files) -> list:
    """A Python list from a JS FileList / array of Files, or a Python iterable of sources."""
    if type(files).__name__.startswith("Js") and hasattr(files, "length"):
        return [files.item(i) if hasattr(files, "item") else files[i] for i in range(files.length)]
    if isinstance(files, (str, bytes, bytearray, memoryview)):
        return [files]
    return list(files)


def source_name(source) -> str:
    """A short human name for a source (file name or the URL's last path segment)."""
    if is_js_file(source):
        return str(getattr(source, "name", "") or "blob")
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        tail = urlsplit(text).path.rstrip("/").rsplit("/", 1)[-1] if is_url(text) else Path(text).name
        return tail or "data"
    return "bytes"


def cache_name(source) -> str:
    """A dataset-cache name from a source: its file name reduced to [A-Za-z0-9._-]."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", source_name(source))[:64] or "data"
