"""The WebGL2 backend: fragment shaders (shaders/) on float32 textures (EXT_color_buffer_float), driven
through a small JS runtime (js/runtime.mjs).

In the browser: ``backend = await create_async()`` (or ``set_backend_async("webgl")``).
``float32_renderable()`` says whether this browser's WebGL2 really renders float32 (the "auto" probe
asks it first: a device without it would train in lower precision).
"""

from __future__ import annotations

from ...browser import is_pyodide


def create():
    """The synchronous constructor the registry calls; the backend loads its shaders asynchronously."""
    if not is_pyodide():
        raise RuntimeError("the webgl backend runs inside a browser page (Pyodide); in CPython use the numpy backend")
    raise RuntimeError(
        "the webgl backend must be created asynchronously first: "
        "`await pybrowserml.set_backend_async('webgl')`, then set_backend('webgl') works"
    )


async def float32_renderable() -> bool:
    """True only when a WebGL2 context with EXT_color_buffer_float renders a float32 value (one half
    floats cannot hold) into an R32F texture and reads it back unchanged. Outside a browser it raises
    create()'s explanation (so that the "auto" probe reports why webgl was skipped)."""
    if not is_pyodide():
        create()
    from .runtime import js_module

    try:
        module = await js_module()
        return bool(module.float32Renderable())
    except Exception:  # no WebGL2 at all, or a context that fails: not renderable
        return False


async def create_async():
    """Make a WebGL2 context, compile the shaders and return a ready WebGLBackend."""
    if not is_pyodide():
        create()  # raises the CPython explanation
    from .backend import WebGLBackend
    from .kernels import FAMILIES
    from .runtime import WebGLRuntime

    runtime = await WebGLRuntime.create(FAMILIES)
    backend = WebGLBackend(runtime)  # asks for every program of the op table
    await runtime.ready()  # checks them together; a shader that does not compile is reported here
    return backend


__all__ = ["create", "create_async", "float32_renderable"]
