// Global average pooling over NHWC (pixels = h*w), windowed max and average pooling, and their gradients.

struct Params { batch: u32, pixels: u32, c: u32, scale: f32 }

fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return gid.x + gid.y * groups.x * 256u;
}

//# kernel global_avg_pool rw iiif
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= P.batch * P.c { return; }
  let nb = idx / P.c;
  let ci = idx % P.c;
  var total = 0.0;
  for (var p = 0u; p < P.pixels; p++) {
    total += x[(nb * P.pixels + p) * P.c + ci];
  }
  y[idx] = total * P.scale;
}

//# kernel global_avg_pool_grad rw iiif
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= P.batch * P.pixels * P.c { return; }
  let ci = idx % P.c;
  let nb = idx / (P.pixels * P.c);
  dx[idx] = dy[nb * P.c + ci] * P.scale;
}

//# common window
// Windowed pooling over NHWC with TensorFlow padding: the padding is never a maximum, and averages
// count only the inputs inside the image.
struct Window { batch: u32, h: u32, w: u32, c: u32, oh: u32, ow: u32, kh: u32, kw: u32, sh: u32, sw: u32,
                pt: i32, pl: i32 }

// The first input row and column of output (oy, ox)'s window, and how many of its rows and columns are inside.
fn window_rows(oy: u32) -> vec2<i32> {
  let top = i32(oy * W.sh) - W.pt;
  return vec2<i32>(top, min(top + i32(W.kh), i32(W.h)) - max(top, 0));
}

fn window_cols(ox: u32) -> vec2<i32> {
  let left = i32(ox * W.sw) - W.pl;
  return vec2<i32>(left, min(left + i32(W.kw), i32(W.w)) - max(left, 0));
}

// The outputs whose windows contain input row ih (or column): [first, last] along one axis.
fn covering(index: i32, pad: i32, k: u32, s: u32, count: u32) -> vec2<i32> {
  let p = index + pad;
  let first = max(0, (p - i32(k) + i32(s)) / i32(s));
  let last = min(i32(count) - 1, p / i32(s));
  return vec2<i32>(first, last);
}

//# common first_max
// The flat index of the first largest input of output (nb, oy, ox, ci)'s window.
fn first_max(nb: u32, oy: u32, ox: u32, ci: u32) -> u32 {
  let top = i32(oy * W.sh) - W.pt;
  let left = i32(ox * W.sw) - W.pl;
  var best = 0u;
  var best_value = 0.0;
  var found = false;
  for (var i = max(top, 0); i < min(top + i32(W.kh), i32(W.h)); i++) {
    for (var j = max(left, 0); j < min(left + i32(W.kw), i32(W.w)); j++) {
      let at = ((nb * W.h + u32(i)) * W.w + u32(j)) * W.c + ci;
      if !found || x[at] > best_value { best = at; best_value = x[at]; found = true; }
    }
  }
  return best;
}

//# kernel max_pool2d rw iiiiiiiiiiii window first_max
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> W: Window;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= W.batch * W.oh * W.ow * W.c { return; }
  let ci = idx % W.c;
  var t = idx / W.c;
  let ox = t % W.ow;
  t /= W.ow;
  let oy = t % W.oh;
  y[idx] = x[first_max(t / W.oh, oy, ox, ci)];
}

//# kernel max_pool2d_grad rrw iiiiiiiiiiii window first_max
// dx[input] = the sum of dy over the windows whose first maximum is this input.
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> W: Window;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= W.batch * W.h * W.w * W.c { return; }
  let ci = idx % W.c;
  var t = idx / W.c;
  let iw = i32(t % W.w);
  t /= W.w;
  let ih = i32(t % W.h);
  let nb = t / W.h;
  let rows = covering(ih, W.pt, W.kh, W.sh, W.oh);
  let cols = covering(iw, W.pl, W.kw, W.sw, W.ow);
  var total = 0.0;
  for (var oy = rows.x; oy <= rows.y; oy++) {
    for (var ox = cols.x; ox <= cols.y; ox++) {
      if first_max(nb, u32(oy), u32(ox), ci) == idx {
        total += dy[((nb * W.oh + u32(oy)) * W.ow + u32(ox)) * W.c + ci];
      }
    }
  }
  dx[idx] = total;
}

//# kernel avg_pool2d rw iiiiiiiiiiii window
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> W: Window;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= W.batch * W.oh * W.ow * W.c { return; }
  let ci = idx % W.c;
  var t = idx / W.c;
  let ox = t % W.ow;
  t /= W.ow;
  let oy = t % W.oh;
  let nb = t / W.oh;
  let r = window_rows(oy);
  let c = window_cols(ox);
  var total = 0.0;
  for (var i = max(r.x, 0); i < max(r.x, 0) + r.y; i++) {
    for (var j = max(c.x, 0); j < max(c.x, 0) + c.y; j++) {
      total += x[((nb * W.h + u32(i)) * W.w + u32(j)) * W.c + ci];
    }
  }
  y[idx] = total / f32(r.y * c.y);
}

//# kernel avg_pool2d_grad rw iiiiiiiiiiii window
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> W: Window;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= W.batch * W.h * W.w * W.c { return; }
  let ci = idx % W.c;
  var t = idx / W.c;
  let iw = i32(t % W.w);
  t /= W.w;
  let ih = i32(t % W.h);
  let nb = t / W.h;
  let rows = covering(ih, W.pt, W.kh, W.sh, W.oh);
  let cols = covering(iw, W.pl, W.kw, W.sw, W.ow);
  var total = 0.0;
  for (var oy = rows.x; oy <= rows.y; oy++) {
    let count_rows = window_rows(u32(oy)).y;
    for (var ox = cols.x; ox <= cols.y; ox++) {
      let share = dy[((nb * W.oh + u32(oy)) * W.ow + u32(ox)) * W.c + ci];
      total += share / f32(count_rows * window_cols(u32(ox)).y);
    }
  }
  dx[idx] = total;
}

//# common upsample
// Nearest upsampling of NHWC x (h x w) by (sh, sw): output pixel (i, j) repeats input pixel (i / sh, j / sw).
struct Upsample { batch: u32, h: u32, w: u32, c: u32, sh: u32, sw: u32 }

//# kernel upsample_nearest2d rw iiiiii upsample
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> U: Upsample;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  let oh = U.h * U.sh;
  let ow = U.w * U.sw;
  if idx >= U.batch * oh * ow * U.c { return; }
  let ci = idx % U.c;
  var t = idx / U.c;
  let ox = t % ow;
  t /= ow;
  let oy = t % oh;
  let nb = t / oh;
  y[idx] = x[((nb * U.h + oy / U.sh) * U.w + ox / U.sw) * U.c + ci];
}

//# kernel upsample_nearest2d_grad rw iiiiii upsample
// dx[n, i, j, c] = the sum of dy over output block (i, j) (sh x sw pixels); h, w are dx's.
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> U: Upsample;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= U.batch * U.h * U.w * U.c { return; }
  let ci = idx % U.c;
  var t = idx / U.c;
  let ix = t % U.w;
  t /= U.w;
  let iy = t % U.h;
  let nb = t / U.h;
  let ow = U.w * U.sw;
  var total = 0.0;
  for (var a = 0u; a < U.sh; a++) {
    let row = (nb * U.h * U.sh + iy * U.sh + a) * ow;
    for (var b = 0u; b < U.sw; b++) {
      total += dy[(row + ix * U.sw + b) * U.c + ci];
    }
  }
  dx[idx] = total;
}
