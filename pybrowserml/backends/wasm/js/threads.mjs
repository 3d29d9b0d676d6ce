// Starts the kernel workers of the threaded module. The worker's source (worker.mjs) is passed in as
// bytes and run from a Blob URL: the wheel's files are not served at any URL a worker could load.

export async function startWorkers(module, memory, workerSource, stackTops) {
  const url = URL.createObjectURL(new Blob([workerSource], { type: "text/javascript" }));
  const workers = [];
  try {
    await Promise.all(Array.from(stackTops, (stackTop, i) => new Promise((resolve, reject) => {
      const worker = new Worker(url, { type: "module" });
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
