"""WebGPUBackend: the Backend interface (backends/base.py) over a WebGPURuntime.

Device arrays are ``GPUArray`` handles. The op table is kernels.make_table(rt); a kernel missing from
it (or a case a kernel does not cover) runs on numpy through the base class's per-op fallback,
counted in ``fallback_counts``. That fallback reads the arguments back synchronously, which works
inside code started by runPythonAsync (JSPI); elsewhere it raises, saying so.

Once the GPU device is lost (``device.lost`` resolved, or ``device.destroy()`` called, e.g. by
``rt.destroy_device_for_test()``), every kernel call, upload and read back raises DeviceLostError.

Why our own kernels rather than TF.js's WebGPU backend: the whole backend (shaders, JS runtime, Python
wrappers) is some tens of kilobytes of text against TF.js's megabytes of JavaScript; one FFI call and
one dispatch per kernel, with bias and activation epilogues fused where our layers need them, and
register-blocked GEMMs measured 2-3x faster than shared-memory tiles on SwiftShader; and control: the
kernels, their numerics and the memory pool follow this package's vocabulary and conformance suite.
"""

from __future__ import annotations

import numpy as np

from ..base import Backend, DeviceLostError
from .kernels import make_table
from .runtime import GPUArray, WebGPURuntime


class WebGPUBackend(Backend):
    name = "webgpu"

    def __init__(self, runtime: WebGPURuntime):
        super().__init__()
        self.rt = runtime
        runtime.fallback = self._fallback
        self.kernels = make_table(runtime)

    @property
    def dispatches(self) -> int:
        """GPU compute dispatches since the backend was created: the difference over a training step is
        that step's dispatch count (the benchmark reads it)."""
        return self.rt.dispatches

    def run(self, kernel_name: str, *args, **attrs):
        # The base class's run, with a lost device's JS error raised as DeviceLostError.
        kernel = self.kernels.get(kernel_name)
        try:
            if kernel is not None:
                return kernel(*args, **attrs)
            return self._fallback(kernel_name, args, attrs)
        except DeviceLostError:
            raise
        except Exception as error:
            raise self.rt.lost_error(error) from error

    def upload(self, array):
        try:
            return self.rt.upload(array)
        except Exception as error:
            raise self.rt.lost_error(error) from error

    def download(self, array: GPUArray) -> np.ndarray:
        return self.rt.download(array)

    async def download_async(self, array: GPUArray) -> np.ndarray:
        return await self.rt.download_async(array)

    def zeros(self, shape, dtype="float32"):
        return self.rt.zeros(shape, dtype)

    def write(self, array: GPUArray, values) -> None:
        self.rt.write(array, values)

    def shape(self, array: GPUArray) -> tuple:
        return array.shape

    def memory(self) -> dict:
        return {"backend": self.name, **self.rt.memory()}
