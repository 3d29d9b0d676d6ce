"""The WebGL2 runtime: one WebGL2 context, textures holding arrays, and the programs of the shaders.

Python holds ``GLArray`` handles (a texture id of the JS side plus shape and dtype); the data stays in
the texture unless Python asks. A handle returns its texture to the JS side's pool when the Python
object dies (``GLArray.__del__``). A kernel costs Python one FFI call (``draw``).

Storage (js/runtime.mjs): float32 arrays are R32F textures; int32 arrays (labels, indices) are R32F
textures holding exact integers (|v| <= 2**24, checked on upload), so every shader reads every array
through one sampler type; uint8 arrays (image batches) are R8 textures, one byte per pixel, uploaded
as they are and turned into floats on the GPU by from_uint8 or cast.

Reading back: ``download`` is readPixels, which blocks until the GPU is done (counted in
``sync_downloads``); ``download_async`` reads into a pixel buffer and polls a fence from the event loop.
"""

from __future__ import annotations

import math
from importlib import resources

import numpy as np

from ...browser import require_pyodide
from ...browser.assets import import_module
from ..base import DeviceLostError

DTYPES = {"float32": np.dtype(np.float32), "int32": np.dtype(np.int32), "uint8": np.dtype(np.uint8)}
F32 = DTYPES["float32"]  # the one dtype instance float32 arrays carry here (compared with `is`)
_DTYPE_OF = {
    **DTYPES,
    **{dt: dt for dt in DTYPES.values()},
    np.float32: DTYPES["float32"],
    np.int32: DTYPES["int32"],
    np.uint8: DTYPES["uint8"],
}
R32F, R8, RGBA32F = 0, 1, 2  # texture formats of js/runtime.mjs (RGBA32F: the GEMM's packed operands)
# int32 arrays are float textures: integers beyond 2**24 would not be exact.
MAX_EXACT_INT = 1 << 24


class GLArray:
    """A handle to an array in a texture. Its texture goes back to the pool when this object dies."""

    __slots__ = ("id", "shape", "dtype", "size", "nbytes", "base", "packed", "packs", "_runtime", "__weakref__")

    def __init__(self, runtime: WebGLRuntime, texture_id: int, shape: tuple, dtype: np.dtype, base=None, size=None):
        self.id = texture_id
        self.shape = shape
        self.dtype = dtype
        self.size = math.prod(shape) if size is None else size
        self.nbytes = self.size * dtype.itemsize
        # A view (rt.view) shares its base's texture and keeps the base alive; only owners free.
        self.base = base
        # The packed (RGBA32F) texture this array was unpacked from, kept alive while the array lives
        # (kernels/gemm.py's unpack: the JS side unpacks it only when it is read as R32F).
        self.packed = None
        # Packed copies of a weight by layout, valid while the JS side recalls them (gemm.py's pack).
        self.packs = None
        self._runtime = runtime if base is None else None

    def __del__(self):
        # __del__ rather than weakref.finalize (as the webgpu backend): cheaper per array in Pyodide,
        # and ~100 arrays die per training step.
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
        return f"GLArray(id={self.id}, shape={self.shape}, dtype={self.dtype})"


class StackedConcat(GLArray):
    """A lazy concat along the last axis of equal parts that have packed twins (a dense block's layers),
    held as those twins one after another in one packed texture (`stack`: part k from texel k *
    part_texels, copied by the runtime's placeParts: no draw). The depthwise forward and global
    pooling read `stack` as it is; anything reading `id` or `packed` gets the concat drawn once
    (`materialize`, then kept). The parts must not change meanwhile: ops.concat asks for laziness only for
    non-Variable tensors, which nothing writes in place."""

    def __init__(self, runtime, stack: GLArray, part_texels: int, part_width: int, shape, dtype, materialize):
        self.stack = stack
        self.part_texels = part_texels  # texels from one part's start to the next's
        self.part_width = part_width  # texels per pixel of each part
        self._materialize = materialize
        self._block = None
        super().__init__(runtime, 0, shape, dtype)
        self._runtime = None  # nothing of its own to free: `stack` and the block free themselves

    @property
    def block(self) -> GLArray:
        if self._block is None:
            self._block = self._materialize()
        return self._block

    @property
    def id(self):
        return self.block.id

    @id.setter
    def id(self, value):
        pass  # GLArray.__init__ sets it; the id is the materialised block's

    @property
    def packed(self):
        return self.block.packed

    @packed.setter
    def packed(self, value):
        pass

    def __repr__(self):
        return f"StackedConcat(shape={self.shape}, materialized={self._block is not None})"


def package_text(*parts: str) -> str:
    """A text file shipped in this package (shaders, the JS runtime)."""
    return resources.files(__package__).joinpath(*parts).read_text(encoding="utf-8")


async def js_module():
    """js/runtime.mjs (imported once per page by browser.assets)."""
    return await import_module("backends/webgl/js/runtime.mjs")


class WebGLRuntime:
    """One WebGL2 context: allocation, data movement, programs and draws."""

    def __init__(self, js_runtime):
        self.js = js_runtime
        self.renderer = str(js_runtime.renderer)
        self._alloc = js_runtime.alloc
        self._free = js_runtime.free
        self._upload = js_runtime.upload
        self.draw = js_runtime.draw  # draw(program, *output_ids, *input_ids, *uniforms)
        self.sync_downloads = 0  # blocking reads (download: readPixels), which stall until the GPU is done
        self.live_arrays = 0
        self.live_bytes = 0
        self._programs: dict = {}
        # Set by WebGLBackend: fallback(kernel_name, args, attrs) runs a call on numpy instead, for the
        # cases a kernel does not cover (e.g. a general broadcast).
        self.fallback = None
        # A one-element texture bound where a kernel takes an optional input that is absent (a bias).
        self.dummy_id = int(js_runtime.alloc(1, R32F))

    @classmethod
    async def create(cls, families) -> WebGLRuntime:
        """A WebGL2 context and the shaders of `families` (shaders/<family>.glsl)."""
        require_pyodide("the webgl backend")
        module = await js_module()
        js_runtime = module.createRuntime()
        for family in families:
            js_runtime.addFamily(family, package_text("shaders", f"{family}.glsl"))
        return cls(js_runtime)

    # -- programs --------------------------------------------------------------------------------
    def program(self, family: str, kernel: str, **defines) -> int:
        """The id of the program of shaders/<family>.glsl's `kernel` (compiled once; checked by ``ready()``)."""
        key = (family, kernel, tuple(sorted(defines.items())))
        pid = self._programs.get(key)
        if pid is None:
            import js
            from pyodide.ffi import to_js

            pid = self._programs[key] = int(
                self.js.program(family, kernel, to_js(defines, dict_converter=js.Object.fromEntries))
            )
        return pid

    # -- allocation ------------------------------------------------------------------------------
    def empty(self, shape, dtype="float32", texture_format=None) -> GLArray:
        """An uninitialised array of `shape` (float32, int32 or uint8) in a texture. A kernel's packed
        temporary (texture_format RGBA32F) has shape (texels, 4)."""
        dt = _DTYPE_OF.get(dtype) or _dtype(dtype)
        shape = tuple(map(int, shape))
        if shape and min(shape) < 0:
            raise ValueError(f"negative dimension in shape {shape}")
        size = math.prod(shape)
        if texture_format is None:
            texture_format = R8 if dt.itemsize == 1 else R32F
        texels = size // 4 if texture_format == RGBA32F else size
        array = GLArray(self, self._alloc(texels, texture_format), shape, dt, None, size)
        self.live_arrays += 1
        self.live_bytes += array.nbytes
        return array

    def view(self, array: GLArray, shape) -> GLArray:
        """The same texture under another shape (a reshape without copying)."""
        shape = tuple(int(d) for d in shape)
        if math.prod(shape) != array.size:
            raise ValueError(f"cannot view an array of {array.size} elements as shape {shape}")
        owner = array.base if array.base is not None else array
        return GLArray(self, array.id, shape, array.dtype, base=owner)

    def zeros(self, shape, dtype="float32") -> GLArray:
        array = self.empty(shape, dtype)
        if array.size:
            self.js.fill(array.id, 0)
        return array

    # -- data movement ---------------------------------------------------------------------------
    def upload(self, values) -> GLArray:
        """One texSubImage2D of a host array into a new texture (float64 -> float32, uint8 stays uint8,
        other ints and bools -> int32)."""
        host = _host(values)
        array = self.empty(host.shape, host.dtype)
        if array.size:
            self._upload(array.id, host.reshape(-1))
        return array

    def write(self, array: GLArray, values) -> None:
        """Overwrite an array in place with host values of the same shape."""
        host = _host(values, array.dtype)
        if host.shape != array.shape:
            raise ValueError(f"cannot write an array of shape {host.shape} into one of shape {array.shape}")
        if array.size:
            self._upload(array.id, host.reshape(-1))

    def download(self, array: GLArray) -> np.ndarray:
        """A new numpy array with the texture's values: readPixels, which waits for the GPU (a stall;
        ``download_async`` does not stall)."""
        out = np.empty(array.shape, dtype=array.dtype)
        try:
            self.js.download(array.id, out.reshape(-1))
        except Exception as error:
            raise self.lost_error(error) from error
        self.sync_downloads += 1
        return out

    async def download_async(self, array: GLArray) -> np.ndarray:
        """A new numpy array with the texture's values, read through a pixel buffer once a fence passed."""
        out = np.empty(array.shape, dtype=array.dtype)
        try:
            await self.js.downloadAsync(array.id, out.reshape(-1))
        except Exception as error:
            raise self.lost_error(error) from error
        return out

    @property
    def dispatches(self) -> int:
        """Draws made since the context was created (a kernel makes one or a few)."""
        return int(self.js.dispatches)

    def lost_error(self, error: Exception) -> Exception:
        """DeviceLostError when `error` (raised by the JS side) comes from a lost context, else `error`."""
        reason = self.js.lostReason
        if reason is None and self.js.gl.isContextLost():
            reason = "the WebGL context was lost (isContextLost() is true)"
        if reason is None:
            return error
        return DeviceLostError("webgl", str(reason))

    def lose_context_for_test(self) -> None:
        """Lose the context as WEBGL_lose_context does: every later kernel call and read raises DeviceLostError."""
        self.js.gl.getExtension("WEBGL_lose_context").loseContext()

    async def ready(self) -> None:
        """Check every program asked for (raises the compiler's message for a bad shader)."""
        try:
            await self.js.ready()
        except Exception as error:
            raise self.lost_error(error) from error

    def memory(self) -> dict:
        stats = self.js.stats()
        return {
            "arrays": self.live_arrays,
            "bytes": self.live_bytes,
            "textures": int(stats.textures),
            "pooled_bytes": int(stats.pooledBytes),
            "programs": int(stats.programs),
            "dispatches": int(stats.dispatches),
            "sync_downloads": self.sync_downloads,
            "sync_read_pixels": int(stats.syncReads),
            "renderer": self.renderer,
        }


def _dtype(dtype) -> np.dtype:
    dt = _DTYPE_OF.get(dtype)
    if dt is not None:
        return dt
    dt = np.dtype(dtype)
    if dt.name not in DTYPES:
        raise TypeError(f"the webgl backend stores float32, int32 and uint8 arrays, not {dt.name}")
    return dt


def _host(values, dtype=None) -> np.ndarray:
    """A C-contiguous float32/int32/uint8 numpy array for `values` (what a texture holds here)."""
    array = np.asarray(values)
    if dtype is None:
        if array.dtype == np.float32 or array.dtype == np.int32 or array.dtype == np.uint8:
            dtype = array.dtype
        elif array.dtype.kind in "iub":
            dtype = np.dtype(np.int32)
        elif array.dtype.kind == "f":
            dtype = np.dtype(np.float32)
        else:
            raise TypeError(f"the webgl backend cannot hold arrays of dtype {array.dtype}")
    host = np.asarray(array, dtype=dtype, order="C")
    if host.dtype == np.int32 and host.size:
        low, high = int(host.min()), int(host.max())
        if low < -MAX_EXACT_INT or high > MAX_EXACT_INT:
            raise ValueError(
                f"the webgl backend stores int32 arrays as float32 textures, exact for |v| <= 2**24; "
                f"this array holds values in [{low}, {high}]: keep such data on the numpy or wasm backend"
            )
    return host
