/* depthwise3x3.c - the 3x3, multiplier-1, c >= 4 depthwise kernels read straight from the
 * caller's NHWC arrays: forward and grad_input with stride 2, grad_filter with stride 1 and 2
 * (depthwise.c hands them these cases; everything else keeps its padded-copy path).
 *
 * Why not the padded copy: at 7-28 columns copying every image into a zero-padded work image
 * costs about as much as the arithmetic, and stride-2 grad_input there runs one pass per tap.
 *  - rows outside the image read a shared zero row (a few wasted multiply-adds on the first and
 *    last rows, no branches in the loops); columns outside it only occur for the first and last
 *    outputs of a row, which take a separate edge step;
 *  - interior loops share input columns between neighbouring windows and keep at most 13 vectors
 *    live, so V8 (15 allocatable xmm registers) spills nothing; they must not be unrolled;
 *  - loops run output row outside, channel block inside: the input rows of an output row stay in
 *    L1 (whole-image column strips alias in L1 at c = 64..192, a 256-768 byte pixel stride);
 *  - grad_input with stride 2 gathers each input pixel's 1, 2 or 4 taps directly by parity;
 *  - grad_filter sums each task's images into that task's own partial sums, added up in task
 *    order at the end: the result never depends on which thread ran which task;
 *  - any c >= 4: channel blocks of 4 at 0, 4, ..., and when c % 4 != 0 one last block at c - 4 that
 *    overlaps the one before it (next_block), so every load and store is a whole in-bounds v128.
 *    Forward and grad_input write the overlapped channels twice with the same values; grad_filter
 *    sums that last block into a column block of its own (gf_row) and keeps only its new
 *    channels. A copy widened to a multiple of 4 would cost about what the SIMD saves at 5-22
 *    channels; c < 4 stays on the padded path (one zero-padded block).
 * Tasks are chunks of images (pb_parallel_for), as in depthwise.c.
 */
#include "depthwise.h"

typedef struct Dw3Job {
  const float *src;    /* forward: x; grad_input: dz; grad_filter: x */
  const float *dz;     /* grad_filter */
  float *dst;          /* forward: y; grad_input: dx; grad_filter: per-task partial sums (9 * c each) */
  const float *taps;   /* (3, 3, c), flipped for grad_input stride 1 */
  const float *bias;   /* c floats (zeros when the layer has none) */
  const float *zero;   /* zeros, at least one source row */
  int n, chunk, c;
  int sh_, sw_;        /* source image rows, columns */
  int oh, ow;          /* result image rows, columns (grad_filter: dz) */
  int sh, sw, pt, pl, act;
} Dw3Job;

/* The channel block after the one at cb: cb + 4, or c - 4 for the last partial one (which then
 * overlaps cb's block), or c when none is left. */
PB_INLINE int next_block(int cb, int c) { return cb + 4 >= c ? c : pb_min(cb + 4, c - 4); }

/* acc + the three rows' values at one column times one tap column (ta: row 0, tb: row 1, tc: row 2) */
PB_INLINE v128_t col3(v128_t acc, const float *r0, const float *r1, const float *r2, long off, v128_t ta,
                      v128_t tb, v128_t tc) {
  acc = PB_MADD(wasm_v128_load(r0 + off), ta, acc);
  acc = PB_MADD(wasm_v128_load(r1 + off), tb, acc);
  return PB_MADD(wasm_v128_load(r2 + off), tc, acc);
}

/* Output columns [lo, hi) have their whole 3-column window inside 0..w-1. */
PB_INLINE void interior_range(int w, int ow, int sw, int pl, int *lo, int *hi) {
  *lo = pb_min(ow, (pl + sw - 1) / sw);
  *hi = w - 3 + pl < 0 ? *lo : pb_max(*lo, pb_min(ow, (w - 3 + pl) / sw + 1));
}

/* Rows iy0..iy0+2 of a (rows, row_floats) image; the zero row where outside. */
PB_INLINE void three_rows(const float *img, int rows, long row_floats, int iy0, const float *zero,
                          const float **r) {
  for (int i = 0; i < 3; i++) {
    const int iy = iy0 + i;
    r[i] = iy >= 0 && iy < rows ? img + iy * row_floats : zero;
  }
}

/* ---- forward (and grad_input stride 1) --------------------------------------------------------- */

/* Interior outputs [lo, hi) of one row, stride 2: the last column of a window is the first of the
 * next one (6 loads per output), and each loaded input goes straight into its multiply-adds, so
 * 13 vector registers are live (9 taps, 2 sums, 1 input, 1 spare) and nothing spills out of the
 * 15 that V8 allocates; clang must not unroll (that doubles the live values and V8 spills). */
PB_INLINE void fwd_interior_s2(const float *q0, const float *q1, const float *q2, float *yo, long c, int count,
                               v128_t t0, v128_t t1, v128_t t2, v128_t t3, v128_t t4, v128_t t5, v128_t t6,
                               v128_t t7, v128_t t8, const float *bias, int act) {
  v128_t a = wasm_f32x4_mul(wasm_v128_load(q0), t0);
  a = PB_MADD(wasm_v128_load(q1), t3, a);
  a = PB_MADD(wasm_v128_load(q2), t6, a);
#pragma clang loop unroll(disable)
  for (int k = 0; k < count; k++) {
    v128_t done = PB_MADD(wasm_v128_load(q0 + c), t1, a);
    v128_t x = wasm_v128_load(q0 + 2 * c);
    done = PB_MADD(x, t2, done);
    a = wasm_f32x4_mul(x, t0);
    done = PB_MADD(wasm_v128_load(q1 + c), t4, done);
    x = wasm_v128_load(q1 + 2 * c);
    done = PB_MADD(x, t5, done);
    a = PB_MADD(x, t3, a);
    done = PB_MADD(wasm_v128_load(q2 + c), t7, done);
    x = wasm_v128_load(q2 + 2 * c);
    done = PB_MADD(x, t8, done);
    a = PB_MADD(x, t6, a);
    wasm_v128_store(yo, pb_act_v(wasm_f32x4_add(done, wasm_v128_load(bias)), act));
    q0 += 2 * c; q1 += 2 * c; q2 += 2 * c;
    yo += c;
  }
}

/* One output row. act is a constant at each call site, so the activation costs nothing when off. */
PB_INLINE void fwd_row(const float *r0, const float *r1, const float *r2, float *y, const float *taps,
                       const float *bias, int w, int c, int ow, int sw, int pl, int act) {
  int lo, hi;
  interior_range(w, ow, sw, pl, &lo, &hi);
#pragma clang loop unroll(disable)
  for (int cb = 0; cb < c; cb = next_block(cb, c)) {
    const float *t = taps + cb;
    const v128_t t0 = wasm_v128_load(t), t1 = wasm_v128_load(t + c), t2 = wasm_v128_load(t + 2 * c);
    const v128_t t3 = wasm_v128_load(t + 3 * c), t4 = wasm_v128_load(t + 4 * c), t5 = wasm_v128_load(t + 5 * c);
    const v128_t t6 = wasm_v128_load(t + 6 * c), t7 = wasm_v128_load(t + 7 * c), t8 = wasm_v128_load(t + 8 * c);
    if (lo < hi) {
      const long off = (long)(lo * sw - pl) * c + cb;
      fwd_interior_s2(r0 + off, r1 + off, r2 + off, y + (long)lo * c + cb, c, hi - lo, t0, t1, t2, t3, t4, t5, t6,
                      t7, t8, bias + cb, act);
    }
    /* edge outputs: only the columns inside the image */
#pragma clang loop unroll(disable)
    for (int ox = 0; ox < ow; ox++) {
      if (ox == lo) ox = pb_max(lo, hi);
      if (ox >= ow) break;
      const int ix0 = ox * sw - pl;
      v128_t a = wasm_v128_load(bias + cb);
      if (ix0 >= 0 && ix0 < w) a = col3(a, r0, r1, r2, (long)ix0 * c + cb, t0, t3, t6);
      if (ix0 + 1 >= 0 && ix0 + 1 < w) a = col3(a, r0, r1, r2, (long)(ix0 + 1) * c + cb, t1, t4, t7);
      if (ix0 + 2 >= 0 && ix0 + 2 < w) a = col3(a, r0, r1, r2, (long)(ix0 + 2) * c + cb, t2, t5, t8);
      wasm_v128_store(y + (long)ox * c + cb, pb_act_v(a, act));
    }
  }
}

PB_INLINE void fwd_image(const Dw3Job *j, const float *x, float *y, int act) {
  const int c = j->c;
  const long in_row = (long)j->sw_ * c, out_row = (long)j->ow * c;
  for (int oy = 0; oy < j->oh; oy++) {
    const float *r[3];
    three_rows(x, j->sh_, in_row, oy * j->sh - j->pt, j->zero, r);
    fwd_row(r[0], r[1], r[2], y + oy * out_row, j->taps, j->bias, j->sw_, c, j->ow, j->sw, j->pl, act);
  }
}

static void fwd_task(void *ctx, int task, int thread) {
  const Dw3Job *j = (const Dw3Job *)ctx;
  const long in_img = (long)j->sh_ * j->sw_ * j->c, out_img = (long)j->oh * j->ow * j->c;
  const int b1 = pb_min(j->n, (task + 1) * j->chunk);
  for (int b = task * j->chunk; b < b1; b++) {
    const float *x = j->src + b * in_img;
    float *y = j->dst + b * out_img;
    if (j->act == ACT_RELU) fwd_image(j, x, y, ACT_RELU);
    else if (j->act == ACT_RELU6) fwd_image(j, x, y, ACT_RELU6);
    else fwd_image(j, x, y, ACT_NONE);
  }
}

/* ---- grad_input, stride 2 ---------------------------------------------------------------------
 * dx[iy, ix] = sum over taps (i, j) with iy + pt - i and ix + pl - j even of
 * dz[(iy + pt - i) / 2, (ix + pl - j) / 2] * w[i, j]. With u = ix + pl, column pair k covers
 * u = 2k (taps j = 0 at dz column k, j = 2 at k - 1) and u = 2k + 1 (tap j = 1 at column k); the
 * rows split the same way: row parity even takes tap rows 0 and 2, odd takes tap row 1. */

/* One dx row from `nrows` (1 or 2) dz rows za, zb with tap rows ta, tb (taps as (3, c) rows). */
PB_INLINE void gi2_row(const float *za, const float *ta, const float *zb, const float *tb, int nrows, float *dx,
                       const float *zero, int w, int c, int ow, int pl) {
  const int k0 = pl / 2, k1 = (w - 1 + pl) / 2;
  for (int cb = 0; cb < c; cb = next_block(cb, c)) {
    const v128_t a0 = wasm_v128_load(ta + cb), a1 = wasm_v128_load(ta + c + cb), a2 = wasm_v128_load(ta + 2 * c + cb);
    v128_t b0 = a0, b1 = a1, b2 = a2;
    if (nrows == 2) {
      b0 = wasm_v128_load(tb + cb); b1 = wasm_v128_load(tb + c + cb); b2 = wasm_v128_load(tb + 2 * c + cb);
    }
    /* the previous dz column of each row (zero left of the image) */
    v128_t pa = k0 >= 1 && k0 - 1 < ow ? wasm_v128_load(za + (long)(k0 - 1) * c + cb) : wasm_f32x4_splat(0.f);
    v128_t pb = nrows == 2 && k0 >= 1 && k0 - 1 < ow ? wasm_v128_load(zb + (long)(k0 - 1) * c + cb) : pa;
    float *out = dx + (long)(2 * k0 - pl) * c + cb;
    for (int k = k0; k <= k1; k++) {
      const int in = k < ow;
      const v128_t za_k = wasm_v128_load((in ? za + (long)k * c : zero) + cb);
      v128_t even = PB_MADD(pa, a2, wasm_f32x4_mul(za_k, a0));
      v128_t odd = wasm_f32x4_mul(za_k, a1);
      pa = za_k;
      if (nrows == 2) {
        const v128_t zb_k = wasm_v128_load((in ? zb + (long)k * c : zero) + cb);
        even = PB_MADD(pb, b2, PB_MADD(zb_k, b0, even));
        odd = PB_MADD(zb_k, b1, odd);
        pb = zb_k;
      }
      if (2 * k >= pl) wasm_v128_store(out, even);
      if (2 * k + 1 - pl < w) wasm_v128_store(out + c, odd);
      out += 2 * c;
    }
  }
}

static void gi2_task(void *ctx, int task, int thread) {
  const Dw3Job *j = (const Dw3Job *)ctx;
  const int c = j->c, h = j->oh, w = j->ow, oh = j->sh_, ow = j->sw_, pt = j->pt;
  const long z_row = (long)ow * c, z_img = (long)oh * z_row, x_img = (long)h * w * c;
  const int b1 = pb_min(j->n, (task + 1) * j->chunk);
  for (int b = task * j->chunk; b < b1; b++) {
    const float *dz = j->src + b * z_img;
    for (int iy = 0; iy < h; iy++) {
      float *dx = j->dst + b * x_img + (long)iy * w * c;
      const int v = iy + pt;
      if (v & 1) {
        const int oy = (v - 1) / 2;
        gi2_row(oy < oh ? dz + oy * z_row : j->zero, j->taps + 3 * c, 0, 0, 1, dx, j->zero, w, c, ow, j->pl);
      } else {
        const int oy = v / 2;   /* tap row 0 reads dz row oy, tap row 2 row oy - 1 */
        const float *za = oy < oh ? dz + oy * z_row : j->zero, *zb = oy >= 1 && oy - 1 < oh ? dz + (oy - 1) * z_row : j->zero;
        gi2_row(za, j->taps, zb, j->taps + 6 * c, 2, dx, j->zero, w, c, ow, j->pl);
      }
    }
  }
}

/* ---- grad_filter ----------------------------------------------------------------------------- */

/* Interior dz columns [lo, hi) of one row, stride 1: input column ox - pl meets dz[ox] (tap column
 * 0), dz[ox - 1] (1) and dz[ox - 2] (2), so each input column is loaded once; the two steps after
 * the loop finish the last two columns. 13 live vectors: 9 sums, 3 dz columns, 1 input. */
#define GF_COLUMN(G0, G1, G2)                                                                              \
  do {                                                                                                     \
    v128_t x = wasm_v128_load(q0);                                                                         \
    s0 = PB_MADD(x, G0, s0); s1 = PB_MADD(x, G1, s1); s2 = PB_MADD(x, G2, s2);                             \
    x = wasm_v128_load(q1);                                                                                \
    s3 = PB_MADD(x, G0, s3); s4 = PB_MADD(x, G1, s4); s5 = PB_MADD(x, G2, s5);                             \
    x = wasm_v128_load(q2);                                                                                \
    s6 = PB_MADD(x, G0, s6); s7 = PB_MADD(x, G1, s7); s8 = PB_MADD(x, G2, s8);                             \
    q0 += c; q1 += c; q2 += c;                                                                             \
  } while (0)

/* The 9 sums t (rows ld apart) += the taps of channels cb .. cb + 3 of one dz row against its three
 * input rows; lo, hi: the row's interior dz columns. */
static void gf_block(const float *r0, const float *r1, const float *r2, const float *d, float *t, int ld, int cb,
                     int w, int c, int ow, int sw, int pl, int lo, int hi) {
  v128_t s0 = wasm_v128_load(t), s1 = wasm_v128_load(t + ld), s2 = wasm_v128_load(t + 2 * ld);
  v128_t s3 = wasm_v128_load(t + 3 * ld), s4 = wasm_v128_load(t + 4 * ld), s5 = wasm_v128_load(t + 5 * ld);
  v128_t s6 = wasm_v128_load(t + 6 * ld), s7 = wasm_v128_load(t + 7 * ld), s8 = wasm_v128_load(t + 8 * ld);
  if (lo < hi) {
    const long off = (long)(lo * sw - pl) * c + cb;
    const float *q0 = r0 + off, *q1 = r1 + off, *q2 = r2 + off, *g = d + (long)lo * c + cb;
    const v128_t zero = wasm_f32x4_splat(0.f);
    if (sw == 1) {
      v128_t g1 = zero, g2 = zero;
#pragma clang loop unroll(disable)
      for (int k = lo; k < hi; k++) {
        const v128_t g0 = wasm_v128_load(g);
        GF_COLUMN(g0, g1, g2);
        g2 = g1; g1 = g0;
        g += c;
      }
      GF_COLUMN(zero, g1, g2);
      GF_COLUMN(zero, zero, g1);
    } else {
      /* stride 2: window column 0 is column 2 of the previous window; column 1 is its own */
      v128_t gp = zero;
#pragma clang loop unroll(disable)
      for (int k = lo; k < hi; k++) {
        const v128_t g0 = wasm_v128_load(g);
        v128_t x = wasm_v128_load(q0);
        s0 = PB_MADD(x, g0, s0); s2 = PB_MADD(x, gp, s2);
        x = wasm_v128_load(q1);
        s3 = PB_MADD(x, g0, s3); s5 = PB_MADD(x, gp, s5);
        x = wasm_v128_load(q2);
        s6 = PB_MADD(x, g0, s6); s8 = PB_MADD(x, gp, s8);
        s1 = PB_MADD(wasm_v128_load(q0 + c), g0, s1);
        s4 = PB_MADD(wasm_v128_load(q1 + c), g0, s4);
        s7 = PB_MADD(wasm_v128_load(q2 + c), g0, s7);
        q0 += 2 * c; q1 += 2 * c; q2 += 2 * c;
        gp = g0;
        g += c;
      }
      s2 = PB_MADD(wasm_v128_load(q0), gp, s2);
      s5 = PB_MADD(wasm_v128_load(q1), gp, s5);
      s8 = PB_MADD(wasm_v128_load(q2), gp, s8);
    }
  }
#pragma clang loop unroll(disable)
  for (int ox = 0; ox < ow; ox++) {
    if (ox == lo) ox = pb_max(lo, hi);
    if (ox >= ow) break;
    const int ix0 = ox * sw - pl;
    const v128_t gv = wasm_v128_load(d + (long)ox * c + cb);
    if (ix0 >= 0 && ix0 < w) {
      const long o = (long)ix0 * c + cb;
      s0 = PB_MADD(wasm_v128_load(r0 + o), gv, s0);
      s3 = PB_MADD(wasm_v128_load(r1 + o), gv, s3);
      s6 = PB_MADD(wasm_v128_load(r2 + o), gv, s6);
    }
    if (ix0 + 1 >= 0 && ix0 + 1 < w) {
      const long o = (long)(ix0 + 1) * c + cb;
      s1 = PB_MADD(wasm_v128_load(r0 + o), gv, s1);
      s4 = PB_MADD(wasm_v128_load(r1 + o), gv, s4);
      s7 = PB_MADD(wasm_v128_load(r2 + o), gv, s7);
    }
    if (ix0 + 2 >= 0 && ix0 + 2 < w) {
      const long o = (long)(ix0 + 2) * c + cb;
      s2 = PB_MADD(wasm_v128_load(r0 + o), gv, s2);
      s5 = PB_MADD(wasm_v128_load(r1 + o), gv, s5);
      s8 = PB_MADD(wasm_v128_load(r2 + o), gv, s8);
    }
  }
  wasm_v128_store(t, s0); wasm_v128_store(t + ld, s1); wasm_v128_store(t + 2 * ld, s2);
  wasm_v128_store(t + 3 * ld, s3); wasm_v128_store(t + 4 * ld, s4); wasm_v128_store(t + 5 * ld, s5);
  wasm_v128_store(t + 6 * ld, s6); wasm_v128_store(t + 7 * ld, s7); wasm_v128_store(t + 8 * ld, s8);
}
#undef GF_COLUMN

/* acc (9, ld) += the taps of one dz row against its three input rows: the whole blocks, then the
 * last partial one (at c - 4) into columns ld - 4 .. ld - 1. A single loop over next_block's blocks
 * measured 20-40% slower at stride 1 with c a multiple of 4. */
static void gf_row(const float *r0, const float *r1, const float *r2, const float *d, float *acc, int ld, int w,
                   int c, int ow, int sw, int pl) {
  int lo, hi;
  interior_range(w, ow, sw, pl, &lo, &hi);
  int cb = 0;
#pragma clang loop unroll(disable)
  for (; cb + 4 <= c; cb += 4) gf_block(r0, r1, r2, d, acc + cb, ld, cb, w, c, ow, sw, pl, lo, hi);
  if (cb < c) gf_block(r0, r1, r2, d, acc + ld - 4, ld, c - 4, w, c, ow, sw, pl, lo, hi);
}

static void gf_task(void *ctx, int task, int thread) {
  const Dw3Job *j = (const Dw3Job *)ctx;
  const int c = j->c, ld = round4(c);
  const long in_row = (long)j->sw_ * c, in_img = j->sh_ * in_row, z_row = (long)j->ow * c, z_img = j->oh * z_row;
  float *acc = j->dst + (long)task * 9 * ld;
  __builtin_memset(acc, 0, (size_t)9 * ld * 4);
  const int b1 = pb_min(j->n, (task + 1) * j->chunk);
  for (int b = task * j->chunk; b < b1; b++) {
    for (int oy = 0; oy < j->oh; oy++) {
      const float *r[3];
      three_rows(j->src + b * in_img, j->sh_, in_row, oy * j->sh - j->pt, j->zero, r);
      gf_row(r[0], r[1], r[2], j->dz + b * z_img + oy * z_row, acc, ld, j->sw_, c, j->ow, j->sw, j->pl);
    }
  }
  /* channels c & ~3 .. c - 1 from the last block's columns (ld - 4 + their place in it) to their own */
  for (int t = 0; t < 9; t++)
    for (int k = c & ~3; k < c; k++) acc[t * ld + k] = acc[t * ld + k + ld - c];
}

/* ---- entry points (depthwise.h) --------------------------------------------------------------- */

int dw3x3_applies(int m, int kh, int kw, int c, int sh, int sw) {
  return m == 1 && kh == 3 && kw == 3 && c >= 4 && sh >= 1 && sh <= 2 && sw >= 1 && sw <= 2;
}

/* Zeros for the rows outside an image: `floats` of them, in pb_work slot 2. */
static const float *zero_row(long floats) {
  float *z = pb_work(2, (size_t)floats);
  __builtin_memset(z, 0, (size_t)floats * 4);
  return z;
}

static int dw3_chunk(int n) {
  const int threads = pb_thread_count();
  return threads <= 1 ? pb_max(n, 1) : pb_max(1, (n + 2 * threads - 1) / (2 * threads));
}

void dw3x3_forward(const float *x, const float *w, const float *b, float *y, int n, int h, int w_, int c, int sh,
                   int sw, int pt, int pl, int oh, int ow, int act) {
  const float *zero = zero_row((long)pb_max(w_, 1) * c);
  Dw3Job j = {0};
  j.src = x; j.dst = y; j.taps = w; j.bias = b ? b : zero; j.zero = zero;
  j.n = n; j.chunk = dw3_chunk(n); j.c = c; j.sh_ = h; j.sw_ = w_; j.oh = oh; j.ow = ow;
  j.sh = sh; j.sw = sw; j.pt = pt; j.pl = pl; j.act = act;
  pb_parallel_for(fwd_task, &j, (n + j.chunk - 1) / j.chunk);
}

void dw3x3_grad_input(const float *dz, const float *w, float *dx, int n, int h, int w_, int c, int sh, int sw,
                      int pt, int pl, int oh, int ow) {
  Dw3Job j = {0};
  j.src = dz; j.dst = dx; j.n = n; j.chunk = dw3_chunk(n); j.c = c; j.sh_ = oh; j.sw_ = ow; j.oh = h; j.ow = w_;
  if (sh == 2 && sw == 2) {
    j.zero = zero_row((long)pb_max(ow, 1) * c);
    j.taps = w; j.pt = pt; j.pl = pl;
    pb_parallel_for(gi2_task, &j, (n + j.chunk - 1) / j.chunk);
    return;
  }
  __builtin_trap();   /* dw3x3_strided_applies said no */
}

/* Stride 1 forward / grad_input stay on depthwise.c's padded path: there the direct loop measured
 * no faster (its sliding window already does 3 loads per output), warm or cold. */
int dw3x3_strided_applies(int m, int kh, int kw, int c, int sh, int sw) {
  return dw3x3_applies(m, kh, kw, c, sh, sw) && sh == 2 && sw == 2;
}

void dw3x3_grad_filter(const float *x, const float *dz, float *dw, int n, int h, int w_, int c, int sh, int sw,
                       int pt, int pl, int oh, int ow) {
  Dw3Job j = {0};
  const int chunk = dw3_chunk(n), ntasks = n > 0 ? (n + chunk - 1) / chunk : 0;
  j.src = x; j.dz = dz; j.zero = zero_row((long)pb_max(w_, 1) * c);
  j.dst = pb_work(3, (size_t)pb_max(ntasks, 1) * 9 * round4(c));
  j.n = n; j.chunk = chunk; j.c = c; j.sh_ = h; j.sw_ = w_; j.oh = oh; j.ow = ow;
  j.sh = sh; j.sw = sw; j.pt = pt; j.pl = pl;
  if (ntasks) pb_parallel_for(gf_task, &j, ntasks);
  /* filter layout (3, 3, c, 1) is the partial sums' (9, c) (their rows round4(c) apart) */
  pb_sum_partials(dw, j.dst, ntasks, 9, c, round4(c));
}
