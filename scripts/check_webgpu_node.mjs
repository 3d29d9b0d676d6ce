// Replays the webgpu kernel trace written by check_webgpu_node_cases.py on a GPU device of Dawn for Node
// (npm package `webgpu`), through the backend's own js/runtime.mjs and shaders, and compares every read
// with numpy's result under the conformance suite's tolerance rule.
// Usage: node check_webgpu_node.mjs TRACE.json   (exit 0: all pass; 1: some differ; 2: no GPU adapter)
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { create, globals } from "webgpu";

Object.assign(globalThis, globals);  // GPUBufferUsage etc., which runtime.mjs reads when it loads
const here = dirname(fileURLToPath(import.meta.url));
const { Runtime } = await import(pathToFileURL(join(here, "..", "pybrowserml", "backends", "webgpu", "js",
                                                    "runtime.mjs")).href);

// Dawn's backends to try, in order: Vulkan (a GPU, or lavapipe), then OpenGL ES (Mesa's llvmpipe through
// EGL without a display, in WebGPU's compatibility mode).
// The GPU object (Dawn's instance) is returned too and must stay referenced while its device is used: once
// garbage-collected, Dawn's event processing runs on a destroyed instance and Node crashes (seen here as a
// segfault, an abort or a hang a few reads in).
async function requestAdapter() {
  const tried = [];
  for (const [options, request] of [[["backend=vulkan"], {}], [["backend=opengles"], { featureLevel: "compatibility" }]]) {
    const gpu = create(options);
    const adapter = await gpu.requestAdapter(request);
    tried.push(`${options.join(" ")} ${JSON.stringify(request)}: ${adapter ? "ok" : "no adapter"}`);
    if (adapter) return { gpu, adapter, tried };
  }
  return { gpu: null, adapter: null, tried };
}

// What runtime.mjs expects of a numpy array proxy (getBuffer): a byte view, released when done.
const hostArray = (bytes) => ({ getBuffer: () => ({ data: bytes, release() {} }) });
const decoded = (text) => new Uint8Array(Buffer.from(text, "base64"));
const TYPED = { float32: Float32Array, int32: Int32Array, uint8: Uint8Array };

const trace = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { gpu, adapter, tried } = await requestAdapter();
if (!adapter) {
  console.error("no WebGPU adapter from Dawn here:\n  " + tried.join("\n  "));
  process.exit(2);
}
const info = adapter.info || {};
console.log(`adapter: ${info.vendor || "?"} ${info.architecture || ""} ${info.description || ""}`.trim());
// The limits the shaders rely on (compatibility mode starts lower than a browser's defaults).
const LIMITS = ["maxStorageBuffersPerShaderStage", "maxComputeWorkgroupSizeX", "maxComputeWorkgroupSizeY",
                "maxComputeInvocationsPerWorkgroup", "maxComputeWorkgroupStorageSize", "maxStorageBufferBindingSize",
                "maxBufferSize", "maxComputeWorkgroupsPerDimension"];
const device = await adapter.requestDevice({
  requiredLimits: Object.fromEntries(LIMITS.map((name) => [name, adapter.limits[name]])),
});
const runtime = new Runtime(device);
for (const [family, source] of Object.entries(trace.families)) runtime.addFamily(family, source);
const pipelines = trace.pipelines.map(([family, kernel, constants]) => runtime.pipeline(family, kernel, constants));
await runtime.ready();

const ids = new Map();  // recorded buffer id -> this runtime's
const failures = [];
let checked = 0;
for (const op of trace.ops) {
  switch (op[0]) {
    case "alloc": ids.set(op[1], runtime.alloc(op[2])); break;
    case "free": runtime.free(ids.get(op[1])); ids.delete(op[1]); break;
    case "upload": runtime.upload(ids.get(op[1]), hostArray(decoded(op[2]))); break;
    case "fill": runtime.fill(ids.get(op[1]), op[2], op[3]); break;
    case "dispatch": {
      const [, pipeline, gx, gy, gz, args] = op;
      const spec = runtime.pipelines[pipelines[pipeline]];
      const buffers = args.slice(0, spec.buffers).map((id) => ids.get(id));
      runtime.dispatch(pipelines[pipeline], gx, gy, gz, ...buffers, ...args.slice(spec.buffers));
      break;
    }
    case "read": {
      const [, id, nbytes, index] = op;
      const bytes = new Uint8Array(nbytes);
      await runtime.download(ids.get(id), hostArray(bytes), nbytes);
      if (index === null) break;  // a read inside a case's program, not one of its outputs
      const check = trace.checks[index];
      const Typed = TYPED[check.dtype];
      const got = new Typed(bytes.buffer, 0, nbytes / Typed.BYTES_PER_ELEMENT);
      const want = new Typed(decoded(check.expected).buffer);
      let error = got.length === want.length ? 0 : Infinity;
      for (let i = 0; i < want.length && error !== Infinity; i++) {
        const d = Math.abs(got[i] - want[i]);
        if (Number.isNaN(d)) { if (!(Number.isNaN(got[i]) && Number.isNaN(want[i])) && got[i] !== want[i]) error = Infinity; }
        else if (d > error) error = d;
      }
      checked++;
      if (!(error <= check.allowed)) failures.push(`${check.case} (${check.kernel}): error ${error}, allowed ${check.allowed}`);
      break;
    }
    default: throw new Error(`unknown trace op ${op[0]}`);
  }
}
await runtime.sync();
gpu.keepAlive = true;  // (a use of the instance after the last read: see requestAdapter)
const kernels = new Set(trace.checks.map((check) => check.kernel)).size;
console.log(`${checked - failures.length} passed, ${failures.length} failed (outputs of the conformance cases, `
            + `${kernels} kernels, ${trace.pipelines.length} pipelines)`);
for (const line of failures.slice(0, 40)) console.log("  " + line);
process.exit(failures.length ? 1 : 0);
