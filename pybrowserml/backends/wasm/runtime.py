"""The WASM runtime: one instance of kernels.wasm, its linear memory, and arrays living in it.

Python holds ``WasmArray`` handles (a pointer into the module's memory plus shape and dtype); the
data never leaves WASM memory unless Python asks (``download``). Memory is managed by the module's
own allocator (web/kernels/wasm/runtime.c: size classes, so a training loop reuses the same blocks
every step); a handle frees its block when the Python object dies (``WasmArray.__del__``).

Calls into the module go straight to its exports (``rt.exports.pb_xxx(int, ...)``): one Pyodide
FFI call (~1 us) per kernel, no JS wrapper in between. Moving data uses two small JS helpers that
view the numpy buffer in place (``getBuffer``, zero-copy) and copy it once into or out of WASM
memory: see docs/architecture.md and /work/shared/PLATFORM.md (FFI costs).

Threads: in a crossOriginIsolated page the runtime instantiates kernels_threads.wasm on a shared
memory and starts Web Workers that take tasks of the large kernels (threads.py, threads.c); Python
sees no difference. Elsewhere it uses the single-threaded kernels.wasm.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from ...browser import require_pyodide

log = logging.getLogger("pybrowserml.backends.wasm")

DTYPES = {"float32": np.dtype(np.float32), "int32": np.dtype(np.int32)}

# JS helpers for the two copies that cross the Python/WASM boundary.
# `array` is a PyProxy of a C-contiguous numpy array: getBuffer() views its memory without a copy.
_JS_HELPERS = r"""
({
  upload(memory, ptr, array) {
    const buf = array.getBuffer("u8");
    try { new Uint8Array(memory.buffer, ptr, buf.data.byteLength).set(buf.data); } finally { buf.release(); }
  },
  download(memory, ptr, array) {
    const buf = array.getBuffer("u8");
    try { buf.data.set(new Uint8Array(memory.buffer, ptr, buf.data.byteLength)); } finally { buf.release(); }
  },
})
"""


class WasmArray:
    """A handle to an array in WASM linear memory. Freed when this object is garbage collected."""

    __slots__ = ("ptr", "shape", "dtype", "size", "nbytes", "base", "_runtime", "__weakref__")

    def __init__(self, runtime: "WasmRuntime", ptr: int, shape: tuple, dtype: np.dtype, base=None):
        self.ptr = ptr
        self.shape = shape
        self.dtype = dtype
        self.size = _size(shape)
        self.nbytes = self.size * dtype.itemsize
        # A view (rt.view) shares its base's block and keeps the base alive; only owners free.
        self.base = base
        self._runtime = runtime if base is None else None

    def __del__(self):
        # __del__ rather than weakref.finalize: a training step makes ~100 arrays, and a finalizer's
        # bookkeeping cost ~10 us per array in Pyodide (measured), more than the kernel call itself.
        runtime = self._runtime
        if runtime is not None:
            self._runtime = None
            runtime._release(self.ptr, self.nbytes)

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"WasmArray(ptr={self.ptr}, shape={self.shape}, dtype={self.dtype})"


def _size(shape) -> int:
    return math.prod(map(int, shape))


class WasmRuntime:
    """One instantiated kernels.wasm: allocation, data movement, and the raw kernel exports."""

    def __init__(self, instance, helpers, memory=None, threads=1, workers=None):
        self.instance = instance
        self.exports = instance.exports
        # the threaded module imports its (shared) memory, the single-threaded one exports it
        self.memory_object = memory if memory is not None else self.exports.memory
        self.threads = threads
        self._workers = workers  # JS array of Web Workers (kept so they live as long as we do)
        self._helpers = helpers
        self._malloc = self.exports.pb_malloc
        self._free = self.exports.pb_free
        self._upload = helpers.upload
        self._download = helpers.download
        self.live_arrays = 0
        self.live_bytes = 0
        self._scratch: dict = {}  # slot -> (ptr, capacity in bytes); not counted as user arrays
        self._ptr_lists = [None] * 8  # rotating (ptr, capacity) slots for rt.ptr_list; not user arrays
        self._ptr_next = 0
        # Set by WasmBackend: fallback(kernel_name, args, attrs) runs a call on numpy instead,
        # for the cases a kernel module does not cover (e.g. a general broadcast).
        self.fallback = None

    @classmethod
    async def create(cls, threads=None) -> "WasmRuntime":
        """Instantiate the kernels. threads=None: use every core when the page is
        crossOriginIsolated, else one thread; threads=1: single-threaded; threads=n: n threads
        (needs cross-origin isolation)."""
        require_pyodide("the wasm backend")
        import js
        from pyodide.code import run_js

        from ...browser.assets import compile_wasm
        from . import threads as pool

        helpers = run_js(_JS_HELPERS)
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1 (or None for automatic), got {threads}")
        available = pool.threads_available()
        if threads is not None and threads > 1 and not available:
            raise RuntimeError(
                f"threads={threads} needs a crossOriginIsolated page (SharedArrayBuffer): serve it with "
                "'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp', "
                "or use threads=1")
        count = min(threads or pool.default_thread_count(), pool.MAX_THREADS) if available else 1
        if count > 1:
            try:
                module = await compile_wasm("kernels_threads.wasm")
                memory = pool.shared_memory()
                imports = run_js("(memory) => ({ env: { memory } })")(memory)
                instance = await js.WebAssembly.instantiate(module, imports)
                workers = await pool.start_workers(module, memory, instance.exports, count - 1)
                instance.exports.pb_set_threads(count)
                return cls(instance, helpers, memory=memory, threads=count, workers=workers)
            except Exception as error:  # e.g. a Content-Security-Policy that forbids blob: workers
                if threads is not None:
                    raise
                log.warning("wasm backend: could not start %d worker threads (%s); running single-threaded",
                            count - 1, error)
        module = await compile_wasm("kernels.wasm")
        instance = await js.WebAssembly.instantiate(module, js.Object.new())
        return cls(instance, helpers)

    # -- allocation ----------------------------------------------------------------------------
    def _alloc(self, nbytes: int) -> int:
        ptr = self._malloc(max(int(nbytes), 1))
        if not ptr:
            raise MemoryError(
                f"WASM memory is full: could not allocate {nbytes} bytes "
                f"(heap {self.exports.pb_heap_bytes()} bytes); use smaller batches or models")
        return ptr

    def _release(self, ptr: int, nbytes: int) -> None:
        self._free(ptr)
        self.live_arrays -= 1
        self.live_bytes -= nbytes

    def empty(self, shape, dtype="float32") -> WasmArray:
        """An uninitialised array of `shape` (float32 or int32) in WASM memory."""
        dt = _dtype(dtype)
        shape = tuple(map(int, shape))
        if shape and min(shape) < 0:
            raise ValueError(f"negative dimension in shape {shape}")
        nbytes = _size(shape) * dt.itemsize
        array = WasmArray(self, self._alloc(nbytes), shape, dt)
        self.live_arrays += 1
        self.live_bytes += nbytes
        return array

    def view(self, array: WasmArray, shape) -> WasmArray:
        """The same data under another shape (a reshape without copying, like numpy's views)."""
        shape = tuple(int(d) for d in shape)
        if _size(shape) != array.size:
            raise ValueError(f"cannot view an array of {array.size} elements as shape {shape}")
        owner = array.base if array.base is not None else array
        return WasmArray(self, array.ptr, shape, array.dtype, base=owner)

    def zeros(self, shape, dtype="float32") -> WasmArray:
        array = self.empty(shape, dtype)
        if array.size:
            self.exports.pb_fill_f32(array.ptr, 0.0, array.size)  # 0.0f and 0 share their bits
        return array

    def scratch(self, nbytes: int, slot: int = 0) -> int:
        """A pointer to >= nbytes of workspace, reused across calls: valid for one kernel call."""
        ptr, capacity = self._scratch.get(slot, (0, 0))
        if nbytes > capacity:
            if ptr:
                self._free(ptr)
            capacity = max(int(nbytes), capacity * 3 // 2, 256)
            ptr = self._alloc(capacity)
            self._scratch[slot] = (ptr, capacity)
        return ptr

    def ptr_list(self, arrays) -> int:
        """An int32 array of the arrays' pointers in WASM memory, for kernels taking lists
        (concat, optimizer updates). Valid until 8 more ptr_list calls: enough for one kernel call
        (e.g. adam_update's params, grads, ms and vs lists)."""
        slot = self._ptr_next
        self._ptr_next = (slot + 1) % len(self._ptr_lists)
        pointers = np.array([a.ptr for a in arrays], dtype=np.int32)
        ptr, capacity = self._ptr_lists[slot] or (0, 0)
        if pointers.nbytes > capacity:
            if ptr:
                self._free(ptr)
            capacity = max(pointers.nbytes, 2 * capacity, 64)
            ptr = self._alloc(capacity)
            self._ptr_lists[slot] = (ptr, capacity)
        if len(pointers):
            self._upload(self.memory_object, ptr, pointers)
        return ptr

    # -- data movement ---------------------------------------------------------------------------
    def upload(self, values) -> WasmArray:
        """One copy of a host array into a new WASM array (float64 -> float32, ints -> int32)."""
        host = _host(values)
        array = self.empty(host.shape, host.dtype)
        if array.nbytes:
            self._upload(self.memory_object, array.ptr, host)
        return array

    def write(self, array: WasmArray, values) -> None:
        """Overwrite an existing WASM array in place with host values of the same shape."""
        host = _host(values, array.dtype)
        if host.shape != array.shape:
            raise ValueError(f"cannot write an array of shape {host.shape} into one of shape {array.shape}")
        if array.nbytes:
            self._upload(self.memory_object, array.ptr, host)

    def download(self, array: WasmArray) -> np.ndarray:
        """One copy of a WASM array into a new numpy array."""
        out = np.empty(array.shape, dtype=array.dtype)
        if array.nbytes:
            flat = out.reshape(-1)  # 0-d arrays: getBuffer is only asked for a 1-d view
            self._download(self.memory_object, array.ptr, flat)
        return out

    def memory(self) -> dict:
        return {
            "arrays": self.live_arrays,
            "bytes": self.live_bytes,
            "heap_bytes": int(self.exports.pb_heap_bytes()),
            "memory_bytes": int(self.memory_object.buffer.byteLength),
            "threads": self.threads,
        }


# np.dtype(x) and dtype.name cost microseconds each in Pyodide: the usual spellings are looked up here.
_DTYPE_OF = {**DTYPES, **{dt: dt for dt in DTYPES.values()}, np.float32: DTYPES["float32"], np.int32: DTYPES["int32"]}


def _dtype(dtype) -> np.dtype:
    dt = _DTYPE_OF.get(dtype)
    if dt is not None:
        return dt
    dt = np.dtype(dtype)
    if dt.name not in DTYPES:
        raise TypeError(f"the wasm backend stores float32 and int32 arrays, not {dt.name}")
    return dt


def _host(values, dtype=None) -> np.ndarray:
    """A C-contiguous float32/int32 numpy array for `values` (what the WASM side can hold)."""
    array = np.asarray(values)
    if dtype is None:
        if array.dtype == np.float32 or array.dtype == np.int32:
            dtype = array.dtype
        elif array.dtype.kind in "iub":
            dtype = np.dtype(np.int32)
        elif array.dtype.kind == "f":
            dtype = np.dtype(np.float32)
        else:
            raise TypeError(f"the wasm backend cannot hold arrays of dtype {array.dtype}")
    return np.asarray(array, dtype=dtype, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
