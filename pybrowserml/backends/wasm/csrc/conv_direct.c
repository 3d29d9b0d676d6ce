/* conv_direct.c - conv2d forward and grad_filter computed directly (no im2col) for inputs with few
 * channels: the stem of a CNN (e.g. 3x3, 1 input channel -> 16 filters on 28x28 images).
 *
 * Why not conv.c: there the GEMM's depth is K = kh*kw*C, only 9 for the reference stem, so the
 * GEMM's packing and tile set-up are paid for very few multiply-adds each, and im2col writes a
 * patch matrix 9x the size of the input. Here every output pixel reads its window straight from a
 * zero-padded copy of its image, which is tiny when C is small (C floats per pixel):
 *  - the padding makes every window lie inside the copy: no edge tests in the inner loops. Within
 *    one kernel row the taps (j, c) of a window are kw*C consecutive floats of the copy and
 *    consecutive rows of the HWIO filter, so a window is kh contiguous runs of kw*C taps;
 *  - forward: a register tile of 4 output pixels x 8 output channels (2 f32x4 accumulators per
 *    pixel, started at the bias). Per tap: 2 filter loads and 4 input splats feed 8 multiply-adds.
 *    The activation (epilogue.h) is applied in registers, right before the only store;
 *  - grad_filter: dW[tap, :] = sum over pixels of x[window + tap] * dz[pixel, :]. A register tile
 *    of up to 4 taps (of one kernel row) x 8 output channels is summed over a band of output rows
 *    whose dz stays in L1, then added to the task's partial dW;
 *  - output channels are padded to a multiple of 4 (op) in the filter/bias copies and in dz (when
 *    O % 4 != 0), so every vector load is whole; only the stores of a tail block are narrower.
 * The batch is split into chunks of images, the tasks of pb_parallel_for_flops (threads.c): each
 * task pads its images into its own thread's buffer; grad_filter tasks sum into their own partial
 * dW, which the main thread adds up in task order at the end (the same result whichever thread ran
 * which task).
 *
 * Work buffers: pb_work slot 1 (padded filter + bias, main thread, read by every task) and the
 * per-thread pb_work_of slots 0 (padded image), 1 (padded dz); thread 0's slot 2 holds the per-task
 * partial dWs.
 */
#include "epilogue.h"


typedef struct DirectJob {
  const float *x, *dz;
  float *y;               /* forward: the output */
  const float *wt, *bias; /* forward: filter as (K, op), bias as op floats (zeros without bias) */
  int n, chunk;           /* images, images per task */
  int h, w, c, kh, kw, o, op, sh, sw, pt, pl, oh, ow;
  int hp, wp;             /* padded image */
  int band;               /* grad_filter: output rows per band */
  int act;
} DirectJob;

/* Copy image x (h, w, c) into the (hp, wp, c) buffer at row pt, column pl. The border must be zero:
 * the first image of a task clears the buffer, later ones overwrite the same interior. */
static void pad_image(const DirectJob *j, const float *x, float *xp, int clear) {
  if (clear) __builtin_memset(xp, 0, (size_t)j->hp * j->wp * j->c * 4);
  const size_t run = (size_t)j->w * j->c;
  for (int r = 0; r < j->h; r++)
    __builtin_memcpy(xp + ((long)(r + j->pt) * j->wp + j->pl) * j->c, x + (long)r * run, run * 4);
}

/* Images per task: one task on one thread; else ~4 tasks per thread, so that a thread whose core
 * is busy elsewhere (tasks are claimed dynamically) does not hold the others up. */
static int image_chunk(int n) {
  const int threads = pb_thread_count();
  return threads <= 1 ? pb_max(n, 1) : pb_max(1, (n + 4 * threads - 1) / (4 * threads));
}

/* ---- forward ------------------------------------------------------------------------------------ */

/* P output pixels (consecutive in a row) x NV vectors of output channels; P and NV are constants at
 * every call, so the accumulators live in registers. xb: window origin of the first pixel in the
 * padded image; pstep: floats between the windows of neighbouring pixels (sw*C); row: floats per
 * padded row; run: kw*C; wt: filter rows at this channel block (row stride op); y: the first
 * pixel's output at this block (pixel stride o); valid: real output channels in the block. */
PB_INLINE void forward_tile(const float *xb, long pstep, long row, int kh, int run, const float *wt, int op,
                            const float *bias, float *y, int o, int valid, int act, const int P, const int NV) {
  v128_t acc[4][2];
  for (int p = 0; p < P; p++)
    for (int v = 0; v < NV; v++) acc[p][v] = wasm_v128_load(bias + 4 * v);
  for (int i = 0; i < kh; i++) {
    const float *xr = xb + i * row, *wr = wt + (long)i * run * op;
    for (int u = 0; u < run; u++, wr += op) {
      v128_t wv[2];
      for (int v = 0; v < NV; v++) wv[v] = wasm_v128_load(wr + 4 * v);
      for (int p = 0; p < P; p++) {
        const v128_t xs = wasm_v128_load32_splat(xr + p * pstep + u);
        for (int v = 0; v < NV; v++) acc[p][v] = PB_MADD(xs, wv[v], acc[p][v]);
      }
    }
  }
  for (int p = 0; p < P; p++)
    for (int v = 0; v < NV; v++) {
      const v128_t r = pb_act_v(acc[p][v], act);
      if (valid >= 4 * v + 4) wasm_v128_store(y + (long)p * o + 4 * v, r);
      else store_lanes(y + (long)p * o + 4 * v, r, valid - 4 * v);
    }
}

/* The last ow % 4 pixels of a row, as one tile of 1..3 pixels (a row of 7 is 4 + 3, not 4 + 1 + 1 + 1).
 * Out of line: every copy of forward_row shares it. */
static void forward_tail(const DirectJob *j, const float *xb, long pstep, long row, const float *wt,
                         const float *bias, float *y, int valid, int pixels, int NV) {
  const int run = j->kw * j->c, kh = j->kh, op = j->op, o = j->o, act = j->act;
#define PB_TAIL(p, nv) forward_tile(xb, pstep, row, kh, run, wt, op, bias, y, o, valid, act, p, nv)
  if (NV == 2) {
    if (pixels == 3) PB_TAIL(3, 2); else if (pixels == 2) PB_TAIL(2, 2); else PB_TAIL(1, 2);
  } else {
    if (pixels == 3) PB_TAIL(3, 1); else if (pixels == 2) PB_TAIL(2, 1); else PB_TAIL(1, 1);
  }
#undef PB_TAIL
}

/* A row of ow output pixels at one channel block: tiles of 4 pixels, then the tail. PSTEP > 0 is
 * the window step as a constant: the 4 pixels' splats then share one pointer with constant offsets
 * (measured: 0.45 -> 0.36 ms for the batch-32 stem); 0 means pstep at run time. NV: 2 for a block of
 * 8 output channels, 1 for a last block of 4. */
PB_INLINE void forward_row(const DirectJob *j, const float *xrow, long pstep, long row, const float *wt,
                           const float *bias, float *yrow, int valid, const int PSTEP, const int NV) {
  const long step = PSTEP ? PSTEP : pstep;
  const int run = j->kw * j->c, kh = j->kh, op = j->op, o = j->o, act = j->act, ow = j->ow;
  int ox = 0;
  for (; ox + 4 <= ow; ox += 4)
    forward_tile(xrow + ox * step, step, row, kh, run, wt, op, bias, yrow + (long)ox * o, o, valid, act, 4, NV);
  if (ox < ow) forward_tail(j, xrow + ox * step, step, row, wt, bias, yrow + (long)ox * o, valid, ow - ox, NV);
}

/* One padded image -> its (oh, ow, o) output, row by row, in blocks of 8 output channels (the
 * input rows a row of windows reads stay in L1 for every block). Window steps 1..4 (stride 1 with
 * 1..4 channels, stride 2 with 1 or 2) get their own copy of the row loop. */
static void forward_image(const DirectJob *j, const float *xp, float *y) {
  const long row = (long)j->wp * j->c, pstep = (long)j->sw * j->c;
  for (int oy = 0; oy < j->oh; oy++) {
    const float *xrow = xp + (long)oy * j->sh * row;
    float *yrow = y + (long)oy * j->ow * j->o;
    for (int cb = 0; cb < j->op; cb += 8) {
      const float *wt = j->wt + cb, *bias = j->bias + cb;
      const int valid = pb_min(8, j->o - cb);
      if (j->op - cb < 8) {   /* a last block of 4 channels */
        forward_row(j, xrow, pstep, row, wt, bias, yrow + cb, valid, 0, 1);
        continue;
      }
      switch (pstep) {
        case 1: forward_row(j, xrow, pstep, row, wt, bias, yrow + cb, valid, 1, 2); break;
        case 2: forward_row(j, xrow, pstep, row, wt, bias, yrow + cb, valid, 2, 2); break;
        case 3: forward_row(j, xrow, pstep, row, wt, bias, yrow + cb, valid, 3, 2); break;
        case 4: forward_row(j, xrow, pstep, row, wt, bias, yrow + cb, valid, 4, 2); break;
        default: forward_row(j, xrow, pstep, row, wt, bias, yrow + cb, valid, 0, 2);
      }
    }
  }
}

static void forward_task(void *ctx, int task, int thread) {
  const DirectJob *j = (const DirectJob *)ctx;
  float *xp = pb_work_of(0, thread);
  const int b0 = task * j->chunk, b1 = pb_min(j->n, b0 + j->chunk);
  for (int b = b0; b < b1; b++) {
    pad_image(j, j->x + (long)b * j->h * j->w * j->c, xp, b == b0);
    forward_image(j, xp, j->y + (long)b * j->oh * j->ow * j->o);
  }
}

/* Padded height/width that hold every window of a TF-geometry convolution. */
PB_INLINE int padded_extent(int size, int pad_before, int out, int stride, int k) {
  return pb_max(size + pad_before, (out - 1) * stride + k);
}

static void set_geometry(DirectJob *j, int n, int h, int w_, int c, int kh, int kw, int o, int sh, int sw, int pt,
                         int pl, int oh, int ow) {
  j->n = n; j->h = h; j->w = w_; j->c = c; j->kh = kh; j->kw = kw; j->o = o; j->op = round4(o);
  j->sh = sh; j->sw = sw; j->pt = pt; j->pl = pl; j->oh = oh; j->ow = ow;
  j->hp = padded_extent(h, pt, oh, sh, kh); j->wp = padded_extent(w_, pl, ow, sw, kw);
  j->chunk = image_chunk(n);
}

/* pb_conv2d_direct(x, w, b_or_0, y, n, h, w_, c, kh, kw, o, sh, sw, pad_top, pad_left, oh, ow, act):
 *   y (n, oh, ow, o) = act(conv(x (n, h, w_, c), w (kh, kw, c, o)) + b); pb_conv2d's contract. */
PB_EXPORT(pb_conv2d_direct)
void pb_conv2d_direct(const float *x, const float *w, const float *b, float *y, int n, int h, int w_, int c, int kh,
                      int kw, int o, int sh, int sw, int pad_top, int pad_left, int oh, int ow, int act) {
  if (n <= 0 || oh <= 0 || ow <= 0 || o <= 0) return;
  DirectJob j = {0};
  set_geometry(&j, n, h, w_, c, kh, kw, o, sh, sw, pad_top, pad_left, oh, ow);
  const int k = kh * kw * c, op = j.op;
  float *wt = pb_work(1, (size_t)(k + 1) * op);
  float *bias = wt + (long)k * op;
  for (int t = 0; t < k; t++)
    for (int q = 0; q < op; q++) wt[(long)t * op + q] = q < o ? w[(long)t * o + q] : 0.f;
  for (int q = 0; q < op; q++) bias[q] = (b && q < o) ? b[q] : 0.f;
  j.x = x; j.y = y; j.wt = wt; j.bias = bias; j.act = act;
  pb_work_threads(0, (size_t)j.hp * j.wp * c);
  pb_parallel_for_flops(forward_task, &j, (n + j.chunk - 1) / j.chunk, 2.0 * n * oh * ow * k * o);
}

/* ---- grad_filter -------------------------------------------------------------------------------- */

/* T taps (consecutive floats of the window, one kernel row) x NV vectors of output channels, summed
 * over `rows` output rows of `ow` pixels into acc (T rows of the partial dW, stride op). xb: the
 * first tap of the first pixel's window; pstep/xrow: floats to the next pixel / output row's window;
 * dz: the first pixel's gradient at this channel block (pixel stride dzs, row stride ow*dzs). */
PB_INLINE void grad_filter_tile(const float *xb, long pstep, long xrow, const float *dz, int dzs, int rows, int ow,
                                float *acc, int op, const int T, const int NV) {
  v128_t a[4][2];
  for (int t = 0; t < T; t++)
    for (int v = 0; v < NV; v++) a[t][v] = wasm_v128_load(acc + (long)t * op + 4 * v);
  for (int r = 0; r < rows; r++) {
    const float *xq = xb + r * xrow, *d = dz + (long)r * ow * dzs;
    for (int q = 0; q < ow; q++, xq += pstep, d += dzs) {
      const v128_t d0 = wasm_v128_load(d), d1 = NV > 1 ? wasm_v128_load(d + 4) : d0;
      for (int t = 0; t < T; t++) {
        const v128_t xs = wasm_v128_load32_splat(xq + t);
        a[t][0] = PB_MADD(xs, d0, a[t][0]);
        if (NV > 1) a[t][1] = PB_MADD(xs, d1, a[t][1]);
      }
    }
  }
  for (int t = 0; t < T; t++)
    for (int v = 0; v < NV; v++) wasm_v128_store(acc + (long)t * op + 4 * v, a[t][v]);
}

/* The tile with T (1..4) and NV (1..2) as constants: one specialised copy each. */
static void grad_filter_block(const float *xb, long pstep, long xrow, const float *dz, int dzs, int rows, int ow,
                              float *acc, int op, int T, int NV) {
#define PB_GF(t, nv) grad_filter_tile(xb, pstep, xrow, dz, dzs, rows, ow, acc, op, t, nv)
  if (NV == 2) {
    if (T == 4) PB_GF(4, 2); else if (T == 3) PB_GF(3, 2); else if (T == 2) PB_GF(2, 2); else PB_GF(1, 2);
  } else {
    if (T == 4) PB_GF(4, 1); else if (T == 3) PB_GF(3, 1); else if (T == 2) PB_GF(2, 1); else PB_GF(1, 1);
  }
#undef PB_GF
}

/* dW partial (K, op) += this padded image's taps times its dz (oh, ow, dzs). A kernel row's run of
 * kw*C taps is cut into nearly equal blocks of at most 4 (9 -> 3+3+3, not 4+4+1). */
static void grad_filter_image(const DirectJob *j, const float *xp, const float *dz, int dzs, float *acc) {
  const long row = (long)j->wp * j->c, pstep = (long)j->sw * j->c, xrow = j->sh * row;
  const int run = j->kw * j->c, op = j->op, ow = j->ow;
  const int blocks = (run + 3) / 4;
  for (int y0 = 0; y0 < j->oh; y0 += j->band) {
    const int rows = pb_min(j->band, j->oh - y0);
    const float *dzb = dz + (long)y0 * ow * dzs;
    for (int i = 0; i < j->kh; i++) {
      const float *xi = xp + y0 * xrow + i * row;
      for (int bl = 0, u0 = 0; bl < blocks; bl++) {
        const int T = (run - u0 + (blocks - bl) - 1) / (blocks - bl);   /* ceil(left / blocks left) */
        float *ab = acc + ((long)i * run + u0) * op;
        for (int cb = 0; cb < op; cb += 8)
          grad_filter_block(xi + u0, pstep, xrow, dzb + cb, dzs, rows, ow, ab + cb, op, T, op - cb >= 8 ? 2 : 1);
        u0 += T;
      }
    }
  }
}

static void grad_filter_task(void *ctx, int task, int thread) {
  const DirectJob *j = (const DirectJob *)ctx;
  float *xp = pb_work_of(0, thread), *dzp = pb_work_of(1, thread);
  /* this task's own partial dW (thread 0's slot 2 holds one per task), added up in task order at the
   * end: the result does not depend on which thread ran which task */
  const long partial = (long)j->kh * j->kw * j->c * j->op;
  float *acc = pb_work_of(2, 0) + task * partial;
  __builtin_memset(acc, 0, (size_t)partial * 4);
  const int b0 = task * j->chunk, b1 = pb_min(j->n, b0 + j->chunk), pix = j->oh * j->ow;
  for (int b = b0; b < b1; b++) {
    pad_image(j, j->x + (long)b * j->h * j->w * j->c, xp, b == b0);
    const float *dzi = j->dz + (long)b * pix * j->o;
    if (j->o != j->op) {   /* whole-vector loads need O padded to op: a copy with zero lanes */
      const int o = j->o, whole = o & ~3;
      for (int p = 0; p < pix; p++) {
        const float *src = dzi + (long)p * o;
        float *dst = dzp + (long)p * j->op;
        for (int q = 0; q < whole; q += 4) wasm_v128_store(dst + q, wasm_v128_load(src + q));
        v128_t last = wasm_f32x4_replace_lane(wasm_f32x4_splat(0.f), 0, src[whole]);
        if (o - whole > 1) last = wasm_f32x4_replace_lane(last, 1, src[whole + 1]);
        if (o - whole > 2) last = wasm_f32x4_replace_lane(last, 2, src[whole + 2]);
        wasm_v128_store(dst + whole, last);
      }
      dzi = dzp;
    }
    grad_filter_image(j, xp, dzi, j->op, acc);
  }
}

/* pb_conv2d_direct_grad_filter(x, dz, dw, n, h, w_, c, kh, kw, o, sh, sw, pad_top, pad_left, oh, ow):
 *   dw (kh, kw, c, o) = sum over the batch's output pixels of window(x) (x) dz; pb_conv2d_grad_filter's
 *   contract (dw fully overwritten). */
PB_EXPORT(pb_conv2d_direct_grad_filter)
void pb_conv2d_direct_grad_filter(const float *x, const float *dz, float *dw, int n, int h, int w_, int c, int kh,
                                  int kw, int o, int sh, int sw, int pad_top, int pad_left, int oh, int ow) {
  DirectJob j = {0};
  set_geometry(&j, n, h, w_, c, kh, kw, o, sh, sw, pad_top, pad_left, oh, ow);
  const int k = kh * kw * c, op = j.op;
  j.x = x; j.dz = dz;
  j.band = pb_max(1, 4096 / pb_max(1, ow * op));   /* ~16 KiB of dz per band: it stays in L1 */
  const int ntasks = n > 0 && oh > 0 && ow > 0 ? (n + j.chunk - 1) / j.chunk : 0;
  pb_work_threads(0, (size_t)j.hp * j.wp * c);
  pb_work_threads(1, o == op ? 4 : (size_t)oh * ow * op);
  pb_work_threads(2, (size_t)pb_max(ntasks, 1) * k * op);
  if (ntasks) pb_parallel_for_flops(grad_filter_task, &j, ntasks, 2.0 * n * oh * ow * k * o);
  pb_sum_partials(dw, pb_work_of(2, 0), ntasks, k, o, op);
}
