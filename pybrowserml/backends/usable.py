"""Which registered backends can run here, for available_backends().

A quick check per backend, without creating it: numpy runs everywhere; the others need a browser
(Pyodide): wasm needs WebAssembly, webgl a WebGL2 context that can render float32
(EXT_color_buffer_float), webgpu a GPU adapter. Asking for an adapter is asynchronous, so the synchronous
check cannot tell for webgpu (None) and the asynchronous one asks.
"""

from __future__ import annotations

from ..browser import is_pyodide

# What each backend needs of the browser, for messages.
NEEDS = {"wasm": "WebAssembly", "webgl": "a WebGL2 context that renders float32", "webgpu": "a WebGPU adapter"}
_adapter_found = False  # a GPU adapter was obtained in this page (check_async), so webgpu is usable


def _webgl2_float32() -> bool:
    import js

    try:
        if hasattr(js, "OffscreenCanvas"):
            canvas = js.OffscreenCanvas.new(1, 1)
        else:
            canvas = js.document.createElement("canvas")
        context = canvas.getContext("webgl2")
        return context is not None and context.getExtension("EXT_color_buffer_float") is not None
    except Exception:  # no canvas in this context, or WebGL disabled
        return False


def check(name: str) -> bool | None:
    """True: usable here; False: not; None: only an asynchronous check can tell (webgpu's adapter)."""
    if name == "numpy":
        return True
    if not is_pyodide():
        return False
    import js

    if name == "wasm":
        return hasattr(js, "WebAssembly")
    if name == "webgl":
        return _webgl2_float32()
    if name == "webgpu":
        gpu = getattr(getattr(js, "navigator", None), "gpu", None)
        if gpu is None:
            return False
        return True if _adapter_found else None
    return None


async def check_async(name: str) -> bool:
    result = check(name)
    if result is not None:
        return result
    if name == "webgpu":
        global _adapter_found
        import js

        try:
            _adapter_found = (await js.navigator.gpu.requestAdapter()) is not None
        except Exception:
            return False
        return _adapter_found
    return False
