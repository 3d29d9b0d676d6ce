// The JS side of the WebGL2 backend: one WebGL2 context, a table of textures (one per array), a texture
// pool keyed by texture shape, a program cache, and the draw call every kernel makes. Python makes one
// call per kernel (draw) and holds texture ids.
//
// Storage: an array of n elements is an R32F texture of a fixed width (see widthBits) and as many rows
// as needed, element i at texel (i % width, i / width); uint8 arrays (image batches) are R8 textures, read
// by shaders as b / 255 and rounded back (exact). int32 arrays are R32F textures of exact integers.
// Kernels may also make RGBA32F temporaries (four consecutive values per texel: the GEMM's operands,
// channel-packed convolution operands), never stored arrays.
// A kernel is a fragment shader computing one output element from its flat index (a few write up to 4
// outputs of the same size at once, as multiple render targets; packed kernels write one vec4 per texel
// of each of their outputs).

const LOST = "WebGL context lost: ";
// Texture width: a power of two (shaders find a texel with a shift and a mask), narrow enough that
// arrays span many rows (SwiftShader shares a draw's rows among its threads: a one-row array runs on one
// core), wide enough that CAPACITY elements fit under MAX_TEXTURE_SIZE rows. An array of fewer elements
// than the width takes one row, drawn with a viewport of its size.
const MIN_WIDTH_BITS = 8;
const CAPACITY = 1 << 22;
function widthBits(maxTextureSize) {
  let bits = MIN_WIDTH_BITS;
  while ((1 << bits) * maxTextureSize < CAPACITY && (1 << bits) < maxTextureSize) bits++;
  return bits;
}
const R32F = 0, R8 = 1, RGBA32F = 2;  // RGBA32F: packed temporaries of the GEMM (four values per texel)
const BYTES = [4, 1, 16];

// Put before every kernel: the flat-index helpers. `at` reads element i of an array texture; a Cursor
// walks an array with a fixed stride without dividing per element (SwiftShader's integer division is slow).
const prelude = (bits) => `#version 300 es
precision highp float;
precision highp int;
precision highp sampler2D;
uniform int pb_size;
// Every texture is WIDTH texels wide: element i is texel (i & (WIDTH - 1), i >> WIDTH_BITS), no division.
#define WIDTH ${1 << bits}
#define WIDTH_BITS ${bits}
float at(sampler2D t, int i) {
  return texelFetch(t, ivec2(i & (WIDTH - 1), i >> WIDTH_BITS), 0).r;
}
struct Cursor { ivec2 p; ivec2 step; int w; };
Cursor cursor(sampler2D t, int start, int stride) {
  return Cursor(ivec2(start & (WIDTH - 1), start >> WIDTH_BITS), ivec2(stride & (WIDTH - 1), stride >> WIDTH_BITS), WIDTH);
}
float next(sampler2D t, inout Cursor c) {
  float v = texelFetch(t, c.p, 0).r;
  c.p += c.step;
  if (c.p.x >= c.w) { c.p.x -= c.w; c.p.y += 1; }
  return v;
}
// The same over packed (RGBA32F) textures: four values per texel.
vec4 at4(sampler2D t, int i) {
  return texelFetch(t, ivec2(i & (WIDTH - 1), i >> WIDTH_BITS), 0);
}
vec4 next4(sampler2D t, inout Cursor c) {
  vec4 v = texelFetch(t, c.p, 0);
  c.p += c.step;
  if (c.p.x >= c.w) { c.p.x -= c.w; c.p.y += 1; }
  return v;
}
// (a / b, a % b) for 0 <= a < 2^22 and b > 0: a float division and one correction step, cheaper than
// SwiftShader's integer division (one lane at a time).
ivec2 pb_divmod(int a, int b) {
  int q = int((float(a) + 0.5) / float(b));
  q += (a - q * b >= b ? 1 : 0) - (a - q * b < 0 ? 1 : 0);
  return ivec2(q, a - q * b);
}
// A fused activation of four results: 0 none, 1 relu, 2 relu6 (the kernels' act uniform).
vec4 pb_activate(vec4 s, int act) {
  return act == 1 ? max(s, 0.0) : act == 2 ? clamp(s, 0.0, 6.0) : s;
}
// Pixel p = (batch, row, column) of an (OH, OW) grid plus d (each part < its range), with carries: the
// kernels that compute a pixel in each quarter of their output step from one to the next without dividing.
ivec3 pixel_advance(ivec3 p, ivec3 d, int OH, int OW) {
  p += d;
  if (p.z >= OW) { p.z -= OW; p.y++; }
  if (p.y >= OH) { p.y -= OH; p.x++; }
  return p;
}
// Element i of an array read from its packed twin (four consecutive elements per texel): what \`at\`
// becomes in a program variant that reads a deferred array without unpacking it (Runtime.packedReads).
float pb_at_packed(sampler2D t, int i) {
  return at4(t, i >> 2)[i & 3];
}
`;

const VERTEX = `#version 300 es
void main() {
  // one triangle covering the viewport
  vec2 p = vec2(float((gl_VertexID & 1) << 2) - 1.0, float((gl_VertexID & 2) << 1) - 1.0);
  gl_Position = vec4(p, 0.0, 1.0);
}
`;

function mainFor(spec) {  // (WIDTH_BITS comes from the prelude)
  const outputs = spec.outputs;
  if (spec.packed && outputs === 1) {  // one packed output: vec4 compute4(int i)
    return `out vec4 pb_out0;
void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  int i = (p.y << WIDTH_BITS) | p.x;
  pb_out0 = i < pb_size ? compute4(i) : vec4(0.0);
}
`;
  }
  if (outputs === 1) {
    return `out vec4 pb_out0;
void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  int i = (p.y << WIDTH_BITS) | p.x;
  pb_out0 = vec4(i < pb_size ? compute(i) : 0.0);
}
`;
  }
  const [type, zero, call, value] = spec.packed
    ? ["vec4", "vec4(0.0)", "compute4", (k) => `r[${k}]`] : ["float", "0.0", "compute", (k) => `vec4(r[${k}])`];
  let decl = "", write = "";
  for (let k = 0; k < outputs; k++) {
    decl += `layout(location = ${k}) out vec4 pb_out${k};\n`;
    write += `  pb_out${k} = ${value(k)};\n`;
  }
  return `${decl}void main() {
  ivec2 p = ivec2(gl_FragCoord.xy);
  int i = (p.y << WIDTH_BITS) | p.x;
  ${type} r[${outputs}];
  for (int k = 0; k < ${outputs}; k++) r[k] = ${zero};
  if (i < pb_size) ${call}(i, r);
${write}}
`;
}

// A .glsl family file is split into blocks by header lines:
//   "//# common <name>"                                        code several kernels share
//   "//# kernel <name> <outputs> <inputs|-> <uniforms|-> [common...]"  one kernel: <outputs> is how many
//     arrays it writes (1: it defines `float compute(int i)`; k > 1: `void compute(int i, inout float r[k])`;
//     "v": one packed RGBA32F array, `vec4 compute4(int i)`; "v2" to "v4": that many packed arrays of one
//     size, `void compute4(int i, inout vec4 r[k])`),
//     <inputs> the comma-separated names of its sampler2D uniforms, <uniforms> the comma-separated names of
//     its int/float uniforms, in the order Python passes them; then the common blocks it includes.
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
      const [outputs, inputs, uniforms, ...uses] = rest;
      const list = (text) => (text === "-" ? [] : text.split(","));
      const packed = outputs.startsWith("v");
      const count = packed ? Number(outputs.slice(1) || 1) : Number(outputs);
      kernels[name] = { body, uses, outputs: count, packed, inputs: list(inputs), uniforms: list(uniforms) };
      if (!(count >= 1 && count <= (packed ? 8 : 4)) || outputs === "v1") {
        throw new Error(`kernel ${name}: outputs must be 1 to 4, v or v2 to v8, got ${outputs}`);
      }
    } else {
      throw new Error(`unknown block header "//# ${kind}" in a .glsl family file`);
    }
  }
  for (const spec of Object.values(kernels)) {
    const declarations = spec.inputs.map((name) => `uniform sampler2D ${name};\n`).join("");
    spec.code = declarations + prelude + spec.uses.map((use) => {
      if (!(use in commons)) throw new Error(`kernel uses a common block "${use}" that the file lacks`);
      return commons[use];
    }).join("\n") + spec.body;
  }
  return kernels;
}

// `at(name,` in a kernel's code (a read of input `name` by flat index).
const atCall = (name) => new RegExp(`\\bat\\(\\s*${name}\\s*,`, "g");

// Per input of a kernel: whether the code reads it only through at(name, i) (no cursor, no packed read,
// no passing it on), so that a variant can read a deferred array from its packed twin instead.
function packableInputs(spec) {
  const code = spec.code.replace(/\/\/.*$/gm, "").replace(/\/\*[\s\S]*?\*\//g, "");  // (comments name inputs too)
  return spec.inputs.map((name) => {
    const uses = (code.match(new RegExp(`\\b${name}\\b`, "g")) || []).length;
    const reads = (code.match(atCall(name)) || []).length;
    return reads > 0 && uses === reads + 1;  // + 1: its sampler2D declaration
  });
}

function makeContext() {
  const canvas = typeof OffscreenCanvas !== "undefined"
    ? new OffscreenCanvas(1, 1) : document.createElement("canvas");
  const gl = canvas.getContext("webgl2", { antialias: false, depth: false, stencil: false, alpha: true,
                                           premultipliedAlpha: false, preserveDrawingBuffer: false,
                                           powerPreference: "high-performance" });
  if (!gl) throw new Error("this browser has no WebGL2 (getContext('webgl2') returned null)");
  if (!gl.getExtension("EXT_color_buffer_float")) {
    throw new Error("WebGL2 here lacks EXT_color_buffer_float: it cannot render to float32 textures");
  }
  return { canvas, gl };
}

// True only when a WebGL2 context renders a float32 value that half floats cannot hold into an R32F
// texture and reads it back unchanged (the "auto" probe's test).
export function float32Renderable() {
  let gl;
  try {
    ({ gl } = makeContext());
  } catch (error) {
    return false;
  }
  try {
    const runtime = new Runtime(gl, null);
    runtime.addFamily("probe", "//# kernel value 1 - v\nuniform float v;\nfloat compute(int i) { return v * float(i + 1); }\n");
    const pid = runtime.program("probe", "value", {});
    runtime.compileAll();
    const out = runtime.alloc(3, R32F);
    const value = 1 + 2 ** -20;
    runtime.draw(pid, out, value);
    const got = new Float32Array(3);
    runtime.readInto(out, got);
    const ok = got[0] === Math.fround(value) && got[2] === Math.fround(3 * value) && gl.getError() === gl.NO_ERROR;
    return ok;
  } catch (error) {
    return false;
  } finally {
    const lose = gl.getExtension("WEBGL_lose_context");
    if (lose) lose.loseContext();  // give the probe's context back at once
  }
}

export class Runtime {
  constructor(gl, canvas) {
    this.gl = gl;
    this.canvas = canvas;
    this.textures = [null];  // id -> {tex, w, h, format, size}; id 0 is never used
    this.freeIds = [];
    this.pool = new Map();   // "format:wxh" -> [WebGLTexture]
    this.pooledBytes = 0;
    this.families = {};
    this.programs = [];      // id -> {program, spec, inputs: [location], uniforms: [[location, isInt]]}
    this.programIds = new Map();
    this.compiling = [];     // programs linked but not checked yet (ready() checks them together)
    this.dispatches = 0;     // draws in total (for counting per training step)
    this.syncReads = 0;      // blocking readPixels (download), which stall until the GPU is done
    this.asyncReads = 0;
    this.lostReason = null;
    this.profile = null;     // a Map while profiling (startProfile): per kernel and output size, time and draws
    this.current = null;
    this.maxTextureSize = gl.getParameter(gl.MAX_TEXTURE_SIZE);
    // Render targets one draw can write (WebGL2 promises 4; SwiftShader has 8): kernels of 5-8 outputs
    // are used only where there are as many.
    this.maxDrawBuffers = Math.min(gl.getParameter(gl.MAX_DRAW_BUFFERS), gl.getParameter(gl.MAX_COLOR_ATTACHMENTS));
    this.widthBits = widthBits(this.maxTextureSize);
    this.width = 1 << this.widthBits;
    this.prelude = prelude(this.widthBits);
    this.vao = gl.createVertexArray();
    gl.bindVertexArray(this.vao);
    this.framebuffer = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.framebuffer);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.pixelStorei(gl.PACK_ALIGNMENT, 1);
    gl.disable(gl.DITHER);
    gl.disable(gl.BLEND);
    gl.disable(gl.DEPTH_TEST);
    this.vertex = this.compileShader(gl.VERTEX_SHADER, VERTEX);
    this.attached = 0;       // colour attachments currently bound on the framebuffer
    if (canvas) {
      // The event comes a task after the loss; isContextLost() (checked by every call) sees it at once.
      canvas.addEventListener("webglcontextlost", () => {
        this.lostReason = this.lostReason || "webglcontextlost: the WebGL context was lost";
      });
    }
  }

  // Throws the error Python turns into DeviceLostError (the prefix is the contract) once the context is lost.
  checkDevice() {
    if (this.lostReason === null && this.gl.isContextLost()) {
      this.lostReason = "the WebGL context was lost (isContextLost() is true)";
    }
    if (this.lostReason !== null) throw new Error(LOST + this.lostReason);
  }

  addFamily(name, source) {
    this.families[name] = parseFamily(source);
  }

  compileShader(type, source) {
    const gl = this.gl;
    const shader = gl.createShader(type);
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    return shader;
  }

  // The id of the program of family/kernel with these #defines (a plain object), compiled once. Its
  // status is checked by ready(), so that the browser can compile many programs in parallel.
  program(family, kernel, defines) {
    const key = `${family}/${kernel}/${JSON.stringify(defines || {})}`;
    let id = this.programIds.get(key);
    if (id !== undefined) return id;
    const spec = this.families[family] && this.families[family][kernel];
    if (!spec) throw new Error(`WebGL: no kernel ${kernel} in shaders/${family}.glsl`);
    const gl = this.gl;
    const defineLines = Object.entries(defines || {}).map(([k, v]) => `#define ${k} ${v}\n`).join("");
    const entry = this.link(spec, spec.code, defineLines, key, family, kernel);
    entry.packable = packableInputs(spec);
    entry.variants = new Map();
    id = this.programs.length;
    this.programs.push(entry);
    this.programIds.set(key, id);
    return id;
  }

  link(spec, code, defineLines, key, family, kernel) {
    const gl = this.gl;
    const source = this.prelude + defineLines + code + "\n" + mainFor(spec);
    const fragment = this.compileShader(gl.FRAGMENT_SHADER, source);
    const program = gl.createProgram();
    gl.attachShader(program, this.vertex);
    gl.attachShader(program, fragment);
    gl.linkProgram(program);
    const entry = { program, fragment, spec, key, family, kernel, defineLines, linked: false, inputs: [], uniforms: [] };
    this.compiling.push(entry);
    return entry;
  }

  // The variant of program `entry` that reads the inputs in bitmask `mask` from their packed twins
  // (every `at(name, i)` of them becomes pb_at_packed), linked and checked on first use.
  packedVariant(entry, mask) {
    let variant = entry.variants.get(mask);
    if (variant) return variant;
    let code = entry.spec.code;
    entry.spec.inputs.forEach((name, k) => {
      if (mask & (1 << k)) code = code.replace(atCall(name), `pb_at_packed(${name},`);
    });
    variant = this.link(entry.spec, code, entry.defineLines, `${entry.key}/packed${mask}`, entry.family, entry.kernel);
    this.compileAll();
    entry.variants.set(mask, variant);
    return variant;
  }

  // Checks every program made since the last call; throws the compiler's message for one that failed.
  compileAll() {
    const gl = this.gl;
    for (const entry of this.compiling.splice(0)) {
      if (!gl.getProgramParameter(entry.program, gl.LINK_STATUS)) {
        const log = gl.getShaderInfoLog(entry.fragment) || gl.getProgramInfoLog(entry.program) || "no log";
        throw new Error(`WebGL: shaders/${entry.family}.glsl kernel ${entry.kernel} does not compile: ${log.trim()}`);
      }
      gl.useProgram(entry.program);
      this.current = entry.program;
      entry.inputs = entry.spec.inputs.map((name, unit) => {
        const location = gl.getUniformLocation(entry.program, name);
        gl.uniform1i(location, unit);
        return location;
      });
      const types = new Map();
      const count = gl.getProgramParameter(entry.program, gl.ACTIVE_UNIFORMS);
      for (let u = 0; u < count; u++) {
        const info = gl.getActiveUniform(entry.program, u);
        types.set(info.name, info.type);
      }
      entry.uniforms = entry.spec.uniforms.map((name) => [gl.getUniformLocation(entry.program, name),
                                                          types.get(name) !== gl.FLOAT]);
      entry.size = gl.getUniformLocation(entry.program, "pb_size");
      entry.linked = true;
    }
  }

  async ready() {
    this.checkDevice();
    this.compileAll();
  }

  dims(size) {
    const h = Math.max(1, Math.ceil(size / this.width));
    if (h > this.maxTextureSize) {
      throw new Error(`WebGL: an array of ${size} elements does not fit one texture here (at most `
                      + `${this.width * this.maxTextureSize}: ${this.width} x MAX_TEXTURE_SIZE ${this.maxTextureSize})`);
    }
    return [this.width, h];
  }

  alloc(size, format) {
    if (this.lostReason !== null || this.gl.isContextLost()) this.checkDevice();
    const gl = this.gl;
    const [w, h] = this.dims(size);
    const key = `${format}:${w}x${h}`;
    const pooled = this.pool.get(key);
    let tex;
    if (pooled && pooled.length) {
      tex = pooled.pop();
      this.pooledBytes -= w * h * BYTES[format];
    } else {
      tex = gl.createTexture();
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, tex);
      gl.texStorage2D(gl.TEXTURE_2D, 1, [gl.R32F, gl.R8, gl.RGBA32F][format], w, h);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    }
    const id = this.freeIds.length ? this.freeIds.pop() : this.textures.length;
    this.textures[id] = { tex, w, h, format, size, key };
    return id;
  }

  release(entry) {
    let list = this.pool.get(entry.key);
    if (!list) this.pool.set(entry.key, (list = []));
    list.push(entry.tex);
    this.pooledBytes += entry.w * entry.h * BYTES[entry.format];
  }

  free(id) {
    const entry = this.textures[id];
    if (!entry) return;
    this.textures[id] = null;
    this.freeIds.push(id);
    this.release(entry);
  }

  // Deletes every pooled texture.
  trimPool() {
    for (const list of this.pool.values()) for (const tex of list) this.gl.deleteTexture(tex);
    this.pool.clear();
    this.pooledBytes = 0;
  }

  // Writes `data` (a typed array of the texture's element type, `size` elements) into texture `id`:
  // the whole rows, then the part of the last row.
  writeTexture(entry, data) {
    const gl = this.gl;
    const [format, type] = entry.format === R8 ? [gl.RED, gl.UNSIGNED_BYTE] : [gl.RED, gl.FLOAT];
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, entry.tex);
    const full = Math.floor(entry.size / entry.w);
    if (full) gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, entry.w, full, format, type, data, 0);
    const rest = entry.size - full * entry.w;
    if (rest) gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, full, rest, 1, format, type, data, full * entry.w);
  }

  // `array` is a PyProxy of a C-contiguous numpy array (float32, int32 or uint8): getBuffer() views it
  // in place. int32 values become floats here (exact up to 2^24, checked by Python).
  upload(id, array) {
    this.checkDevice();
    const entry = this.textures[id];
    this.overwritten(entry);
    const view = array.getBuffer();
    try {
      let data = view.data;
      if (data instanceof Int32Array) data = Float32Array.from(data);
      if (entry.size) this.writeTexture(entry, data);
    } finally {
      view.release();
    }
  }

  fill(id, value) {
    this.checkDevice();
    const gl = this.gl;
    this.overwritten(this.textures[id]);
    this.attach([this.textures[id]]);
    gl.clearBufferfv(gl.COLOR, 0, [value, value, value, value]);
  }

  attach(entries) {
    const gl = this.gl;
    for (let k = 0; k < entries.length; k++) {
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + k, gl.TEXTURE_2D, entries[k].tex, 0);
    }
    for (let k = entries.length; k < this.attached; k++) {
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + k, gl.TEXTURE_2D, null, 0);
    }
    if (entries.length !== this.attached) {
      gl.drawBuffers(entries.map((_, k) => gl.COLOR_ATTACHMENT0 + k));
      this.attached = entries.length;
    }
    const first = entries[0];
    gl.viewport(0, 0, first.h === 1 ? Math.max(1, first.size) : first.w, first.h);
  }

  // draw(program, ...outputIds, ...inputIds, ...uniforms): one draw computing every element of the
  // outputs (which have one size). An output that is also an input (an in-place update) is rendered into
  // a fresh texture that then takes the id's place, so a draw never reads the texture it writes.
  draw(pid, ...args) {
    if (this.lostReason !== null || this.gl.isContextLost()) this.checkDevice();
    const gl = this.gl;
    let entry = this.programs[pid];
    if (!entry.linked) throw new Error("WebGL: a program was used before it was checked: await ready() first");
    const spec = entry.spec;
    const nout = spec.outputs, nin = spec.inputs.length;
    // An input whose unpack is deferred is read from its packed twin when the kernel allows it (saves
    // the unpack draw); otherwise it is unpacked now.
    // The twin's id is taken now: the same array passed again at a slot that must unpack it clears `lazy`.
    let packedMask = 0;
    const outputIds = args.slice(0, nout), readIds = args.slice(nout, nout + nin);
    for (let k = 0; k < nin; k++) {
      const input = this.textures[readIds[k]];
      if (input && input.lazy && entry.packable[k] && !outputIds.includes(readIds[k])) {
        packedMask |= 1 << k;
        readIds[k] = input.lazy.packedId;
      } else this.materialize(readIds[k]);
    }
    const inputTextures = readIds.map((id) => this.textures[id].tex);
    if (packedMask) entry = this.packedVariant(entry, packedMask);
    for (let k = 0; k < nout; k++) this.overwritten(this.textures[args[k]]);
    if (this.current !== entry.program) {
      gl.useProgram(entry.program);
      this.current = entry.program;
    }
    const uniforms = entry.uniforms;
    for (let u = 0; u < uniforms.length; u++) {
      const [location, isInt] = uniforms[u];
      if (isInt) gl.uniform1i(location, args[nout + nin + u]);
      else gl.uniform1f(location, args[nout + nin + u]);
    }
    const outputs = [];
    let swaps = null;
    for (let k = 0; k < nout; k++) {
      const id = args[k];
      let target = this.textures[id];
      for (let j = 0; j < nin; j++) {
        if (args[nout + j] === id) {
          const freshId = this.alloc(target.size, target.format);
          (swaps || (swaps = [])).push([id, freshId]);
          target = this.textures[freshId];
          break;
        }
      }
      outputs.push(target);
    }
    // after the outputs: a fresh texture is made on unit 0
    for (let k = 0; k < nin; k++) {
      gl.activeTexture(gl.TEXTURE0 + k);
      gl.bindTexture(gl.TEXTURE_2D, inputTextures[k]);
    }
    this.attach(outputs);
    gl.uniform1i(entry.size, outputs[0].size);
    let start = 0;
    if (this.profile) {
      this.waitIdle(outputs[0]);  // every earlier draw done: the time below is this draw's alone
      start = performance.now();
    }
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    this.dispatches++;
    if (this.profile) this.record(entry, outputs[0], start);
    if (swaps) {
      for (const [id, freshId] of swaps) {
        const old = this.textures[id];
        this.textures[id] = this.textures[freshId];
        this.textures[freshId] = null;
        this.freeIds.push(freshId);
        this.release(old);
      }
    }
  }

  // placeParts(dstId, partTexels, ...srcIds): source k's texels 0 .. partTexels - 1 into texture dstId
  // from flat texel k * partTexels on, by copyTexSubImage2D (two rectangles per source when that offset is
  // not at a row start): SwiftShader copies texels some twenty times faster than a draw writes them (a draw
  // pays per fragment). The sources go in order, so what a copy writes past its part (the rest of the
  // source's last row) is overwritten by the next part's copy, or falls past the array. Kernels whose render
  // targets are consecutive parts of one result are put together so (gemm's interleave), and a dense
  // block's concat is stacked so (kernels/shape.py). Not a draw: `dispatches` does not count it.
  placeParts(dstId, partTexels, ...srcIds) {
    if (this.lostReason !== null || this.gl.isContextLost()) this.checkDevice();
    const gl = this.gl;
    const dst = this.textures[dstId];
    const w = dst.w;
    this.overwritten(dst);
    let start = 0;
    if (this.profile) {
      this.waitIdle(this.textures[srcIds[0]]);
      start = performance.now();
    }
    if (!this.readFramebuffer) this.readFramebuffer = gl.createFramebuffer();
    gl.bindFramebuffer(gl.READ_FRAMEBUFFER, this.readFramebuffer);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, dst.tex);
    // (x, y, width, height) of the source to (x, y) of dst, clipped to dst's rows
    const copy = (sx, sy, width, height, dx, dy) => {
      const h = Math.min(height, dst.h - dy);
      if (width > 0 && h > 0) gl.copyTexSubImage2D(gl.TEXTURE_2D, 0, dx, dy, sx, sy, width, h);
    };
    for (let k = 0; k < srcIds.length; k++) {
      const offset = k * partTexels, x = offset % w, y = Math.floor(offset / w);
      const rows = Math.ceil(partTexels / w);
      gl.framebufferTexture2D(gl.READ_FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, this.textures[srcIds[k]].tex, 0);
      copy(0, 0, w - x, rows, x, y);
      copy(w - x, 0, x, rows, 0, y + 1);
    }
    gl.framebufferTexture2D(gl.READ_FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, null, 0);
    gl.bindFramebuffer(gl.READ_FRAMEBUFFER, this.framebuffer);  // readPixels reads the draw framebuffer
    if (this.profile) {
      this.attach([dst]);
      this.record({ key: "copy/placeParts" }, dst, start);
    }
  }

  // Deferred unpacks: array `id` (R32F) holds the values of packed texture `packedId` (rows of k values in
  // kp texels, kp = k / 4: the same flat order), unpacked by program `pid` only when something reads the
  // array as R32F. Until then (and after, until the array is written) `twin(id)` is packedId, so a kernel
  // that would pack the array the same way (gemm's pack4 of rows of k) uses the packed texture instead.
  // The caller keeps the packed texture alive as long as the array (Python: GLArray.packed).
  deferUnpack(id, pid, packedId, k, kp) {
    const entry = this.textures[id];
    entry.lazy = { pid, packedId, k, kp };
    entry.twin = packedId;
  }

  twin(id) {
    const entry = this.textures[id];
    return entry && entry.twin !== undefined ? entry.twin : -1;
  }

  materialize(id) {
    const entry = this.textures[id];
    if (!entry || !entry.lazy) return;
    const { pid, packedId, k, kp } = entry.lazy;
    entry.lazy = null;
    this.draw(pid, id, packedId, k, kp);
    entry.twin = packedId;  // (the draw cleared it as an output: the values are still the same)
  }

  overwritten(entry) {
    if (entry) {
      entry.lazy = null;
      entry.twin = undefined;
      entry.packs = undefined;
    }
  }

  // Packed copies of array `id` (gemm.py's pack of a filter or weight, `key` its layout) remembered until
  // the array is written: a model's weights are packed once for any number of predicts, not per call.
  // The caller keeps the packed texture alive as long as it may be recalled.
  rememberPack(id, key, packedId) {
    const entry = this.textures[id];
    (entry.packs || (entry.packs = new Map())).set(key, packedId);
  }

  recalledPack(id, key) {
    const entry = this.textures[id];
    const packedId = entry && entry.packs ? entry.packs.get(key) : undefined;
    return packedId === undefined ? -1 : packedId;
  }

  // Reads texture `id` into the typed array `out` synchronously (readPixels blocks until the GPU is done).
  readInto(id, out) {
    this.materialize(id);
    const gl = this.gl;
    const entry = this.textures[id];
    this.attach([entry]);
    this.readPixels(entry, out, null);
  }

  // readPixels of an attached texture into `out` (a typed array of `entry.size` elements of the stored
  // type: Float32Array or Uint8Array), or with `out` null into the bound PIXEL_PACK_BUFFER.
  readPixels(entry, out, packBytes) {
    const gl = this.gl;
    const full = Math.floor(entry.size / entry.w), rest = entry.size - full * entry.w;
    const [format, type, channels] = this.readFormat(entry);
    const bytes = entry.format === R8 ? 1 : 4;
    if (channels === 1) {
      if (out) {
        if (full) gl.readPixels(0, 0, entry.w, full, format, type, out, 0);
        if (rest) gl.readPixels(0, full, rest, 1, format, type, out, full * entry.w);
      } else {
        if (full) gl.readPixels(0, 0, entry.w, full, format, type, 0);
        if (rest) gl.readPixels(0, full, rest, 1, format, type, full * entry.w * bytes);
      }
      return 1;
    }
    // RGBA reads (what every WebGL2 implementation accepts): 4 values per element, red first.
    const wide = out ? new out.constructor(entry.w * entry.h * 4) : null;
    if (wide) {
      gl.readPixels(0, 0, entry.w, entry.h, format, type, wide, 0);
      for (let i = 0; i < entry.size; i++) out[i] = wide[4 * i];
    } else {
      gl.readPixels(0, 0, entry.w, entry.h, format, type, 0);
    }
    return 4;
  }

  readFormat(entry) {
    const gl = this.gl;
    if (entry.format === R8) return [gl.RGBA, gl.UNSIGNED_BYTE, 4];
    if (this.redFloat === undefined) {
      this.redFloat = gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_FORMAT) === gl.RED
        && gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_TYPE) === gl.FLOAT;
    }
    return this.redFloat ? [gl.RED, gl.FLOAT, 1] : [gl.RGBA, gl.FLOAT, 4];
  }

  // The stored values of texture `id` as the numpy array `out` (a PyProxy) holds them: floats, int32
  // (from exact float integers) or uint8.
  copyOut(entry, values, out) {
    const view = out.getBuffer();
    try {
      view.data.set(values.subarray(0, entry.size));
    } finally {
      view.release();
    }
  }

  hostArray(entry) {
    return entry.format === R8 ? new Uint8Array(entry.size) : new Float32Array(entry.size);
  }

  // A blocking read (counted in syncReads): readPixels waits for every draw before it.
  download(id, out) {
    this.checkDevice();
    this.materialize(id);
    const entry = this.textures[id];
    if (!entry.size) return;
    const values = this.hostArray(entry);
    this.attach([entry]);
    this.readPixels(entry, values, null);
    this.syncReads++;
    this.checkDevice();
    this.copyOut(entry, values, out);
  }

  // A read that does not block: readPixels into a pixel buffer object, a fence, then polling the fence
  // from the event loop, so a training loop keeps recording while the GPU catches up.
  async downloadAsync(id, out) {
    this.checkDevice();
    this.materialize(id);
    const gl = this.gl;
    const entry = this.textures[id];
    if (!entry.size) return;
    this.attach([entry]);
    const [, , channels] = this.readFormat(entry);
    const bytes = entry.format === R8 ? 1 : 4;
    const total = channels === 1 ? entry.size * bytes : entry.w * entry.h * 4 * bytes;
    const buffer = gl.createBuffer();
    gl.bindBuffer(gl.PIXEL_PACK_BUFFER, buffer);
    gl.bufferData(gl.PIXEL_PACK_BUFFER, total, gl.STREAM_READ);
    this.readPixels(entry, null, total);
    gl.bindBuffer(gl.PIXEL_PACK_BUFFER, null);
    const fence = gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0);
    gl.flush();
    this.asyncReads++;
    try {
      for (let wait = 0; ; wait++) {
        if (this.lostReason !== null || gl.isContextLost()) this.checkDevice();
        const status = gl.clientWaitSync(fence, 0, 0);
        if (status === gl.ALREADY_SIGNALED || status === gl.CONDITION_SATISFIED) break;
        if (status === gl.WAIT_FAILED) throw new Error("WebGL: clientWaitSync failed");
        await new Promise((resolve) => setTimeout(resolve, wait < 8 ? 0 : 2));
      }
      const wide = entry.format === R8 ? new Uint8Array(total) : new Float32Array(total / 4);
      gl.bindBuffer(gl.PIXEL_PACK_BUFFER, buffer);
      gl.getBufferSubData(gl.PIXEL_PACK_BUFFER, 0, wide);
      gl.bindBuffer(gl.PIXEL_PACK_BUFFER, null);
      let values = wide;
      if (channels !== 1) {
        values = this.hostArray(entry);
        for (let i = 0; i < entry.size; i++) values[i] = wide[4 * i];
      }
      this.copyOut(entry, values, out);
    } finally {
      gl.deleteSync(fence);
      gl.deleteBuffer(buffer);
    }
  }

  // Debug profiling (slow: a finish around every draw). startProfile() then stopProfile() gives
  // [{kernel, texels, format, draws, ms}], most time first: where a step's GPU time goes per kernel.
  startProfile() {
    this.profile = new Map();
  }

  // Blocks until the GPU has run every draw so far (gl.finish does not wait in Chromium; a readPixels of
  // one texel of the attached output does).
  waitIdle(output) {
    const gl = this.gl;
    const [format, type, channels] = output.format === R32F ? this.readFormat(output) : [gl.RGBA, gl.FLOAT, 4];
    gl.readPixels(0, 0, 1, 1, format, type, new Float32Array(channels), 0);
  }

  record(entry, output, start) {
    this.waitIdle(output);
    const ms = performance.now() - start;
    const key = `${entry.key} ${output.size}${output.format === RGBA32F ? "x4" : ""}`;
    let row = this.profile.get(key);
    if (!row) this.profile.set(key, (row = { kernel: entry.key, texels: output.size, packed: output.format === RGBA32F, draws: 0, ms: 0 }));
    row.draws++;
    row.ms += ms;
  }

  stopProfile() {
    const rows = [...(this.profile || new Map()).values()].sort((a, b) => b.ms - a.ms);
    this.profile = null;
    return JSON.stringify(rows);
  }

  stats() {
    const live = this.textures.length - 1 - this.freeIds.length;
    return { lost: this.lostReason, textures: live, pooledBytes: this.pooledBytes, programs: this.programs.length,
             dispatches: this.dispatches, syncReads: this.syncReads, asyncReads: this.asyncReads };
  }
}

export function createRuntime() {
  const { canvas, gl } = makeContext();
  const runtime = new Runtime(gl, canvas);
  runtime.renderer = String(gl.getParameter(gl.RENDERER));
  const debug = gl.getExtension("WEBGL_debug_renderer_info");
  if (debug) runtime.renderer = String(gl.getParameter(debug.UNMASKED_RENDERER_WEBGL));
  return runtime;
}
