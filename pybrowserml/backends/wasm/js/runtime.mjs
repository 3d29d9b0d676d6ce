// The two copies that cross the Python/WASM boundary (backends/wasm/runtime.py calls them).
// `array` is a PyProxy of a C-contiguous numpy array: getBuffer() views its memory without a copy,
// so each direction costs one copy of the bytes. `ptr` comes from an i32 export and is negative for
// addresses past 2 GiB: `>>> 0` reads it as the unsigned address it is.

export function upload(memory, ptr, array) {
  const buf = array.getBuffer("u8");
  try { new Uint8Array(memory.buffer, ptr >>> 0, buf.data.byteLength).set(buf.data); } finally { buf.release(); }
}

export function download(memory, ptr, array) {
  const buf = array.getBuffer("u8");
  try { buf.data.set(new Uint8Array(memory.buffer, ptr >>> 0, buf.data.byteLength)); } finally { buf.release(); }
}

// Compiles the kernels at `url` while they download. compileStreaming needs the server to send
// `Content-Type: application/wasm`; from a server that does not, the same response is compiled from its
// bytes. Errors say which URL failed and how (status or network error).
export async function compileUrl(url) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin" });
  } catch (error) {
    throw new Error(`could not fetch ${url} (${(error && error.message) || error})`);
  }
  if (!response.ok) throw new Error(`fetching ${url} answered HTTP ${response.status} ${response.statusText}`.trim());
  const type = (response.headers.get("Content-Type") || "").split(";")[0].trim();
  if (type === "application/wasm") return WebAssembly.compileStreaming(response);
  return WebAssembly.compile(await response.arrayBuffer());
}
