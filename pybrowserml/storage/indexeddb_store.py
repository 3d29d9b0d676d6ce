"""A key-value store in the browser's IndexedDB (Pyodide only); the JS half is js/idb_store.mjs.

Values are split into chunks (4 MiB by default, so IndexedDB never sees one giant allocation) and
written with a manifest (size, sha256, chunk count) in one transaction that resolves only once it has
committed. Reads check the chunk count, the size and the sha256: a corrupt or partial record is deleted
and raised as CorruptRecordError, never returned.

Bytes cross the FFI once each way: Python -> JS as a zero-copy view of the Python buffer (the JS side
copies each chunk out of it synchronously), JS -> Python with to_bytes(). The sha256 is computed by
crypto.subtle where the page has it (secure contexts), else by hashlib.
"""

from __future__ import annotations

import asyncio
import hashlib

from ..browser import is_pyodide
from .errors import CorruptRecordError, QuotaExceededError, StorageError, StorageUnavailableError
from .keys import check_key, check_namespace, check_value

CHUNK_SIZE = 4 * 1024 * 1024
DATABASE_PREFIX = "pybrowserml:"

_ERRORS = {
    "QuotaExceededError": QuotaExceededError,
    "StorageUnavailableError": StorageUnavailableError,
}


class _ConnectionClosed(Exception):
    pass


def _unwrap(result):
    """The value of a {ok, value} | {ok: false, name, message} result from idb_store.mjs, or the mapped error."""
    if result.ok:
        return result.value
    name, message = str(result.name), str(result.message)
    if name == "ConnectionClosed":
        raise _ConnectionClosed(message)
    raise _ERRORS.get(name, StorageError)(message)


class IndexedDBStore:
    """`store = IndexedDBStore("datasets")`; `await store.put("k", b"...")`; the database is opened lazily."""

    backend = "indexeddb"

    def __init__(self, namespace: str, chunk_size: int = CHUNK_SIZE):
        if not isinstance(chunk_size, int) or chunk_size <= 0:
            raise ValueError(f"chunk_size must be a positive int (bytes), got {chunk_size!r}")
        self.namespace = check_namespace(namespace)
        self.database_name = DATABASE_PREFIX + namespace
        self.chunk_size = chunk_size
        self._js = None
        self._db = None
        self._digest = None  # whether the page can hash with crypto.subtle; asked once
        self._opening = None  # the pending open, while one is under way

    def __repr__(self):
        return f"IndexedDBStore({self.namespace!r})"

    async def _module(self):
        if not is_pyodide():
            raise StorageUnavailableError(
                "IndexedDB exists only in a browser (Pyodide); in CPython use open_store(namespace, 'directory')"
            )
        if self._js is None:
            from ..browser.assets import import_module

            self._js = await import_module("storage/js/idb_store.mjs")
        return self._js

    async def _database(self):
        js = await self._module()
        if self._db is None:
            # Concurrent first calls share one open request instead of each opening a connection.
            if self._opening is None:
                self._opening = asyncio.ensure_future(self._open(js))
            try:
                await self._opening
            finally:
                self._opening = None
        return js, self._db

    async def _open(self, js):
        self._db = _unwrap(await js.openDatabase(self.database_name))

    async def _call(self, name: str, *args):
        """Call an idb_store.mjs function with the open database; reopen once if the connection was closed."""
        for attempt in (0, 1):
            js, db = await self._database()
            try:
                return _unwrap(await getattr(js, name)(db, *args))
            except _ConnectionClosed:
                self._db = None
                if attempt:
                    raise StorageUnavailableError(
                        f"the IndexedDB database {self.database_name!r} keeps being closed by another tab; "
                        "close other tabs of this site (data will load from its source meanwhile)"
                    ) from None

    def close(self) -> None:
        """Close the connection (another tab can then upgrade the database); reopened on next use."""
        if self._db is not None:
            self._js.closeDatabase(self._db)
            self._db = None

    async def _native_digest(self) -> bool:
        """crypto.subtle hashes natively (far faster than hashlib in WASM), but only in secure contexts."""
        if self._digest is None:
            self._digest = bool((await self._module()).canDigest())
        return self._digest

    async def put(self, key: str, value) -> None:
        key = check_key(key)
        value = check_value(value)
        digest = None if await self._native_digest() else hashlib.sha256(value).hexdigest()
        await self._call("put", key, value, digest, self.chunk_size)

    async def get(self, key: str) -> bytes | None:
        key = check_key(key)
        native = await self._native_digest()
        record = await self._call("get", key, native)
        if record is None:
            return None
        manifest, problem, data = record.manifest, None, None
        try:
            size, count, expected = int(manifest.size), int(manifest.chunkCount), str(manifest.sha256)
        except (AttributeError, TypeError, ValueError):
            problem = "its manifest is malformed"
        else:
            if record.chunkCount != count:
                problem = f"{record.chunkCount} chunks stored, the manifest says {count}"
            elif record.bytes is None:
                problem = f"the chunks do not add up to the {size} bytes the manifest says"
            else:
                data = record.bytes.to_bytes()
                actual = str(record.sha256) if native else hashlib.sha256(data).hexdigest()
                if actual != expected:
                    problem, data = "sha256 mismatch", None
        if problem:
            await self.delete(key)
            raise CorruptRecordError(
                f"stored record {key!r} in IndexedDB {self.database_name!r} is corrupt "
                f"({problem}); it was deleted, load the data from its source again"
            )
        return data

    async def delete(self, key: str) -> None:
        await self._call("remove", check_key(key))

    async def keys(self) -> list[str]:
        return [str(k) for k in await self._call("keys")]

    async def sizes(self) -> dict[str, int]:
        """{key: bytes of the stored value} (IndexedDB's own overhead is not counted)."""
        return dict(sorted((str(m.key), int(m.size)) for m in await self._call("manifests")))

    async def size(self) -> int:
        """Bytes of all stored values."""
        return sum((await self.sizes()).values())

    async def clear(self) -> None:
        await self._call("clear")
