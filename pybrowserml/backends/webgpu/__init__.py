"""The WebGPU backend: WGSL compute shaders (shaders/) driven through a small JS runtime (js/runtime.mjs).

In the browser: ``backend = await create_async()`` (requesting a GPU adapter and device is
asynchronous). Chromium exposes WebGPU on this project's machines only with --enable-unsafe-webgpu.
"""

from __future__ import annotations

from ...browser import is_pyodide


def create():
    """The synchronous constructor the registry calls; a GPU device can only be requested asynchronously."""
    if not is_pyodide():
        raise RuntimeError("the webgpu backend runs inside a browser page (Pyodide); in CPython use the numpy backend")
    raise RuntimeError(
        "the webgpu backend must be created asynchronously first: "
        "`await pybrowserml.set_backend_async('webgpu')`, then set_backend('webgpu') works"
    )


async def create_async():
    """Request a GPU adapter and device, load the shaders and return a ready WebGPUBackend."""
    if not is_pyodide():
        create()  # raises the CPython explanation
    from .backend import WebGPUBackend
    from .kernels import FAMILIES
    from .runtime import WebGPURuntime

    runtime = await WebGPURuntime.create(FAMILIES)
    backend = WebGPUBackend(runtime)  # asks for every pipeline of the op table
    await runtime.ready()  # compiles them together; a shader that does not compile is reported here
    return backend


__all__ = ["create", "create_async"]
