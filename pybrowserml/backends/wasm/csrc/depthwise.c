/* depthwise.c - depthwise 2-D convolution (NHWC, filter (kh, kw, c, m)), forward with fused
 * bias + activation, and its two gradients.
 *
 * These three kernels dominate a training step of depthwise-separable CNNs, so the multiplier-1
 * case (the only one Keras' DepthwiseConv2D uses by default) is vectorised over channels:
 *  - each image is first copied into a zero-padded work image whose channel count is rounded up to
 *    a multiple of 4 (cp). Every window then lies fully inside it (no edge branches in the inner
 *    loops) and every channel block is a full v128 (only the final store of a tail block is narrower);
 *  - 3x3 (the common case) keeps the block's 9 filter taps (forward) or 9 tap sums (grad_filter) in
 *    registers, and with stride 1 slides along the row: each input column is loaded once and feeds
 *    the three outputs (taps) it belongs to, 3 loads per output instead of 9;
 *  - grad_input with stride 1 is the forward kernel on the zero-padded output gradient with the
 *    filter flipped (a "full" correlation); other strides run one multiply-add loop per tap over an
 *    input-row accumulator;
 *  - the batch is split into chunks of images run as pb_parallel_for tasks (threads.c), so the
 *    threaded build spreads them over its workers; the single-threaded build runs one chunk.
 * Multipliers > 1 take a plain scalar path (correct, not tuned).
 *
 * Work buffers: pb_work slot 1 (the padded filter and bias, main thread, read by every task), the
 * per-thread pb_work_of slots 0..1 (padded image, padded dz) and thread 0's slot 2 (grad_filter's
 * per-task partial sums). 3x3 kernels with at least 4 channels go to depthwise3x3.c, which reads
 * the arrays directly, except for stride 1 forward/grad_input and for grouped (lazy concat) inputs.
 */
#include "depthwise.h"


/* One pixel's c channels from src to dst: whole v128s, the last one at c - 4 overlapping the one
 * before it when c % 4 != 0 (so nothing past c is read or written); scalars only when c < 4. */
PB_INLINE void copy_channels(float *dst, const float *src, int c) {
  if (c < 4) {
    for (int k = 0; k < c; k++) dst[k] = src[k];
    return;
  }
  int k = 0;
  for (; k + 4 < c; k += 4) wasm_v128_store(dst + k, wasm_v128_load(src + k));
  wasm_v128_store(dst + c - 4, wasm_v128_load(src + c - 4));
}

/* Copy one (h, w, c) image into a (hp, wp, cp) buffer at row `top`, column `left`. Everything
 * outside that interior must be zero: callers zero the buffer once per call (`clear`), after which
 * every image of the batch overwrites the same interior and the border stays zero.
 * __builtin_memcpy/memset compile to the bulk-memory instructions (native speed). */
static void pad_image(const float *x, int h, int w, int c, float *xp, int hp, int wp, int cp, int top, int left,
                      int clear) {
  if (clear) __builtin_memset(xp, 0, (size_t)hp * wp * cp * 4);
  for (int r = 0; r < h; r++) {
    const float *src = x + (long)r * w * c;
    float *dst = xp + ((long)(r + top) * wp + left) * cp;
    if (c == cp) {
      __builtin_memcpy(dst, src, (size_t)w * c * 4);
    } else {
      for (int q = 0; q < w; q++) {
        copy_channels(dst, src, c);
        src += c;
        dst += cp;
      }
    }
  }
}

/* The input of a depthwise conv as up to 4 channel groups: a concat that was never materialised
 * (pybrowserml's lazy concat; dense blocks feed every layer the concat of the layers before it).
 * Depthwise is per channel, and every image is copied into the padded work buffer anyway, so the
 * groups are gathered by that copy and the concat costs nothing. Group i of image b, pixel q:
 * c[i] channels at p[i] + (b * h * w + q) * c[i]; a plain input is one group. */
#define PB_DW_MAX_PARTS 4
typedef struct DwParts { const float *p[PB_DW_MAX_PARTS]; int c[PB_DW_MAX_PARTS]; int count; } DwParts;

static DwParts one_part(const float *x, int c) {
  DwParts parts = {{x, 0, 0, 0}, {c, 0, 0, 0}, 1};
  return parts;
}

/* pad_image for image b of a grouped input: the groups side by side in each padded pixel. */
static void pad_image_parts(const DwParts *parts, int b, int h, int w, int c, float *xp, int hp, int wp, int cp,
                            int top, int left, int clear) {
  const long pixels = (long)b * h * w;
  if (parts->count == 1) {
    pad_image(parts->p[0] + pixels * c, h, w, c, xp, hp, wp, cp, top, left, clear);
    return;
  }
  if (clear) __builtin_memset(xp, 0, (size_t)hp * wp * cp * 4);
  for (int r = 0; r < h; r++) {
    float *dst = xp + ((long)(r + top) * wp + left) * cp;
    for (int q = 0; q < w; q++, dst += cp) {
      float *d = dst;
      for (int i = 0; i < parts->count; i++) {
        const int ci = parts->c[i];
        copy_channels(d, parts->p[i] + (pixels + (long)r * w + q) * ci, ci);
        d += ci;
      }
    }
  }
}

/* The (kh, kw, c) filter (multiplier 1) as (kh, kw, cp), zero-padded channels; flip mirrors the taps. */
static void pad_filter(const float *w, int kh, int kw, int c, float *out, int cp, int flip) {
  for (int t = 0; t < kh * kw; t++) {
    int src = flip ? kh * kw - 1 - t : t;
    for (int k = 0; k < cp; k++) out[t * cp + k] = k < c ? w[src * c + k] : 0.f;
  }
}

/* Forward over one padded image: y(oh, ow, c) = act(sum_taps xp * wt + bias), every window inside xp.
 * xp: (.., wpad, cp); wt: (kh, kw, cp); bias: cp floats (zeros when the layer has none). */
static void dw_forward_image(const float *xp, int wpad, int cp, const float *wt, const float *bias, float *y, int c,
                             int oh, int ow, int kh, int kw, int sh, int sw, int act) {
  const long row = (long)wpad * cp;
  if (kh == 3 && kw == 3) {
    /* the common case. Rows outside, channel blocks inside: the three input rows an output row
     * reads stay in L1 while every channel block passes over them; the block's 9 taps are loaded
     * once per output row and stay in registers along it. */
    const long step = (long)sw * cp;
    for (int oy = 0; oy < oh; oy++) {
      for (int cb = 0; cb < cp; cb += 4) {
        const int lanes = pb_min(4, c - cb);
        const v128_t b = wasm_v128_load(bias + cb);
        const float *t = wt + cb;
        const v128_t w0 = wasm_v128_load(t), w1 = wasm_v128_load(t + cp), w2 = wasm_v128_load(t + 2 * cp);
        const v128_t w3 = wasm_v128_load(t + 3 * cp), w4 = wasm_v128_load(t + 4 * cp), w5 = wasm_v128_load(t + 5 * cp);
        const v128_t w6 = wasm_v128_load(t + 6 * cp), w7 = wasm_v128_load(t + 7 * cp), w8 = wasm_v128_load(t + 8 * cp);
        const float *r0 = xp + (long)oy * sh * row + cb;
        const float *r1 = r0 + row, *r2 = r1 + row;
        float *yr = y + (long)oy * ow * c + cb;
        int ox = 0;
        if (sw == 1 && ow >= 2) {
          /* stride 1: slide along the row; each input column (3 loads) feeds 3 outputs:
           * out[q] gets tap column 0, out[q-1] column 1, out[q-2] column 2 */
          v128_t x0 = wasm_v128_load(r0), x1 = wasm_v128_load(r1), x2 = wasm_v128_load(r2);
          v128_t accA = PB_MADD(x0, w0, PB_MADD(x1, w3, PB_MADD(x2, w6, b)));
          x0 = wasm_v128_load(r0 + cp); x1 = wasm_v128_load(r1 + cp); x2 = wasm_v128_load(r2 + cp);
          accA = PB_MADD(x0, w1, PB_MADD(x1, w4, PB_MADD(x2, w7, accA)));
          v128_t accB = PB_MADD(x0, w0, PB_MADD(x1, w3, PB_MADD(x2, w6, b)));
          const float *q0 = r0 + 2 * cp, *q1 = r1 + 2 * cp, *q2 = r2 + 2 * cp;
          for (; ox < ow; ox++) {
            x0 = wasm_v128_load(q0); x1 = wasm_v128_load(q1); x2 = wasm_v128_load(q2);
            v128_t done = PB_MADD(x0, w2, PB_MADD(x1, w5, PB_MADD(x2, w8, accA)));
            accA = PB_MADD(x0, w1, PB_MADD(x1, w4, PB_MADD(x2, w7, accB)));
            accB = PB_MADD(x0, w0, PB_MADD(x1, w3, PB_MADD(x2, w6, b)));
            done = pb_act_v(done, act);
            if (lanes == 4) wasm_v128_store(yr, done); else store_lanes(yr, done, lanes);
            q0 += cp; q1 += cp; q2 += cp;
            yr += c;
          }
          continue;
        }
        for (int ox = 0; ox < ow; ox++) {
          v128_t a0 = PB_MADD(wasm_v128_load(r0), w0, b);
          v128_t a1 = wasm_f32x4_mul(wasm_v128_load(r0 + cp), w1);
          v128_t a2 = wasm_f32x4_mul(wasm_v128_load(r0 + 2 * cp), w2);
          a0 = PB_MADD(wasm_v128_load(r1), w3, a0);
          a1 = PB_MADD(wasm_v128_load(r1 + cp), w4, a1);
          a2 = PB_MADD(wasm_v128_load(r1 + 2 * cp), w5, a2);
          a0 = PB_MADD(wasm_v128_load(r2), w6, a0);
          a1 = PB_MADD(wasm_v128_load(r2 + cp), w7, a1);
          a2 = PB_MADD(wasm_v128_load(r2 + 2 * cp), w8, a2);
          v128_t acc = pb_act_v(wasm_f32x4_add(a0, wasm_f32x4_add(a1, a2)), act);
          if (lanes == 4) wasm_v128_store(yr, acc); else store_lanes(yr, acc, lanes);
          r0 += step; r1 += step; r2 += step;
          yr += c;
        }
      }
    }
    return;
  }
  for (int cb = 0; cb < cp; cb += 4) {
    const int lanes = pb_min(4, c - cb);
    const v128_t b = wasm_v128_load(bias + cb);
    {  /* any other window: taps read from memory */
      for (int oy = 0; oy < oh; oy++) {
        for (int ox = 0; ox < ow; ox++) {
          const float *base = xp + (long)oy * sh * row + (long)ox * sw * cp + cb;
          v128_t acc = b;
          for (int i = 0; i < kh; i++) {
            const float *xr = base + i * row;
            const float *wr = wt + (long)i * kw * cp + cb;
            for (int j = 0; j < kw; j++)
              acc = PB_MADD(wasm_v128_load(xr + (long)j * cp), wasm_v128_load(wr + (long)j * cp), acc);
          }
          store_lanes(y + ((long)oy * ow + ox) * c + cb, pb_act_v(acc, act), lanes);
        }
      }
    }
  }
}

/* Padded height/width that hold every window of a TF-geometry convolution. */
PB_INLINE int padded_extent(int size, int pad_before, int out, int stride, int k) {
  return pb_max(size + pad_before, (out - 1) * stride + k);
}

/* ---- multiplier > 1: scalar reference loops (output channel = ch * m + k) ---------------------- */

static void dw_forward_general(const float *x, const float *w, const float *b, float *y, int n, int h, int w_, int c,
                               int m, int kh, int kw, int sh, int sw, int pt, int pl, int oh, int ow, int act) {
  const int cm = c * m;
  for (int b_ = 0; b_ < n; b_++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        float *yo = y + (((long)b_ * oh + oy) * ow + ox) * cm;
        for (int o = 0; o < cm; o++) yo[o] = b ? b[o] : 0.f;
        for (int i = 0; i < kh; i++) {
          int iy = oy * sh + i - pt;
          if (iy < 0 || iy >= h) continue;
          for (int j = 0; j < kw; j++) {
            int ix = ox * sw + j - pl;
            if (ix < 0 || ix >= w_) continue;
            const float *xi = x + (((long)b_ * h + iy) * w_ + ix) * c;
            const float *wi = w + ((long)i * kw + j) * cm;
            for (int o = 0; o < cm; o++) yo[o] += xi[o / m] * wi[o];
          }
        }
        for (int o = 0; o < cm; o++) yo[o] = pb_act_s(yo[o], act);
      }
}

static void dw_grad_input_general(const float *dz, const float *w, float *dx, int n, int h, int w_, int c, int m,
                                  int kh, int kw, int sh, int sw, int pt, int pl, int oh, int ow) {
  const int cm = c * m;
  memset(dx, 0, (size_t)n * h * w_ * c * 4);
  for (int b_ = 0; b_ < n; b_++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        const float *d = dz + (((long)b_ * oh + oy) * ow + ox) * cm;
        for (int i = 0; i < kh; i++) {
          int iy = oy * sh + i - pt;
          if (iy < 0 || iy >= h) continue;
          for (int j = 0; j < kw; j++) {
            int ix = ox * sw + j - pl;
            if (ix < 0 || ix >= w_) continue;
            float *xi = dx + (((long)b_ * h + iy) * w_ + ix) * c;
            const float *wi = w + ((long)i * kw + j) * cm;
            for (int o = 0; o < cm; o++) xi[o / m] += d[o] * wi[o];
          }
        }
      }
}

static void dw_grad_filter_general(const float *x, const float *dz, float *dw, int n, int h, int w_, int c, int m,
                                   int kh, int kw, int sh, int sw, int pt, int pl, int oh, int ow) {
  const int cm = c * m;
  memset(dw, 0, (size_t)kh * kw * cm * 4);
  for (int b_ = 0; b_ < n; b_++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        const float *d = dz + (((long)b_ * oh + oy) * ow + ox) * cm;
        for (int i = 0; i < kh; i++) {
          int iy = oy * sh + i - pt;
          if (iy < 0 || iy >= h) continue;
          for (int j = 0; j < kw; j++) {
            int ix = ox * sw + j - pl;
            if (ix < 0 || ix >= w_) continue;
            const float *xi = x + (((long)b_ * h + iy) * w_ + ix) * c;
            float *wi = dw + ((long)i * kw + j) * cm;
            for (int o = 0; o < cm; o++) wi[o] += xi[o / m] * d[o];
          }
        }
      }
}

/* ---- multiplier 1: the batch is split into chunks of images, the tasks of pb_parallel_for -------
 * (threads.c: Web Workers in the threaded build, a plain loop otherwise). Every task pads its
 * images into its own thread's work buffers (pb_work_of) and writes disjoint outputs; grad_filter
 * tasks sum into their own partial sums, which the main thread adds up in task order at the end. */

typedef struct DwJob {
  const float *src;       /* strided grad_input: dz, the images copied into the padded buffer */
  DwParts parts;          /* forward / grad_filter: x (grad_input stride 1: dz) as channel groups */
  const float *dz;        /* grad_filter: the output gradient */
  float *dst;             /* forward / grad_input: output images */
  const float *wt, *bias; /* filter as (kh, kw, cp), flipped for grad_input stride 1; bias (cp) */
  int n, chunk;           /* images, images per task */
  int src_h, src_w, c, cp;
  int hp, wp, top, left;  /* padded buffer and where the source image sits in it */
  int oh, ow;             /* per-image result rows/columns (forward: output; grad_input: input) */
  int kh, kw, sh, sw, act;
  int h, w_, pt, pl, T, L; /* strided grad_input: input size, padding, dz border */
  int dz_oh, dz_ow;       /* grad_filter / strided grad_input: dz image size */
} DwJob;

/* Images per task: all of them on one thread (no extra buffer clears); else ~2 tasks per thread. */
static int image_chunk(int n) {
  const int threads = pb_thread_count();
  return threads <= 1 ? pb_max(n, 1) : pb_max(1, (n + 2 * threads - 1) / (2 * threads));
}

/* forward, and grad_input with stride 1 (the forward kernel over padded dz, flipped filter) */
static void forward_task(void *ctx, int task, int thread) {
  const DwJob *j = (const DwJob *)ctx;
  float *xp = pb_work_of(0, thread);
  const int b0 = task * j->chunk, b1 = pb_min(j->n, b0 + j->chunk);
  for (int b = b0; b < b1; b++) {
    pad_image_parts(&j->parts, b, j->src_h, j->src_w, j->c, xp, j->hp, j->wp, j->cp, j->top, j->left, b == b0);
    dw_forward_image(xp, j->wp, j->cp, j->wt, j->bias, j->dst + (long)b * j->oh * j->ow * j->c, j->c, j->oh, j->ow,
                     j->kh, j->kw, j->sh, j->sw, j->act);
  }
}

/* grad_input, stride > 1: dx[iy, ix] = sum of dz[oy, ox] * w[i, j] over the taps (i, j) for which
 * oy = (iy + pt - i) / sh and ox = (ix + pl - j) / sw are whole numbers. Per input row and tap
 * (i, j), the columns it reaches are ix0, ix0 + sw, ... reading consecutive dz columns: one tight
 * multiply-add loop per tap into a row accumulator (cp channels, in L1) that is then stored.
 * dz sits inside a zero border of T = ceil(kh/sh) rows and L = ceil(kw/sw) columns, so taps that
 * land outside the output read zeros (no bounds tests in the loops). */
static void grad_input_strided_task(void *ctx, int task, int thread) {
  const DwJob *jb = (const DwJob *)ctx;
  const int c = jb->c, cp = jb->cp, h = jb->h, w_ = jb->w_, kh = jb->kh, kw = jb->kw, sh = jb->sh, sw = jb->sw;
  const int T = jb->T, L = jb->L, hz = jb->hp, wz = jb->wp, oh = jb->dz_oh, ow = jb->dz_ow;
  float *dzp = pb_work_of(0, thread), *acc = pb_work_of(1, thread);
  const int b0 = task * jb->chunk, b1 = pb_min(jb->n, b0 + jb->chunk);
  for (int b = b0; b < b1; b++) {
    pad_image(jb->src + (long)b * oh * ow * c, oh, ow, c, dzp, hz, wz, cp, T, L, b == b0);
    float *out = jb->dst + (long)b * h * w_ * c;
    for (int iy = 0; iy < h; iy++) {
      __builtin_memset(acc, 0, (size_t)w_ * cp * 4);
      for (int i = 0; i < kh; i++) {
        const int u = iy + jb->pt - i + sh * T;   /* = sh * (oy + T) when the tap row hits; always >= 0 */
        if (u % sh) continue;
        const float *zrow = dzp + (long)(u / sh) * wz * cp;
        for (int j = 0; j < kw; j++) {
          /* first column ix0 >= 0 with (ix0 + pl - j) % sw == 0, then every sw-th one */
          const int ix0 = ((j - jb->pl) % sw + sw) % sw;
          if (ix0 >= w_) continue;
          const int count = (w_ - 1 - ix0) / sw + 1;
          const int z0 = (ix0 + jb->pl - j + sw * L) / sw;   /* dz column (+ L border) of ix0 */
          const float *wv = jb->wt + ((long)i * kw + j) * cp;
          const long astep = (long)sw * cp;
          for (int cb = 0; cb < cp; cb += 4) {
            const v128_t wk = wasm_v128_load(wv + cb);
            const float *zp = zrow + (long)z0 * cp + cb;
            float *ap = acc + (long)ix0 * cp + cb;
            for (int t = 0; t < count; t++) {
              wasm_v128_store(ap, PB_MADD(wasm_v128_load(zp), wk, wasm_v128_load(ap)));
              zp += cp;
              ap += astep;
            }
          }
        }
      }
      float *yo = out + (long)iy * w_ * c;
      if (c == cp) {
        __builtin_memcpy(yo, acc, (size_t)w_ * c * 4);
      } else {
        for (int ix = 0; ix < w_; ix++)
          for (int k = 0; k < c; k++) yo[(long)ix * c + k] = acc[(long)ix * cp + k];
      }
    }
  }
}

/* grad_filter: this task's accumulator (kh, kw, cp) = the taps of its images. */
static void grad_filter_task(void *ctx, int task, int thread) {
  const DwJob *j = (const DwJob *)ctx;
  const int c = j->c, cp = j->cp, kh = j->kh, kw = j->kw, sh = j->sh, sw = j->sw, oh = j->dz_oh, ow = j->dz_ow;
  float *xp = pb_work_of(0, thread), *dzp = pb_work_of(1, thread);
  /* this task's own partial sums (thread 0's slot 2 holds one block per task): the sums are added in
   * task order at the end, so the result does not depend on which thread ran which task */
  const long taps_cp = (long)kh * kw * cp;
  float *acc = pb_work_of(2, 0) + task * taps_cp;
  __builtin_memset(acc, 0, (size_t)taps_cp * 4);
  const long row = (long)j->wp * cp;
  const int b0 = task * j->chunk, b1 = pb_min(j->n, b0 + j->chunk);
  for (int b = b0; b < b1; b++) {
    pad_image_parts(&j->parts, b, j->src_h, j->src_w, c, xp, j->hp, j->wp, cp, j->top, j->left, b == b0);
    const float *dzi = j->dz + (long)b * oh * ow * c;
    if (c != cp) {   /* channel blocks must be whole vectors: a padded copy */
      pad_image(dzi, oh, ow, c, dzp, oh, ow, cp, 0, 0, b == b0);
      dzi = dzp;
    }
    for (int cb = 0; cb < cp; cb += 4) {
      if (kh == 3 && kw == 3) {
        /* the 9 tap sums of this channel block stay in registers over the whole image */
        float *t = acc + cb;
        v128_t a0 = wasm_v128_load(t), a1 = wasm_v128_load(t + cp), a2 = wasm_v128_load(t + 2 * cp);
        v128_t a3 = wasm_v128_load(t + 3 * cp), a4 = wasm_v128_load(t + 4 * cp), a5 = wasm_v128_load(t + 5 * cp);
        v128_t a6 = wasm_v128_load(t + 6 * cp), a7 = wasm_v128_load(t + 7 * cp), a8 = wasm_v128_load(t + 8 * cp);
        const long step = (long)sw * cp;
        for (int oy = 0; oy < oh; oy++) {
          const float *r0 = xp + (long)oy * sh * row + cb;
          const float *r1 = r0 + row, *r2 = r1 + row;
          const float *d = dzi + (long)oy * ow * cp + cb;
          if (sw == 1) {
            /* stride 1: input column q meets dz[q] (tap column 0), dz[q-1] (1) and dz[q-2] (2):
             * 3 input loads per column instead of 9 */
            v128_t g2 = wasm_f32x4_splat(0.f), g1 = g2;
            for (int q = 0; q < ow + 2; q++) {
              const v128_t g0 = q < ow ? wasm_v128_load(d + (long)q * cp) : wasm_f32x4_splat(0.f);
              const v128_t x0 = wasm_v128_load(r0), x1 = wasm_v128_load(r1), x2 = wasm_v128_load(r2);
              a0 = PB_MADD(x0, g0, a0);
              a1 = PB_MADD(x0, g1, a1);
              a2 = PB_MADD(x0, g2, a2);
              a3 = PB_MADD(x1, g0, a3);
              a4 = PB_MADD(x1, g1, a4);
              a5 = PB_MADD(x1, g2, a5);
              a6 = PB_MADD(x2, g0, a6);
              a7 = PB_MADD(x2, g1, a7);
              a8 = PB_MADD(x2, g2, a8);
              g2 = g1; g1 = g0;
              r0 += cp; r1 += cp; r2 += cp;
            }
            continue;
          }
          for (int ox = 0; ox < ow; ox++) {
            const v128_t g = wasm_v128_load(d);
            a0 = PB_MADD(wasm_v128_load(r0), g, a0);
            a1 = PB_MADD(wasm_v128_load(r0 + cp), g, a1);
            a2 = PB_MADD(wasm_v128_load(r0 + 2 * cp), g, a2);
            a3 = PB_MADD(wasm_v128_load(r1), g, a3);
            a4 = PB_MADD(wasm_v128_load(r1 + cp), g, a4);
            a5 = PB_MADD(wasm_v128_load(r1 + 2 * cp), g, a5);
            a6 = PB_MADD(wasm_v128_load(r2), g, a6);
            a7 = PB_MADD(wasm_v128_load(r2 + cp), g, a7);
            a8 = PB_MADD(wasm_v128_load(r2 + 2 * cp), g, a8);
            r0 += step; r1 += step; r2 += step;
            d += cp;
          }
        }
        wasm_v128_store(t, a0); wasm_v128_store(t + cp, a1); wasm_v128_store(t + 2 * cp, a2);
        wasm_v128_store(t + 3 * cp, a3); wasm_v128_store(t + 4 * cp, a4); wasm_v128_store(t + 5 * cp, a5);
        wasm_v128_store(t + 6 * cp, a6); wasm_v128_store(t + 7 * cp, a7); wasm_v128_store(t + 8 * cp, a8);
      } else {
        for (int ki = 0; ki < kh; ki++)
          for (int kj = 0; kj < kw; kj++) {
            float *t = acc + ((long)ki * kw + kj) * cp + cb;
            v128_t a = wasm_v128_load(t);
            for (int oy = 0; oy < oh; oy++) {
              const float *xr = xp + ((long)oy * sh + ki) * row + (long)kj * cp + cb;
              const float *d = dzi + (long)oy * ow * cp + cb;
              for (int ox = 0; ox < ow; ox++) {
                a = PB_MADD(wasm_v128_load(xr + (long)ox * sw * cp), wasm_v128_load(d), a);
                d += cp;
              }
            }
            wasm_v128_store(t, a);
          }
      }
    }
  }
}

/* ---- exported kernels ----------------------------------------------------------------------------- */

/* x as channel groups from the export arguments (x0, c0, ..., x3, c3; count groups). */
static DwParts parts_of(int count, const float *x0, int c0, const float *x1, int c1, const float *x2, int c2,
                        const float *x3, int c3) {
  DwParts parts = {{x0, x1, x2, x3}, {c0, c1, c2, c3}, pb_max(1, pb_min(count, PB_DW_MAX_PARTS))};
  return parts;
}

/* pb_depthwise_conv2d(count, x0, c0, x1, c1, x2, c2, x3, c3, w, b_or_0, y, n, h, w_, c, m, kh, kw, sh, sw,
 *                     pad_top, pad_left, oh, ow, act)
 * x (n, h, w_, c) as `count` channel groups (x_i: (n, h, w_, c_i), sum c_i = c; a plain x is
 * count 1, x0 = x, c0 = c; m must be 1 for more than one group); w (kh, kw, c, m); b (c*m) or 0;
 * y (n, oh, ow, c*m) preallocated; act: ACT_NONE / ACT_RELU / ACT_RELU6 applied after the bias. */
PB_EXPORT(pb_depthwise_conv2d)
void pb_depthwise_conv2d(int count, const float *x0, int c0, const float *x1, int c1, const float *x2, int c2,
                         const float *x3, int c3, const float *w, const float *b, float *y, int n, int h, int w_,
                         int c, int m, int kh, int kw, int sh, int sw, int pt, int pl, int oh, int ow, int act) {
  const float *x = x0;
  if (m != 1) {
    dw_forward_general(x, w, b, y, n, h, w_, c, m, kh, kw, sh, sw, pt, pl, oh, ow, act);
    return;
  }
  /* a grouped input (lazy concat) takes the padded path, whose copy gathers the groups */
  if (count == 1 && dw3x3_strided_applies(m, kh, kw, c, sh, sw)) {
    if (n > 0) dw3x3_forward(x, w, b, y, n, h, w_, c, sh, sw, pt, pl, oh, ow, act);
    return;
  }
  if (n <= 0) return;
  const int cp = round4(c);
  float *wt = pb_work(1, (size_t)(kh * kw + 1) * cp);
  float *bias = wt + (long)kh * kw * cp;
  pad_filter(w, kh, kw, c, wt, cp, 0);
  for (int k = 0; k < cp; k++) bias[k] = (b && k < c) ? b[k] : 0.f;
  DwJob j = {0};
  j.parts = parts_of(count, x0, c0, x1, c1, x2, c2, x3, c3); j.dst = y; j.wt = wt; j.bias = bias; j.n = n;
  j.chunk = image_chunk(n);
  j.src_h = h; j.src_w = w_; j.c = c; j.cp = cp;
  j.hp = padded_extent(h, pt, oh, sh, kh); j.wp = padded_extent(w_, pl, ow, sw, kw); j.top = pt; j.left = pl;
  j.oh = oh; j.ow = ow; j.kh = kh; j.kw = kw; j.sh = sh; j.sw = sw; j.act = act;
  pb_work_threads(0, (size_t)j.hp * j.wp * cp);
  pb_parallel_for(forward_task, &j, (n + j.chunk - 1) / j.chunk);
}

/* pb_depthwise_conv2d_grad_input(dz, w, dx, n, h, w_, c, m, kh, kw, sh, sw, pad_top, pad_left, oh, ow)
 * dz (n, oh, ow, c*m); w (kh, kw, c, m); dx (n, h, w_, c) preallocated (fully overwritten). */
PB_EXPORT(pb_depthwise_conv2d_grad_input)
void pb_depthwise_conv2d_grad_input(const float *dz, const float *w, float *dx, int n, int h, int w_, int c, int m,
                                    int kh, int kw, int sh, int sw, int pt, int pl, int oh, int ow) {
  if (m != 1) {
    dw_grad_input_general(dz, w, dx, n, h, w_, c, m, kh, kw, sh, sw, pt, pl, oh, ow);
    return;
  }
  if (dw3x3_strided_applies(m, kh, kw, c, sh, sw)) {
    if (n > 0) dw3x3_grad_input(dz, w, dx, n, h, w_, c, sh, sw, pt, pl, oh, ow);
    return;
  }
  if (n <= 0) return;
  const int cp = round4(c);
  float *wt = pb_work(1, (size_t)(kh * kw + 1) * cp);
  DwJob j = {0};
  j.src = dz; j.dst = dx; j.wt = wt; j.n = n; j.chunk = image_chunk(n);
  j.c = c; j.cp = cp; j.kh = kh; j.kw = kw;
  const int ntasks = (n + j.chunk - 1) / j.chunk;
  if (sh == 1 && sw == 1) {
    /* dx[iy, ix] = sum_{i, j} dzp[iy + i, ix + j] * w[kh-1-i, kw-1-j], where dzp is dz placed at
     * (kh-1-pt, kw-1-pl) in a zero (h+kh-1, w_+kw-1) image: the forward kernel, flipped filter. */
    float *zeros = wt + (long)kh * kw * cp;
    pad_filter(w, kh, kw, c, wt, cp, 1);
    for (int k = 0; k < cp; k++) zeros[k] = 0.f;
    j.bias = zeros;
    j.parts = one_part(dz, c);
    j.src_h = oh; j.src_w = ow; j.hp = h + kh - 1; j.wp = w_ + kw - 1; j.top = kh - 1 - pt; j.left = kw - 1 - pl;
    j.oh = h; j.ow = w_; j.sh = 1; j.sw = 1; j.act = ACT_NONE;
    pb_work_threads(0, (size_t)j.hp * j.wp * cp);
    pb_parallel_for(forward_task, &j, ntasks);
    return;
  }
  pad_filter(w, kh, kw, c, wt, cp, 0);
  j.sh = sh; j.sw = sw; j.h = h; j.w_ = w_; j.pt = pt; j.pl = pl; j.dz_oh = oh; j.dz_ow = ow;
  j.T = (kh + sh - 1) / sh; j.L = (kw + sw - 1) / sw;
  j.hp = oh + 2 * j.T; j.wp = ow + 2 * j.L;
  pb_work_threads(0, (size_t)j.hp * j.wp * cp);
  pb_work_threads(1, (size_t)w_ * cp);
  pb_parallel_for(grad_input_strided_task, &j, ntasks);
}

/* pb_depthwise_conv2d_grad_filter(count, x0, c0, x1, c1, x2, c2, x3, c3, dz, dw, n, h, w_, c, m, kh, kw, sh,
 *                                 sw, pad_top, pad_left, oh, ow)
 * x (n, h, w_, c) as channel groups like pb_depthwise_conv2d; dz (n, oh, ow, c*m); dw (kh, kw, c, m)
 * preallocated (fully overwritten). */
PB_EXPORT(pb_depthwise_conv2d_grad_filter)
void pb_depthwise_conv2d_grad_filter(int count, const float *x0, int c0, const float *x1, int c1, const float *x2,
                                     int c2, const float *x3, int c3, const float *dz, float *dw, int n, int h,
                                     int w_, int c, int m, int kh, int kw, int sh, int sw, int pt, int pl, int oh,
                                     int ow) {
  const float *x = x0;
  if (m != 1) {
    dw_grad_filter_general(x, dz, dw, n, h, w_, c, m, kh, kw, sh, sw, pt, pl, oh, ow);
    return;
  }
  if (count == 1 && dw3x3_applies(m, kh, kw, c, sh, sw)) {
    dw3x3_grad_filter(x, dz, dw, n, h, w_, c, sh, sw, pt, pl, oh, ow);
    return;
  }
  const int cp = round4(c), taps = kh * kw;
  DwJob j = {0};
  j.parts = parts_of(count, x0, c0, x1, c1, x2, c2, x3, c3); j.dz = dz; j.n = n; j.chunk = image_chunk(n);
  j.src_h = h; j.src_w = w_; j.c = c; j.cp = cp;
  j.hp = padded_extent(h, pt, oh, sh, kh); j.wp = padded_extent(w_, pl, ow, sw, kw); j.top = pt; j.left = pl;
  j.kh = kh; j.kw = kw; j.sh = sh; j.sw = sw; j.dz_oh = oh; j.dz_ow = ow;
  pb_work_threads(0, (size_t)j.hp * j.wp * cp);
  pb_work_threads(1, c == cp ? 4 : (size_t)oh * ow * cp);
  const int ntasks = n > 0 ? (n + j.chunk - 1) / j.chunk : 0;
  pb_work_threads(2, (size_t)pb_max(ntasks, 1) * taps * cp);
  if (ntasks) pb_parallel_for(grad_filter_task, &j, ntasks);
  pb_sum_partials(dw, pb_work_of(2, 0), ntasks, taps, c, cp);
}
