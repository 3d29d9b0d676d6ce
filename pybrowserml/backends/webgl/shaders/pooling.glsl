// Global average pooling, windowed max and average pooling (TensorFlow semantics: padding is never the
// maximum and is not counted in an average), nearest upsampling, and their gradients. The gradients are
// gathers: one fragment per input element sums over the windows that contain it.

//# common window
uniform int N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL;
// How many real (unpadded) inputs the window at (oy, ox) covers.
float window_count(int oy, int ox) {
  int y0 = max(oy * SH - PT, 0), y1 = min(oy * SH - PT + KH, H);
  int x0 = max(ox * SW - PL, 0), x1 = min(ox * SW - PL + KW, W);
  return float(max(y1 - y0, 0) * max(x1 - x0, 0));
}

//# kernel global_avg_pool 1 x HW,C,inv
uniform int HW, C;
uniform float inv;
float compute(int i) {
  int c = i % C;
  int nb = i / C;
  Cursor k = cursor(x, nb * HW * C + c, C);
  float s = 0.0;
  for (int j = 0; j < HW; j++) s += next(x, k);
  return s * inv;
}

//# kernel global_avg_pool4 v x4 HW,C4,inv,XC4,PW,PS
// global_avg_pool over a packed twin (C4 texels per pixel), four channels per fragment, the result packed;
// or over a stacked concat of equal parts (PW = XC4 texels per pixel of each part, part k from texel
// k * PS: kernels/shape.py; a packed twin: XC4 = PW = C4, PS = 0).
uniform int HW, C4, XC4, PW, PS;
uniform float inv;
vec4 compute4(int t) {
  ivec2 nc = pb_divmod(t, C4);
  ivec2 part = pb_divmod(nc.y, PW);
  Cursor k = cursor(x4, part.x * PS + nc.x * HW * XC4 + part.y, XC4);
  vec4 s = vec4(0.0);
  for (int j = 0; j < HW; j++) s += next4(x4, k);
  return s * inv;
}

//# kernel global_avg_pool_grad 1 dy HW,C,inv
uniform int HW, C;
uniform float inv;
float compute(int i) {
  int c = i % C;
  int nb = i / (HW * C);
  return at(dy, nb * C + c) * inv;
}

//# kernel max_pool2d 1 x N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL window
float compute(int i) {
  int c = i % C;
  int q = i / C;
  int ox = q % OW;
  q /= OW;
  int oy = q % OH;
  int nb = q / OH;
  float m = uintBitsToFloat(0xff800000u);  // -inf: padding is never the maximum
  for (int ky = 0; ky < KH; ky++) {
    int iy = oy * SH - PT + ky;
    if (iy < 0 || iy >= H) continue;
    for (int kx = 0; kx < KW; kx++) {
      int ix = ox * SW - PL + kx;
      if (ix < 0 || ix >= W) continue;
      m = max(m, at(x, ((nb * H + iy) * W + ix) * C + c));
    }
  }
  return m;
}

//# kernel max_pool2d_grad 1 dy,x,y N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL window
// Each window's gradient goes to its first maximum (row-major), as TensorFlow's MaxPoolGrad does.
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
      int o = ((nb * OH + oy) * OW + ox) * C + c;
      float m = at(y, o);
      int first = -1;
      for (int wy = 0; wy < KH && first < 0; wy++) {
        int yy = oy * SH - PT + wy;
        if (yy < 0 || yy >= H) continue;
        for (int wx = 0; wx < KW; wx++) {
          int xx = ox * SW - PL + wx;
          if (xx < 0 || xx >= W) continue;
          if (at(x, ((nb * H + yy) * W + xx) * C + c) == m) { first = yy * W + xx; break; }
        }
      }
      if (first == iy * W + ix) s += at(dy, o);
    }
  }
  return s;
}

//# kernel avg_pool2d 1 x N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL window
float compute(int i) {
  int c = i % C;
  int q = i / C;
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
      s += at(x, ((nb * H + iy) * W + ix) * C + c);
    }
  }
  return s / window_count(oy, ox);
}

//# kernel avg_pool2d_grad 1 dy N,H,W,C,OH,OW,KH,KW,SH,SW,PT,PL window
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
      s += at(dy, ((nb * OH + oy) * OW + ox) * C + c) / window_count(oy, ox);
    }
  }
  return s;
}

//# kernel upsample 1 x H,W,C,SY,SX
// out (N, H*SY, W*SX, C) from x (N, H, W, C): each pixel repeated SY x SX times.
uniform int H, W, C, SY, SX;
float compute(int i) {
  int c = i % C;
  int q = i / C;
  int ox = q % (W * SX);
  q /= W * SX;
  int oy = q % (H * SY);
  int nb = q / (H * SY);
  return at(x, ((nb * H + oy / SY) * W + ox / SX) * C + c);
}

//# kernel upsample_grad 1 dy H,W,C,SY,SX
// out (N, H, W, C): the sum of each SY x SX block of dy (N, H*SY, W*SX, C).
uniform int H, W, C, SY, SX;
float compute(int i) {
  int c = i % C;
  int q = i / C;
  int ix = q % W;
  q /= W;
  int iy = q % H;
  int nb = q / H;
  float s = 0.0;
  for (int a = 0; a < SY; a++) {
    for (int b = 0; b < SX; b++) {
      s += at(dy, ((nb * H * SY + iy * SY + a) * W * SX + ix * SX + b) * C + c);
    }
  }
  return s;
}
