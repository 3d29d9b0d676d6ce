// Elementwise kernels and column sums (reductions). One invocation per element, 256 per workgroup;
// a grid wider than 65535 workgroups wraps into y (flat_index).
// Activation codes are backends/kernel_names.py's: 0 linear, 1 relu, 2 relu6, 3 sigmoid, 4 tanh.

fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return gid.x + gid.y * groups.x * 256u;
}

fn activation_grad(dy: f32, y: f32, act: i32) -> f32 {
  switch act {
    case 1: { return select(0.0, dy, y > 0.0); }
    case 2: { return select(0.0, dy, y > 0.0 && y < 6.0); }
    case 3: { return dy * y * (1.0 - y); }
    case 4: { return dy * (1.0 - y * y); }
    default: { return dy; }
  }
}

//# kernel binary rrw iiii
// out[i] = a[i % a_n] op b[i % b_n]: same shapes, a scalar, or a trailing-axis broadcast on either side.
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
struct Params { n: u32, a_n: u32, b_n: u32, op: i32 }
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if i >= P.n { return; }
  let x = a[i % P.a_n];
  let y = b[i % P.b_n];
  var r: f32;
  switch P.op {
    case 0: { r = x + y; }
    case 1: { r = x - y; }
    case 2: { r = x * y; }
    case 3: { r = x / y; }
    default: { r = max(x, y); }
  }
  out[i] = r;
}

//# kernel unary rw iiff
// out[i] = f(a[i]) with two scalar parameters (scale: a*alpha+beta, clip: [alpha, beta], pow: alpha).
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
struct Params { n: u32, op: i32, alpha: f32, beta: f32 }
@group(0) @binding(2) var<uniform> P: Params;

fn power(x: f32, p: f32) -> f32 {
  let r = pow(abs(x), p);
  if x >= 0.0 { return r; }
  // NaN, as numpy gives (from a runtime value: a NaN constant does not compile)
  if p != floor(p) { return bitcast<f32>(0x7fc00000u + u32(P.op) * 0u); }
  return select(r, -r, (i32(p) & 1) == 1);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if i >= P.n { return; }
  let x = a[i];
  var r: f32;
  switch P.op {
    case 0: { r = x * P.alpha + P.beta; }
    case 1: { r = max(x, 0.0); }
    case 2: { r = clamp(x, 0.0, 6.0); }
    case 3: { r = select(0.0, 1.0, x > 0.0); }
    case 4: { r = -x; }
    case 5: { r = exp(x); }
    case 6: { r = log(x); }
    case 7: { r = sqrt(x); }
    case 8: { r = abs(x); }
    case 9: { r = x * x; }
    case 10: { r = 1.0 / (1.0 + exp(-x)); }
    case 11: { r = tanh(clamp(x, -15.0, 15.0)); }  // some tanh implementations overflow to NaN
    case 12: { r = min(max(x, P.alpha), P.beta); }
    default: { r = power(x, P.alpha); }
  }
  out[i] = r;
}

//# kernel activation_grad rrw ii
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
struct Params { n: u32, act: i32 }
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if i >= P.n { return; }
  out[i] = activation_grad(dy[i], y[i], P.act);
}

//# kernel activation_bias_grad rrww iiii
// dz = activation_grad(dy, y) and the partial column sums of dz (the bias gradient) in one pass:
// invocation (p, c) handles rows p, p + parts, ... of column c, writing dz there and its sum to
// partial[p, c] (column_sum adds the parts rows when parts > 1). Every element of dz is written once.
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> dz: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
struct Params { rows: u32, cols: u32, parts: u32, act: i32 }
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if i >= P.parts * P.cols { return; }
  let p = i / P.cols;
  let c = i % P.cols;
  var total = 0.0;
  for (var r = p; r < P.rows; r += P.parts) {
    let at = r * P.cols + c;
    let g = activation_grad(dy[at], y[at], P.act);
    dz[at] = g;
    total += g;
  }
  partial[i] = total;
}

//# kernel column_sum rw iiif
// out[p, c] = scale * sum of a[r, c] over the rows r = p, p + parts, p + 2 parts, ... (parts rows of
// partial sums, so that a tall matrix is summed by many invocations; a second pass with parts = 1
// adds the partial rows).
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
struct Params { rows: u32, cols: u32, parts: u32, scale: f32 }
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if i >= P.parts * P.cols { return; }
  let p = i / P.cols;
  let c = i % P.cols;
  var total = 0.0;
  for (var r = p; r < P.rows; r += P.parts) {
    total += a[r * P.cols + c];
  }
  out[i] = total * P.scale;
}

//# kernel column_max rw iiif
// out[p, c] = the largest a[r, c] over the rows r = p, p + parts, ... (as column_sum; scale unused).
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
struct Params { rows: u32, cols: u32, parts: u32, scale: f32 }
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if i >= P.parts * P.cols { return; }
  let p = i / P.cols;
  let c = i % P.cols;
  var best = a[p * P.cols + c];
  for (var r = p + P.parts; r < P.rows; r += P.parts) {
    best = max(best, a[r * P.cols + c]);
  }
  out[i] = best;
}

//# kernel row_argmax rw ii
// out[r] = the index of the first largest a[r, j] (int32), as numpy's argmax.
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
struct Params { rows: u32, cols: u32 }
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let r = flat_index(gid, groups);
  if r >= P.rows { return; }
  let base = r * P.cols;
  var best = 0u;
  for (var j = 1u; j < P.cols; j++) {
    if a[base + j] > a[base + best] { best = j; }
  }
  out[r] = i32(best);
}

//# kernel row_softmax rw iii
// Softmax (take_log 0) or log-softmax (take_log 1) of each row of x; one invocation per row.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
struct Params { rows: u32, classes: u32, take_log: u32 }
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let r = flat_index(gid, groups);
  if r >= P.rows { return; }
  let base = r * P.classes;
  var top = x[base];
  for (var j = 1u; j < P.classes; j++) { top = max(top, x[base + j]); }
  var total = 0.0;
  for (var j = 0u; j < P.classes; j++) { total += exp(x[base + j] - top); }
  let log_total = log(total);
  for (var j = 0u; j < P.classes; j++) {
    let shifted = x[base + j] - top;
    out[base + j] = select(exp(shifted) / total, shifted - log_total, P.take_log == 1u);
  }
}
