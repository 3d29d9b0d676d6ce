// The two copies that cross the Python/WASM boundary (backends/wasm/runtime.py calls them).
// `array` is a PyProxy of a C-contiguous numpy array: getBuffer() views its memory without a copy,
// so each direction costs one copy of the bytes.

export function upload(memory, ptr, array) {
  const buf = array.getBuffer("u8");
  try { new Uint8Array(memory.buffer, ptr, buf.data.byteLength).set(buf.data); } finally { buf.release(); }
}

export function download(memory, ptr, array) {
  const buf = array.getBuffer("u8");
  try { buf.data.set(new Uint8Array(memory.buffer, ptr, buf.data.byteLength)); } finally { buf.release(); }
}
