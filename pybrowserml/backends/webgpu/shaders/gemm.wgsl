// C (M, N) = op(A) (M, K) @ op(B) (K, N) [+ bias (N)] [then activation], op = optional transpose.
// A workgroup of 16x16 invocations computes a 64x64 tile of C, each invocation a 4x4 block kept in
// four vec4 registers, reading its operands straight from the buffers. On SwiftShader this is 2-3x
// faster than staging K-slices through workgroup memory (its barriers are expensive); a tiled
// shared-memory variant is the one to try on real GPUs (see conv.wgsl's tile block).

fn activate(v: f32, act: i32) -> f32 {
  switch act {
    case 1: { return max(v, 0.0); }
    case 2: { return clamp(v, 0.0, 6.0); }
    default: { return v; }
  }
}

//# kernel gemm rrrw iiiiiiii
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// kchunk: K per workgroup layer along z (split-K: layer z sums k in [z*kchunk, (z+1)*kchunk) into the
// z-th (m, n) block of out, partial sums added afterwards; kchunk = k for one plain product).
struct Params { m: u32, n: u32, k: u32, ta: u32, tb: u32, has_bias: u32, act: i32, kchunk: u32 }
@group(0) @binding(4) var<uniform> P: Params;

fn load_a(row: u32, kk: u32) -> f32 {
  if row >= P.m { return 0.0; }
  return select(a[row * P.k + kk], a[kk * P.m + row], P.ta != 0u);
}

fn load_b4(kk: u32, col: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    if col + j < P.n { v[j] = select(b[kk * P.n + col + j], b[(col + j) * P.k + kk], P.tb != 0u); }
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
      var v = rows[i][j];
      if P.has_bias != 0u { v += bias[c]; }
      out[(gid.z * P.m + r) * P.n + c] = activate(v, P.act);
    }
  }
}
