"""Pyodide-only glue: loading the package's own JS/WASM assets, downloads, DOM.

Importing this package is safe in CPython; the functions that need a browser say so when called there.
"""

import sys


def is_pyodide() -> bool:
    """True when running inside Pyodide (in a browser page or a worker)."""
    return sys.platform == "emscripten"


def require_pyodide(what: str) -> None:
    if not is_pyodide():
        raise RuntimeError(
            f"{what} needs a browser: run it inside Pyodide (in CPython use the numpy backend and files)"
        )


__all__ = ["is_pyodide", "require_pyodide"]
