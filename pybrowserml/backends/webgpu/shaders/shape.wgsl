// Copies of column blocks between row-major matrices: concat, slice and add_parts view an array as
// (rows, row width) around the axis they work on.

fn flat_index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return gid.x + gid.y * groups.x * 256u;
}

//# kernel copy_columns rw iiiiiii
// dst[r, dst_offset + j] = (or +=, when accumulate: float32 data) src[r, src_offset + j] for j < width.
// Words are copied as raw bits, so int32 arrays copy unchanged.
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
struct Params { rows: u32, width: u32, src_width: u32, src_offset: u32, dst_width: u32, dst_offset: u32,
                accumulate: u32 }
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= P.rows * P.width { return; }
  let r = idx / P.width;
  let j = idx % P.width;
  let d = r * P.dst_width + P.dst_offset + j;
  let value = src[r * P.src_width + P.src_offset + j];
  if P.accumulate != 0u {
    dst[d] = bitcast<u32>(bitcast<f32>(dst[d]) + bitcast<f32>(value));
  } else {
    dst[d] = value;
  }
}

//# common parts
// Up to seven source arrays of one dispatch (the eighth storage binding is the output); a dispatch with
// fewer binds a dummy buffer to the rest. PARTS[k] describes source k (per kernel, below).
@group(0) @binding(0) var<storage, read> s0: array<u32>;
@group(0) @binding(1) var<storage, read> s1: array<u32>;
@group(0) @binding(2) var<storage, read> s2: array<u32>;
@group(0) @binding(3) var<storage, read> s3: array<u32>;
@group(0) @binding(4) var<storage, read> s4: array<u32>;
@group(0) @binding(5) var<storage, read> s5: array<u32>;
@group(0) @binding(6) var<storage, read> s6: array<u32>;
@group(0) @binding(7) var<storage, read_write> dst: array<u32>;
struct Parts { rows: u32, total: u32, count: u32, accumulate: u32, part: array<vec4<u32>, 7> }
@group(0) @binding(8) var<uniform> P: Parts;

fn part_word(k: u32, at: u32) -> u32 {
  switch k {
    case 0u: { return s0[at]; }
    case 1u: { return s1[at]; }
    case 2u: { return s2[at]; }
    case 3u: { return s3[at]; }
    case 4u: { return s4[at]; }
    case 5u: { return s5[at]; }
    default: { return s6[at]; }
  }
}

//# kernel concat_parts rrrrrrrw iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii parts
// dst viewed as (rows, total): part k = (start column, width) fills columns [start, start + width) from a
// source of row width `width`. Workgroup layer z copies part z (the grid covers the largest part), so the
// source a workgroup reads is uniform across it. Raw words: int32 copies unchanged.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = gid.x + gid.y * groups.x * 256u;
  let k = gid.z;
  let width = P.part[k].y;
  if idx >= P.rows * width { return; }
  dst[(idx / width) * P.total + P.part[k].x + idx % width] = part_word(k, idx);
}

//# kernel sum_parts rrrrrrrw iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii parts
// dst[i] = (dst[i] +, when accumulate) the sum over parts k of source k's element for output i: output i
// viewed as (row, column) in rows of part k's width x reads source word row * src_width + src_offset +
// column (a slice of a wider source, or the whole source when width = src_width = total, offset 0).
// Written out per binding (no loop over a switch): the conditions are uniform across the dispatch.
fn at(k: u32, idx: u32) -> u32 {
  let width = P.part[k].x;
  return (idx / width) * P.part[k].y + P.part[k].z + idx % width;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= P.total { return; }
  var total = select(0.0, bitcast<f32>(dst[idx]), P.accumulate != 0u);
  total += bitcast<f32>(s0[at(0u, idx)]);
  if P.count > 1u { total += bitcast<f32>(s1[at(1u, idx)]); }
  if P.count > 2u { total += bitcast<f32>(s2[at(2u, idx)]); }
  if P.count > 3u { total += bitcast<f32>(s3[at(3u, idx)]); }
  if P.count > 4u { total += bitcast<f32>(s4[at(4u, idx)]); }
  if P.count > 5u { total += bitcast<f32>(s5[at(5u, idx)]); }
  if P.count > 6u { total += bitcast<f32>(s6[at(6u, idx)]); }
  dst[idx] = bitcast<u32>(total);
}

//# kernel gather rw iiiiiiiiiiiiii
// out[i] = src[sum_k index_k(i) * stride_k]: i unravelled over the output dims d0..d5 (leading dims 1).
// A transpose permutes the source strides; a broadcast gives the repeated axes stride 0. Raw 32-bit words,
// so float32 and int32 arrays move unchanged.
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
struct Params { n: u32, pad: u32, d0: u32, d1: u32, d2: u32, d3: u32, d4: u32, d5: u32,
                s0: u32, s1: u32, s2: u32, s3: u32, s4: u32, s5: u32 }
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= P.n { return; }
  var rest = idx;
  var at = (rest % P.d5) * P.s5; rest /= P.d5;
  at += (rest % P.d4) * P.s4; rest /= P.d4;
  at += (rest % P.d3) * P.s3; rest /= P.d3;
  at += (rest % P.d2) * P.s2; rest /= P.d2;
  at += (rest % P.d1) * P.s1; rest /= P.d1;
  at += rest * P.s0;
  dst[idx] = src[at];
}

//# kernel from_uint8 rw if
// out[i] = byte i of the packed source (4 bytes per word, little-endian, as uploaded) times scale.
@group(0) @binding(0) var<storage, read> packed: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
struct Params { n: u32, scale: f32 }
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= P.n { return; }
  out[idx] = f32((packed[idx / 4u] >> (8u * (idx % 4u))) & 255u) * P.scale;
}

//# kernel cast rw ii
// From float32 (kind 0), int32 (kind 1) or packed uint8 (kind 2) to float32 or int32: float -> int
// truncates toward zero, as numpy's astype does. (A uint8 target would need several invocations writing
// bytes of one word: that cast runs on numpy.)
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
struct Params { n: u32, kinds: u32 }  // source kind * 3 + target kind
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let idx = flat_index(gid, groups);
  if idx >= P.n { return; }
  let from_kind = P.kinds / 3u;
  let to_kind = P.kinds % 3u;
  var value: f32;
  var integer: i32;
  switch from_kind {
    case 0u: { value = bitcast<f32>(src[idx]); integer = i32(value); }
    case 1u: { integer = bitcast<i32>(src[idx]); value = f32(integer); }
    default: { integer = i32((src[idx / 4u] >> (8u * (idx % 4u))) & 255u); value = f32(integer); }
  }
  dst[idx] = select(bitcast<u32>(integer), bitcast<u32>(value), to_kind == 0u);
}
