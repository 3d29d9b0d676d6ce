"""DatasetCache over the directory store: hits, versioned keys, list/size/remove/clear, and every
failure (corrupt record, quota, unusable store) ending with the data loaded from its source."""

import asyncio
import errno
import gzip
import re
import threading
import warnings
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

import pybrowserml.data as data
from pybrowserml.data import CacheWarning, DatasetCache, formats
from pybrowserml.data import cache as cache_module
from pybrowserml.storage import DirectoryStore, directory_store


@pytest.fixture
def cache(tmp_path):
    return DatasetCache(DirectoryStore(tmp_path / "datasets"))


class Source:
    """A data source that counts how often it is fetched."""

    def __init__(self, payload: bytes):
        self.payload = payload
        self.fetches = 0

    async def fetch(self):
        self.fetches += 1
        return self.payload


def load(cache, name, identity, source):
    return asyncio.run(cache.load(name, identity, source.fetch))


def test_second_load_comes_from_the_cache(cache):
    source = Source(b"dataset bytes" * 1000)
    assert load(cache, "fm", "http://host/fm/", source) == source.payload
    assert load(cache, "fm", "http://host/fm/", source) == source.payload
    assert source.fetches == 1


def test_keys_are_versioned_and_depend_on_the_source(cache):
    key = DatasetCache.key("fashion_mnist", "http://host/a/")
    assert re.fullmatch(rf"v{cache_module.FORMAT_VERSION}/fashion_mnist/[0-9a-f]{{64}}", key)
    assert DatasetCache.key("fashion_mnist", "http://host/b/") != key
    assert DatasetCache.key("x", b"content") != DatasetCache.key("x", b"content2")
    source_a, source_b = Source(b"A"), Source(b"B")
    assert load(cache, "same", "http://host/a/", source_a) == b"A"
    assert load(cache, "same", "http://host/b/", source_b) == b"B"  # another source is never a stale hit
    with pytest.raises(ValueError, match="without '/'"):
        DatasetCache.key("a/b", "x")


def test_list_size_remove_clear(cache):
    load(cache, "fashion_mnist", "u1", Source(b"x" * 100))
    load(cache, "mnist", "u2", Source(b"y" * 30))
    load(cache, "mnist", "u3", Source(b"z" * 20))
    cache.store.put_sync("not-a-dataset-key", b"ignored by list")
    listing = cache.list_sync()
    assert sorted((r["name"], r["bytes"]) for r in listing) == [("fashion_mnist", 100), ("mnist", 20), ("mnist", 30)]
    assert all(r["version"] == str(cache_module.FORMAT_VERSION) for r in listing)
    assert cache.size_sync() == 150
    assert cache.remove_sync("mnist") == 2
    assert [r["name"] for r in cache.list_sync()] == ["fashion_mnist"]
    cache.clear_sync()
    assert cache.list_sync() == [] and cache.size_sync() == 0


def test_a_corrupt_record_warns_and_reloads_from_the_source(cache):
    source = Source(bytes(range(256)) * 10)
    load(cache, "fm", "u", source)
    path = cache.store.root / directory_store._file_name(DatasetCache.key("fm", "u"))
    damaged = bytearray(path.read_bytes())
    damaged[-1] ^= 1
    path.write_bytes(bytes(damaged))
    with pytest.warns(CacheWarning, match="corrupt.*loading fm from its source"):
        assert load(cache, "fm", "u", source) == source.payload
    assert source.fetches == 2
    assert cache.store.get_sync(DatasetCache.key("fm", "u")) == source.payload  # re-cached, whole


def test_quota_exceeded_warns_loads_and_leaves_no_record(cache, monkeypatch):
    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(directory_store.os, "replace", disk_full)
    source = Source(b"too big")
    with pytest.warns(CacheWarning, match="not cached.*no space left"):
        assert load(cache, "fm", "u", source) == b"too big"
    monkeypatch.undo()
    assert cache.list_sync() == []
    assert list(cache.store.root.iterdir()) == []


def test_an_unusable_store_warns_once_and_every_load_still_works(tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_bytes(b"")
    cache = DatasetCache(DirectoryStore(blocker / "datasets"))
    source = Source(b"data")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert load(cache, "fm", "u", source) == b"data"
        assert load(cache, "fm", "u", source) == b"data"
    messages = [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]
    assert len(messages) == 1 and "cache unavailable" in messages[0]
    assert cache.disabled_reason is not None
    assert source.fetches == 2


def test_a_fetch_error_propagates_and_caches_nothing(cache):
    async def failing():
        raise OSError("network down")

    with pytest.raises(OSError, match="network down"):
        asyncio.run(cache.load("fm", "u", failing))
    assert cache.list_sync() == []


class CountingHandler(SimpleHTTPRequestHandler):
    requests: list = []

    def do_GET(self):
        type(self).requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = type("Handler", (CountingHandler,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}", handler.requests
    server.shutdown()
    server.server_close()


def test_load_from_url_caches_so_the_second_load_makes_no_request(http_server, tmp_path, monkeypatch):
    monkeypatch.setenv("PYBROWSERML_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache_module, "_default", None)
    root, origin, requests = http_server
    labels = np.arange(10, dtype=np.uint8)
    (root / "labels-idx1-ubyte.gz").write_bytes(gzip.compress(formats.encode_idx(labels)))
    first = data.load_from_url(origin + "/labels-idx1-ubyte.gz")
    second = data.load_from_url(origin + "/labels-idx1-ubyte.gz")
    np.testing.assert_array_equal(first, labels)
    np.testing.assert_array_equal(second, labels)
    assert requests == ["/labels-idx1-ubyte.gz"]
    assert [r["name"] for r in data.default_cache().list_sync()] == ["labels-idx1-ubyte.gz"]
    with pytest.raises(data.DatasetSourceError, match="HTTP 404"):
        data.load_from_url(origin + "/missing.gz")


def test_load_fashion_mnist_from_a_url_is_cached_as_parsed_arrays(http_server, tmp_path, monkeypatch):
    monkeypatch.setenv("PYBROWSERML_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache_module, "_default", None)
    root, origin, requests = http_server
    rng = np.random.default_rng(0)
    files = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.arange(6, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.array([3, 4], dtype=np.uint8),
    }
    (root / "fm").mkdir()
    for stem, array in files.items():
        (root / "fm" / (stem + ".gz")).write_bytes(formats.encode_idx(array, compress=True))
    first = data.load_fashion_mnist(origin + "/fm/")
    assert len(requests) == 4
    second = data.load_fashion_mnist(origin + "/fm")  # same prefix without the slash: same cache entry
    assert len(requests) == 4
    (x_train, y_train), (x_test, y_test) = second
    assert x_train.shape == (6, 28, 28, 1) and y_test.tolist() == [3, 4] and y_train.dtype == np.int32
    np.testing.assert_array_equal(x_train[..., 0], files["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(first[0][0], x_train)


def test_run_sync_refuses_a_coroutine_that_must_wait():
    from pybrowserml.data._sync import run_sync

    class Pending:  # what an awaitable the browser resolves later (a JS promise) hands its driver
        def __await__(self):
            yield self

    async def waits():
        await Pending()

    async def returns():
        return 42

    assert run_sync(returns()) == 42
    with pytest.raises(RuntimeError, match="_async variant with await"):
        run_sync(waits())
