"""DirectoryStore: the CPython side of pybrowserml.storage (atomic writes, verified reads)."""

import asyncio
import errno
import os

import numpy as np
import pytest

from pybrowserml import storage
from pybrowserml.storage import (
    CorruptRecordError,
    DirectoryStore,
    QuotaExceededError,
    StorageUnavailableError,
    directory_store,
)


@pytest.fixture
def store(tmp_path):
    return DirectoryStore(tmp_path / "ns")


def test_put_get_keys_sizes_delete_clear(store):
    store.put_sync("v1/fashion_mnist/abc", b"\x00\x01\x02")
    store.put_sync("weird key é/../x", b"hello world")
    assert store.get_sync("v1/fashion_mnist/abc") == b"\x00\x01\x02"
    assert store.get_sync("weird key é/../x") == b"hello world"
    assert store.get_sync("absent") is None
    assert store.keys_sync() == ["v1/fashion_mnist/abc", "weird key é/../x"]
    assert store.sizes_sync() == {"v1/fashion_mnist/abc": 3, "weird key é/../x": 11}
    assert store.size_sync() == 14
    # Keys never escape the store directory, whatever characters they hold.
    assert all(p.parent == store.root for p in store.root.iterdir())
    store.delete_sync("v1/fashion_mnist/abc")
    store.delete_sync("absent")  # deleting a missing key is not an error
    assert store.keys_sync() == ["weird key é/../x"]
    store.clear_sync()
    assert store.keys_sync() == [] and store.size_sync() == 0


def test_async_interface_matches_the_sync_one(store):
    async def scenario():
        await store.put("k", memoryview(b"abcdef")[1:4])
        value = await store.get("k")
        keys = await store.keys()
        size = await store.size()
        await store.delete("k")
        return value, keys, size, await store.keys()

    assert asyncio.run(scenario()) == (b"bcd", ["k"], 3, [])


def test_overwrite_replaces_the_whole_value(store):
    store.put_sync("k", b"a much longer first value")
    store.put_sync("k", b"short")
    assert store.get_sync("k") == b"short"
    assert store.keys_sync() == ["k"]


def test_a_write_is_invisible_until_complete(store, monkeypatch):
    store.put_sync("k", b"old value")
    seen_during_write = {}
    real_fsync = os.fsync

    def fsync_then_look(fd):
        real_fsync(fd)
        # The new bytes are fully on disk in the temporary file but not yet renamed over the record.
        if "keys" not in seen_during_write:
            seen_during_write["keys"] = store.keys_sync()
            seen_during_write["k"] = store.get_sync("k")
            seen_during_write["new"] = store.get_sync("new")

    monkeypatch.setattr(directory_store.os, "fsync", fsync_then_look)
    store.put_sync("k", b"new value")
    assert seen_during_write == {"keys": ["k"], "k": b"old value", "new": None}
    assert store.get_sync("k") == b"new value"


def test_an_interrupted_write_leaves_the_old_value_and_no_temporary_file(store, monkeypatch):
    store.put_sync("k", b"old value")

    def crash(src, dst):
        raise KeyboardInterrupt  # the process dies between writing and renaming

    monkeypatch.setattr(directory_store.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.put_sync("k", b"new value")
    with pytest.raises(KeyboardInterrupt):
        store.put_sync("other", b"value")
    monkeypatch.undo()
    assert store.get_sync("k") == b"old value"
    assert store.keys_sync() == ["k"]
    assert sorted(p.name for p in store.root.iterdir()) == [directory_store._file_name("k")]


def test_a_leftover_temporary_file_is_never_a_key(store):
    store.put_sync("k", b"v")
    (store.root / (".k.rec.abc" + directory_store.TEMP_SUFFIX)).write_bytes(b"half written")
    assert store.keys_sync() == ["k"]
    assert store.size_sync() == 1
    store.clear_sync()
    assert list(store.root.iterdir()) == []


@pytest.mark.parametrize("damage", ["flip a payload byte", "truncate", "bad magic", "too short"])
def test_a_corrupt_record_raises_and_is_deleted(store, damage):
    store.put_sync("k", bytes(range(200)))
    path = store.root / directory_store._file_name("k")
    data = bytearray(path.read_bytes())
    if damage == "flip a payload byte":
        data[-10] ^= 0xFF
    elif damage == "truncate":
        data = data[:-1]
    elif damage == "bad magic":
        data[0:8] = b"NOTAREC!"
    else:
        data = data[:10]
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptRecordError, match="'k'.*corrupt.*deleted"):
        store.get_sync("k")
    assert not path.exists()
    assert store.get_sync("k") is None


def test_disk_full_maps_to_quota_exceeded_and_writes_nothing(store, monkeypatch):
    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(directory_store.os, "replace", disk_full)
    with pytest.raises(QuotaExceededError, match="no space left"):
        store.put_sync("k", b"value")
    monkeypatch.undo()
    assert store.keys_sync() == []
    assert list(store.root.iterdir()) == []


def test_an_unwritable_location_is_storage_unavailable(tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_bytes(b"")
    store = DirectoryStore(blocker / "ns")
    with pytest.raises(StorageUnavailableError, match="PYBROWSERML_CACHE_DIR"):
        store.put_sync("k", b"v")
    assert store.keys_sync() == [] and store.get_sync("k") is None


@pytest.mark.parametrize(
    "key, error", [("", TypeError), (3, TypeError), ("x" * 201, ValueError), ("a\x00b", ValueError)]
)
def test_bad_keys_are_refused(store, key, error):
    with pytest.raises(error):
        store.put_sync(key, b"v")


def test_values_must_be_bytes_like(store):
    with pytest.raises(TypeError, match="bytes-like"):
        store.put_sync("k", "a str")
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    store.put_sync("array", array)  # any contiguous buffer is stored as its bytes, without a copy
    assert store.get_sync("array") == array.tobytes()
    with pytest.raises(ValueError, match="contiguous"):
        store.put_sync("k", array[:, ::2])


def test_open_store_picks_a_directory_under_the_cache_dir_in_cpython(tmp_path, monkeypatch):
    monkeypatch.setenv("PYBROWSERML_CACHE_DIR", str(tmp_path))
    store = storage.open_store("datasets")
    assert isinstance(store, DirectoryStore)
    assert store.root == tmp_path / "datasets"
    assert storage.open_store("models", backend="directory").root == tmp_path / "models"


def test_open_store_refuses_bad_arguments():
    with pytest.raises(ValueError, match="unknown storage backend 'redis'"):
        storage.open_store("datasets", backend="redis")
    with pytest.raises(ValueError, match="namespace"):
        storage.open_store("../escape")


def test_indexeddb_in_cpython_says_it_needs_a_browser():
    store = storage.open_store("datasets", backend="indexeddb")
    with pytest.raises(StorageUnavailableError, match="only in a browser"):
        asyncio.run(store.get("k"))
