"""WasmBackend: the Backend interface (backends/base.py) over a WasmRuntime.

Device arrays are ``WasmArray`` handles. The op table is ``kernels.make_table(rt)``: every kernel
family's wrappers, merged (a name registered twice is refused). Any kernel missing from it runs on
numpy through the per-op fallback of the base class, counted in ``fallback_counts``.
"""

from __future__ import annotations

import numpy as np

from ..base import Backend
from .kernels import make_table
from .runtime import WasmArray, WasmRuntime


class WasmBackend(Backend):
    name = "wasm"

    def __init__(self, runtime: WasmRuntime):
        super().__init__()
        self.rt = runtime
        runtime.fallback = self._fallback
        self.kernels.update(make_table(runtime))

    def run(self, kernel_name: str, *args, **attrs):
        try:
            return super().run(kernel_name, *args, **attrs)
        except Exception as error:
            # A trap inside the module reaches Python as a JsException "RuntimeError: unreachable";
            # the kernels trap only when their work buffers cannot grow (or on an internal bug).
            if type(error).__name__ == "JsException" and "unreachable" in str(error):
                raise MemoryError(
                    f"the WASM kernel {kernel_name!r} stopped: it could not get memory for its work buffers "
                    f"(heap {self.rt.exports.pb_heap_bytes()} bytes) or hit an internal error; "
                    "try smaller batches or models"
                ) from error
            raise

    def upload(self, array):
        return self.rt.upload(array)

    def download(self, array: WasmArray) -> np.ndarray:
        return self.rt.download(array)

    def zeros(self, shape, dtype="float32"):
        return self.rt.zeros(shape, dtype)

    def write(self, array: WasmArray, values) -> None:
        self.rt.write(array, values)

    def shape(self, array: WasmArray) -> tuple:
        return array.shape

    def memory(self) -> dict:
        return {"backend": self.name, **self.rt.memory()}
