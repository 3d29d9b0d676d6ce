"""Persistent key-value stores for caching bytes: a directory in CPython, IndexedDB in the browser.

```
store = pybrowserml.storage.open_store("datasets")   # "auto": IndexedDB in Pyodide, a directory in CPython
await store.put("key", b"bytes")       # atomic: visible only once completely written
await store.get("key")                 # bytes | None; a corrupt record raises CorruptRecordError (and is deleted)
await store.delete("key"); await store.keys(); await store.size(); await store.clear()
await store.sizes()                    # {key: bytes}
```
The directory store also has synchronous twins (put_sync, get_sync, ...) for CPython callers.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..browser import is_pyodide
from .directory_store import DirectoryStore
from .errors import CorruptRecordError, QuotaExceededError, StorageError, StorageUnavailableError
from .indexeddb_store import IndexedDBStore
from .keys import check_namespace

BACKENDS = ("auto", "directory", "indexeddb")


def default_cache_dir() -> Path:
    """$PYBROWSERML_CACHE_DIR if set, else ~/.cache/pybrowserml (one sub-directory per namespace)."""
    configured = os.environ.get("PYBROWSERML_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "pybrowserml"


def open_store(namespace: str, backend: str = "auto"):
    """A store for `namespace`: IndexedDB in Pyodide, a directory in CPython ("auto"), or the one named."""
    check_namespace(namespace)
    if backend not in BACKENDS:
        raise ValueError(f"unknown storage backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        backend = "indexeddb" if is_pyodide() else "directory"
    if backend == "indexeddb":
        # One store (so one IndexedDB connection) per namespace for the whole page.
        if namespace not in _indexeddb_stores:
            _indexeddb_stores[namespace] = IndexedDBStore(namespace)
        return _indexeddb_stores[namespace]
    return DirectoryStore(default_cache_dir() / namespace)  # cheap; follows PYBROWSERML_CACHE_DIR changes


_indexeddb_stores: dict[str, IndexedDBStore] = {}


__all__ = [
    "open_store",
    "default_cache_dir",
    "DirectoryStore",
    "IndexedDBStore",
    "StorageError",
    "StorageUnavailableError",
    "QuotaExceededError",
    "CorruptRecordError",
]
