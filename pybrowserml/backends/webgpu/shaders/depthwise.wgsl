// Depthwise conv2d (NHWC input, filter (kh, kw, c, multiplier), TensorFlow padding) and its gradients:
// direct loops, one invocation per output element (filter gradient: per partial sum, added afterwards).

struct Params {
  batch: u32, h: u32, w: u32, c: u32, mult: u32,
  oh: u32, ow: u32, kh: u32, kw: u32, sh: u32, sw: u32, pt: i32, pl: i32,
  has_bias: u32, act: i32, parts: u32,
}

fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return gid.x + gid.y * groups.x * 256u;
}

fn activate(v: f32, act: i32) -> f32 {
  switch act {
    case 1: { return max(v, 0.0); }
    case 2: { return clamp(v, 0.0, 6.0); }
    default: { return v; }
  }
}

//# kernel forward rrrw iiiiiiiiiiiiiiii
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  let cm = P.c * P.mult;
  if idx >= P.batch * P.oh * P.ow * cm { return; }
  let co = idx % cm;
  let ci = co / P.mult;
  var t = idx / cm;
  let ox = t % P.ow;
  t = t / P.ow;
  let oy = t % P.oh;
  let nb = t / P.oh;
  var acc = 0.0;
  for (var i = 0u; i < P.kh; i++) {
    let ih = i32(oy * P.sh + i) - P.pt;
    if ih < 0 || ih >= i32(P.h) { continue; }
    for (var j = 0u; j < P.kw; j++) {
      let iw = i32(ox * P.sw + j) - P.pl;
      if iw < 0 || iw >= i32(P.w) { continue; }
      let xv = x[((nb * P.h + u32(ih)) * P.w + u32(iw)) * P.c + ci];
      acc = fma(xv, wt[(i * P.kw + j) * cm + co], acc);
    }
  }
  if P.has_bias != 0u { acc += bias[co]; }
  y[idx] = activate(acc, P.act);
}

//# kernel grad_input rrw iiiiiiiiiiiiiiii
@group(0) @binding(0) var<storage, read> dz: array<f32>;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= P.batch * P.h * P.w * P.c { return; }
  let cm = P.c * P.mult;
  let ci = idx % P.c;
  var t = idx / P.c;
  let iw = t % P.w;
  t = t / P.w;
  let ih = t % P.h;
  let nb = t / P.h;
  var acc = 0.0;
  for (var i = 0u; i < P.kh; i++) {
    let ty = i32(ih) + P.pt - i32(i);
    if ty < 0 || ty % i32(P.sh) != 0 { continue; }
    let oy = u32(ty) / P.sh;
    if oy >= P.oh { continue; }
    for (var j = 0u; j < P.kw; j++) {
      let tx = i32(iw) + P.pl - i32(j);
      if tx < 0 || tx % i32(P.sw) != 0 { continue; }
      let ox = u32(tx) / P.sw;
      if ox >= P.ow { continue; }
      let dz_row = ((nb * P.oh + oy) * P.ow + ox) * cm + ci * P.mult;
      let w_row = (i * P.kw + j) * cm + ci * P.mult;
      for (var m = 0u; m < P.mult; m++) {
        acc = fma(dz[dz_row + m], wt[w_row + m], acc);
      }
    }
  }
  dx[idx] = acc;
}

//# kernel forward4 rrrw iiiiiiiiiiiiiiii
// `forward` for multiplier 1 and channels a multiple of 4: one invocation per 4 channels of an output
// pixel (vec4 loads), which shares the index arithmetic and the bounds checks among them.
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> wt: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  let c4 = P.c / 4u;
  if idx >= P.batch * P.oh * P.ow * c4 { return; }
  let q = idx % c4;
  var t = idx / c4;
  let ox = t % P.ow;
  t = t / P.ow;
  let oy = t % P.oh;
  let nb = t / P.oh;
  var acc = vec4<f32>(0.0);
  for (var i = 0u; i < P.kh; i++) {
    let ih = i32(oy * P.sh + i) - P.pt;
    if ih < 0 || ih >= i32(P.h) { continue; }
    let row = (nb * P.h + u32(ih)) * P.w;
    for (var j = 0u; j < P.kw; j++) {
      let iw = i32(ox * P.sw + j) - P.pl;
      if iw < 0 || iw >= i32(P.w) { continue; }
      acc = fma(x[(row + u32(iw)) * c4 + q], wt[(i * P.kw + j) * c4 + q], acc);
    }
  }
  if P.has_bias != 0u { acc += bias[q]; }
  y[idx] = vec4<f32>(activate(acc.x, P.act), activate(acc.y, P.act), activate(acc.z, P.act), activate(acc.w, P.act));
}

//# kernel grad_input4 rrw iiiiiiiiiiiiiiii
// `grad_input` for multiplier 1 and channels a multiple of 4, 4 channels per invocation (vec4).
@group(0) @binding(0) var<storage, read> dz: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> wt: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dx: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  let c4 = P.c / 4u;
  if idx >= P.batch * P.h * P.w * c4 { return; }
  let q = idx % c4;
  var t = idx / c4;
  let iw = t % P.w;
  t = t / P.w;
  let ih = t % P.h;
  let nb = t / P.h;
  var acc = vec4<f32>(0.0);
  for (var i = 0u; i < P.kh; i++) {
    let ty = i32(ih) + P.pt - i32(i);
    if ty < 0 || ty % i32(P.sh) != 0 { continue; }
    let oy = u32(ty) / P.sh;
    if oy >= P.oh { continue; }
    for (var j = 0u; j < P.kw; j++) {
      let tx = i32(iw) + P.pl - i32(j);
      if tx < 0 || tx % i32(P.sw) != 0 { continue; }
      let ox = u32(tx) / P.sw;
      if ox >= P.ow { continue; }
      acc = fma(dz[((nb * P.oh + oy) * P.ow + ox) * c4 + q], wt[(i * P.kw + j) * c4 + q], acc);
    }
  }
  dx[idx] = acc;
}

//# kernel grad_filter rrw iiiiiiiiiiiiiiii
// partial[p, f] = sum over output pixels q = p, p + parts, ... of x(window of q, f) * dz[q, channel of f].
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dz: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  let cm = P.c * P.mult;
  let filter_size = P.kh * P.kw * cm;
  if idx >= P.parts * filter_size { return; }
  let p = idx / filter_size;
  let f = idx % filter_size;
  let co = f % cm;
  let ci = co / P.mult;
  let i = f / (P.kw * cm);
  let j = (f / cm) % P.kw;
  let pixels = P.batch * P.oh * P.ow;
  var acc = 0.0;
  for (var q = p; q < pixels; q += P.parts) {
    let ox = q % P.ow;
    let t = q / P.ow;
    let oy = t % P.oh;
    let nb = t / P.oh;
    let ih = i32(oy * P.sh + i) - P.pt;
    let iw = i32(ox * P.sw + j) - P.pl;
    if ih < 0 || iw < 0 || ih >= i32(P.h) || iw >= i32(P.w) { continue; }
    acc = fma(x[((nb * P.h + u32(ih)) * P.w + u32(iw)) * P.c + ci], dz[q * cm + co], acc);
  }
  partial[idx] = acc;
}
