/* conv.c - conv2d forward and both gradients (NHWC input, HWIO filter), all as GEMMs, and the transposed
 * conv's forward: the input gradient with a bias and activation epilogue.
 *
 *  - 1x1 stride 1 (pointwise): the NHWC input already is a (N*H*W x C) matrix: one GEMM, no copy;
 *  - otherwise im2col: the output pixels are processed in chunks of `rows` pixels; each chunk's
 *    patches are gathered into a work buffer (rows x KH*KW*C, zero where the window hangs over the
 *    padding) and multiplied by the filter seen as a (KH*KW*C x O) matrix. Chunking keeps the
 *    buffer in L2 (a whole batch of patches would be tens of MB) at the price of re-packing the
 *    small filter once per chunk.
 * Geometry (output size, pad_top/pad_left) is computed by the caller (TensorFlow 'same'/'valid').
 * The chunks are the tasks of pb_parallel_for (threads.c), each with its own per-thread buffers;
 * in the single-threaded build they simply run one after another.
 */
#include "epilogue.h"
#include "gemm.h"

typedef struct Geo {
  int n, h, w, c, kh, kw, o, sh, sw, pt, pl, oh, ow;
} Geo;

/* Output pixels per chunk: about 64K floats (256 KiB) of patches, a multiple of 4 rows. */
static int chunk_rows(const Geo *g) {
  int k = g->kh * g->kw * g->c;
  int rows = 65536 / (k > 0 ? k : 1);
  rows = rows < 16 ? 16 : rows;
  return rows & ~3;
}

PB_INLINE void copy_floats(float *dst, const float *src, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_v128_load(src + i));
  for (; i < n; i++) dst[i] = src[i];
}

PB_INLINE void zero_floats(float *dst, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_f32x4_splat(0.f));
  for (; i < n; i++) dst[i] = 0.f;
}

/* Gather the patches of output pixels [r0, r0+rows) into cols (rows x KH*KW*C). A window row
 * that lies inside the image is one contiguous run of KW*C floats in NHWC (the taps of a window
 * are adjacent pixels), so it is copied in one go; only windows hanging over the padding go tap
 * by tap. */
static void im2col(const Geo *g, const float *x, float *cols, int r0, int rows) {
  int k = g->kh * g->kw * g->c;
  int hw = g->oh * g->ow, c = g->c, run = g->kw * c;
  for (int r = 0; r < rows; r++) {
    int pix = r0 + r, n = pix / hw, rem = pix - n * hw, oy = rem / g->ow, ox = rem - oy * g->ow;
    float *dst = cols + (long)r * k;
    const float *img = x + (long)n * g->h * g->w * c;
    int ix0 = ox * g->sw - g->pl;
    int inside = ix0 >= 0 && ix0 + g->kw <= g->w;
    for (int i = 0; i < g->kh; i++, dst += run) {
      int iy = oy * g->sh + i - g->pt;
      if (iy < 0 || iy >= g->h) {
        zero_floats(dst, run);
        continue;
      }
      const float *src = img + ((long)iy * g->w + ix0) * c;
      if (inside) {
        copy_floats(dst, src, run);
        continue;
      }
      for (int j = 0; j < g->kw; j++) {
        int ix = ix0 + j;
        if (ix < 0 || ix >= g->w) zero_floats(dst + j * c, c);
        else copy_floats(dst + j * c, src + j * c, c);
      }
    }
  }
}

PB_INLINE void add_floats(float *dst, const float *src, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_f32x4_add(wasm_v128_load(dst + i), wasm_v128_load(src + i)));
  for (; i < n; i++) dst[i] += src[i];
}

/* Scatter-add the patch gradients of output pixels [r0, r0+rows) back into dx (col2im); the
 * mirror of im2col, with the same contiguous window rows. */
static void col2im_add(const Geo *g, const float *cols, float *dx, int r0, int rows) {
  int k = g->kh * g->kw * g->c;
  int hw = g->oh * g->ow, c = g->c, run = g->kw * c;
  for (int r = 0; r < rows; r++) {
    int pix = r0 + r, n = pix / hw, rem = pix - n * hw, oy = rem / g->ow, ox = rem - oy * g->ow;
    const float *src = cols + (long)r * k;
    float *img = dx + (long)n * g->h * g->w * c;
    int ix0 = ox * g->sw - g->pl;
    int inside = ix0 >= 0 && ix0 + g->kw <= g->w;
    for (int i = 0; i < g->kh; i++, src += run) {
      int iy = oy * g->sh + i - g->pt;
      if (iy < 0 || iy >= g->h) continue;
      float *d = img + ((long)iy * g->w + ix0) * c;
      if (inside) {
        add_floats(d, src, run);
        continue;
      }
      for (int j = 0; j < g->kw; j++) {
        int ix = ix0 + j;
        if (ix >= 0 && ix < g->w) add_floats(d + j * c, src + j * c, c);
      }
    }
  }
}

static int is_pointwise(const Geo *g) {
  return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0;
}

#define GEO Geo g = {n, h, w_, c, kh, kw, o, sh, sw, pad_top, pad_left, oh, ow}

/* A conv call split into tasks of `step` output pixels (or whole images for grad_input). */
typedef struct ConvJob {
  Geo g;
  const float *x, *w, *b, *dz;
  float *y;
  int act, step, m, k;
} ConvJob;

/* Thread work slots: 0 packed B, 1 packed A^T (pb_gemm_serial), 2 im2col patches. */
static void size_task_buffers(const ConvJob *j, int gemm_m, int gemm_n, int gemm_k, int trans_a, size_t cols) {
  size_t bp_n, ap_n;
  pb_gemm_buffer_sizes(gemm_m, gemm_n, gemm_k, trans_a, &bp_n, &ap_n);
  pb_work_threads(0, bp_n);
  if (ap_n) pb_work_threads(1, ap_n);
  pb_work_threads(2, cols);
}

/* Output pixels per task: about 128K floats of patches (L2-sized), and at least ~4 tasks per
 * thread so that threads finish together. */
static int task_rows(const Geo *g, int m) {
  int rows = chunk_rows(g);
  int threads = pb_thread_count();
  if (threads > 1) rows = pb_min(rows, (m + 4 * threads - 1) / (4 * threads));
  rows = (rows + 3) & ~3;
  return rows < 16 ? 16 : rows;
}

static void forward_task(void *ctx, int task, int thread) {
  const ConvJob *j = (const ConvJob *)ctx;
  int r0 = task * j->step, rows = pb_min(j->step, j->m - r0);
  float *cols = pb_work_of(2, thread);
  im2col(&j->g, j->x, cols, r0, rows);
  pb_gemm_serial(cols, j->k, 0, j->w, j->g.o, 0, j->y + (long)r0 * j->g.o, j->g.o, rows, j->g.o, j->k, j->b,
                 j->act, 0, pb_work_of(0, thread), pb_work_of(1, thread));
}

/* pb_conv2d(x, w, b_or_0, y, n, h, w_, c, kh, kw, o, sh, sw, pad_top, pad_left, oh, ow, act):
 *   y (n, oh, ow, o) = act(conv(x (n, h, w_, c), w (kh, kw, c, o)) + b). */
PB_EXPORT(pb_conv2d) void pb_conv2d(const float *x, const float *w, const float *b, float *y, int n, int h, int w_,
                                    int c, int kh, int kw, int o, int sh, int sw, int pad_top, int pad_left, int oh,
                                    int ow, int act) {
  GEO;
  int m = n * oh * ow, k = kh * kw * c;
  if (is_pointwise(&g)) {
    pb_gemm_core(x, c, 0, w, o, 0, y, o, m, o, c, b, act, 0);
    return;
  }
  ConvJob j = {g, x, w, b, 0, y, act, task_rows(&g, m), m, k};
  size_task_buffers(&j, j.step, o, k, 0, (size_t)pb_min(j.step, m) * k);
  pb_parallel_for_flops(forward_task, &j, (m + j.step - 1) / j.step, 2.0 * m * k * o);
}

/* grad_input tasks are whole images: col2im of different images never writes the same dx. A transposed
 * conv's bias and activation (b, act) follow on each image as soon as its col2im is complete, while
 * it is still in cache, instead of two more passes over the whole batch. */
static void grad_input_task(void *ctx, int image, int thread) {
  const ConvJob *j = (const ConvJob *)ctx;
  const Geo *g = &j->g;
  float *cols = pb_work_of(2, thread);
  int per_image = g->oh * g->ow;
  for (int done = 0; done < per_image; done += j->step) {
    int r0 = image * per_image + done, rows = pb_min(j->step, per_image - done);
    pb_gemm_serial(j->dz + (long)r0 * g->o, g->o, 0, j->w, g->o, 1, cols, j->k, rows, j->k, g->o, 0, ACT_NONE, 0,
                   pb_work_of(0, thread), pb_work_of(1, thread));
    col2im_add(g, cols, j->y, r0, rows);
  }
  pb_bias_act_rows(j->y + (long)image * g->h * g->w * g->c, j->b, g->h * g->w, g->c, g->c, j->act);
}

/* dx (n, h, w_, c) = act(col2im(dz @ W^T) + b): conv2d's input gradient, which is also the forward of
 * the transposed conv, with that layer's bias and activation (b = 0 and ACT_NONE for the gradient). */
static void grad_input_bias_act(const float *dz, const float *w, const float *b, float *dx, Geo g, int act) {
  int m = g.n * g.oh * g.ow, k = g.kh * g.kw * g.c;
  if (is_pointwise(&g)) {
    pb_gemm_core(dz, g.o, 0, w, g.o, 1, dx, g.c, m, g.c, g.o, b, act, 0);
    return;
  }
  memset(dx, 0, (size_t)g.n * g.h * g.w * g.c * 4);
  if (m == 0) {  /* no window reaches dx: it is act(b) everywhere */
    pb_bias_act_rows(dx, b, g.n * g.h * g.w, g.c, g.c, act);
    return;
  }
  ConvJob j = {g, 0, w, b, dz, dx, act, pb_min(chunk_rows(&g), g.oh * g.ow), m, k};
  size_task_buffers(&j, j.step, k, g.o, 0, (size_t)j.step * k);
  pb_parallel_for_flops(grad_input_task, &j, g.n, 2.0 * m * k * g.o);
}

/* pb_conv2d_grad_input(dz, w, dx, n, h, w_, c, kh, kw, o, sh, sw, pad_top, pad_left, oh, ow):
 *   dx (n, h, w_, c) = the gradient of conv2d's input for dz (n, oh, ow, o): dz @ W^T, then col2im. */
PB_EXPORT(pb_conv2d_grad_input) void pb_conv2d_grad_input(const float *dz, const float *w, float *dx, int n, int h,
                                                          int w_, int c, int kh, int kw, int o, int sh, int sw,
                                                          int pad_top, int pad_left, int oh, int ow) {
  GEO;
  grad_input_bias_act(dz, w, 0, dx, g, ACT_NONE);
}

/* pb_conv2d_transpose(x, w, b_or_0, y, n, h, w_, c, kh, kw, o, sh, sw, pad_top, pad_left, oh, ow, act):
 *   y (n, h, w_, c) = act(conv2d_transpose(x (n, oh, ow, o), w (kh, kw, c, o)) + b): the geometry is the
 *   conv2d's whose input gradient this is (y its input, x its output). */
PB_EXPORT(pb_conv2d_transpose) void pb_conv2d_transpose(const float *x, const float *w, const float *b, float *y,
                                                        int n, int h, int w_, int c, int kh, int kw, int o, int sh,
                                                        int sw, int pad_top, int pad_left, int oh, int ow, int act) {
  GEO;
  grad_input_bias_act(x, w, b, y, g, act);
}

/* grad_filter is a sum over every output pixel. The pixels are cut into chunks of `step` (the
 * im2col buffer's size; for a pointwise conv, one chunk per range) and the chunks into `ranges`
 * contiguous ranges, the tasks; task r sums its chunks in order into partial r, and the partials
 * are added in range order at the end: the result depends on the thread count, never on which
 * thread ran which task. */
typedef struct GradFilterJob {
  ConvJob j;
  int chunks, ranges;
  float *partials;
} GradFilterJob;

static void grad_filter_task(void *ctx, int range, int thread) {
  const GradFilterJob *gf = (const GradFilterJob *)ctx;
  const ConvJob *j = &gf->j;
  float *partial = gf->partials + (size_t)range * j->k * j->g.o;
  int first = (int)((long)gf->chunks * range / gf->ranges), end = (int)((long)gf->chunks * (range + 1) / gf->ranges);
  for (int chunk = first; chunk < end; chunk++) {
    int r0 = chunk * j->step, rows = pb_min(j->step, j->m - r0);
    const float *a = j->x + (long)r0 * j->k;   /* pointwise: the input rows are the patches */
    if (!is_pointwise(&j->g)) {
      float *cols = pb_work_of(2, thread);
      im2col(&j->g, j->x, cols, r0, rows);
      a = cols;
    }
    pb_gemm_serial(a, j->k, 1, j->dz + (long)r0 * j->g.o, j->g.o, 0, partial, j->g.o, j->k, j->g.o, rows, 0, ACT_NONE,
                   chunk > first, pb_work_of(0, thread), pb_work_of(1, thread));
  }
}

/* pb_conv2d_grad_filter(x, dz, dw, n, h, w_, c, kh, kw, o, sh, sw, pad_top, pad_left, oh, ow):
 *   dw (kh, kw, c, o) = im2col(x)^T @ dz, summed over every output pixel of the batch. */
PB_EXPORT(pb_conv2d_grad_filter) void pb_conv2d_grad_filter(const float *x, const float *dz, float *dw, int n, int h,
                                                            int w_, int c, int kh, int kw, int o, int sh, int sw,
                                                            int pad_top, int pad_left, int oh, int ow) {
  GEO;
  int m = n * oh * ow, k = kh * kw * c;
  int threads = pb_thread_count();
  if (threads > 1 && 2.0 * m * k * o < PB_PARALLEL_MIN_FLOPS) threads = 1;  /* not worth waking workers */
  if (threads == 1 && is_pointwise(&g)) {  /* one GEMM over the whole batch, nothing to combine */
    pb_gemm_core(x, c, 1, dz, o, 0, dw, o, c, o, m, 0, ACT_NONE, 0);
    return;
  }
  /* a few ranges per thread, so that a thread that starts late delays the end by little */
  int ranges = threads > 1 ? 4 * threads : 1;
  GradFilterJob gf = {{g, x, 0, 0, dz, dw, ACT_NONE, task_rows(&g, m), m, k}, 0, 0, 0};
  if (is_pointwise(&g)) gf.j.step = pb_max(64, (m + ranges - 1) / ranges);
  gf.chunks = (m + gf.j.step - 1) / gf.j.step;
  gf.ranges = pb_min(ranges, gf.chunks);
  size_task_buffers(&gf.j, k, o, gf.j.step, 1, is_pointwise(&g) ? 0 : (size_t)gf.j.step * k);
  size_t partial = (size_t)k * o;
  gf.partials = pb_work(2, partial * gf.ranges);
  pb_parallel_for_flops(grad_filter_task, &gf, gf.ranges, 2.0 * m * k * o);
  pb_sum_partials(dw, gf.partials, gf.ranges, k, o, o);
}
