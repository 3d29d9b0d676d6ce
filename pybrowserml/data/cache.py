"""DatasetCache: dataset bytes kept in a store (IndexedDB in the browser, a directory in CPython).

Keys are `v{FORMAT_VERSION}/{name}/{digest}`: the version changes whenever what we store for a dataset
changes shape (old records are then simply never read again, and `clear()` removes them), the digest is
the sha256 of the source's identity (its absolute URL, or its content and size), so a different source
never hits a stale record.

A cache must never stop a dataset from loading: when the store is unavailable (IndexedDB missing or
blocked by another tab), full (quota exceeded) or returns a corrupt record, the cache warns with a
CacheWarning saying what happened and the data is loaded from its source. Nothing half-written is ever
read back: the stores write atomically and verify a sha256 on every read.
"""

from __future__ import annotations

import hashlib
import warnings

from ..storage import CorruptRecordError, QuotaExceededError, StorageError, open_store
from ._sync import run_sync

FORMAT_VERSION = 1
DEFAULT_NAMESPACE = "datasets"


class CacheWarning(UserWarning):
    """The dataset cache could not be used; the data was (or will be) loaded from its source."""


def source_digest(identity) -> str:
    """sha256 hex of a source identity: a str (e.g. an absolute URL) or bytes (hashed with their size)."""
    if isinstance(identity, str):
        return hashlib.sha256(("url:" + identity).encode()).hexdigest()
    digest = hashlib.sha256(identity)
    digest.update(f":size={len(identity)}".encode())
    return digest.hexdigest()


def _check_name(name) -> str:
    if not isinstance(name, str) or not name or "/" in name or len(name) > 64:
        raise ValueError(f"dataset cache names are 1-64 characters without '/', got {name!r}")
    return name


class DatasetCache:
    """`cache = DatasetCache()`; `data = await cache.load("fashion_mnist", url, fetch)`; list/size/clear/remove."""

    def __init__(self, store=None, namespace: str = DEFAULT_NAMESPACE):
        self._store = store
        self.namespace = namespace
        self.disabled_reason: str | None = None  # set once the store proved unusable this session

    @property
    def store(self):
        if self._store is None:
            self._store = open_store(self.namespace)
        return self._store

    @staticmethod
    def key(name: str, identity) -> str:
        return f"v{FORMAT_VERSION}/{_check_name(name)}/{source_digest(identity)}"

    def _disable(self, error: Exception, name: str) -> None:
        self.disabled_reason = str(error)
        warnings.warn(
            f"dataset cache unavailable ({error}); {name} loads from its source and is not cached this session",
            CacheWarning,
            stacklevel=3,
        )

    async def get(self, name: str, identity) -> bytes | None:
        """The cached bytes, or None (absent, corrupt, or the cache unusable: each warns once)."""
        key = self.key(name, identity)
        if self.disabled_reason is not None:
            return None
        try:
            return await self.store.get(key)
        except CorruptRecordError as e:
            warnings.warn(f"{e}; loading {name} from its source", CacheWarning, stacklevel=2)
        except StorageError as e:
            self._disable(e, name)
        return None

    async def put(self, name: str, identity, data) -> bool:
        """Store the bytes; True if stored, False (with a warning) if the store refused them."""
        key = self.key(name, identity)
        if self.disabled_reason is not None:
            return False
        try:
            await self.store.put(key, data)
            return True
        except QuotaExceededError as e:
            warnings.warn(
                f"{name} was not cached: {e}; it loaded from its source and will again next time "
                "(free space with DatasetCache().clear())",
                CacheWarning,
                stacklevel=2,
            )
        except StorageError as e:
            self._disable(e, name)
        return False

    async def load(self, name: str, identity, fetch) -> bytes:
        """Cached bytes for (name, identity), else `await fetch()` (then cached). fetch errors propagate."""
        data = await self.get(name, identity)
        if data is not None:
            return data
        data = await fetch()
        await self.put(name, identity, data)
        return data

    async def list(self) -> list[dict]:
        """[{"name", "version", "key", "bytes"}] of every record (older format versions included)."""
        records = []
        for key, size in (await self.store.sizes()).items():
            parts = key.split("/")
            if len(parts) == 3 and parts[0].startswith("v"):
                records.append({"name": parts[1], "version": parts[0][1:], "key": key, "bytes": size})
        return records

    async def size(self) -> int:
        """Bytes of all cached datasets."""
        return sum(r["bytes"] for r in await self.list())

    async def remove(self, name: str) -> int:
        """Delete every record of dataset `name` (all sources, all versions); returns how many."""
        name = _check_name(name)
        removed = 0
        for record in await self.list():
            if record["name"] == name:
                await self.store.delete(record["key"])
                removed += 1
        return removed

    async def clear(self) -> None:
        """Delete every cached dataset."""
        await self.store.clear()
        self.disabled_reason = None

    # Synchronous twins for CPython (the directory store never suspends).
    def list_sync(self) -> list[dict]:
        return run_sync(self.list())

    def size_sync(self) -> int:
        return run_sync(self.size())

    def remove_sync(self, name: str) -> int:
        return run_sync(self.remove(name))

    def clear_sync(self) -> None:
        run_sync(self.clear())


_default: DatasetCache | None = None


def default_cache() -> DatasetCache:
    """The session's cache (one per process/page, so an unusable store warns once, not per file)."""
    global _default
    if _default is None:
        _default = DatasetCache()
    return _default
