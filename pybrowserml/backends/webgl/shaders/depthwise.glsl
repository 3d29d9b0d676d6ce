// Depthwise conv2d (filter (KH, KW, C, M), output channel c * M + m) and its gradients: direct loops;
// the filter gradient in partial sums over chunks of output pixels, added by the column sum.

//# kernel forward 1 x,w,bias N,H,W,C,M,OH,OW,KH,KW,SH,SW,PT,PL,has_bias,act
uniform int N, H, W, C, M, OH, OW, KH, KW, SH, SW, PT, PL, has_bias, act;
float compute(int i) {
  int CM = C * M;
  int ch = i % CM;
  int c = ch / M;
  int q = i / CM;
  int ox = q % OW;
  q /= OW;
  int oy = q % OH;
  int nb = q / OH;
  float s = 0.0;
  for (int ky = 0; ky < KH; ky++) {
    int iy = oy * SH - PT + ky;
    if (iy < 0 || iy >= H) continue;
    for (int kx = 0; kx < KW; kx++) {
      int ix = ox * SW - PL + kx;
      if (ix < 0 || ix >= W) continue;
      s += at(x, ((nb * H + iy) * W + ix) * C + c) * at(w, (ky * KW + kx) * CM + ch);
    }
  }
  if (has_bias == 1) s += at(bias, ch);
  if (act == 1) s = max(s, 0.0);
  if (act == 2) s = clamp(s, 0.0, 6.0);
  return s;
}

//# kernel grad_input 1 dz,w N,H,W,C,M,OH,OW,KH,KW,SH,SW,PT,PL
uniform int N, H, W, C, M, OH, OW, KH, KW, SH, SW, PT, PL;
float compute(int i) {
  int CM = C * M;
  int c = i % C;
  int q = i / C;
  int ix = q % W;
  q /= W;
  int iy = q % H;
  int nb = q / H;
  float s = 0.0;
  // the taps whose window covers (iy, ix): iy + PT - ky a multiple of SH, the output row oy falling by one
  // per step, so each axis divides once (SwiftShader's integer division is slow)
  int oy0 = (iy + PT) / SH, ox0 = (ix + PL) / SW;
  int ky0 = iy + PT - oy0 * SH, kx0 = ix + PL - ox0 * SW;
  for (int ky = ky0, oy = oy0; ky < KH && oy >= 0; ky += SH, oy--) {
    if (oy >= OH) continue;
    for (int kx = kx0, ox = ox0; kx < KW && ox >= 0; kx += SW, ox--) {
      if (ox >= OW) continue;
      int d = ((nb * OH + oy) * OW + ox) * CM + c * M;
      int f = (ky * KW + kx) * CM + c * M;
      for (int m = 0; m < M; m++) s += at(dz, d + m) * at(w, f + m);
    }
  }
  return s;
}

//# kernel grad_filter 1 x,dz N,H,W,C,M,OH,OW,KH,KW,SH,SW,PT,PL,F,P,chunk
uniform int N, H, W, C, M, OH, OW, KH, KW, SH, SW, PT, PL, F, P, chunk;
float compute(int i) {
  int CM = C * M;
  int part = i / F;
  int f = i - part * F;
  int ch = f % CM;
  int c = ch / M;
  int t = f / CM;
  int kx = t % KW;
  int ky = t / KW;
  int q0 = part * chunk;
  int q1 = min(P, q0 + chunk);
  int ox = q0 % OW;
  int oy = (q0 / OW) % OH;
  int nb = q0 / (OW * OH);
  Cursor cd = cursor(dz, q0 * CM + ch, CM);
  // x's flat index at (nb, iy, ix, c), moved along with the output pixel (no division per pixel)
  int iy = oy * SH - PT + ky;
  int ix = ox * SW - PL + kx;
  int xi = ((nb * H + iy) * W + ix) * C + c;
  float s = 0.0;
  for (int q = q0; q < q1; q++) {
    float g = next(dz, cd);
    if (iy >= 0 && iy < H && ix >= 0 && ix < W) s += at(x, xi) * g;
    ox++;
    ix += SW;
    xi += SW * C;
    if (ox == OW) {
      ox = 0;
      oy++;
      if (oy == OH) { oy = 0; nb++; }
      iy = oy * SH - PT + ky;
      ix = kx - PL;
      xi = ((nb * H + iy) * W + ix) * C + c;
    }
  }
  return s;
}

//# common packed
// Packed forms for multiplier 1: x, dz and w packed by gemm.glsl's pack4 along channels (C4 texels of four
// channels per pixel or tap), four channels per fragment, the result packed (unpacked by unpack4).
uniform int N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, C4;
// The forwards read x4 with XC4 texels per pixel from texel x_offset(c4) on: x4 packed as it is (XC4 = PW =
// C4, PS = 0), or a stacked concat of equal parts (PW = XC4 texels per pixel of each part, part k from
// texel k * PS: kernels/shape.py), where channel texel c4 is texel c4 % PW of part c4 / PW.
int x_offset(int c4, int PW, int PS) {
  ivec2 part = pb_divmod(c4, PW);
  return part.x * PS + part.y;
}

//# kernel forward4 v x4,w4,bias N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL,C4,has_bias,act,XC4,PW,PS packed
uniform int has_bias, act, XC4, PW, PS;
vec4 compute4(int t) {
  int c4 = t % C4;
  int xo = x_offset(c4, PW, PS);
  int q = t / C4;
  int ox = q % OW;
  q /= OW;
  int oy = q % OH;
  int nb = q / OH;
  vec4 s = vec4(0.0);
  for (int ky = 0; ky < KH; ky++) {
    int iy = oy * SH - PT + ky;
    if (iy < 0 || iy >= H) continue;
    for (int kx = 0; kx < KW; kx++) {
      int ix = ox * SW - PL + kx;
      if (ix < 0 || ix >= W) continue;
      s += at4(x4, ((nb * H + iy) * W + ix) * XC4 + xo) * at4(w4, (ky * KW + kx) * C4 + c4);
    }
  }
  if (has_bias == 1) {
    int c = c4 * 4;
    s.x += at(bias, c);
    if (c + 1 < C) s.y += at(bias, c + 1);
    if (c + 2 < C) s.z += at(bias, c + 2);
    if (c + 3 < C) s.w += at(bias, c + 3);
  }
  if (act == 1) s = max(s, 0.0);
  if (act == 2) s = clamp(s, 0.0, 6.0);
  return s;
}

//# kernel grad_input4 v dz4,w4 N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL,C4 packed
vec4 compute4(int t) {
  int c4 = t % C4;
  int q = t / C4;
  int ix = q % W;
  q /= W;
  int iy = q % H;
  int nb = q / H;
  vec4 s = vec4(0.0);
  // the taps whose window covers (iy, ix): iy + PT - ky a multiple of SH, the output row oy falling by one
  // per step, so each axis divides once (SwiftShader's integer division is slow)
  int oy0 = (iy + PT) / SH, ox0 = (ix + PL) / SW;
  int ky0 = iy + PT - oy0 * SH, kx0 = ix + PL - ox0 * SW;
  for (int ky = ky0, oy = oy0; ky < KH && oy >= 0; ky += SH, oy--) {
    if (oy >= OH) continue;
    for (int kx = kx0, ox = ox0; kx < KW && ox >= 0; kx += SW, ox--) {
      if (ox >= OW) continue;
      s += at4(dz4, ((nb * OH + oy) * OW + ox) * C4 + c4) * at4(w4, (ky * KW + kx) * C4 + c4);
    }
  }
  return s;
}

//# kernel grad_input4_quarters v4 dz4,w4 N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL,C4,PQ packed
// grad_input4 at stride 1 for four input pixels at once, one per quarter of the result (PQ pixels each):
// every tap reaches every pixel (bar the edges), so each filter texel fetched serves four pixels.
uniform int PQ;
// the output pixel (iy + PT - ky, ix + PL - kx) that tap (ky, kx) of input pixel (iy, ix) feeds, if any
void tap(inout vec4 s, int ty, int tx, int base, int ky, int kx, vec4 wv) {
  int oy = ty - ky, ox = tx - kx;
  if (oy >= 0 && oy < OH && ox >= 0 && ox < OW) s += at4(dz4, base - (ky * OW + kx) * C4) * wv;
}
void compute4(int t, inout vec4 r[4]) {
  int c4 = t % C4;
  int q = t / C4;
  int ix = q % W;
  q /= W;
  ivec3 p0 = ivec3(q / H, q % H, ix);
  ivec3 d = ivec3(PQ / (W * H), (PQ / W) % H, PQ % W);
  ivec3 p1 = pixel_advance(p0, d, H, W), p2 = pixel_advance(p1, d, H, W), p3 = pixel_advance(p2, d, H, W);
  // (ty, tx): the output pixel of tap (0, 0); the last quarter's tail (past the batch) reaches none
  ivec4 ty = ivec4(p0.y, p1.y, p2.y, p3.y) + PT;
  if (p3.x >= N) ty.w = OH + KH;
  ivec4 tx = ivec4(p0.z, p1.z, p2.z, p3.z) + PL;
  ivec4 base = ((ivec4(p0.x, p1.x, p2.x, p3.x) * OH + ty) * OW + tx) * C4 + c4;
  vec4 s0 = vec4(0.0), s1 = vec4(0.0), s2 = vec4(0.0), s3 = vec4(0.0);
  for (int ky = 0; ky < KH; ky++) {
    for (int kx = 0; kx < KW; kx++) {
      vec4 wv = at4(w4, (ky * KW + kx) * C4 + c4);
      tap(s0, ty.x, tx.x, base.x, ky, kx, wv);
      tap(s1, ty.y, tx.y, base.y, ky, kx, wv);
      tap(s2, ty.z, tx.z, base.z, ky, kx, wv);
      tap(s3, ty.w, tx.w, base.w, ky, kx, wv);
    }
  }
  r[0] = s0;
  r[1] = s1;
  r[2] = s2;
  r[3] = s3;
}

//# kernel grad_filter4 v x4,dz4 N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL,C4,F4,P,chunk packed
// out[part, tap, c4]: four channels' filter gradient at one tap summed over output pixels
// part * chunk ... + chunk (of P); F4 = KH * KW * C4 texels per part.
uniform int F4, P, chunk;
vec4 compute4(int t) {
  int part = t / F4;
  int f = t - part * F4;
  int c4 = f % C4;
  int tap = f / C4;
  int kx = tap % KW;
  int ky = tap / KW;
  int q0 = part * chunk;
  int q1 = min(P, q0 + chunk);
  int ox = q0 % OW;
  int oy = (q0 / OW) % OH;
  int nb = q0 / (OW * OH);
  int iy = oy * SH - PT + ky;
  int ix = ox * SW - PL + kx;
  int xi = ((nb * H + iy) * W + ix) * C4 + c4;
  Cursor cd = cursor(dz4, q0 * C4 + c4, C4);
  vec4 s = vec4(0.0);
  for (int q = q0; q < q1; q++) {
    vec4 g = next4(dz4, cd);
    if (iy >= 0 && iy < H && ix >= 0 && ix < W) s += at4(x4, xi) * g;
    ox++;
    ix += SW;
    xi += SW * C4;
    if (ox == OW) {
      ox = 0;
      oy++;
      if (oy == OH) { oy = 0; nb++; }
      iy = oy * SH - PT + ky;
      ix = kx - PL;
      xi = ((nb * H + iy) * W + ix) * C4 + c4;
    }
  }
  return s;
}

//# kernel forward4_quarters v4 x4,w4,bias N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL,C4,PQ,has_bias,act,XC4,PW,PS packed
// forward4 for four output pixels at once, one per quarter of the output (output k: pixels k * PQ ...,
// PQ = a quarter of them rounded up): each tap's filter texel is fetched once for the four (five fetches
// per four multiply-adds of vec4s instead of eight). The quarters are copied together (runtime placeParts).
uniform int PQ, has_bias, act, XC4, PW, PS;
// the tap (ky, kx) of the window whose top-left input pixel is (top, left), at texel base
void tap(inout vec4 s, int top, int left, int base, int ky, int kx, vec4 wv) {
  int iy = top + ky, ix = left + kx;
  if (iy >= 0 && iy < H && ix >= 0 && ix < W) s += at4(x4, base + (ky * W + kx) * XC4) * wv;
}
void compute4(int t, inout vec4 r[4]) {
  int c4 = t % C4;
  int q = t / C4;
  int ox = q % OW;
  q /= OW;
  ivec3 p0 = ivec3(q / OH, q % OH, ox);
  ivec3 d = ivec3(PQ / (OW * OH), (PQ / OW) % OH, PQ % OW);
  ivec3 p1 = pixel_advance(p0, d, OH, OW), p2 = pixel_advance(p1, d, OH, OW), p3 = pixel_advance(p2, d, OH, OW);
  // the last quarter's tail (pixels past the batch) covers no input row
  ivec4 top = ivec4(p0.y, p1.y, p2.y, p3.y) * SH - PT;
  if (p3.x >= N) top.w = -KH;
  ivec4 left = ivec4(p0.z, p1.z, p2.z, p3.z) * SW - PL;
  ivec4 base = ((ivec4(p0.x, p1.x, p2.x, p3.x) * H + top) * W + left) * XC4 + x_offset(c4, PW, PS);
  vec4 s0 = vec4(0.0), s1 = vec4(0.0), s2 = vec4(0.0), s3 = vec4(0.0);
  for (int ky = 0; ky < KH; ky++) {
    for (int kx = 0; kx < KW; kx++) {
      vec4 wv = at4(w4, (ky * KW + kx) * C4 + c4);
      tap(s0, top.x, left.x, base.x, ky, kx, wv);
      tap(s1, top.y, left.y, base.y, ky, kx, wv);
      tap(s2, top.z, left.z, base.z, ky, kx, wv);
      tap(s3, top.w, left.w, base.w, ky, kx, wv);
    }
  }
  int c = c4 * 4;
  vec4 b = has_bias == 0 ? vec4(0.0) : vec4(at(bias, c), at(bias, min(c + 1, C - 1)), at(bias, min(c + 2, C - 1)), at(bias, min(c + 3, C - 1)));
  r[0] = pb_activate(s0 + b, act);
  r[1] = pb_activate(s1 + b, act);
  r[2] = pb_activate(s2 + b, act);
  r[3] = pb_activate(s3 + b, act);
}

//# kernel forward4_row3 v4 x4,w4,bias N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL,C4,OW4,has_bias,act,XC4,PW,PS packed
// forward4 for a 3-wide filter at stride 1, four neighbouring pixels of a row per fragment (output r: the
// pixels of column 4g + r): per filter row, six input texels and three filter texels serve all four
// (nine fetches per twelve vec4 multiply-adds instead of twenty-four). interleave_columns reorders.
uniform int OW4, has_bias, act, XC4, PW, PS;
vec4 x_at(int base, int ix) {
  return ix >= 0 && ix < W ? at4(x4, base + ix * XC4) : vec4(0.0);
}
void compute4(int t, inout vec4 r[4]) {
  int c4 = t % C4;
  int q = t / C4;
  int g = q % OW4;
  q /= OW4;
  int oy = q % OH;
  int nb = q / OH;
  int ix = 4 * g - PL;
  int xo = x_offset(c4, PW, PS);
  vec4 s0 = vec4(0.0), s1 = vec4(0.0), s2 = vec4(0.0), s3 = vec4(0.0);
  for (int ky = 0; ky < KH; ky++) {
    int iy = oy * SH - PT + ky;
    if (iy < 0 || iy >= H) continue;
    int base = (nb * H + iy) * W * XC4 + xo;
    vec4 x0 = x_at(base, ix), x1 = x_at(base, ix + 1), x2 = x_at(base, ix + 2);
    vec4 x3 = x_at(base, ix + 3), x4_ = x_at(base, ix + 4), x5 = x_at(base, ix + 5);
    int wi = ky * 3 * C4 + c4;
    vec4 w0 = at4(w4, wi), w1 = at4(w4, wi + C4), w2 = at4(w4, wi + 2 * C4);
    s0 += x0 * w0 + x1 * w1 + x2 * w2;
    s1 += x1 * w0 + x2 * w1 + x3 * w2;
    s2 += x2 * w0 + x3 * w1 + x4_ * w2;
    s3 += x3 * w0 + x4_ * w1 + x5 * w2;
  }
  int c = c4 * 4;
  vec4 b = has_bias == 0 ? vec4(0.0) : vec4(at(bias, c), at(bias, min(c + 1, C - 1)), at(bias, min(c + 2, C - 1)), at(bias, min(c + 3, C - 1)));
  r[0] = pb_activate(s0 + b, act);
  r[1] = pb_activate(s1 + b, act);
  r[2] = pb_activate(s2 + b, act);
  r[3] = pb_activate(s3 + b, act);
}

//# kernel forward8_row3 v8 x4,w4,bias N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL,C4,OW8,has_bias,act,XC4,PW,PS packed
// forward4_row3 for eight neighbouring pixels of a row (output r: the pixels of column 8g + r) where a draw
// can write eight render targets: per filter row, ten input texels and three filter texels serve all eight
// (thirteen fetches per 24 vec4 multiply-adds instead of nine per twelve). interleave_columns reorders.
uniform int OW8, has_bias, act, XC4, PW, PS;
vec4 x_at(int base, int ix) {
  return ix >= 0 && ix < W ? at4(x4, base + ix * XC4) : vec4(0.0);
}
void compute4(int t, inout vec4 r[8]) {
  int c4 = t % C4;
  int q = t / C4;
  int g = q % OW8;
  q /= OW8;
  int oy = q % OH;
  int nb = q / OH;
  int ix = 8 * g - PL;
  int xo = x_offset(c4, PW, PS);
  vec4 s0 = vec4(0.0), s1 = vec4(0.0), s2 = vec4(0.0), s3 = vec4(0.0);
  vec4 s4 = vec4(0.0), s5 = vec4(0.0), s6 = vec4(0.0), s7 = vec4(0.0);
  for (int ky = 0; ky < KH; ky++) {
    int iy = oy * SH - PT + ky;
    if (iy < 0 || iy >= H) continue;
    int base = (nb * H + iy) * W * XC4 + xo;
    int wi = ky * 3 * C4 + c4;
    vec4 w0 = at4(w4, wi), w1 = at4(w4, wi + C4), w2 = at4(w4, wi + 2 * C4);
    vec4 x0 = x_at(base, ix), x1 = x_at(base, ix + 1), x2 = x_at(base, ix + 2), x3 = x_at(base, ix + 3);
    vec4 x4_ = x_at(base, ix + 4), x5 = x_at(base, ix + 5), x6 = x_at(base, ix + 6), x7 = x_at(base, ix + 7);
    vec4 x8 = x_at(base, ix + 8), x9 = x_at(base, ix + 9);
    s0 += x0 * w0 + x1 * w1 + x2 * w2;
    s1 += x1 * w0 + x2 * w1 + x3 * w2;
    s2 += x2 * w0 + x3 * w1 + x4_ * w2;
    s3 += x3 * w0 + x4_ * w1 + x5 * w2;
    s4 += x4_ * w0 + x5 * w1 + x6 * w2;
    s5 += x5 * w0 + x6 * w1 + x7 * w2;
    s6 += x6 * w0 + x7 * w1 + x8 * w2;
    s7 += x7 * w0 + x8 * w1 + x9 * w2;
  }
  int c = c4 * 4;
  vec4 bv = has_bias == 0 ? vec4(0.0) : vec4(at(bias, c), at(bias, min(c + 1, C - 1)), at(bias, min(c + 2, C - 1)), at(bias, min(c + 3, C - 1)));
  r[0] = pb_activate(s0 + bv, act);
  r[1] = pb_activate(s1 + bv, act);
  r[2] = pb_activate(s2 + bv, act);
  r[3] = pb_activate(s3 + bv, act);
  r[4] = pb_activate(s4 + bv, act);
  r[5] = pb_activate(s5 + bv, act);
  r[6] = pb_activate(s6 + bv, act);
  r[7] = pb_activate(s7 + bv, act);
}

//# kernel interleave_columns v q OW,OWG,C4,T,GB
// forward4_row3's four (forward8_row3's eight: 1 << GB) outputs, copied one after another into q (T texels
// each: runtime placeParts), as one texture packed along channels in pixel order: one fetch per texel, no
// choice among textures.
uniform int OW, OWG, C4, T, GB;
vec4 compute4(int t) {
  ivec2 qc = pb_divmod(t, C4);
  ivec2 yx = pb_divmod(qc.x, OW);
  return at4(q, (yx.y & ((1 << GB) - 1)) * T + (yx.x * OWG + (yx.y >> GB)) * C4 + qc.y);
}
