// The JS side of pybrowserml's IndexedDB key-value store (pybrowserml/storage/indexeddb_store.py).
//
// One database per namespace ("pybrowserml:<namespace>") with two object stores:
//   manifests: key -> {key, size, sha256, chunkCount, chunkSize, savedAt}
//   chunks:    [key, index] -> Uint8Array (at most chunkSize bytes)
// A value is written as all of its chunks plus its manifest in ONE readwrite transaction, and put()
// resolves on the transaction's `complete` event (not a request's `success`: closing right after
// `success` has lost writes). If anything fails the transaction aborts and IndexedDB rolls back every
// chunk, so a reader finds either the old value or the whole new one. Python verifies the sha256.
//
// Every exported function resolves to {ok: true, value} or {ok: false, name, message} instead of
// rejecting, so Python maps errors by name without depending on how exceptions cross the FFI.
// This module must stay self-contained: it is imported from the wheel through a Blob URL.

const MANIFESTS = "manifests";
const CHUNKS = "chunks";

function failure(name, message) {
  return { ok: false, name, message };
}

function errorName(error) {
  return (error && error.name) || "Error";
}

function describe(error) {
  return (error && (error.message || error.name)) || String(error);
}

// Map a DOMException from IndexedDB onto the Python error names.
function mapError(error, what) {
  const name = errorName(error);
  if (name === "InvalidStateError" && /clos/i.test(describe(error))) {
    // The connection was closed (e.g. by onversionchange when another tab upgraded): Python reopens.
    return failure("ConnectionClosed", `the IndexedDB connection was closed while ${what}`);
  }
  if (name === "QuotaExceededError") {
    return failure("QuotaExceededError", `storage quota exceeded while ${what} (${describe(error)})`);
  }
  if (name === "InvalidStateError" || name === "UnknownError" || name === "SecurityError") {
    return failure("StorageUnavailableError", `IndexedDB failed while ${what}: ${name}: ${describe(error)}`);
  }
  return failure(name, `IndexedDB failed while ${what}: ${describe(error)}`);
}

function hasSchema(db) {
  return db.objectStoreNames.contains(MANIFESTS) && db.objectStoreNames.contains(CHUNKS);
}

function createSchema(db) {
  if (!db.objectStoreNames.contains(MANIFESTS)) db.createObjectStore(MANIFESTS);
  if (!db.objectStoreNames.contains(CHUNKS)) db.createObjectStore(CHUNKS);
}

// Databases whose upgrade request is still pending, blocked by another tab. A later open of the same
// database would queue behind that request and never answer, so it fails at once instead.
const blockedUpgrades = new Set();
const OPEN_TIMEOUT_MS = 15000;

// Open (creating or upgrading) the database. `version` undefined opens whatever version exists, so a
// database created by a newer release is never refused with a VersionError.
function openRequest(name, version) {
  if (blockedUpgrades.has(name)) {
    return Promise.resolve(failure("StorageUnavailableError",
      `IndexedDB database "${name}" is still blocked by another tab or page holding an older version open; ` +
      "close other tabs of this site and reload"));
  }
  return new Promise((resolve) => {
    let request;
    try {
      request = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
    } catch (error) {  // e.g. SecurityError in an opaque origin
      resolve(failure("StorageUnavailableError", `IndexedDB cannot be opened here: ${errorName(error)}: ${describe(error)}`));
      return;
    }
    let settled = false;
    // Something else may hold the database in a way that never fires blocked (e.g. another tab's
    // pending upgrade): give up after a while rather than hang the caller.
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      blockedUpgrades.add(name);
      resolve(failure("StorageUnavailableError",
        `IndexedDB database "${name}" did not open within ${OPEN_TIMEOUT_MS / 1000} s (another tab may be ` +
        "upgrading or holding it); close other tabs of this site and reload"));
    }, OPEN_TIMEOUT_MS);
    const finish = () => { clearTimeout(timer); blockedUpgrades.delete(name); };
    request.onupgradeneeded = () => createSchema(request.result);
    request.onsuccess = () => {
      finish();
      const db = request.result;
      if (settled) { db.close(); return; }  // we already gave up (blocked); don't keep it open
      settled = true;
      // Let a newer version (another tab, a newer release) upgrade: close instead of blocking it.
      db.onversionchange = () => db.close();
      resolve({ ok: true, value: db });
    };
    request.onerror = (event) => {
      finish();
      if (event && event.preventDefault) event.preventDefault();
      if (settled) return;
      settled = true;
      resolve(failure("StorageUnavailableError", `IndexedDB refused to open "${name}": ${errorName(request.error)}: ${describe(request.error)}`));
    };
    request.onblocked = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      blockedUpgrades.add(name);  // until this request finally succeeds or fails
      resolve(failure("StorageUnavailableError",
        `IndexedDB database "${name}" is blocked: another tab or page holds an older version of it open; ` +
        "close other tabs of this site and reload"));
    };
  });
}

export async function openDatabase(name) {
  if (typeof indexedDB === "undefined" || indexedDB === null) {
    return failure("StorageUnavailableError", "IndexedDB is not available in this context (private mode, a sandboxed frame or an old browser)");
  }
  const first = await openRequest(name, undefined);
  if (!first.ok) return first;
  const db = first.value;
  if (hasSchema(db)) return first;
  // The database exists without our object stores (created by something else, or an older schema):
  // upgrade it one version up, which creates them.
  const next = db.version + 1;
  db.close();
  return openRequest(name, next);
}

export function closeDatabase(db) {
  db.close();
}

// Resolve when the transaction commits; map an abort or error to a failure.
function whenComplete(tx, what) {
  return new Promise((resolve) => {
    tx.oncomplete = () => resolve({ ok: true, value: null });
    tx.onabort = () => resolve(mapError(tx.error, what));
    tx.onerror = (event) => { /* the abort handler reports it */ };
  });
}

function chunkRange(key) {
  return IDBKeyRange.bound([key, 0], [key, Infinity]);
}

// value: a PyProxy of a Python bytes-like object. Its buffer is a view into the WASM heap that a heap
// growth would detach, so every chunk is copied out synchronously, before the first await.
export async function put(db, key, value, sha256, chunkSize) {
  const chunks = [];
  let size = 0;
  let digest = null;
  const buffer = value.getBuffer("u8");
  try {
    const bytes = buffer.data;
    size = bytes.length;
    if (!sha256) digest = sha256Hex(bytes);  // digest() copies its input synchronously
    // slice() copies into a buffer of exactly that chunk; storing a subarray would make the structured
    // clone serialise the whole WASM heap behind it.
    for (let start = 0; start < size; start += chunkSize) {
      chunks.push(bytes.slice(start, Math.min(start + chunkSize, size)));
    }
  } finally {
    buffer.release();
  }
  if (!sha256) sha256 = await digest;
  let tx;
  try {
    tx = db.transaction([MANIFESTS, CHUNKS], "readwrite");
  } catch (error) {
    return mapError(error, `storing "${key}"`);
  }
  const done = whenComplete(tx, `storing "${key}" (${size} bytes)`);
  try {
    const chunkStore = tx.objectStore(CHUNKS);
    const manifestStore = tx.objectStore(MANIFESTS);
    chunkStore.delete(chunkRange(key));  // an older, longer value must not leave chunks behind
    chunks.forEach((chunk, index) => chunkStore.put(chunk, [key, index]));
    manifestStore.put({ key, size, sha256, chunkCount: chunks.length, chunkSize, savedAt: Date.now() }, key);
  } catch (error) {
    // A synchronous throw (e.g. a QuotaExceededError from put) leaves the transaction active: abort it
    // so nothing of this value is committed, then report the original error.
    try { tx.abort(); } catch (_) { /* already finished */ }
    await done;
    return mapError(error, `storing "${key}" (${size} bytes)`);
  }
  return done;
}

function requestResult(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// Whether this context can hash natively (crypto.subtle exists only in secure contexts: https, localhost).
export function canDigest() {
  return typeof crypto !== "undefined" && !!crypto.subtle && typeof crypto.subtle.digest === "function";
}

// A promise of the hex sha256 of bytes (native: far faster than hashlib in WASM). Call canDigest() first.
function sha256Hex(bytes) {
  return crypto.subtle.digest("SHA-256", bytes).then((hash) =>
    Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join(""));
}

// Resolves to {ok: true, value: null} when absent, else {ok: true, value: {manifest, chunkCount, bytes,
// sha256}}: bytes is the chunks joined (null if they do not add up to manifest.size), sha256 their hex
// digest when `digest` is true (else null, and Python hashes). Python compares both with the manifest.
export async function get(db, key, digest) {
  let tx;
  try {
    tx = db.transaction([MANIFESTS, CHUNKS], "readonly");
  } catch (error) {
    return mapError(error, `reading "${key}"`);
  }
  let manifest, chunks;
  try {
    [manifest, chunks] = await Promise.all([
      requestResult(tx.objectStore(MANIFESTS).get(key)),
      requestResult(tx.objectStore(CHUNKS).getAll(chunkRange(key))),
    ]);
  } catch (error) {
    return mapError(error, `reading "${key}"`);
  }
  if (manifest === undefined) return { ok: true, value: null };
  const size = manifest && Number.isInteger(manifest.size) ? manifest.size : -1;
  const bytes = size >= 0 ? concat(chunks, size) : null;
  const sha256 = bytes !== null && digest ? await sha256Hex(bytes) : null;
  return { ok: true, value: { manifest, chunkCount: chunks.length, bytes, sha256 } };
}

// Concatenate chunks into one Uint8Array (one copy), for Python to take with to_bytes().
function concat(chunks, size) {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    const bytes = chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk);
    if (offset + bytes.length > size) return null;  // more data than the manifest says: corrupt
    out.set(bytes, offset);
    offset += bytes.length;
  }
  return offset === size ? out : null;
}

export async function remove(db, key) {
  let tx;
  try {
    tx = db.transaction([MANIFESTS, CHUNKS], "readwrite");
  } catch (error) {
    return mapError(error, `deleting "${key}"`);
  }
  const done = whenComplete(tx, `deleting "${key}"`);
  tx.objectStore(MANIFESTS).delete(key);
  tx.objectStore(CHUNKS).delete(chunkRange(key));
  return done;
}

export async function keys(db) {
  try {
    const tx = db.transaction([MANIFESTS], "readonly");
    const all = await requestResult(tx.objectStore(MANIFESTS).getAllKeys());
    return { ok: true, value: all.map(String).sort() };
  } catch (error) {
    return mapError(error, "listing keys");
  }
}

export async function manifests(db) {
  try {
    const tx = db.transaction([MANIFESTS], "readonly");
    return { ok: true, value: await requestResult(tx.objectStore(MANIFESTS).getAll()) };
  } catch (error) {
    return mapError(error, "listing records");
  }
}

export async function clear(db) {
  let tx;
  try {
    tx = db.transaction([MANIFESTS, CHUNKS], "readwrite");
  } catch (error) {
    return mapError(error, "clearing the store");
  }
  const done = whenComplete(tx, "clearing the store");
  tx.objectStore(MANIFESTS).clear();
  tx.objectStore(CHUNKS).clear();
  return done;
}
