"""The WASM backend: SIMD kernels in C (csrc/) compiled by scripts/build into _build/kernels*.wasm (served
beside the wheel, not in it: modules.py),
driven from Python (kernels/, one module per kernel family) with small JS helpers (js/).

In the browser: ``await pybrowserml.set_backend_async("wasm")`` (compiling and instantiating the
module is asynchronous). After that, ``set_backend("wasm")`` works synchronously too.
"""

from __future__ import annotations

from ...browser import is_pyodide


def create():
    """The synchronous constructor the registry calls; the module can only be created asynchronously."""
    if not is_pyodide():
        raise RuntimeError(
            "the wasm backend runs inside Pyodide (a browser or a worker); in CPython use the numpy backend"
        )
    raise RuntimeError(
        "the wasm backend must be created asynchronously first: "
        "`await pybrowserml.set_backend_async('wasm')`, then set_backend('wasm') works"
    )


async def create_async(threads=None, relaxed_simd=None):
    """Compile and instantiate the kernels and return a ready WasmBackend.

    threads=None uses every core (up to 8) when the page is crossOriginIsolated and one otherwise;
    threads=1 forces the single-threaded kernels. relaxed_simd=None uses the kernels with fused
    multiply-adds (WebAssembly relaxed SIMD) where the browser supports them and the plain SIMD ones
    elsewhere; relaxed_simd=False forces the plain ones, True requires the relaxed ones."""
    if not is_pyodide():
        create()  # raises the CPython explanation
    from .backend import WasmBackend
    from .runtime import WasmRuntime

    return WasmBackend(await WasmRuntime.create(threads=threads, relaxed_simd=relaxed_simd))


__all__ = ["create", "create_async"]
