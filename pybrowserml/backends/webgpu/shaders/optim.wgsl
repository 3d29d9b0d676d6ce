// Optimizer updates of one parameter, in place (Keras 3's Adam/AdamW and SGD).

fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return gid.x + gid.y * groups.x * 256u;
}

//# kernel adam wrww iffffff
// decay: the decoupled weight decay factor (lr * weight_decay); l2: the coupled one (added to g).
@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
struct Params { n: u32, alpha: f32, beta1: f32, beta2: f32, epsilon: f32, decay: f32, l2: f32 }
@group(0) @binding(4) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if i >= P.n { return; }
  var pv = p[i];
  pv -= pv * P.decay;
  let gv = g[i] + P.l2 * pv;
  let mv = m[i] + (gv - m[i]) * (1.0 - P.beta1);
  let vv = v[i] + (gv * gv - v[i]) * (1.0 - P.beta2);
  m[i] = mv;
  v[i] = vv;
  p[i] = pv - P.alpha * mv / (sqrt(vv) + P.epsilon);
}

//# kernel adam_pair wrwwwrww iiffffff
// Two parameters' Adam updates in one dispatch (8 storage bindings: the WebGPU default limit per stage):
// invocations [0, n) update the first, [n, n + n2) the second. Same arithmetic as `adam`.
@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> p2: array<f32>;
@group(0) @binding(5) var<storage, read> g2: array<f32>;
@group(0) @binding(6) var<storage, read_write> m2: array<f32>;
@group(0) @binding(7) var<storage, read_write> v2: array<f32>;
struct Params { n: u32, n2: u32, alpha: f32, beta1: f32, beta2: f32, epsilon: f32, decay: f32, l2: f32 }
@group(0) @binding(8) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if i < P.n {
    var pv = p[i];
    pv -= pv * P.decay;
    let gv = g[i] + P.l2 * pv;
    let mv = m[i] + (gv - m[i]) * (1.0 - P.beta1);
    let vv = v[i] + (gv * gv - v[i]) * (1.0 - P.beta2);
    m[i] = mv;
    v[i] = vv;
    p[i] = pv - P.alpha * mv / (sqrt(vv) + P.epsilon);
  } else if i < P.n + P.n2 {
    let k = i - P.n;
    var pv = p2[k];
    pv -= pv * P.decay;
    let gv = g2[k] + P.l2 * pv;
    let mv = m2[k] + (gv - m2[k]) * (1.0 - P.beta1);
    let vv = v2[k] + (gv * gv - v2[k]) * (1.0 - P.beta2);
    m2[k] = mv;
    v2[k] = vv;
    p2[k] = pv - P.alpha * mv / (sqrt(vv) + P.epsilon);
  }
}

//# kernel sgd wrw iffif
@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> velocity: array<f32>;
struct Params { n: u32, lr: f32, momentum: f32, nesterov: u32, decay: f32 }
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = flat_index(gid, groups);
  if i >= P.n { return; }
  var pv = p[i];
  pv -= pv * P.decay;
  let gv = g[i];
  if P.momentum != 0.0 {
    let vel = velocity[i] * P.momentum - P.lr * gv;
    velocity[i] = vel;
    pv += select(vel, P.momentum * vel - P.lr * gv, P.nesterov != 0u);
  } else {
    pv -= P.lr * gv;
  }
  p[i] = pv;
}
