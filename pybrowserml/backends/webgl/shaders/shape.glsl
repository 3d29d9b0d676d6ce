// Shapes and dtypes: strided gathers (transpose, broadcast_to), column blocks (concat, slice,
// add_parts) and dtype conversions. uint8 arrays are R8 textures: a texel reads b / 255, rounded back.

//# kernel gather 1 a d0,d1,d2,d3,d4,d5,s0,s1,s2,s3,s4,s5
// out[i0, ..., i5] = a[sum(i_k * s_k)]: the shape (d0..d5) is padded with leading 1s to 6 axes.
uniform int d0, d1, d2, d3, d4, d5, s0, s1, s2, s3, s4, s5;
float compute(int i) {
  int q = i, j = 0;
  j += (q % d5) * s5; q /= d5;
  j += (q % d4) * s4; q /= d4;
  j += (q % d3) * s3; q /= d3;
  j += (q % d2) * s2; q /= d2;
  j += (q % d1) * s1; q /= d1;
  j += q * s0;
  return at(a, j);
}

//# kernel concat 1 p0,p1,p2,p3,prev total,has_prev,o0,o1,o2,o3,o4
// The output viewed as (rows, total) columns: columns o_k..o_{k+1} come from part k (an array of rows x
// (o_{k+1} - o_k)); the others, when has_prev, from prev (this array before the draw: concats of more than
// four parts take several draws).
uniform int total, has_prev, o0, o1, o2, o3, o4;
float compute(int i) {
  int r = i / total;
  int col = i - r * total;
  if (col >= o0 && col < o1) return at(p0, r * (o1 - o0) + col - o0);
  if (col >= o1 && col < o2) return at(p1, r * (o2 - o1) + col - o1);
  if (col >= o2 && col < o3) return at(p2, r * (o3 - o2) + col - o2);
  if (col >= o3 && col < o4) return at(p3, r * (o4 - o3) + col - o3);
  return has_prev == 1 ? at(prev, i) : 0.0;
}

//# kernel concat4 v p0,p1,p2,p3,prev total,has_prev,o0,o1,o2,o3,o4
// concat over packed parts (gemm.glsl's pack4 of rows whose widths are multiples of 4): the same column
// blocks as concat, counted in texels.
uniform int total, has_prev, o0, o1, o2, o3, o4;
vec4 compute4(int t) {
  int r = t / total;
  int col = t - r * total;
  if (col >= o0 && col < o1) return at4(p0, r * (o1 - o0) + col - o0);
  if (col >= o1 && col < o2) return at4(p1, r * (o2 - o1) + col - o1);
  if (col >= o2 && col < o3) return at4(p2, r * (o3 - o2) + col - o2);
  if (col >= o3 && col < o4) return at4(p3, r * (o4 - o3) + col - o3);
  return has_prev == 1 ? at4(prev, t) : vec4(0.0);
}

//# kernel slice 1 a width,src_width,offset
// The output viewed as (rows, width): row r is a's flat elements r * src_width + offset ... + width.
uniform int width, src_width, offset;
float compute(int i) {
  int r = i / width;
  return at(a, r * src_width + offset + i - r * width);
}

//# kernel add_parts 1 p0,p1,p2,p3,prev count,has_prev,w0,sw0,f0,w1,sw1,f1,w2,sw2,f2,w3,sw3,f3
// out = prev (when has_prev) + the first `count` parts; part k read as rows of width w_k starting at
// offset f_k in rows of src width sw_k (a whole array: w = sw = its size, f = 0).
uniform int count, has_prev, w0, sw0, f0, w1, sw1, f1, w2, sw2, f2, w3, sw3, f3;
// (an index helper rather than a reading one: the runtime can then read a part from its packed twin)
int part_index(int i, int w, int sw, int f) {
  int r = i / w;
  return r * sw + f + i - r * w;
}
float compute(int i) {
  float s = has_prev == 1 ? at(prev, i) : 0.0;
  s += at(p0, part_index(i, w0, sw0, f0));
  if (count > 1) s += at(p1, part_index(i, w1, sw1, f1));
  if (count > 2) s += at(p2, part_index(i, w2, sw2, f2));
  if (count > 3) s += at(p3, part_index(i, w3, sw3, f3));
  return s;
}

//# kernel add_parts4 v p0,p1,p2,p3,prev count,has_prev,w0,sw0,f0,w1,sw1,f1,w2,sw2,f2,w3,sw3,f3
// add_parts over packed twins, four elements per fragment: widths, source widths and offsets in texels
// (all multiples of four elements); the result packed.
uniform int count, has_prev, w0, sw0, f0, w1, sw1, f1, w2, sw2, f2, w3, sw3, f3;
int part_index(int i, int w, int sw, int f) {
  int r = i / w;
  return r * sw + f + i - r * w;
}
vec4 compute4(int i) {
  vec4 s = has_prev == 1 ? at4(prev, i) : vec4(0.0);
  s += at4(p0, part_index(i, w0, sw0, f0));
  if (count > 1) s += at4(p1, part_index(i, w1, sw1, f1));
  if (count > 2) s += at4(p2, part_index(i, w2, sw2, f2));
  if (count > 3) s += at4(p3, part_index(i, w3, sw3, f3));
  return s;
}

//# kernel cast 1 a mode
// mode 0: a copy; 1: float -> int32 (toward zero, as numpy's astype); 2: from uint8 (exact integers).
uniform int mode;
float compute(int i) {
  float v = at(a, i);
  if (mode == 1) return trunc(v);
  if (mode == 2) return round(v * 255.0);
  return v;
}

//# kernel from_uint8 1 a scale
uniform float scale;
float compute(int i) {
  return round(at(a, i) * 255.0) * scale;
}
