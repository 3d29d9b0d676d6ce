// Batch normalisation over every axis but the last (channels c; rows = all other positions).
// Statistics: one invocation per channel, two passes (mean, then the variance around it: an offset
// mean does not cancel digits away). Normalisation and the input gradient: one invocation per element.

struct Params { rows: u32, c: u32, epsilon: f32 }

fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return gid.x + gid.y * groups.x * 256u;
}

//# kernel stats rww iif
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> variance: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let ci = flat_index(gid, groups);
  if ci >= P.c { return; }
  var total = 0.0;
  for (var r = 0u; r < P.rows; r++) { total += x[r * P.c + ci]; }
  let m = total / f32(P.rows);
  var squares = 0.0;
  for (var r = 0u; r < P.rows; r++) {
    let d = x[r * P.c + ci] - m;
    squares = fma(d, d, squares);
  }
  mean[ci] = m;
  variance[ci] = squares / f32(P.rows);
}

//# kernel normalize rrrrrw iif
// y = (x - mean) / sqrt(var + epsilon) * gamma + beta
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> variance: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= P.rows * P.c { return; }
  let ci = idx % P.c;
  y[idx] = (x[idx] - mean[ci]) / sqrt(variance[ci] + P.epsilon) * gamma[ci] + beta[ci];
}

//# kernel grad_stats rrrrww iif
// dbeta = sum of dy, dgamma = sum of dy * x_hat, per channel.
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> variance: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(6) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let ci = flat_index(gid, groups);
  if ci >= P.c { return; }
  let inv_std = 1.0 / sqrt(variance[ci] + P.epsilon);
  var sum_dy = 0.0;
  var sum_dy_xhat = 0.0;
  for (var r = 0u; r < P.rows; r++) {
    let at = r * P.c + ci;
    sum_dy += dy[at];
    sum_dy_xhat = fma(dy[at], (x[at] - mean[ci]) * inv_std, sum_dy_xhat);
  }
  dgamma[ci] = sum_dy_xhat;
  dbeta[ci] = sum_dy;
}

//# kernel grad_input rrrrrrrw iif
// dx = gamma * inv_std / count * (count * dy - dbeta - x_hat * dgamma)
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> variance: array<f32>;
@group(0) @binding(5) var<storage, read> dgamma: array<f32>;
@group(0) @binding(6) var<storage, read> dbeta: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;
@group(0) @binding(8) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= P.rows * P.c { return; }
  let ci = idx % P.c;
  let inv_std = 1.0 / sqrt(variance[ci] + P.epsilon);
  let count = f32(P.rows);
  let x_hat = (x[idx] - mean[ci]) * inv_std;
  dx[idx] = gamma[ci] * inv_std / count * (count * dy[idx] - dbeta[ci] - x_hat * dgamma[ci]);
}
