"""The WebGPU runtime: one GPU device, buffers living on it, and the compute pipelines of the shaders.

Python holds ``GPUArray`` handles (a buffer id of the JS side plus shape and dtype); the data stays
on the GPU unless Python asks (``download_async``). A handle returns its buffer to the JS side's pool
when the Python object dies (``GPUArray.__del__``). The JS side (js/runtime.mjs) records dispatches
into one command encoder and submits lazily, so a kernel costs Python one FFI call (``dispatch``).

Reading back is asynchronous in a page (``mapAsync``). ``download`` is the synchronous form: it
works where Pyodide can block on a promise (JavaScript Promise Integration, ``pyodide.ffi.run_sync``,
inside ``runPythonAsync``) and otherwise raises, saying to use ``download_async``.
"""

from __future__ import annotations

import math
from importlib import resources

import numpy as np

from ...browser import require_pyodide
from ...browser.assets import import_module
from ..base import DeviceLostError

# uint8 arrays (image batches) are stored packed, 4 bytes per 32-bit word, the buffer padded to whole words:
# from_uint8 and cast unpack them; other kernels take float32 or int32.
DTYPES = {"float32": np.dtype(np.float32), "int32": np.dtype(np.int32), "uint8": np.dtype(np.uint8)}
F32 = DTYPES["float32"]  # the one dtype instance float32 arrays carry here (compared with `is`)
_DTYPE_OF = {
    **DTYPES,
    **{dt: dt for dt in DTYPES.values()},
    np.float32: DTYPES["float32"],
    np.int32: DTYPES["int32"],
    np.uint8: DTYPES["uint8"],
}

# The largest workgroup count of one grid dimension; bigger 1-d grids wrap into y.
MAX_GROUPS = 65535


class GPUArray:
    """A handle to an array in a GPU buffer. Its buffer goes back to the pool when this object dies."""

    __slots__ = ("id", "shape", "dtype", "size", "nbytes", "base", "_runtime", "__weakref__")

    def __init__(self, runtime: WebGPURuntime, buffer_id: int, shape: tuple, dtype: np.dtype, base=None, size=None):
        self.id = buffer_id
        self.shape = shape
        self.dtype = dtype
        self.size = math.prod(shape) if size is None else size
        self.nbytes = self.size * dtype.itemsize
        # A view (rt.view) shares its base's buffer and keeps the base alive; only owners free.
        self.base = base
        self._runtime = runtime if base is None else None

    def __del__(self):
        # __del__ rather than weakref.finalize: cheaper per array in Pyodide, and ~100 arrays die per step.
        runtime = self._runtime
        if runtime is not None:
            self._runtime = None
            runtime._free(self.id)
            runtime.live_arrays -= 1
            runtime.live_bytes -= self.nbytes

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"GPUArray(id={self.id}, shape={self.shape}, dtype={self.dtype})"


def package_text(*parts: str) -> str:
    """A text file shipped in this package (shaders, the JS runtime)."""
    return resources.files(__package__).joinpath(*parts).read_text(encoding="utf-8")


class WebGPURuntime:
    """One GPU device: allocation, data movement, pipelines and dispatches."""

    def __init__(self, js_runtime):
        self.js = js_runtime
        self.adapter = str(js_runtime.adapter)
        self._alloc = js_runtime.alloc
        self._free = js_runtime.free
        self._upload = js_runtime.upload
        self._download = js_runtime.download
        self.dispatch = js_runtime.dispatch  # dispatch(pipeline, gx, gy, gz, *buffer_ids, *uniform_words)
        self.sync_downloads = 0  # blocking reads (download), which stall the page until the GPU is done
        self.live_arrays = 0
        self.live_bytes = 0
        self._pipelines: dict = {}
        # A buffer bound where a kernel takes an optional input that is absent (e.g. dense without bias):
        # every binding of a pipeline needs a buffer. Not a user array.
        self.dummy_id = int(js_runtime.alloc(16))
        # Set by WebGPUBackend: fallback(kernel_name, args, attrs) runs a call on numpy instead, for the
        # cases a kernel does not cover (e.g. a general broadcast).
        self.fallback = None

    @classmethod
    async def create(cls, families) -> WebGPURuntime:
        """A device and the shaders of `families` (shaders/<family>.wgsl), compiled when first used."""
        require_pyodide("the webgpu backend")
        module = await import_module("backends/webgpu/js/runtime.mjs")
        js_runtime = await module.createRuntime()
        for family in families:
            js_runtime.addFamily(family, package_text("shaders", f"{family}.wgsl"))
        return cls(js_runtime)

    # -- pipelines -------------------------------------------------------------------------------
    def pipeline(self, family: str, kernel: str, **constants) -> int:
        """The id of the pipeline of shaders/<family>.wgsl's `kernel` (compiled once, in the background:
        ``await ready()`` before its first dispatch)."""
        key = (family, kernel, tuple(sorted(constants.items())))
        pid = self._pipelines.get(key)
        if pid is None:
            import js
            from pyodide.ffi import to_js

            pid = self._pipelines[key] = int(
                self.js.pipeline(family, kernel, to_js(constants, dict_converter=js.Object.fromEntries))
            )
        return pid

    @staticmethod
    def grid(count: int, per_group: int = 256) -> tuple[int, int]:
        """(gx, gy) workgroups covering `count` invocations of a 1-d kernel (shaders read gx from
        num_workgroups)."""
        groups = max(1, -(-count // per_group))
        if groups <= MAX_GROUPS:
            return groups, 1
        return MAX_GROUPS, -(-groups // MAX_GROUPS)

    # -- allocation ------------------------------------------------------------------------------
    def empty(self, shape, dtype="float32") -> GPUArray:
        """An uninitialised array of `shape` (float32, int32 or uint8) on the GPU."""
        dt = _DTYPE_OF.get(dtype) or _dtype(dtype)
        shape = tuple(map(int, shape))
        if shape and min(shape) < 0:
            raise ValueError(f"negative dimension in shape {shape}")
        size = math.prod(shape)
        nbytes = size * dt.itemsize
        array = GPUArray(self, self._alloc(nbytes), shape, dt, None, size)
        self.live_arrays += 1
        self.live_bytes += nbytes
        return array

    def view(self, array: GPUArray, shape) -> GPUArray:
        """The same buffer under another shape (a reshape without copying)."""
        shape = tuple(int(d) for d in shape)
        if math.prod(shape) != array.size:
            raise ValueError(f"cannot view an array of {array.size} elements as shape {shape}")
        owner = array.base if array.base is not None else array
        return GPUArray(self, array.id, shape, array.dtype, base=owner)

    def zeros(self, shape, dtype="float32") -> GPUArray:
        array = self.empty(shape, dtype)
        if array.nbytes:
            self.js.fill(array.id, 0, array.nbytes)
        return array

    # -- data movement ---------------------------------------------------------------------------
    def upload(self, values) -> GPUArray:
        """One queue.writeBuffer of a host array into a new GPU array (float64 -> float32, uint8 stays packed
        uint8, other ints and bools -> int32)."""
        host = _host(values)
        array = self.empty(host.shape, host.dtype)
        if array.nbytes:
            self._upload(array.id, host.reshape(-1))
        return array

    def write(self, array: GPUArray, values) -> None:
        """Overwrite a GPU array in place with host values of the same shape."""
        host = _host(values, array.dtype)
        if host.shape != array.shape:
            raise ValueError(f"cannot write an array of shape {host.shape} into one of shape {array.shape}")
        if array.nbytes:
            self._upload(array.id, host.reshape(-1))

    async def download_async(self, array: GPUArray) -> np.ndarray:
        """A new numpy array with the GPU array's values (mapAsync on a staging buffer)."""
        out = np.empty(array.shape, dtype=array.dtype)
        try:
            await self._download(array.id, out.reshape(-1), array.nbytes)
        except Exception as error:
            raise self.lost_error(error) from error
        return out

    def download(self, array: GPUArray) -> np.ndarray:
        """download_async, blocking on its promise: possible only where Pyodide can suspend WebAssembly
        (JSPI, inside runPythonAsync or an async Python task)."""
        from pyodide.ffi import can_run_sync, run_sync

        if not can_run_sync():
            raise RuntimeError(
                "the webgpu backend can only read GPU data back asynchronously here: use "
                "`await backend.download_async(array)` (a synchronous read needs JavaScript Promise "
                "Integration and code started by runPythonAsync)"
            )
        self.sync_downloads += 1
        return run_sync(self.download_async(array))

    @property
    def dispatches(self) -> int:
        """Compute dispatches recorded since the device was created (a kernel makes one or a few)."""
        return int(self.js.dispatches)

    def lost_error(self, error: Exception) -> Exception:
        """DeviceLostError when `error` (raised by the JS side) comes from a lost device, else `error`."""
        reason = self.js.lostReason
        if reason is None:
            return error
        return DeviceLostError("webgpu", str(reason))

    def destroy_device_for_test(self) -> None:
        """Destroy the GPUDevice (as a page's ``device.destroy()`` would): every later kernel call and
        read back raises DeviceLostError."""
        self.js.device.destroy()

    async def ready(self) -> None:
        """Wait until every pipeline asked for is compiled (raises the compiler's message for a bad shader)."""
        await self.js.ready()
        await self.sync()

    async def sync(self) -> None:
        """Wait until the GPU has done everything submitted (and report validation errors)."""
        try:
            await self.js.sync()
        except Exception as error:
            raise self.lost_error(error) from error

    def memory(self) -> dict:
        stats = self.js.stats()
        return {
            "arrays": self.live_arrays,
            "bytes": self.live_bytes,
            "gpu_buffers": int(stats.buffers),
            "pooled_bytes": int(stats.pooledBytes),
            "pipelines": int(stats.pipelines),
            "dispatches": int(stats.dispatches),
            "sync_downloads": self.sync_downloads,
            "adapter": self.adapter,
        }


def _dtype(dtype) -> np.dtype:
    dt = _DTYPE_OF.get(dtype)
    if dt is not None:
        return dt
    dt = np.dtype(dtype)
    if dt.name not in DTYPES:
        raise TypeError(f"the webgpu backend stores float32, int32 and uint8 arrays, not {dt.name}")
    return dt


def _host(values, dtype=None) -> np.ndarray:
    """A C-contiguous float32/int32/uint8 numpy array for `values` (what a GPU buffer holds here)."""
    array = np.asarray(values)
    if dtype is None:
        if array.dtype == np.float32 or array.dtype == np.int32 or array.dtype == np.uint8:
            dtype = array.dtype
        elif array.dtype.kind in "iub":
            dtype = np.dtype(np.int32)
        elif array.dtype.kind == "f":
            dtype = np.dtype(np.float32)
        else:
            raise TypeError(f"the webgpu backend cannot hold arrays of dtype {array.dtype}")
    return np.asarray(array, dtype=dtype, order="C")
