// The JS side of the WebGPU backend: one device, a table of buffers, a pipeline cache and a
// command encoder that batches dispatches. Python makes one call per kernel (dispatch) and holds
// buffer ids; buffers freed by Python go back to a pool keyed by size, so a training loop that asks
// for the same sizes every step allocates nothing after its first step.
//
// Ordering: dispatches are recorded into one encoder and submitted lazily (on readback, before a
// queue.writeBuffer, or every MAX_BATCH dispatches). Queue operations execute in order, so a write
// that follows a recorded dispatch flushes the encoder first.

const UNIFORM_SLOT = 256;  // minUniformBufferOffsetAlignment
const MAX_BATCH = 64;      // dispatches per submitted command buffer (one uniform slot each)
const DEVICE_LOST = "WebGPU device lost: ";
const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

// A .wgsl family file is split into blocks by header lines:
//   "//# common <name>"                          code several kernels share (e.g. a tiled GEMM loop)
//   "//# kernel <name> <buffers> <uniforms> [common...]"  one kernel: its entry point is `main`; <buffers>
//     has one letter per storage binding 0, 1, ...: "r" (read) or "w" (read_write); then comes the uniform
//     struct, whose fields are 4-byte words, one letter each: "i" (i32/u32) or "f" (f32), "-" for none;
//     then the common blocks the kernel includes. The bind group layout is built from this header (not
//     "auto"), so a kernel may leave a binding of a shared block unused.
// Text before the first header is a prelude included in every kernel of the file.
function parseFamily(source) {
  const blocks = source.split(/^\/\/# /m);
  const prelude = blocks[0];
  const commons = {};
  const kernels = {};
  for (const block of blocks.slice(1)) {
    const newline = block.indexOf("\n");
    const [kind, name, ...rest] = block.slice(0, newline).trim().split(/\s+/);
    const body = block.slice(newline + 1);
    if (kind === "common") {
      commons[name] = body;
    } else if (kind === "kernel") {
      const [buffers, uniforms, ...uses] = rest;
      if (!/^[rw]+$/.test(buffers)) throw new Error(`kernel ${name}: buffers must be letters r/w, got ${buffers}`);
      kernels[name] = { body, uses, buffers, uniforms: uniforms === "-" ? "" : uniforms };
    } else {
      throw new Error(`unknown block header "//# ${kind}" in a .wgsl family file`);
    }
  }
  for (const spec of Object.values(kernels)) {
    spec.code = prelude + spec.uses.map((use) => {
      if (!(use in commons)) throw new Error(`kernel uses a common block "${use}" that the file lacks`);
      return commons[use];
    }).join("\n") + spec.body;
  }
  return kernels;
}

export async function requestDevice() {
  if (!globalThis.navigator || !navigator.gpu) {
    throw new Error("this browser has no WebGPU (navigator.gpu is missing); "
                    + "in Chromium it may need --enable-unsafe-webgpu");
  }
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error("WebGPU: requestAdapter() returned null (no usable GPU adapter)");
  const device = await adapter.requestDevice();
  const info = adapter.info || {};
  return { device, adapter: `${info.vendor || "?"} ${info.architecture || ""}`.trim() };
}

export class Runtime {
  constructor(device) {
    this.device = device;
    this.buffers = [null];  // id -> GPUBuffer; id 0 is never used
    this.sizes = [0];
    this.freeIds = [];
    this.pool = new Map();  // byte size -> [GPUBuffer]
    this.pooledBytes = 0;
    this.families = {};     // family -> {kernel -> {code, buffers, uniforms}}
    this.pipelines = [];    // id -> {pipeline, layout, buffers, uniforms}
    this.pipelineIds = new Map();
    this.compiling = [];    // promises of pipelines being compiled
    this.uniformData = new ArrayBuffer(UNIFORM_SLOT * MAX_BATCH);
    this.uniformF32 = new Float32Array(this.uniformData);
    this.uniformI32 = new Int32Array(this.uniformData);
    this.uniformBuffer = device.createBuffer({ size: UNIFORM_SLOT * MAX_BATCH,
                                               usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.encoder = null;
    this.pass = null;
    this.pending = 0;       // dispatches recorded since the last submit
    this.dispatches = 0;    // dispatches in total (for counting per training step)
    this.submits = 0;
    this.errors = [];
    device.addEventListener("uncapturederror", (event) => this.errors.push(String(event.error.message)));
    // Why the device is gone (null while it works). Every later call throws DEVICE_LOST; a pending read
    // back stops waiting. device.lost resolves a task later, so a destroy() through the device itself
    // marks the loss at once: the next kernel call already fails.
    this.lostReason = null;
    this.lost = device.lost.then((info) => {
      this.lostReason = this.lostReason || `${info.reason || "unknown"}: ${info.message || "device lost"}`;
    });
    const destroy = device.destroy.bind(device);
    device.destroy = () => {
      this.lostReason = this.lostReason || "destroyed: GPUDevice.destroy() was called";
      destroy();
    };
  }

  // Throws the error Python turns into DeviceLostError (the prefix is the contract) once the device is lost.
  checkDevice() {
    if (this.lostReason !== null) throw new Error(DEVICE_LOST + this.lostReason);
  }

  addFamily(name, source) {
    this.families[name] = parseFamily(source);
  }

  // Waits until every pipeline asked for so far is compiled (rejects with the compiler's message).
  async ready() {
    const compiling = this.compiling.splice(0);
    await Promise.all(compiling);
  }

  // The id of the pipeline for family/kernel with these override constants (a plain object), made once.
  pipeline(family, kernel, constants) {
    const key = `${family}/${kernel}/${JSON.stringify(constants || {})}`;
    let id = this.pipelineIds.get(key);
    if (id !== undefined) return id;
    const spec = this.families[family] && this.families[family][kernel];
    if (!spec) throw new Error(`WebGPU: no kernel ${kernel} in shaders/${family}.wgsl`);
    const module = this.device.createShaderModule({ code: spec.code, label: key });
    const entries = [...spec.buffers].map((kind, binding) => ({
      binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: kind === "r" ? "read-only-storage" : "storage" },
    }));
    if (spec.uniforms) {
      entries.push({ binding: entries.length, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform" } });
    }
    const layout = this.device.createBindGroupLayout({ entries, label: key });
    const entry = { pipeline: null, layout, buffers: spec.buffers.length, uniforms: spec.uniforms };
    // Compiled in the background: SwiftShader takes ~0.5 s per pipeline, and ready() awaits them all
    // together (the backend's creation does), which lets the browser compile them in parallel.
    this.compiling.push(this.device.createComputePipelineAsync({
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }), label: key,
      compute: { module, entryPoint: "main", constants: constants || {} },
    }).then((pipeline) => { entry.pipeline = pipeline; }, async (error) => {
      // The pipeline error only says the module is invalid: the compiler's own messages say why.
      const info = await module.getCompilationInfo();
      const messages = info.messages.filter((m) => m.type === "error").map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
      throw new Error(`WebGPU: shaders/${family}.wgsl kernel ${kernel} does not compile: `
                      + (messages.length ? messages.join("; ") : String(error.message)));
    }));
    id = this.pipelines.length;
    this.pipelines.push(entry);
    this.pipelineIds.set(key, id);
    return id;
  }

  alloc(nbytes) {
    if (this.lostReason !== null) this.checkDevice();
    const size = Math.max(16, Math.ceil(nbytes / 16) * 16);
    const pooled = this.pool.get(size);
    let buffer;
    if (pooled && pooled.length) {
      buffer = pooled.pop();
      this.pooledBytes -= size;
    } else {
      buffer = this.device.createBuffer({ size, usage: USAGE });
    }
    const id = this.freeIds.length ? this.freeIds.pop() : this.buffers.length;
    this.buffers[id] = buffer;
    this.sizes[id] = size;
    return id;
  }

  free(id) {
    const buffer = this.buffers[id];
    if (!buffer) return;
    const size = this.sizes[id];
    this.buffers[id] = null;
    this.freeIds.push(id);
    let list = this.pool.get(size);
    if (!list) this.pool.set(size, (list = []));
    list.push(buffer);
    this.pooledBytes += size;
  }

  // Destroys every pooled buffer (after submitting what is recorded, which may still use them).
  trimPool() {
    this.flush();
    for (const list of this.pool.values()) for (const buffer of list) buffer.destroy();
    this.pool.clear();
    this.pooledBytes = 0;
  }

  // `array` is a PyProxy of a C-contiguous numpy array: getBuffer() views it in place (no copy).
  upload(id, array, byteOffset = 0) {
    this.checkDevice();
    this.flush();
    const view = array.getBuffer("u8");
    try {
      let data = view.data;
      if (data.byteLength % 4) {  // writeBuffer takes whole words: uint8 arrays are padded
        data = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
        data.set(view.data);
      }
      if (data.byteLength) this.device.queue.writeBuffer(this.buffers[id], byteOffset, data);
    } finally {
      view.release();
    }
  }

  fill(id, value, nbytes) {
    this.flush();
    const data = new Float32Array(Math.ceil(nbytes / 4));
    if (value !== 0) data.fill(value);
    this.device.queue.writeBuffer(this.buffers[id], 0, data);
  }

  // dispatch(pipeline, gx, gy, gz, ...bufferIds, ...uniformWords): one compute dispatch, recorded.
  dispatch(pipelineId, gx, gy, gz, ...args) {
    if (this.lostReason !== null) this.checkDevice();
    const spec = this.pipelines[pipelineId];
    if (spec.pipeline === null) {
      throw new Error("WebGPU: a pipeline was used before it was compiled: await ready() first");
    }
    const nbuf = spec.buffers;
    if (this.pending === MAX_BATCH) this.flush();
    if (this.encoder === null) {
      this.encoder = this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass();
    }
    const slot = this.pending * UNIFORM_SLOT;
    const word = slot / 4;
    const format = spec.uniforms;
    for (let i = 0; i < format.length; i++) {
      if (format.charCodeAt(i) === 102 /* f */) this.uniformF32[word + i] = args[nbuf + i];
      else this.uniformI32[word + i] = args[nbuf + i];
    }
    const entries = [];
    for (let i = 0; i < nbuf; i++) entries.push({ binding: i, resource: { buffer: this.buffers[args[i]] } });
    if (format.length) {
      entries.push({ binding: nbuf, resource: { buffer: this.uniformBuffer, offset: slot,
                                                size: Math.max(16, Math.ceil(format.length / 4) * 16) } });
    }
    const group = this.device.createBindGroup({ layout: spec.layout, entries });
    this.pass.setPipeline(spec.pipeline);
    this.pass.setBindGroup(0, group);
    this.pass.dispatchWorkgroups(gx, gy, gz);
    this.pending++;
    this.dispatches++;
  }

  flush() {
    if (this.encoder === null) return;
    if (this.pending) this.device.queue.writeBuffer(this.uniformBuffer, 0, this.uniformData, 0,
                                                    this.pending * UNIFORM_SLOT);
    if (this.pass !== null) this.pass.end();
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.pass = null;
    this.pending = 0;
    this.submits++;
  }

  // Reads nbytes of buffer `id` into the numpy array `out` (a PyProxy; its memory is taken before the
  // first await, so the proxy may be released by the caller meanwhile).
  async download(id, out, nbytes) {
    const view = out.getBuffer("u8");
    try {
      this.checkDevice();
      if (!nbytes) return;
      const size = Math.ceil(nbytes / 4) * 4;
      this.flush();
      const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const encoder = this.device.createCommandEncoder();
      encoder.copyBufferToBuffer(this.buffers[id], 0, staging, 0, size);
      this.device.queue.submit([encoder.finish()]);
      this.submits++;
      // A lost device may never settle mapAsync: whichever comes first.
      await Promise.race([staging.mapAsync(GPUMapMode.READ).catch((error) => {
        if (this.lostReason === null) throw error;
      }), this.lost]);
      this.checkDevice();
      view.data.set(new Uint8Array(staging.getMappedRange(), 0, nbytes));
      staging.destroy();
    } finally {
      view.release();
    }
    if (this.errors.length) throw new Error("WebGPU: " + this.errors.splice(0).join("; "));
  }

  async sync() {
    this.checkDevice();
    this.flush();
    await Promise.race([this.device.queue.onSubmittedWorkDone(), this.lost]);
    this.checkDevice();
    if (this.errors.length) throw new Error("WebGPU: " + this.errors.splice(0).join("; "));
  }

  stats() {
    return { lost: this.lostReason, buffers: this.buffers.length - 1 - this.freeIds.length, pooledBytes: this.pooledBytes,
             pipelines: this.pipelines.length, dispatches: this.dispatches, submits: this.submits };
  }
}

export async function createRuntime() {
  const { device, adapter } = await requestDevice();
  const runtime = new Runtime(device);
  runtime.adapter = adapter;
  return runtime;
}
