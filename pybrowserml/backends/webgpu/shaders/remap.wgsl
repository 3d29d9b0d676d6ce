// Pixel remapping (whole-pixel geometric augmentations) and its adjoint, over NHWC images.
// rows (n, oh) and cols (n, ow) are int32 source indices, -1 outside the image (filled with fill).

struct Params { batch: u32, h: u32, w: u32, c: u32, oh: u32, ow: u32, fill: f32 }

fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return gid.x + gid.y * groups.x * 256u;
}

//# kernel remap rrrw iiiiiif
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> rows: array<i32>;
@group(0) @binding(2) var<storage, read> cols: array<i32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= P.batch * P.oh * P.ow * P.c { return; }
  let ci = idx % P.c;
  var t = idx / P.c;
  let j = t % P.ow;
  t /= P.ow;
  let i = t % P.oh;
  let nb = t / P.oh;
  let r = rows[nb * P.oh + i];
  let q = cols[nb * P.ow + j];
  if r < 0 || q < 0 {
    y[idx] = P.fill;
  } else {
    y[idx] = x[((nb * P.h + u32(r)) * P.w + u32(q)) * P.c + ci];
  }
}

//# kernel remap_grad rrrw iiiiiif
// dx[n, r, q] = the sum of dy[n, i, j] over the outputs that copied it (rows[n, i] == r, cols[n, j] == q).
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> rows: array<i32>;
@group(0) @binding(2) var<storage, read> cols: array<i32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= P.batch * P.h * P.w * P.c { return; }
  let ci = idx % P.c;
  var t = idx / P.c;
  let q = i32(t % P.w);
  t /= P.w;
  let r = i32(t % P.h);
  let nb = t / P.h;
  var total = 0.0;
  for (var i = 0u; i < P.oh; i++) {
    if rows[nb * P.oh + i] != r { continue; }
    for (var j = 0u; j < P.ow; j++) {
      if cols[nb * P.ow + j] == q { total += dy[((nb * P.oh + i) * P.ow + j) * P.c + ci]; }
    }
  }
  dx[idx] = total;
}
