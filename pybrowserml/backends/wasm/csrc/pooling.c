/* pooling.c - global average pooling, max pooling and average pooling (NHWC) with their gradients.
 *
 * Semantics follow the numpy reference (backends/numpy/kernels/pooling.py), i.e. TensorFlow:
 *  - padding is never a candidate: max pooling pads with -inf, average pooling divides by the number
 *    of real inputs in the window (padding excluded from the count);
 *  - max_pool2d_grad gives each window's gradient to its FIRST maximum in row-major tap order.
 * Everything is vectorised over channels (4 at a time) with a scalar tail for c % 4.
 * Window geometry (pad_top, pad_left, output size) comes from Python (TF 'same'/'valid' rules).
 */
#include "pb.h"

/* pb_global_avg_pool(x, y, n, hw, c, y_stride): y (n, c) = mean of x (n, hw, c) over its hw pixels;
 * row b of y starts at y + b * y_stride (y_stride > c: a channel group of a wider result, for an
 * input that is a lazy concat, pooled group by group). */
PB_EXPORT(pb_global_avg_pool)
void pb_global_avg_pool(const float *x, float *y, int n, int hw, int c, int y_stride) {
  const float inv = hw ? 1.f / (float)hw : 0.f;
  const v128_t vinv = wasm_f32x4_splat(inv);
  for (int b = 0; b < n; b++) {
    const float *xb = x + (long)b * hw * c;
    float *yb = y + (long)b * y_stride;
    int k = 0;
    for (; k + 4 <= c; k += 4) {
      v128_t s0 = wasm_f32x4_splat(0.f), s1 = s0;
      int p = 0;
      for (; p + 2 <= hw; p += 2) {   /* two chains: shorter dependency, a little more accurate */
        s0 = wasm_f32x4_add(s0, wasm_v128_load(xb + (long)p * c + k));
        s1 = wasm_f32x4_add(s1, wasm_v128_load(xb + (long)(p + 1) * c + k));
      }
      if (p < hw) s0 = wasm_f32x4_add(s0, wasm_v128_load(xb + (long)p * c + k));
      wasm_v128_store(yb + k, wasm_f32x4_mul(wasm_f32x4_add(s0, s1), vinv));
    }
    for (; k < c; k++) {
      float s = 0.f;
      for (int p = 0; p < hw; p++) s += xb[(long)p * c + k];
      yb[k] = s * inv;
    }
  }
}

/* pb_global_avg_pool_grad(dy, dx, n, hw, c): dx (n, hw, c) = dy (n, c) / hw broadcast over pixels. */
PB_EXPORT(pb_global_avg_pool_grad)
void pb_global_avg_pool_grad(const float *dy, float *dx, int n, int hw, int c) {
  const float inv = hw ? 1.f / (float)hw : 0.f;
  for (int b = 0; b < n; b++) {
    const float *g = dy + (long)b * c;
    float *out = dx + (long)b * hw * c;
    for (int p = 0; p < hw; p++, out += c) {
      int k = 0;
      for (; k + 4 <= c; k += 4) wasm_v128_store(out + k, wasm_f32x4_mul(wasm_v128_load(g + k), wasm_f32x4_splat(inv)));
      for (; k < c; k++) out[k] = g[k] * inv;
    }
  }
}

/* Clip a window's taps to the real input: [*lo, *hi) of tap indices for output coordinate o. */
PB_INLINE void tap_range(int o, int stride, int pad, int k, int size, int *lo, int *hi) {
  int start = o * stride - pad;
  *lo = start < 0 ? -start : 0;
  *hi = start + k > size ? size - start : k;
}

/* pb_max_pool2d(x, y, n, h, w, c, ph, pw, sh, sw, pad_top, pad_left, oh, ow):
 * y (n, oh, ow, c) = max of x over each (ph, pw) window, padding excluded. */
PB_EXPORT(pb_max_pool2d)
void pb_max_pool2d(const float *x, float *y, int n, int h, int w, int c, int ph, int pw, int sh, int sw,
                   int pt, int pl, int oh, int ow) {
  for (int b = 0; b < n; b++) {
    const float *xb = x + (long)b * h * w * c;
    for (int oy = 0; oy < oh; oy++) {
      int i0, i1;
      tap_range(oy, sh, pt, ph, h, &i0, &i1);
      for (int ox = 0; ox < ow; ox++) {
        int j0, j1;
        tap_range(ox, sw, pl, pw, w, &j0, &j1);
        float *yo = y + (((long)b * oh + oy) * ow + ox) * c;
        const float *x0 = xb + ((long)(oy * sh - pt + i0) * w + (ox * sw - pl + j0)) * c;   /* first real tap */
        int k = 0;
        for (; k + 4 <= c; k += 4) {
          v128_t m = wasm_f32x4_splat(-__builtin_inff());
          for (int i = 0; i < i1 - i0; i++)
            for (int j = 0; j < j1 - j0; j++) m = wasm_f32x4_max(m, wasm_v128_load(x0 + ((long)i * w + j) * c + k));
          wasm_v128_store(yo + k, m);
        }
        for (; k < c; k++) {
          float m = -__builtin_inff();
          for (int i = 0; i < i1 - i0; i++)
            for (int j = 0; j < j1 - j0; j++) {
              float v = x0[((long)i * w + j) * c + k];
              m = v > m ? v : m;
            }
          yo[k] = m;
        }
      }
    }
  }
}

/* pb_max_pool2d_grad(dy, x, y, dx, n, h, w, c, ph, pw, sh, sw, pad_top, pad_left, oh, ow):
 * dx (n, h, w, c), fully overwritten: each window's dy goes to the first tap equal to its max y. */
PB_EXPORT(pb_max_pool2d_grad)
void pb_max_pool2d_grad(const float *dy, const float *x, const float *y, float *dx, int n, int h, int w, int c,
                        int ph, int pw, int sh, int sw, int pt, int pl, int oh, int ow) {
  memset(dx, 0, (size_t)n * h * w * c * 4);
  for (int b = 0; b < n; b++) {
    const float *xb = x + (long)b * h * w * c;
    float *db = dx + (long)b * h * w * c;
    for (int oy = 0; oy < oh; oy++) {
      int i0, i1;
      tap_range(oy, sh, pt, ph, h, &i0, &i1);
      for (int ox = 0; ox < ow; ox++) {
        int j0, j1;
        tap_range(ox, sw, pl, pw, w, &j0, &j1);
        const long o = (((long)b * oh + oy) * ow + ox) * c;
        const long base = ((long)(oy * sh - pt) * w + (ox * sw - pl)) * c;
        int k = 0;
        for (; k + 4 <= c; k += 4) {
          const v128_t target = wasm_v128_load(y + o + k), g = wasm_v128_load(dy + o + k);
          v128_t taken = wasm_i32x4_splat(0);
          for (int i = i0; i < i1; i++)
            for (int j = j0; j < j1; j++) {
              const long at = base + ((long)i * w + j) * c + k;
              v128_t hit = wasm_v128_andnot(wasm_f32x4_eq(wasm_v128_load(xb + at), target), taken);
              taken = wasm_v128_or(taken, hit);
              wasm_v128_store(db + at, wasm_f32x4_add(wasm_v128_load(db + at), wasm_v128_and(g, hit)));
            }
        }
        for (; k < c; k++) {
          int done = 0;
          for (int i = i0; i < i1 && !done; i++)
            for (int j = j0; j < j1; j++) {
              const long at = base + ((long)i * w + j) * c + k;
              if (xb[at] == y[o + k]) { db[at] += dy[o + k]; done = 1; break; }
            }
        }
      }
    }
  }
}

/* pb_avg_pool2d(x, y, n, h, w, c, ph, pw, sh, sw, pad_top, pad_left, oh, ow):
 * y (n, oh, ow, c) = mean of the real inputs of each window (padding not counted). */
PB_EXPORT(pb_avg_pool2d)
void pb_avg_pool2d(const float *x, float *y, int n, int h, int w, int c, int ph, int pw, int sh, int sw,
                   int pt, int pl, int oh, int ow) {
  for (int b = 0; b < n; b++) {
    const float *xb = x + (long)b * h * w * c;
    for (int oy = 0; oy < oh; oy++) {
      int i0, i1;
      tap_range(oy, sh, pt, ph, h, &i0, &i1);
      for (int ox = 0; ox < ow; ox++) {
        int j0, j1;
        tap_range(ox, sw, pl, pw, w, &j0, &j1);
        const float inv = 1.f / (float)((i1 - i0) * (j1 - j0));
        float *yo = y + (((long)b * oh + oy) * ow + ox) * c;
        const float *x0 = xb + ((long)(oy * sh - pt + i0) * w + (ox * sw - pl + j0)) * c;   /* first real tap */
        int k = 0;
        for (; k + 4 <= c; k += 4) {
          v128_t s = wasm_f32x4_splat(0.f);
          for (int i = 0; i < i1 - i0; i++)
            for (int j = 0; j < j1 - j0; j++) s = wasm_f32x4_add(s, wasm_v128_load(x0 + ((long)i * w + j) * c + k));
          wasm_v128_store(yo + k, wasm_f32x4_mul(s, wasm_f32x4_splat(inv)));
        }
        for (; k < c; k++) {
          float s = 0.f;
          for (int i = 0; i < i1 - i0; i++)
            for (int j = 0; j < j1 - j0; j++) s += x0[((long)i * w + j) * c + k];
          yo[k] = s * inv;
        }
      }
    }
  }
}

/* pb_avg_pool2d_grad(dy, dx, n, h, w, c, ph, pw, sh, sw, pad_top, pad_left, oh, ow):
 * dx (n, h, w, c), fully overwritten: each window's dy / count added to its real inputs. */
PB_EXPORT(pb_avg_pool2d_grad)
void pb_avg_pool2d_grad(const float *dy, float *dx, int n, int h, int w, int c, int ph, int pw, int sh, int sw,
                        int pt, int pl, int oh, int ow) {
  memset(dx, 0, (size_t)n * h * w * c * 4);
  for (int b = 0; b < n; b++) {
    float *db = dx + (long)b * h * w * c;
    for (int oy = 0; oy < oh; oy++) {
      int i0, i1;
      tap_range(oy, sh, pt, ph, h, &i0, &i1);
      for (int ox = 0; ox < ow; ox++) {
        int j0, j1;
        tap_range(ox, sw, pl, pw, w, &j0, &j1);
        const float inv = 1.f / (float)((i1 - i0) * (j1 - j0));
        const float *g = dy + (((long)b * oh + oy) * ow + ox) * c;
        float *d0 = db + ((long)(oy * sh - pt + i0) * w + (ox * sw - pl + j0)) * c;   /* first real tap */
        int k = 0;
        for (; k + 4 <= c; k += 4) {
          const v128_t share = wasm_f32x4_mul(wasm_v128_load(g + k), wasm_f32x4_splat(inv));
          for (int i = 0; i < i1 - i0; i++)
            for (int j = 0; j < j1 - j0; j++) {
              float *p = d0 + ((long)i * w + j) * c + k;
              wasm_v128_store(p, wasm_f32x4_add(wasm_v128_load(p), share));
            }
        }
        for (; k < c; k++) {
          const float share = g[k] * inv;
          for (int i = 0; i < i1 - i0; i++)
            for (int j = 0; j < j1 - j0; j++) d0[((long)i * w + j) * c + k] += share;
        }
      }
    }
  }
}

/* pb_upsample_nearest2d(x, y, n, h, w, c, sh, sw): y (n, h*sh, w*sw, c) repeats every pixel of x
 * (n, h, w, c) over an sh x sw block (UpSampling2D, nearest). */
PB_EXPORT(pb_upsample_nearest2d)
void pb_upsample_nearest2d(const float *x, float *y, int n, int h, int w, int c, int sh, int sw) {
  const int wo = w * sw;
  for (int b = 0; b < n; b++)
    for (int i = 0; i < h; i++) {
      const float *row = x + (((long)b * h + i) * w) * c;
      float *out = y + (((long)b * h + i) * sh) * (long)wo * c;
      for (int j = 0; j < w; j++) {
        const float *src = row + (long)j * c;
        for (int q = 0; q < sw; q++) {
          float *dst = out + ((long)j * sw + q) * c;
          int k = 0;
          for (; k + 4 <= c; k += 4) wasm_v128_store(dst + k, wasm_v128_load(src + k));
          for (; k < c; k++) dst[k] = src[k];
        }
      }
      /* the first output row of the block is complete: the other sh - 1 rows are copies of it */
      for (int p = 1; p < sh; p++) memcpy(out + (long)p * wo * c, out, sizeof(float) * (size_t)wo * c);
    }
}

/* pb_upsample_nearest2d_grad(dy, dx, n, h, w, c, sh, sw): dx (n, h, w, c) = the sum of each sh x sw
 * block of dy (n, h*sh, w*sw, c). */
PB_EXPORT(pb_upsample_nearest2d_grad)
void pb_upsample_nearest2d_grad(const float *dy, float *dx, int n, int h, int w, int c, int sh, int sw) {
  const int wo = w * sw;
  for (int b = 0; b < n; b++)
    for (int i = 0; i < h; i++) {
      float *out = dx + (((long)b * h + i) * w) * c;
      const float *block_rows = dy + (((long)b * h + i) * sh) * (long)wo * c;
      for (int j = 0; j < w; j++) {
        float *dst = out + (long)j * c;
        int k = 0;
        for (; k + 4 <= c; k += 4) {
          v128_t acc = wasm_f32x4_splat(0.f);
          for (int p = 0; p < sh; p++) {
            const float *src = block_rows + ((long)p * wo + (long)j * sw) * c + k;
            for (int q = 0; q < sw; q++) acc = wasm_f32x4_add(acc, wasm_v128_load(src + (long)q * c));
          }
          wasm_v128_store(dst + k, acc);
        }
        for (; k < c; k++) {
          float acc = 0.f;
          for (int p = 0; p < sh; p++) {
            const float *src = block_rows + ((long)p * wo + (long)j * sw) * c + k;
            for (int q = 0; q < sw; q++) acc += src[(long)q * c];
          }
          dst[k] = acc;
        }
      }
    }
}
