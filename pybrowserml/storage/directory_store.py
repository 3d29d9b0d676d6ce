"""A key-value store in a directory: one file per key, written atomically, verified on every read.

Each record file is a header (magic, payload length, sha256 of the payload) followed by the payload.
A write goes to a temporary file in the same directory, is fsync'ed, then os.replace'd over the record
name, so a reader sees either the old record or the complete new one, never a partial file; temporary
files never show up as keys. A record that fails its check (truncated, tampered) is deleted and reported
as CorruptRecordError, so bad bytes are never returned.

The async methods (the interface shared with the IndexedDB store) are coroutines around the *_sync twins.
"""

from __future__ import annotations

import errno
import hashlib
import os
import struct
import tempfile
from pathlib import Path
from urllib.parse import quote, unquote

from .errors import CorruptRecordError, QuotaExceededError, StorageUnavailableError
from .keys import check_key, check_value

MAGIC = b"PBMLREC1"
_HEADER = struct.Struct("<8sQ32s")  # magic, payload length, sha256 digest
RECORD_SUFFIX = ".rec"
TEMP_SUFFIX = ".tmp"


def _file_name(key: str) -> str:
    # Percent-encode everything but [A-Za-z0-9_.-~] so any key is one flat, portable file name.
    return quote(key, safe="") + RECORD_SUFFIX


def _key_of(file_name: str) -> str:
    return unquote(file_name[: -len(RECORD_SUFFIX)])


class DirectoryStore:
    """`store = DirectoryStore(path)`; `await store.put("k", b"...")` or `store.put_sync("k", b"...")`."""

    backend = "directory"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def __repr__(self):
        return f"DirectoryStore({str(self.root)!r})"

    def _ensure_root(self) -> Path:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageUnavailableError(
                f"cannot create the store directory {self.root}: {e.strerror}; set PYBROWSERML_CACHE_DIR to a "
                "writable directory (data will load from its source meanwhile)"
            ) from e
        return self.root

    def _path(self, key: str) -> Path:
        return self.root / _file_name(check_key(key))

    # -- synchronous API (CPython callers) -------------------------------------------------------
    def put_sync(self, key: str, value) -> None:
        path = self._path(key)
        value = check_value(value)
        root = self._ensure_root()
        header = _HEADER.pack(MAGIC, len(value), hashlib.sha256(value).digest())
        fd, tmp = tempfile.mkstemp(prefix="." + path.name[:40] + ".", suffix=TEMP_SUFFIX, dir=root)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header)
                f.write(value)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as e:
            _remove_quietly(tmp)
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise QuotaExceededError(f"no space left to store {key!r} in {root}; nothing was written") from e
            raise
        except BaseException:
            _remove_quietly(tmp)
            raise
        _fsync_directory(root)

    def get_sync(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):  # no record (or no store directory at all)
            return None
        problem = _check_record(data)
        if problem:
            _remove_quietly(path)
            raise CorruptRecordError(
                f"stored record {key!r} in {self.root} is corrupt ({problem}); "
                "it was deleted, load the data from its source again"
            )
        return data[_HEADER.size :]

    def delete_sync(self, key: str) -> None:
        _remove_quietly(self._path(key))

    def keys_sync(self) -> list[str]:
        return sorted(_key_of(p.name) for p in self._records())

    def sizes_sync(self) -> dict[str, int]:
        """{key: bytes of the stored value} (the record headers are not counted)."""
        sizes = {}
        for p in self._records():
            try:
                sizes[_key_of(p.name)] = max(p.stat().st_size - _HEADER.size, 0)
            except FileNotFoundError:  # deleted meanwhile
                pass
        return dict(sorted(sizes.items()))

    def size_sync(self) -> int:
        """Bytes of all stored values."""
        return sum(self.sizes_sync().values())

    def clear_sync(self) -> None:
        if not self.root.is_dir():
            return
        for p in self.root.iterdir():
            if p.name.endswith(RECORD_SUFFIX) or p.name.endswith(TEMP_SUFFIX):
                _remove_quietly(p)

    def _records(self):
        if not self.root.is_dir():
            return []
        return [
            p
            for p in self.root.iterdir()
            if p.name.endswith(RECORD_SUFFIX) and not p.name.startswith(".") and p.is_file()
        ]

    # -- the async interface shared with IndexedDBStore ------------------------------------------
    async def put(self, key: str, value) -> None:
        self.put_sync(key, value)

    async def get(self, key: str) -> bytes | None:
        return self.get_sync(key)

    async def delete(self, key: str) -> None:
        self.delete_sync(key)

    async def keys(self) -> list[str]:
        return self.keys_sync()

    async def size(self) -> int:
        return self.size_sync()

    async def sizes(self) -> dict[str, int]:
        return self.sizes_sync()

    async def clear(self) -> None:
        self.clear_sync()


def _check_record(data: bytes) -> str | None:
    """None if the record is whole and matches its sha256, else what is wrong with it."""
    if len(data) < _HEADER.size:
        return f"{len(data)} bytes, shorter than the {_HEADER.size}-byte header"
    magic, length, digest = _HEADER.unpack_from(data)
    if magic != MAGIC:
        return "not a pybrowserml record (bad magic)"
    if len(data) - _HEADER.size != length:
        return f"payload is {len(data) - _HEADER.size} bytes, the header says {length}"
    if hashlib.sha256(memoryview(data)[_HEADER.size :]).digest() != digest:
        return "sha256 mismatch"
    return None


def _remove_quietly(path) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _fsync_directory(path: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on every platform.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
