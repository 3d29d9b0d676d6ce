"""WebGLBackend: the Backend interface (backends/base.py) over a WebGLRuntime.

Device arrays are ``GLArray`` handles (one texture each). The op table is kernels.make_table(rt); a
kernel missing from it (or a case a kernel does not cover) runs on numpy through the base class's
per-op fallback, counted in ``fallback_counts``. Unlike WebGPU, WebGL can read back synchronously
(readPixels), so that fallback works anywhere; it stalls until the GPU is done, which is why the
training loop reads its scalars with ``download_async`` instead.

Once the WebGL context is lost (WEBGL_lose_context, a webglcontextlost event, a GPU reset), every
kernel call, upload and read back raises DeviceLostError.

Why our own fragment shaders rather than TF.js's WebGL backend: the same reasons as for webgpu (a few
tens of kilobytes of shader text, one FFI call and one draw per kernel, bias and activation epilogues
fused where our layers need them), and the kernels follow this package's vocabulary and conformance suite.
"""

from __future__ import annotations

import numpy as np

from ..base import Backend, DeviceLostError
from .kernels import make_table
from .runtime import GLArray, WebGLRuntime


class WebGLBackend(Backend):
    name = "webgl"

    def __init__(self, runtime: WebGLRuntime):
        super().__init__()
        self.rt = runtime
        runtime.fallback = self._fallback
        self.kernels = make_table(runtime)

    @property
    def dispatches(self) -> int:
        """Draws since the backend was created: the difference over a training step is that step's
        draw count (the benchmark reads it)."""
        return self.rt.dispatches

    def run(self, kernel_name: str, *args, **attrs):
        # The base class's run, with a lost context's JS error raised as DeviceLostError.
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

    def download(self, array: GLArray) -> np.ndarray:
        return self.rt.download(array)

    async def download_async(self, array: GLArray) -> np.ndarray:
        return await self.rt.download_async(array)

    def zeros(self, shape, dtype="float32"):
        try:
            return self.rt.zeros(shape, dtype)
        except Exception as error:
            raise self.rt.lost_error(error) from error

    def write(self, array: GLArray, values) -> None:
        try:
            self.rt.write(array, values)
        except Exception as error:
            raise self.rt.lost_error(error) from error

    def shape(self, array: GLArray) -> tuple:
        return array.shape

    def memory(self) -> dict:
        return {"backend": self.name, **self.rt.memory()}
