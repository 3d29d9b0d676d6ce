"""Multi-threaded kernels for crossOriginIsolated pages: kernels_threads.wasm on a shared memory,
with Web Workers running the module's own task loop (web/kernels/wasm/threads.c).

Only the main thread (Python) allocates and calls kernels; a large kernel splits its work with
pb_parallel_for and the workers take tasks from it. Without cross-origin isolation there is no
SharedArrayBuffer, so the single-threaded kernels.wasm is used and nothing here runs.
"""

from __future__ import annotations

STACK_BYTES = 1 << 20  # each worker's own stack, carved from the shared heap
INITIAL_PAGES = 64  # 4 MiB, the module's declared minimum (scripts/build_wasm --initial-memory)
MAXIMUM_PAGES = 32767  # 2 GiB - 64 KiB, the module's declared maximum (keeps pointers positive int32)
MAX_THREADS = 8  # PB_MAX_THREADS in pb.h

# The whole worker: instantiate the module on the shared memory, take its own stack, then live in
# pb_worker_loop (it blocks in memory.atomic.wait between jobs and never returns).
_WORKER_SOURCE = r"""
onmessage = async (event) => {
  const { module, memory, tid, stackTop } = event.data;
  try {
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    instance.exports.__stack_pointer.value = stackTop;
    postMessage({ ready: tid });
    instance.exports.pb_worker_loop(tid);
  } catch (error) {
    postMessage({ error: String(error && error.message || error) });
  }
};
"""

_START_WORKERS = r"""
async (module, memory, workerSource, stackTops) => {
  const url = URL.createObjectURL(new Blob([workerSource], { type: "text/javascript" }));
  const workers = [];
  try {
    await Promise.all(Array.from(stackTops, (stackTop, i) => new Promise((resolve, reject) => {
      const worker = new Worker(url);
      workers.push(worker);
      worker.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve());
      worker.onerror = (e) => reject(new Error(e.message || "worker failed to start"));
      worker.postMessage({ module, memory, tid: i + 1, stackTop });
    })));
  } catch (error) {
    workers.forEach((w) => w.terminate());
    throw error;
  } finally {
    URL.revokeObjectURL(url);
  }
  return workers;
}
"""


def threads_available() -> bool:
    """True in a crossOriginIsolated page (SharedArrayBuffer and Atomics.wait in workers)."""
    import js

    return bool(getattr(js, "crossOriginIsolated", False)) and hasattr(js, "SharedArrayBuffer") \
        and hasattr(js, "Worker")


def default_thread_count() -> int:
    import js

    cores = int(getattr(js.navigator, "hardwareConcurrency", 1) or 1)
    return max(1, min(cores, MAX_THREADS))


def shared_memory():
    import js
    from pyodide.ffi import to_js

    descriptor = to_js({"initial": INITIAL_PAGES, "maximum": MAXIMUM_PAGES, "shared": True},
                       dict_converter=js.Object.fromEntries)
    return js.WebAssembly.Memory.new(descriptor)


async def start_workers(module, memory, exports, count: int):
    """Start `count` workers on the instantiated threaded module; returns the JS array of workers."""
    from pyodide.code import run_js
    from pyodide.ffi import to_js

    stack_tops = []
    for _ in range(count):
        base = exports.pb_malloc(STACK_BYTES)
        if not base:
            raise MemoryError("no WASM memory left for the worker stacks")
        stack_tops.append(base + STACK_BYTES)
    return await run_js(_START_WORKERS)(module, memory, _WORKER_SOURCE, to_js(stack_tops))
