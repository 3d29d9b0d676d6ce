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
