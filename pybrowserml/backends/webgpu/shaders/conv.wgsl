// conv2d (NHWC input, HWIO filter, TensorFlow padding) and its gradients.
// Forward and filter gradient are implicit GEMMs on a 64x64 tile (the im2col matrix is never
// stored: load_a computes each element's input address); the input gradient is a direct loop.

struct Params {
  m: u32, n: u32, k: u32,                  // the GEMM's sizes (forward: pixels x out channels x kh*kw*c)
  batch: u32, h: u32, w: u32, c: u32,       // input
  oh: u32, ow: u32, kh: u32, kw: u32, sh: u32, sw: u32, pt: i32, pl: i32, o: u32,
  has_bias: u32, act: i32,
  kchunk: u32,                              // K per workgroup along z (split-K: z-th slice of partial sums)
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

// Index into x of im2col row `pixel` (n, y, x of the output) and column `f` (i, j, ci of the filter),
// or -1 where the window reads padding.
fn im2col_index(pixel: u32, f: u32) -> i32 {
  let per_image = P.oh * P.ow;
  let nb = pixel / per_image;
  let rem = pixel % per_image;
  let y = rem / P.ow;
  let x = rem % P.ow;
  let i = f / (P.kw * P.c);
  let j = (f / P.c) % P.kw;
  let ci = f % P.c;
  let ih = i32(y * P.sh + i) - P.pt;
  let iw = i32(x * P.sw + j) - P.pl;
  if ih < 0 || iw < 0 || ih >= i32(P.h) || iw >= i32(P.w) { return -1; }
  return ((i32(nb) * i32(P.h) + ih) * i32(P.w) + iw) * i32(P.c) + i32(ci);
}

//# common tile
// C (m, n) over k: a 16x16 workgroup computes a 64x64 tile; workgroup z sums k in [z*kchunk, (z+1)*kchunk).
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<f32, 1024>;

@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let row0 = wid.y * 64u;
  let col0 = wid.x * 64u;
  let t = lid.y * 16u + lid.x;
  let k_begin = wid.z * P.kchunk;
  let k_end = min(P.k, k_begin + P.kchunk);
  var acc: array<f32, 16>;
  for (var k0 = k_begin; k0 < k_end; k0 += 16u) {
    for (var i = 0u; i < 4u; i++) {
      let e = t + i * 256u;
      let kk = k0 + e / 64u;
      let r = e % 64u;
      var av = 0.0;
      var bv = 0.0;
      if kk < k_end {
        if row0 + r < P.m { av = load_a(row0 + r, kk); }
        if col0 + r < P.n { bv = load_b(kk, col0 + r); }
      }
      As[e] = av;
      Bs[e] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let a4 = vec4<f32>(As[kk * 64u + lid.y * 4u], As[kk * 64u + lid.y * 4u + 1u],
                         As[kk * 64u + lid.y * 4u + 2u], As[kk * 64u + lid.y * 4u + 3u]);
      let b4 = vec4<f32>(Bs[kk * 64u + lid.x * 4u], Bs[kk * 64u + lid.x * 4u + 1u],
                         Bs[kk * 64u + lid.x * 4u + 2u], Bs[kk * 64u + lid.x * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i * 4u + j] = fma(a4[i], b4[j], acc[i * 4u + j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid.y * 4u + i;
    if r >= P.m { break; }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + lid.x * 4u + j;
      if c >= P.n { break; }
      store(wid.z, r, c, acc[i * 4u + j]);
    }
  }
}

//# kernel forward rrrw iiiiiiiiiiiiiiiiiii tile
// y (pixels, o) = im2col(x) (pixels, kh*kw*c) @ w (kh*kw*c, o) + bias, then the activation.
fn load_a(row: u32, kk: u32) -> f32 {
  let index = im2col_index(row, kk);
  return select(0.0, a[max(index, 0)], index >= 0);
}

fn load_b(kk: u32, col: u32) -> f32 {
  return b[kk * P.n + col];
}

fn store(z: u32, r: u32, c: u32, value: f32) {
  var v = value;
  if P.has_bias != 0u { v += bias[c]; }
  out[r * P.n + c] = activate(v, P.act);
}

//# kernel grad_filter rrrw iiiiiiiiiiiiiiiiiii tile
// dw (kh*kw*c, o) = im2col(x)^T (kh*kw*c, pixels) @ dz (pixels, o); slice z of the pixels goes to
// partial sums z (added afterwards).
fn load_a(row: u32, kk: u32) -> f32 {
  let index = im2col_index(kk, row);
  return select(0.0, a[max(index, 0)], index >= 0);
}

fn load_b(kk: u32, col: u32) -> f32 {
  return b[kk * P.n + col];
}

fn store(z: u32, r: u32, c: u32, value: f32) {
  out[(z * P.m + r) * P.n + c] = value;
}

//# common blocked
// C (m, n) over k without workgroup memory (as shaders/gemm.wgsl; SwiftShader's barriers are expensive):
// each invocation of a 16x16 workgroup computes a 4x4 block of a 64x64 tile, reading its operands
// straight from the buffers; workgroup layer z sums k in [z*kchunk, (z+1)*kchunk) (split-K).
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

fn load_b4(kk: u32, col: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    if col + j < P.n { v[j] = b[kk * P.n + col + j]; }
  }
  return v;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.y * 4u;
  let col = gid.x * 4u;
  if row >= P.m || col >= P.n { return; }
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  let k_end = min(P.k, (gid.z + 1u) * P.kchunk);
  for (var kk = gid.z * P.kchunk; kk < k_end; kk++) {
    let bv = load_b4(kk, col);
    c0 = fma(vec4<f32>(load_a(row, kk)), bv, c0);
    c1 = fma(vec4<f32>(load_a(row + 1u, kk)), bv, c1);
    c2 = fma(vec4<f32>(load_a(row + 2u, kk)), bv, c2);
    c3 = fma(vec4<f32>(load_a(row + 3u, kk)), bv, c3);
  }
  let rows = array<vec4<f32>, 4>(c0, c1, c2, c3);
  for (var i = 0u; i < 4u; i++) {
    let r = row + i;
    if r >= P.m { break; }
    for (var j = 0u; j < 4u; j++) {
      let c = col + j;
      if c >= P.n { break; }
      store(gid.z, r, c, rows[i][j]);
    }
  }
}

//# kernel forward_blocked rrrw iiiiiiiiiiiiiiiiiii blocked
// The forward implicit GEMM of `forward` on the blocked loop (rows outside m read nothing).
fn load_a(row: u32, kk: u32) -> f32 {
  if row >= P.m { return 0.0; }
  let index = im2col_index(row, kk);
  return select(0.0, a[max(index, 0)], index >= 0);
}

fn store(z: u32, r: u32, c: u32, value: f32) {
  var v = value;
  if P.has_bias != 0u { v += bias[c]; }
  out[r * P.n + c] = activate(v, P.act);
}

//# kernel grad_filter_blocked rrrw iiiiiiiiiiiiiiiiiii blocked
// The filter gradient of `grad_filter` on the blocked loop: partial sums z over pixel slices.
fn load_a(row: u32, kk: u32) -> f32 {
  if row >= P.m { return 0.0; }
  let index = im2col_index(kk, row);
  return select(0.0, a[max(index, 0)], index >= 0);
}

fn store(z: u32, r: u32, c: u32, value: f32) {
  out[(z * P.m + r) * P.n + c] = value;
}

//# common window_sum
// dx's element idx (batch, h, w, c): the sum of dz * w over the windows that read it (dz, wt declared by
// the kernel that includes this).
fn window_sum(idx: u32, ci: u32) -> f32 {
  var t = idx / P.c;
  let iw = t % P.w;
  t = t / P.w;
  let ih = t % P.h;
  let nb = t / P.h;
  var acc = 0.0;
  for (var i = 0u; i < P.kh; i++) {
    let ty = i32(ih) + P.pt - i32(i);
    if ty < 0 || ty % i32(P.sh) != 0 { continue; }
    let y = u32(ty) / P.sh;
    if y >= P.oh { continue; }
    for (var j = 0u; j < P.kw; j++) {
      let tx = i32(iw) + P.pl - i32(j);
      if tx < 0 || tx % i32(P.sw) != 0 { continue; }
      let x = u32(tx) / P.sw;
      if x >= P.ow { continue; }
      let dz_row = ((nb * P.oh + y) * P.ow + x) * P.o;
      let w_row = ((i * P.kw + j) * P.c + ci) * P.o;
      for (var oc = 0u; oc < P.o; oc++) {
        acc = fma(dz[dz_row + oc], wt[w_row + oc], acc);
      }
    }
  }
  return acc;
}

//# kernel grad_input rrw iiiiiiiiiiiiiiiiiii window_sum
// dx (batch, h, w, c): each element sums dz * w over the windows that read it.
@group(0) @binding(0) var<storage, read> dz: array<f32>;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= P.batch * P.h * P.w * P.c { return; }
  dx[idx] = window_sum(idx, idx % P.c);
}

//# kernel transpose rrrw iiiiiiiiiiiiiiiiiii window_sum
// The transposed conv's forward: the input gradient of the conv whose input is dx, with the transposed
// conv's bias and activation (its input x plays dz).
@group(0) @binding(0) var<storage, read> dz: array<f32>;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= P.batch * P.h * P.w * P.c { return; }
  let ci = idx % P.c;
  var acc = window_sum(idx, ci);
  if P.has_bias == 1u { acc += bias[ci]; }
  dx[idx] = activate(acc, P.act);
}
