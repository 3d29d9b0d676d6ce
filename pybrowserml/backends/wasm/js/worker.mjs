// One kernel worker (a module worker started by threads.mjs): instantiate the threaded module
// on the shared memory, take its own stack, then live in pb_worker_loop (it blocks in
// memory.atomic.wait between jobs and never returns).
self.onmessage = async (event) => {
  const { module, memory, tid, stackTop } = event.data;
  try {
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    instance.exports.__stack_pointer.value = stackTop;
    self.postMessage({ ready: tid });
    instance.exports.pb_worker_loop(tid);
  } catch (error) {
    self.postMessage({ error: String(error && error.message || error) });
  }
};
