// Softmax cross-entropy over rows of logits, its gradient, and the count of correct predictions.
// Labels are class indices (sparse: int32, or float32 holding integers) or one-hot rows (float32);
// the buffer is read as raw 32-bit words and interpreted by label_kind: 0 int32 index, 1 float index,
// 2 one-hot rows.

struct Params { rows: u32, classes: u32, label_kind: u32, scale: f32 }

fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return gid.x + gid.y * groups.x * 256u;
}

fn label_index(word: u32) -> u32 {
  return select(u32(bitcast<i32>(word)), u32(bitcast<f32>(word)), P.label_kind == 1u);
}

// Target probability of class j in row r.
fn target_of(r: u32, j: u32) -> f32 {
  if P.label_kind == 2u { return bitcast<f32>(labels[r * P.classes + j]); }
  return select(0.0, 1.0, label_index(labels[r]) == j);
}

//# kernel softmax_xent rrww iiif
@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;
@group(0) @binding(3) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let r = flat_index(gid, groups);
  if r >= P.rows { return; }
  let base = r * P.classes;
  var top = logits[base];
  for (var j = 1u; j < P.classes; j++) { top = max(top, logits[base + j]); }
  var total = 0.0;
  for (var j = 0u; j < P.classes; j++) { total += exp(logits[base + j] - top); }
  let log_total = log(total);
  var loss = 0.0;
  for (var j = 0u; j < P.classes; j++) {
    let shifted = logits[base + j] - top;
    probs[base + j] = exp(shifted) / total;
    loss -= target_of(r, j) * (shifted - log_total);
  }
  row_loss[r] = loss;
}

//# kernel softmax_xent_grad rrrw iiif
// dlogits = (probs - target) * g / rows
@group(0) @binding(0) var<storage, read> probs: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= P.rows * P.classes { return; }
  let r = idx / P.classes;
  let j = idx % P.classes;
  out[idx] = (probs[idx] - target_of(r, j)) * (g[0] * P.scale);
}

//# kernel correct rrw iiif
// correct[r] = 1 where the first largest logit of row r is at the label's class (or the first largest
// one-hot entry's), else 0.
@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> correct: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let r = flat_index(gid, groups);
  if r >= P.rows { return; }
  let base = r * P.classes;
  var best = 0u;
  for (var j = 1u; j < P.classes; j++) {
    if logits[base + j] > logits[base + best] { best = j; }
  }
  var truth: u32;
  if P.label_kind == 2u {
    truth = 0u;
    for (var j = 1u; j < P.classes; j++) {
      if bitcast<f32>(labels[base + j]) > bitcast<f32>(labels[base + truth]) { truth = j; }
    }
  } else {
    truth = label_index(labels[r]);
  }
  correct[r] = select(0.0, 1.0, best == truth);
}

//# kernel confusion rrw iiif
// counts[t * classes + p] += 1 for each row (position) whose label is t and whose first largest logit is at
// p. Labels outside [0, classes) are counted nowhere (raising would need a read back per batch).
@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let r = flat_index(gid, groups);
  if r >= P.rows { return; }
  let base = r * P.classes;
  var best = 0u;
  for (var j = 1u; j < P.classes; j++) {
    if logits[base + j] > logits[base + best] { best = j; }
  }
  let truth = label_index(labels[r]);
  if truth < P.classes { atomicAdd(&counts[truth * P.classes + best], 1u); }
}
