"""Multi-threaded kernels for crossOriginIsolated pages: kernels_threads.wasm on a shared memory,
with Web Workers (js/worker.mjs, started by js/threads.mjs) running the module's own task loop
(csrc/threads.c).

Only the main thread (Python) allocates and calls kernels; a large kernel splits its work with
pb_parallel_for and the workers take tasks from it. Without cross-origin isolation there is no
SharedArrayBuffer, so the single-threaded kernels.wasm is used and nothing here runs.
"""

from __future__ import annotations

STACK_BYTES = 1 << 20  # each worker's own stack, carved from the shared heap
INITIAL_PAGES = 64  # 4 MiB, the module's declared minimum (scripts/build_wasm --initial-memory)
MAXIMUM_PAGES = 32767  # 2 GiB - 64 KiB, the module's declared maximum (keeps pointers positive int32)
MAX_THREADS = 8  # PB_MAX_THREADS in pb.h

THREADS_JS = "backends/wasm/js/threads.mjs"
WORKER_JS = "backends/wasm/js/worker.mjs"


def threads_available() -> bool:
    """True in a crossOriginIsolated page (SharedArrayBuffer and Atomics.wait in workers)."""
    import js

    return (
        bool(getattr(js, "crossOriginIsolated", False)) and hasattr(js, "SharedArrayBuffer") and hasattr(js, "Worker")
    )


def default_thread_count() -> int:
    import js

    cores = int(getattr(js.navigator, "hardwareConcurrency", 1) or 1)
    return max(1, min(cores, MAX_THREADS))


def shared_memory():
    import js
    from pyodide.ffi import to_js

    descriptor = to_js(
        {"initial": INITIAL_PAGES, "maximum": MAXIMUM_PAGES, "shared": True}, dict_converter=js.Object.fromEntries
    )
    return js.WebAssembly.Memory.new(descriptor)


async def start_workers(module, memory, exports, count: int):
    """Start `count` workers on the instantiated threaded module; returns the JS array of workers."""
    from pyodide.ffi import to_js

    from ...browser.assets import asset_bytes, import_module

    stack_tops = []
    for _ in range(count):
        base = exports.pb_malloc(STACK_BYTES)
        if not base:
            raise MemoryError("no WASM memory left for the worker stacks")
        stack_tops.append(base + STACK_BYTES)
    threads_js = await import_module(THREADS_JS)
    worker_source = to_js(memoryview(asset_bytes(WORKER_JS)))
    return await threads_js.startWorkers(module, memory, worker_source, to_js(stack_tops))
