// matmul and dense: one fragment per output element, the dot product walked with two cursors, the
// transposes, the bias and the activation (0 linear, 1 relu, 2 relu6) folded in.

//# kernel gemm 1 a,b,bias m,n,k,ta,tb,has_bias,act
uniform int m, n, k, ta, tb, has_bias, act;
float compute(int i) {
  int row = i / n;
  int col = i - row * n;
  // (no ?: on structs in WebGL's GLSL)
  Cursor ca = cursor(a, ta == 1 ? row : row * k, ta == 1 ? m : 1);
  Cursor cb = cursor(b, tb == 1 ? col * k : col, tb == 1 ? 1 : n);
  float s = 0.0;
  for (int j = 0; j < k; j++) s += next(a, ca) * next(b, cb);
  if (has_bias == 1) s += at(bias, col);
  if (act == 1) s = max(s, 0.0);
  if (act == 2) s = clamp(s, 0.0, 6.0);
  return s;
}

//# kernel pack4 v a kp,k,rs,ks
// Packs a (rows, k) operand, element (r, j) at flat index r * rs + j * ks, into rows of kp = ceil(k / 4)
// texels of four consecutive j (zeros past k): the layout the packed GEMM reads.
uniform int kp, k, rs, ks;
vec4 compute4(int t) {
  int r = t / kp;
  int j = (t - r * kp) * 4;
  int base = r * rs + j * ks;
  vec4 v = vec4(at(a, base), 0.0, 0.0, 0.0);
  if (j + 1 < k) v.y = at(a, base + ks);
  if (j + 2 < k) v.z = at(a, base + 2 * ks);
  if (j + 3 < k) v.w = at(a, base + 3 * ks);
  return v;
}

//# kernel unpack4 1 a4 k,kp
// The inverse of pack4 for rows of k elements in kp texels (packed results of depthwise.glsl).
uniform int k, kp;
float compute(int i) {
  int r = i / k;
  int j = i - r * k;
  return at4(a4, r * kp + (j >> 2))[j & 3];
}

//# kernel gemm_packed 1 a4,b4,bias n,kp,has_bias,act
// out[row, col] = the dot product of a4's row `row` and b4's row `col` (both packed by pack4: b4 holds B's
// columns), four multiply-adds per two fetches; then the bias and the activation.
uniform int n, kp, has_bias, act;
float compute(int i) {
  int row = i / n;
  int col = i - row * n;
  Cursor ca = cursor(a4, row * kp, 1);
  Cursor cb = cursor(b4, col * kp, 1);
  float s = 0.0;
  for (int j = 0; j < kp; j++) s += dot(next4(a4, ca), next4(b4, cb));
  if (has_bias == 1) s += at(bias, col);
  if (act == 1) s = max(s, 0.0);
  if (act == 2) s = clamp(s, 0.0, 6.0);
  return s;
}

//# kernel gemm_packed4 v a4,b4,bias n,n4,kp,has_bias,act
// Four output columns per fragment (texel t: row t / n4, columns 4 * (t % n4) ...): each fetch of A's
// row serves four dot products; the result packed along n (unpacked by unpack4). Columns past n read
// past B's rows and are never unpacked.
uniform int n, n4, kp, has_bias, act;
vec4 compute4(int t) {
  int row = t / n4;
  int col = (t - row * n4) * 4;
  Cursor ca = cursor(a4, row * kp, 1);
  Cursor c0 = cursor(b4, col * kp, 1);
  Cursor c1 = cursor(b4, (col + 1) * kp, 1);
  Cursor c2 = cursor(b4, (col + 2) * kp, 1);
  Cursor c3 = cursor(b4, (col + 3) * kp, 1);
  vec4 s = vec4(0.0);
  for (int j = 0; j < kp; j++) {
    vec4 a = next4(a4, ca);
    s += vec4(dot(a, next4(b4, c0)), dot(a, next4(b4, c1)), dot(a, next4(b4, c2)), dot(a, next4(b4, c3)));
  }
  if (has_bias == 1) s += vec4(at(bias, col), at(bias, col + 1), at(bias, col + 2), at(bias, col + 3));
  if (act == 1) s = max(s, 0.0);
  if (act == 2) s = clamp(s, 0.0, 6.0);
  return s;
}

//# kernel outer4 v4 a4,b4 m4,n4,k,chunk
// A^T B for stored A (k, m) and B (k, n) packed along m and n (rows of m4 and n4 texels): fragment
// (part, i4, j4) sums the outer products of A's texel i4 and B's texel j4 over rows part * chunk ... +
// chunk, a 4x4 block (output r: block row r) from two fetches per sixteen multiply-adds. The long sums of
// the weight gradients (k = the pixels of a batch) run in parts, so that enough fragments run at once.
uniform int m4, n4, k, chunk;
void compute4(int t, inout vec4 r[4]) {
  int T = m4 * n4;
  int part = t / T;
  int f = t - part * T;
  int i4 = f / n4;
  int j4 = f - i4 * n4;
  int p0 = part * chunk;
  int p1 = min(k, p0 + chunk);
  Cursor ca = cursor(a4, p0 * m4 + i4, m4);
  Cursor cb = cursor(b4, p0 * n4 + j4, n4);
  vec4 s0 = vec4(0.0), s1 = vec4(0.0), s2 = vec4(0.0), s3 = vec4(0.0);
  for (int p = p0; p < p1; p++) {
    vec4 a = next4(a4, ca);
    vec4 b = next4(b4, cb);
    s0 += a.x * b;
    s1 += a.y * b;
    s2 += a.z * b;
    s3 += a.w * b;
  }
  r[0] = s0;
  r[1] = s1;
  r[2] = s2;
  r[3] = s3;
}

//# kernel outer_sum4 v r0,r1,r2,r3 n4,parts,T
// outer4's parts added and laid out as the (m, n) result packed along n (texel row * n4 + j4): row's block
// row is output row & 3 of outer4, at texel (row >> 2) * n4 + j4 of each part of T texels.
uniform int n4, parts, T;
vec4 compute4(int t) {
  int row = t / n4;
  int f = (row >> 2) * n4 + (t - row * n4);
  int r = row & 3;
  vec4 s = vec4(0.0);
  for (int part = 0; part < parts; part++, f += T) {
    s += r == 0 ? at4(r0, f) : r == 1 ? at4(r1, f) : r == 2 ? at4(r2, f) : at4(r3, f);
  }
  return s;
}

//# kernel gemm_block4 v4 a4,b4,bias m,mq,n,n4,kp,has_bias,act
// gemm_packed4 for four rows at once: fragment (row, j4) of mq * n4 computes rows row + r * mq (output r:
// the result's quarter r, its rows r * mq ...) at columns 4 * j4 ..., a 4x4 block from eight fetches per
// sixty-four multiply-adds. The quarters are copied into one packed texture (runtime placeParts).
uniform int m, mq, n, n4, kp, has_bias, act;
void compute4(int t, inout vec4 r[4]) {
  int row = t / n4;
  int col = (t - row * n4) * 4;
  // rows past m (the last quarter's tail) read row m - 1 and are never read back
  Cursor a0 = cursor(a4, min(row, m - 1) * kp, 1);
  Cursor a1 = cursor(a4, min(row + mq, m - 1) * kp, 1);
  Cursor a2 = cursor(a4, min(row + 2 * mq, m - 1) * kp, 1);
  Cursor a3 = cursor(a4, min(row + 3 * mq, m - 1) * kp, 1);
  Cursor b0 = cursor(b4, col * kp, 1);
  Cursor b1 = cursor(b4, (col + 1) * kp, 1);
  Cursor b2 = cursor(b4, (col + 2) * kp, 1);
  Cursor b3 = cursor(b4, (col + 3) * kp, 1);
  vec4 s0 = vec4(0.0), s1 = vec4(0.0), s2 = vec4(0.0), s3 = vec4(0.0);
  for (int j = 0; j < kp; j++) {
    mat4 b = mat4(next4(b4, b0), next4(b4, b1), next4(b4, b2), next4(b4, b3));
    // (a row vector times b's columns: the four dot products)
    s0 += next4(a4, a0) * b;
    s1 += next4(a4, a1) * b;
    s2 += next4(a4, a2) * b;
    s3 += next4(a4, a3) * b;
  }
  vec4 bv = has_bias == 0 ? vec4(0.0) : vec4(at(bias, col), at(bias, min(col + 1, n - 1)), at(bias, min(col + 2, n - 1)), at(bias, min(col + 3, n - 1)));
  r[0] = pb_activate(s0 + bv, act);
  r[1] = pb_activate(s1 + bv, act);
  r[2] = pb_activate(s2 + bv, act);
  r[3] = pb_activate(s3 + bv, act);
}

//# kernel gemm_block8 v8 a4,b4,bias m,mq,n,n4,kp,has_bias,act
// gemm_block4 for eight rows at once where eight render targets are available: fragment (row, j4) of
// mq * n4 computes rows row + r * mq (output r: the result's eighth r), an 8x4 block from twelve fetches per
// 128 multiply-adds (gemm_block4: eight per 64). The eighths are copied into place (runtime placeParts).
uniform int m, mq, n, n4, kp, has_bias, act;
void compute4(int t, inout vec4 r[8]) {
  int row = t / n4;
  int col = (t - row * n4) * 4;
  // rows past m (the last eighths' tail) read row m - 1 and are never read back
  Cursor a0 = cursor(a4, min(row, m - 1) * kp, 1);
  Cursor a1 = cursor(a4, min(row + mq, m - 1) * kp, 1);
  Cursor a2 = cursor(a4, min(row + 2 * mq, m - 1) * kp, 1);
  Cursor a3 = cursor(a4, min(row + 3 * mq, m - 1) * kp, 1);
  Cursor a5 = cursor(a4, min(row + 5 * mq, m - 1) * kp, 1);
  Cursor a6 = cursor(a4, min(row + 6 * mq, m - 1) * kp, 1);
  Cursor a7 = cursor(a4, min(row + 7 * mq, m - 1) * kp, 1);
  Cursor a4_ = cursor(a4, min(row + 4 * mq, m - 1) * kp, 1);
  Cursor b0 = cursor(b4, col * kp, 1);
  Cursor b1 = cursor(b4, (col + 1) * kp, 1);
  Cursor b2 = cursor(b4, (col + 2) * kp, 1);
  Cursor b3 = cursor(b4, (col + 3) * kp, 1);
  vec4 s0 = vec4(0.0), s1 = vec4(0.0), s2 = vec4(0.0), s3 = vec4(0.0);
  vec4 s4 = vec4(0.0), s5 = vec4(0.0), s6 = vec4(0.0), s7 = vec4(0.0);
  for (int j = 0; j < kp; j++) {
    mat4 b = mat4(next4(b4, b0), next4(b4, b1), next4(b4, b2), next4(b4, b3));
    s0 += next4(a4, a0) * b;
    s1 += next4(a4, a1) * b;
    s2 += next4(a4, a2) * b;
    s3 += next4(a4, a3) * b;
    s4 += next4(a4, a4_) * b;
    s5 += next4(a4, a5) * b;
    s6 += next4(a4, a6) * b;
    s7 += next4(a4, a7) * b;
  }
  vec4 bv = has_bias == 0 ? vec4(0.0) : vec4(at(bias, col), at(bias, min(col + 1, n - 1)), at(bias, min(col + 2, n - 1)), at(bias, min(col + 3, n - 1)));
  r[0] = pb_activate(s0 + bv, act);
  r[1] = pb_activate(s1 + bv, act);
  r[2] = pb_activate(s2 + bv, act);
  r[3] = pb_activate(s3 + bv, act);
  r[4] = pb_activate(s4 + bv, act);
  r[5] = pb_activate(s5 + bv, act);
  r[6] = pb_activate(s6 + bv, act);
  r[7] = pb_activate(s7 + bv, act);
}
