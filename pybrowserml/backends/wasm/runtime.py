"""The WASM runtime: one instance of kernels.wasm, its linear memory, and arrays living in it.

Python holds ``WasmArray`` handles (a pointer into the module's memory plus shape and dtype); the
data never leaves WASM memory unless Python asks (``download``). Memory is managed by the module's
own allocator (csrc/runtime.c: size classes, so a training loop reuses the same blocks
every step); a handle frees its block when the Python object dies (``WasmArray.__del__``).

Only the one module a page runs is fetched, from beside the wheel, and compiled while it downloads
(modules.py says where it looks).

Calls into the module go straight to its exports (``rt.exports.pb_xxx(int, ...)``): one Pyodide
FFI call (~1 us) per kernel, no JS wrapper in between. Moving data uses two small JS helpers
(js/runtime.mjs) that view the numpy buffer in place (``getBuffer``, zero-copy) and copy it once into
or out of WASM memory: see docs/architecture.md.

Arrays are float32, int32 or uint8 (1 byte per element: image batches, converted on the device by
the from_uint8 kernel). Kernels check their operands' dtypes and hand anything else to the fallback.

Threads: in a crossOriginIsolated page the runtime instantiates kernels_threads.wasm on a shared
memory and starts Web Workers that take tasks of the large kernels (threads.py, csrc/threads.c); Python
sees no difference. Elsewhere it uses the single-threaded kernels.wasm.

Relaxed SIMD: each module has a twin built with fused multiply-adds (f32x4.relaxed_madd in the GEMM
micro-kernel and the depthwise loops; kernels_relaxed.wasm, kernels_threads_relaxed.wasm). It is
used when the engine validates a one-instruction relaxed-SIMD probe (current Chromium does), the
plain one otherwise (Safari, older browsers); ``relaxed_simd=False`` forces the plain one. The
choice is ``rt.relaxed_simd`` / ``rt.module_name``, shows in ``memory()`` and is logged (INFO).
"""

from __future__ import annotations

import logging
import math

import numpy as np

from ...browser import require_pyodide

log = logging.getLogger("pybrowserml.backends.wasm")

DTYPES = {"float32": np.dtype(np.float32), "int32": np.dtype(np.int32), "uint8": np.dtype(np.uint8)}
# The JS helpers, as a path inside the package (the compiled kernels are served beside the wheel: modules.py).
JS_HELPERS = "backends/wasm/js/runtime.mjs"

# The smallest module using relaxed SIMD: (func (param v128 v128 v128) (result v128)
#   (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))), 0xfd 0x85 0x02 = opcode 0x105.
# WebAssembly.validate() accepts it exactly where the relaxed kernels can run.
RELAXED_SIMD_PROBE = bytes(
    [
        0x00,
        0x61,
        0x73,
        0x6D,
        0x01,
        0x00,
        0x00,
        0x00,  # magic, version 1
        0x01,
        0x08,
        0x01,
        0x60,
        0x03,
        0x7B,
        0x7B,
        0x7B,
        0x01,
        0x7B,  # type: (v128 v128 v128) -> v128
        0x03,
        0x02,
        0x01,
        0x00,  # function 0 has type 0
        0x0A,
        0x0D,
        0x01,
        0x0B,
        0x00,  # code: 1 body of 11 bytes, no locals
        0x20,
        0x00,
        0x20,
        0x01,
        0x20,
        0x02,
        0xFD,
        0x85,
        0x02,
        0x0B,  # local.get 0..2, relaxed_madd, end
    ]
)
_relaxed_simd_supported = None


def relaxed_simd_supported() -> bool:
    """True when this engine validates relaxed SIMD (checked once per session)."""
    global _relaxed_simd_supported
    if _relaxed_simd_supported is None:
        import js
        from pyodide.ffi import to_js

        _relaxed_simd_supported = bool(js.WebAssembly.validate(to_js(memoryview(RELAXED_SIMD_PROBE))))
    return _relaxed_simd_supported


def module_name(threads: int, relaxed: bool) -> str:
    """The packaged kernels for a thread count and SIMD flavour."""
    return "kernels" + ("_threads" if threads > 1 else "") + ("_relaxed" if relaxed else "") + ".wasm"


def _choose_relaxed(relaxed_simd) -> bool:
    if relaxed_simd not in (None, True, False):
        raise ValueError(f"relaxed_simd must be None (automatic), True or False, got {relaxed_simd!r}")
    supported = relaxed_simd_supported()
    if relaxed_simd and not supported:
        raise RuntimeError(
            "relaxed_simd=True, but this browser does not support WebAssembly relaxed SIMD "
            "(WebAssembly.validate refused f32x4.relaxed_madd); use relaxed_simd=None or False"
        )
    return supported if relaxed_simd is None else relaxed_simd


class WasmArray:
    """A handle to an array in WASM linear memory. Freed when this object is garbage collected."""

    __slots__ = ("ptr", "shape", "dtype", "size", "nbytes", "base", "_runtime", "__weakref__")

    def __init__(self, runtime: WasmRuntime, ptr: int, shape: tuple, dtype: np.dtype, base=None, size=None):
        self.ptr = ptr
        self.shape = shape
        self.dtype = dtype
        self.size = _size(shape) if size is None else size
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
            runtime._free(self.ptr)  # inline, no helper call: this runs for every array of every step
            runtime.live_arrays -= 1
            runtime.live_bytes -= self.nbytes

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"WasmArray(ptr={self.ptr}, shape={self.shape}, dtype={self.dtype})"


class ConcatArray(WasmArray):
    """A concat along the last axis that is not copied until a kernel needs it in one block.

    Dense blocks concatenate every layer's output into the input of the next layers; the kernels that
    read those inputs (depthwise conv, global average pooling) take the parts as they are (`parts`),
    so the copy never happens. Any other use of ``ptr`` materialises the concat once (and keeps it).
    The parts must not change meanwhile: ops.concat asks for laziness only for non-Variable tensors,
    which nothing writes to in place."""

    __slots__ = ("parts", "_block")

    def __init__(self, runtime: WasmRuntime, parts: list, shape: tuple, dtype: np.dtype):
        super().__init__(runtime, 0, shape, dtype)
        self.parts = parts
        self._block = None

    def __del__(self):
        pass  # the parts and the materialised block free themselves

    @property
    def ptr(self):
        if self._block is None:
            rt, shape = self._runtime, self.shape
            block = rt.empty(shape, self.dtype)
            if block.size:
                rt.copy_side_by_side(self.parts, block, block.size // shape[-1], [p.shape[-1] for p in self.parts])
            self._block = block
        return self._block.ptr

    @ptr.setter
    def ptr(self, value):
        pass  # WasmArray.__init__ sets it; a lazy concat has no address until it is materialised

    @property
    def materialized(self) -> bool:
        return self._block is not None

    def __repr__(self):
        return f"ConcatArray(parts={len(self.parts)}, shape={self.shape}, materialized={self.materialized})"


def _size(shape) -> int:
    return math.prod(map(int, shape))


class WasmRuntime:
    """One instantiated kernels.wasm: allocation, data movement, and the raw kernel exports."""

    def __init__(self, instance, helpers, memory=None, threads=1, workers=None, relaxed_simd=False):
        self.instance = instance
        self.exports = instance.exports
        # the threaded module imports its (shared) memory, the single-threaded one exports it
        self.memory_object = memory if memory is not None else self.exports.memory
        self.threads = threads
        self.relaxed_simd = bool(relaxed_simd)  # fused multiply-add kernels (kernels*_relaxed.wasm)
        self.module_name = module_name(threads, self.relaxed_simd)
        self._workers = workers  # JS array of Web Workers (kept so they live as long as we do)
        self._helpers = helpers
        self._malloc = self.exports.pb_malloc
        self._copy_rows = self.exports.pb_copy_rows
        self._free = self.exports.pb_free
        self._upload = helpers.upload
        self._download = helpers.download
        self.live_arrays = 0
        self.live_bytes = 0
        self._scratch: dict = {}  # slot -> (ptr, capacity in bytes); not counted as user arrays
        # Rotating (ptr, capacity) slots for rt.int_list; not user arrays. Allocated up front: a step asks
        # for a number of lists that need not be a multiple of 8, so every slot would otherwise be
        # reached (and the heap grown) for the first time only after several steps.
        self._ptr_lists = [(self._alloc(1024), 1024) for _ in range(8)]
        self._ptr_next = 0
        self._kept_lists = {}  # tuple of ints -> its int32 copy, for rt.int_list(keep=True)
        # Set by WasmBackend: fallback(kernel_name, args, attrs) runs a call on numpy instead,
        # for the cases a kernel module does not cover (e.g. a general broadcast).
        self.fallback = None

    @classmethod
    async def create(cls, threads=None, relaxed_simd=None) -> WasmRuntime:
        """Instantiate the kernels. threads=None: use every core when the page is
        crossOriginIsolated, else one thread; threads=1: single-threaded; threads=n: n threads
        (needs cross-origin isolation). relaxed_simd=None: the fused multiply-add kernels where the
        browser supports relaxed SIMD, else the plain ones; False: always the plain ones; True:
        the relaxed ones or an error."""
        require_pyodide("the wasm backend")
        import js
        from pyodide.code import run_js

        from ...browser.assets import import_module
        from . import threads as pool
        from .modules import KernelsUnavailable, compile_kernels

        helpers = await import_module(JS_HELPERS)
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1 (or None for automatic), got {threads}")
        available = pool.threads_available()
        if threads is not None and threads > 1 and not available:
            raise RuntimeError(
                f"threads={threads} needs a crossOriginIsolated page (SharedArrayBuffer): serve it with "
                "'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp', "
                "or use threads=1"
            )
        relaxed = _choose_relaxed(relaxed_simd)
        count = min(threads or pool.default_thread_count(), pool.MAX_THREADS) if available else 1
        if count > 1:
            try:
                module = await compile_kernels(module_name(count, relaxed), helpers)
                memory = pool.shared_memory()
                imports = run_js("(memory) => ({ env: { memory } })")(memory)
                instance = await js.WebAssembly.instantiate(module, imports)
                workers = await pool.start_workers(module, memory, instance.exports, count - 1)
                instance.exports.pb_set_threads(count)
                return cls._log(
                    cls(instance, helpers, memory=memory, threads=count, workers=workers, relaxed_simd=relaxed),
                    relaxed_simd,
                )
            except KernelsUnavailable:
                raise  # not served: the single-threaded module would not be either, and the message says why
            except Exception as error:  # e.g. a Content-Security-Policy that forbids blob: workers
                if threads is not None:
                    raise
                log.warning(
                    "wasm backend: could not start %d worker threads (%s); running single-threaded", count - 1, error
                )
        module = await compile_kernels(module_name(1, relaxed), helpers)
        instance = await js.WebAssembly.instantiate(module, js.Object.new())
        return cls._log(cls(instance, helpers, relaxed_simd=relaxed), relaxed_simd)

    @staticmethod
    def _log(runtime: WasmRuntime, asked) -> WasmRuntime:
        if runtime.relaxed_simd:
            flavour = "relaxed SIMD (fused multiply-add)"
        elif asked is False:
            flavour = "plain SIMD (relaxed_simd=False)"
        else:
            flavour = "plain SIMD (this browser has no relaxed SIMD)"
        log.info("wasm backend: %s, %d thread(s), %s", runtime.module_name, runtime.threads, flavour)
        return runtime

    # -- allocation ----------------------------------------------------------------------------
    def _alloc(self, nbytes: int) -> int:
        ptr = self._malloc(max(int(nbytes), 1))
        if not ptr:
            raise MemoryError(
                f"WASM memory is full: could not allocate {nbytes} bytes "
                f"(heap {self.exports.pb_heap_bytes()} bytes); use smaller batches or models"
            )
        return ptr

    def empty(self, shape, dtype="float32") -> WasmArray:
        """An uninitialised array of `shape` (float32, int32 or uint8) in WASM memory."""
        # ~100 arrays per training step: this path is kept short (one size computation, no helper calls)
        dt = _DTYPE_OF.get(dtype) or _dtype(dtype)
        shape = tuple(map(int, shape))
        size = math.prod(shape)
        if shape and min(shape) < 0:
            raise ValueError(f"negative dimension in shape {shape}")
        nbytes = size * dt.itemsize
        ptr = self._malloc(nbytes or 1)
        if not ptr:
            self._alloc(nbytes)  # raises the MemoryError that says what to do
        array = WasmArray(self, ptr, shape, dt, None, size)
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

    def copy_side_by_side(self, parts, out: WasmArray, rows: int, widths) -> None:
        """concat's copy: out (rows, sum(widths)) = the parts (rows, widths[i]) side by side, one
        strided copy per part (32-bit elements)."""
        total, offset = sum(widths), 0
        for part, width in zip(parts, widths):
            if width:
                self._copy_rows(part.ptr, width, out.ptr + 4 * offset, total, rows, width)
            offset += width

    def zeros(self, shape, dtype="float32") -> WasmArray:
        array = self.empty(shape, dtype)
        if array.size and array.dtype.itemsize == 4:
            self.exports.pb_fill_f32(array.ptr, 0.0, array.size)  # 0.0f and 0 share their bits
        elif array.size:
            self.exports.pb_fill_bytes(array.ptr, 0, array.nbytes)
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

    def ptr_list(self, arrays, keep=False) -> int:
        """An int32 array of the arrays' pointers in WASM memory, for kernels taking lists
        (concat, optimizer updates). Valid until 8 more lists have been asked for: enough for one
        kernel call (e.g. adam_update's params, grads, ms and vs lists)."""
        return self.int_list([a.ptr for a in arrays], keep)

    def int_list(self, values, keep=False) -> int:
        """The same for plain ints. keep=True: a list asked for again and again (an optimizer's
        parameters and slots, every step) is uploaded once and kept by value, since an upload costs
        ~20 us in Pyodide; the 16 most recently used are kept."""
        key = tuple(values)
        if keep:
            ptr = self._kept_lists.pop(key, None)
            if ptr is None:
                ptr = self._alloc(max(4 * len(key), 4))
                self._upload_ints(ptr, key)
                if len(self._kept_lists) >= 16:
                    self._free(self._kept_lists.pop(next(iter(self._kept_lists))))
            self._kept_lists[key] = ptr  # (re-)inserted last: the dict's order is the order of use
            return ptr
        slot = self._ptr_next
        self._ptr_next = (slot + 1) % len(self._ptr_lists)
        ptr, capacity = self._ptr_lists[slot]
        if 4 * len(key) > capacity:
            self._free(ptr)
            capacity = max(4 * len(key), 2 * capacity)
            ptr = self._alloc(capacity)
            self._ptr_lists[slot] = (ptr, capacity)
        self._upload_ints(ptr, key)
        return ptr

    def alloc_ints(self, values) -> int:
        """A new int32 array of `values` in WASM memory that the caller owns (free_ints frees it): for
        descriptions a kernel module keeps across calls itself."""
        values = tuple(int(v) for v in values)
        ptr = self._alloc(max(4 * len(values), 4))
        self._upload_ints(ptr, values)
        return ptr

    def free_ints(self, ptr: int) -> None:
        self._free(ptr)

    def _upload_ints(self, ptr: int, values: tuple) -> None:
        if values:
            self._upload(self.memory_object, ptr, np.array(values, dtype=np.int32))

    # -- data movement ---------------------------------------------------------------------------
    def upload(self, values) -> WasmArray:
        """One copy of a host array into a new WASM array (uint8 stays uint8, other ints and bools -> int32,
        floats -> float32)."""
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
            "relaxed_simd": self.relaxed_simd,
        }


# np.dtype(x) and dtype.name cost microseconds each in Pyodide: the usual spellings are looked up here.
_DTYPE_OF = {
    **DTYPES,
    **{dt: dt for dt in DTYPES.values()},
    np.float32: DTYPES["float32"],
    np.int32: DTYPES["int32"],
    np.uint8: DTYPES["uint8"],
}


def _dtype(dtype) -> np.dtype:
    dt = _DTYPE_OF.get(dtype)
    if dt is not None:
        return dt
    dt = np.dtype(dtype)
    if dt.name not in DTYPES:
        raise TypeError(f"the wasm backend stores float32, int32 and uint8 arrays, not {dt.name}")
    return dt


def _host(values, dtype=None) -> np.ndarray:
    """A C-contiguous float32/int32/uint8 numpy array for `values` (what the WASM side can hold)."""
    array = np.asarray(values)
    if dtype is None:
        if array.dtype == np.float32 or array.dtype == np.int32 or array.dtype == np.uint8:
            dtype = array.dtype
        elif array.dtype.kind in "iub":
            dtype = np.dtype(np.int32)
        elif array.dtype.kind == "f":
            dtype = np.dtype(np.float32)
        else:
            raise TypeError(f"the wasm backend cannot hold arrays of dtype {array.dtype}")
    return np.asarray(array, dtype=dtype, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
