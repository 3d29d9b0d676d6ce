// conv2d (NHWC input, HWIO filter) and its gradients: the forward and the input gradient one fragment
// per output element; the filter gradient in partial sums over chunks of output pixels (rows of
// `part`), added up by the column sum. Window geometry uniforms: N, H, W, C, OH, OW, KH, KW, strides
// SH, SW, padding before PT, PL, output channels O.

//# kernel forward 1 x,w,bias N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL,O,has_bias,act
uniform int N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, O, has_bias, act;
float compute(int i) {
  int o = i % O;
  int q = i / O;
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
      Cursor cx = cursor(x, ((nb * H + iy) * W + ix) * C, 1);
      Cursor cw = cursor(w, (ky * KW + kx) * C * O + o, O);
      for (int c = 0; c < C; c++) s += next(x, cx) * next(w, cw);
    }
  }
  if (has_bias == 1) s += at(bias, o);
  if (act == 1) s = max(s, 0.0);
  if (act == 2) s = clamp(s, 0.0, 6.0);
  return s;
}

//# kernel grad_input 1 dz,w N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL,O
uniform int N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, O;
float compute(int i) {
  int c = i % C;
  int q = i / C;
  int ix = q % W;
  q /= W;
  int iy = q % H;
  int nb = q / H;
  float s = 0.0;
  for (int ky = 0; ky < KH; ky++) {
    int ty = iy + PT - ky;
    if (ty < 0 || ty % SH != 0 || ty / SH >= OH) continue;
    int oy = ty / SH;
    for (int kx = 0; kx < KW; kx++) {
      int tx = ix + PL - kx;
      if (tx < 0 || tx % SW != 0 || tx / SW >= OW) continue;
      int ox = tx / SW;
      Cursor cd = cursor(dz, ((nb * OH + oy) * OW + ox) * O, 1);
      Cursor cw = cursor(w, ((ky * KW + kx) * C + c) * O, 1);
      for (int o = 0; o < O; o++) s += next(dz, cd) * next(w, cw);
    }
  }
  return s;
}

//# kernel grad_filter 1 x,dz N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL,O,F,P,chunk
// out[part, f]: filter element f's gradient summed over output pixels part * chunk ... + chunk (of P).
uniform int N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, O, F, P, chunk;
float compute(int i) {
  int part = i / F;
  int f = i - part * F;
  int o = f % O;
  int t = f / O;
  int c = t % C;
  t /= C;
  int kx = t % KW;
  int ky = t / KW;
  int q0 = part * chunk;
  int q1 = min(P, q0 + chunk);
  int ox = q0 % OW;
  int oy = (q0 / OW) % OH;
  int nb = q0 / (OW * OH);
  Cursor cd = cursor(dz, q0 * O + o, O);
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

//# kernel grad_filter4 v x,dz4 N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL,O4,F4,P,chunk
// grad_filter for four output channels at once: dz4 is dz packed along O (O4 texels per pixel); out texel
// (part, f4) of F4 = KH * KW * C * O4 per part is (tap, input channel, o4), summed over output pixels
// part * chunk ... + chunk (of P): each input value fetched serves four outputs.
uniform int N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, O4, F4, P, chunk;
vec4 compute4(int i) {
  int part = i / F4;
  int f = i - part * F4;
  int o4 = f % O4;
  int t = f / O4;
  int c = t % C;
  t /= C;
  int kx = t % KW;
  int ky = t / KW;
  int q0 = part * chunk;
  int q1 = min(P, q0 + chunk);
  int ox = q0 % OW;
  int oy = (q0 / OW) % OH;
  int nb = q0 / (OW * OH);
  Cursor cd = cursor(dz4, q0 * O4 + o4, O4);
  // x's flat index at (nb, iy, ix, c), moved along with the output pixel (no division per pixel)
  int iy = oy * SH - PT + ky;
  int ix = ox * SW - PL + kx;
  int xi = ((nb * H + iy) * W + ix) * C + c;
  vec4 s = vec4(0.0);
  for (int q = q0; q < q1; q++) {
    vec4 g = next4(dz4, cd);
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

//# kernel forward4 v x,w4,bias N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL,O,O4,has_bias,act
// Four output channels per fragment: w4 is the filter packed along O (gemm.glsl's pack4: O4 texels per
// (tap, input channel)), so each input value read serves four outputs; the result packed, then unpacked.
uniform int N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, O, O4, has_bias, act;
vec4 compute4(int t) {
  int o4 = t % O4;
  int q = t / O4;
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
      Cursor cx = cursor(x, ((nb * H + iy) * W + ix) * C, 1);
      Cursor cw = cursor(w4, (ky * KW + kx) * C * O4 + o4, O4);
      for (int c = 0; c < C; c++) s += next(x, cx) * next4(w4, cw);
    }
  }
  if (has_bias == 1) {
    int o = o4 * 4;
    s.x += at(bias, o);
    if (o + 1 < O) s.y += at(bias, o + 1);
    if (o + 2 < O) s.z += at(bias, o + 2);
    if (o + 3 < O) s.w += at(bias, o + 3);
  }
  if (act == 1) s = max(s, 0.0);
  if (act == 2) s = clamp(s, 0.0, 6.0);
  return s;
}

//# kernel forward4_quarters v4 x,w4,bias N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL,O,O4,PQ,has_bias,act
// forward4 for four output pixels at once, one per quarter of the output (output k: pixels k * PQ ...,
// PQ = a quarter of them rounded up), so each filter texel fetched serves four pixels (five fetches per
// four vec4 multiply-adds instead of eight). The quarters are copied together (runtime placeParts).
uniform int N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, O, O4, PQ, has_bias, act;
// input channel c at tap (ky, kx) of the window whose top-left input pixel is (top, left), at index base
void tap(inout vec4 s, int top, int left, int base, int ky, int kx, int c, vec4 wv) {
  int iy = top + ky, ix = left + kx;
  if (iy >= 0 && iy < H && ix >= 0 && ix < W) s += at(x, base + (ky * W + kx) * C + c) * wv;
}
void compute4(int t, inout vec4 r[4]) {
  int o4 = t % O4;
  int q = t / O4;
  int ox = q % OW;
  q /= OW;
  ivec3 p0 = ivec3(q / OH, q % OH, ox);
  ivec3 d = ivec3(PQ / (OW * OH), (PQ / OW) % OH, PQ % OW);
  ivec3 p1 = pixel_advance(p0, d, OH, OW), p2 = pixel_advance(p1, d, OH, OW), p3 = pixel_advance(p2, d, OH, OW);
  // the last quarter's tail (pixels past the batch) covers no input row
  ivec4 top = ivec4(p0.y, p1.y, p2.y, p3.y) * SH - PT;
  if (p3.x >= N) top.w = -KH;
  ivec4 left = ivec4(p0.z, p1.z, p2.z, p3.z) * SW - PL;
  ivec4 base = ((ivec4(p0.x, p1.x, p2.x, p3.x) * H + top) * W + left) * C;
  vec4 s0 = vec4(0.0), s1 = vec4(0.0), s2 = vec4(0.0), s3 = vec4(0.0);
  for (int ky = 0; ky < KH; ky++) {
    for (int kx = 0; kx < KW; kx++) {
      Cursor cw = cursor(w4, (ky * KW + kx) * C * O4 + o4, O4);
      for (int c = 0; c < C; c++) {
        vec4 wv = next4(w4, cw);
        tap(s0, top.x, left.x, base.x, ky, kx, c, wv);
        tap(s1, top.y, left.y, base.y, ky, kx, c, wv);
        tap(s2, top.z, left.z, base.z, ky, kx, c, wv);
        tap(s3, top.w, left.w, base.w, ky, kx, c, wv);
      }
    }
  }
  int o = o4 * 4;
  vec4 b = has_bias == 0 ? vec4(0.0) : vec4(at(bias, o), at(bias, min(o + 1, O - 1)), at(bias, min(o + 2, O - 1)), at(bias, min(o + 3, O - 1)));
  r[0] = pb_activate(s0 + b, act);
  r[1] = pb_activate(s1 + b, act);
  r[2] = pb_activate(s2 + b, act);
  r[3] = pb_activate(s3 + b, act);
}

//# kernel forward4_row3 v4 x,w4,bias N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL,O,O4,OW4,has_bias,act
// forward4 for a 3-wide filter at stride 1, four neighbouring pixels of a row per fragment (output r: the
// pixels of column 4g + r, as depthwise.glsl's forward4_row3): per filter row and input channel, six
// input values and three filter texels serve all four. depthwise.glsl's interleave_columns reorders.
uniform int N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, O, O4, OW4, has_bias, act;
float x_at(int base, int ix) {
  return ix >= 0 && ix < W ? at(x, base + ix * C) : 0.0;
}
void compute4(int t, inout vec4 r[4]) {
  int o4 = t % O4;
  int q = t / O4;
  int g = q % OW4;
  q /= OW4;
  int oy = q % OH;
  int nb = q / OH;
  int ix = 4 * g - PL;
  vec4 s0 = vec4(0.0), s1 = vec4(0.0), s2 = vec4(0.0), s3 = vec4(0.0);
  for (int ky = 0; ky < KH; ky++) {
    int iy = oy * SH - PT + ky;
    if (iy < 0 || iy >= H) continue;
    for (int c = 0; c < C; c++) {
      int base = (nb * H + iy) * W * C + c;
      float x0 = x_at(base, ix), x1 = x_at(base, ix + 1), x2 = x_at(base, ix + 2);
      float x3 = x_at(base, ix + 3), x4 = x_at(base, ix + 4), x5 = x_at(base, ix + 5);
      int wi = (ky * 3 * C + c) * O4 + o4;
      vec4 w0 = at4(w4, wi), w1 = at4(w4, wi + C * O4), w2 = at4(w4, wi + 2 * C * O4);
      s0 += x0 * w0 + x1 * w1 + x2 * w2;
      s1 += x1 * w0 + x2 * w1 + x3 * w2;
      s2 += x2 * w0 + x3 * w1 + x4 * w2;
      s3 += x3 * w0 + x4 * w1 + x5 * w2;
    }
  }
  int o = o4 * 4;
  vec4 b = has_bias == 0 ? vec4(0.0) : vec4(at(bias, o), at(bias, min(o + 1, O - 1)), at(bias, min(o + 2, O - 1)), at(bias, min(o + 3, O - 1)));
  r[0] = pb_activate(s0 + b, act);
  r[1] = pb_activate(s1 + b, act);
  r[2] = pb_activate(s2 + b, act);
  r[3] = pb_activate(s3 + b, act);
}
