/* norm.c - batch normalisation over all axes but the last (rows x c), training, inference and
 * gradient, as in the numpy reference (backends/numpy/kernels/norm.py).
 *
 * Statistics are sums over up to ~10^5 rows, so per-channel sums are taken in blocks of 64 rows in
 * float32 (vectorised over channels) and the block sums added in float64: the error stays at float32
 * rounding of the result instead of growing with the row count. The variance is two-pass
 * (mean first, then mean of squared deviations), which is what numpy's x.var does.
 *
 * Work buffer: pb_work slot 0 (per-channel float64 accumulators) during a call.
 */
#include "pb.h"

#define BLOCK_ROWS 64

PB_INLINE v128_t vload(const float *p) { return wasm_v128_load(p); }

/* sqrt without libm: the wasm f32.sqrt instruction (exact IEEE rounding). */
PB_INLINE float pb_sqrtf(float v) { return __builtin_sqrtf(v); }

/* The per-channel sums below read the (rows, c) arrays row by row, in memory order (one sequential
 * stream, what the hardware prefetcher wants), adding each row into float32 block sums of c floats
 * that stay in L1; every BLOCK_ROWS rows the block sums are added into float64 totals. */
#define CHANNEL_LOOP(ROW_BODY_V, ROW_BODY_S)                                   \
  for (int r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {                             \
    const int r1 = pb_min(rows, r0 + BLOCK_ROWS);                             \
    for (int k = 0; k < c; k++) b1[k] = b2[k] = 0.f;                          \
    for (int r = r0; r < r1; r++) {                                           \
      const long at = (long)r * c;                                            \
      int k = 0;                                                              \
      for (; k + 4 <= c; k += 4) { ROW_BODY_V }                               \
      for (; k < c; k++) { ROW_BODY_S }                                       \
    }                                                                         \
    for (int k = 0; k < c; k++) { t1[k] += (double)b1[k]; t2[k] += (double)b2[k]; } \
  }

/* t1[k] = sum over rows of x[r, k] */
static void sum_x(const float *x, int rows, int c, double *t1, double *t2, float *b1, float *b2) {
  for (int k = 0; k < c; k++) t1[k] = t2[k] = 0.0;
  CHANNEL_LOOP(wasm_v128_store(b1 + k, wasm_f32x4_add(vload(b1 + k), vload(x + at + k)));,
               b1[k] += x[at + k];)
}

/* t1[k] = sum over rows of (x[r, k] - mean[k])^2 */
static void sum_sq_dev(const float *x, const float *mean, int rows, int c, double *t1, double *t2, float *b1,
                       float *b2) {
  for (int k = 0; k < c; k++) t1[k] = t2[k] = 0.0;
  CHANNEL_LOOP(v128_t d = wasm_f32x4_sub(vload(x + at + k), vload(mean + k));
               wasm_v128_store(b1 + k, wasm_f32x4_add(vload(b1 + k), wasm_f32x4_mul(d, d)));,
               float d = x[at + k] - mean[k]; b1[k] += d * d;)
}

/* t1[k] = sum of dy[r, k];  t2[k] = sum of dy[r, k] * (x[r, k] - mean[k])  (one pass for both) */
static void sum_dy_dyxc(const float *dy, const float *x, const float *mean, int rows, int c, double *t1, double *t2,
                        float *b1, float *b2) {
  for (int k = 0; k < c; k++) t1[k] = t2[k] = 0.0;
  CHANNEL_LOOP(const v128_t g = vload(dy + at + k);
               wasm_v128_store(b1 + k, wasm_f32x4_add(vload(b1 + k), g));
               wasm_v128_store(b2 + k, wasm_f32x4_add(vload(b2 + k),
                                                      wasm_f32x4_mul(g, wasm_f32x4_sub(vload(x + at + k), vload(mean + k)))));,
               b1[k] += dy[at + k]; b2[k] += dy[at + k] * (x[at + k] - mean[k]);)
}

/* y = x * scale + shift per channel (scale, shift: c floats). */
static void affine(const float *x, float *y, const float *scale, const float *shift, int rows, int c) {
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (long)r * c;
    float *yr = y + (long)r * c;
    int k = 0;
    for (; k + 4 <= c; k += 4)
      wasm_v128_store(yr + k, wasm_f32x4_add(wasm_f32x4_mul(vload(xr + k), vload(scale + k)), vload(shift + k)));
    for (; k < c; k++) yr[k] = xr[k] * scale[k] + shift[k];
  }
}

/* The work buffer of a call: 2 x c doubles (totals), then 4 float arrays of c (2 block sums, 2 coefficients). */
typedef struct Work { double *t1, *t2; float *b1, *b2, *f1, *f2; } Work;

static Work work_for(int c) {
  float *w = pb_work(0, (size_t)c * 8 + 8);
  Work k;
  k.t1 = (double *)w;
  k.t2 = k.t1 + c;
  k.b1 = (float *)(k.t2 + c);
  k.b2 = k.b1 + c;
  k.f1 = k.b2 + c;
  k.f2 = k.f1 + c;
  return k;
}

/* pb_batch_norm_train(x, gamma, beta, y, mean, var, rows, c, epsilon):
 * x, y (rows, c); gamma, beta, mean, var (c); mean/var are outputs (biased variance, like numpy). */
PB_EXPORT(pb_batch_norm_train)
void pb_batch_norm_train(const float *x, const float *gamma, const float *beta, float *y, float *mean, float *var,
                         int rows, int c, float epsilon) {
  Work w = work_for(c);
  const double inv_rows = rows ? 1.0 / rows : 0.0;
  sum_x(x, rows, c, w.t1, w.t2, w.b1, w.b2);
  for (int k = 0; k < c; k++) mean[k] = (float)(w.t1[k] * inv_rows);
  sum_sq_dev(x, mean, rows, c, w.t1, w.t2, w.b1, w.b2);
  float *scale = w.f1, *shift = w.f2;
  for (int k = 0; k < c; k++) {
    var[k] = (float)(w.t1[k] * inv_rows);
    scale[k] = gamma[k] / pb_sqrtf(var[k] + epsilon);
    shift[k] = beta[k] - mean[k] * scale[k];
  }
  affine(x, y, scale, shift, rows, c);
}

/* pb_batch_norm_infer(x, gamma, beta, mean, var, y, rows, c, epsilon): y = (x - mean) / sqrt(var + eps) * gamma + beta. */
PB_EXPORT(pb_batch_norm_infer)
void pb_batch_norm_infer(const float *x, const float *gamma, const float *beta, const float *mean, const float *var,
                         float *y, int rows, int c, float epsilon) {
  Work w = work_for(c);
  float *scale = w.f1, *shift = w.f2;
  for (int k = 0; k < c; k++) {
    scale[k] = gamma[k] / pb_sqrtf(var[k] + epsilon);
    shift[k] = beta[k] - mean[k] * scale[k];
  }
  affine(x, y, scale, shift, rows, c);
}

/* pb_batch_norm_grad(dy, x, gamma, mean, var, dx, dgamma, dbeta, rows, c, epsilon):
 * dbeta = sum dy; dgamma = sum dy * x_hat; dx = gamma * inv_std / rows * (rows * dy - dbeta - x_hat * dgamma),
 * x_hat = (x - mean) * inv_std. dx (rows, c), dgamma and dbeta (c) are outputs.
 * Two passes over the data: one for both sums, one writing dx. */
PB_EXPORT(pb_batch_norm_grad)
void pb_batch_norm_grad(const float *dy, const float *x, const float *gamma, const float *mean, const float *var,
                        float *dx, float *dgamma, float *dbeta, int rows, int c, float epsilon) {
  Work w = work_for(c);
  sum_dy_dyxc(dy, x, mean, rows, c, w.t1, w.t2, w.b1, w.b2);
  /* Expanded per channel: dx = a * dy + coef * (x - mean) + constant, with a = gamma * inv_std,
   * coef = -a * inv_std * dgamma / rows and constant = -a * dbeta / rows. */
  float *a = w.b1, *coef = w.f1, *constant = w.f2;   /* the block sums are no longer needed */
  const float inv_rows = rows ? 1.f / (float)rows : 0.f;
  for (int k = 0; k < c; k++) {
    const float inv_std = 1.f / pb_sqrtf(var[k] + epsilon);
    dbeta[k] = (float)w.t1[k];
    dgamma[k] = (float)(w.t2[k] * inv_std);
    a[k] = gamma[k] * inv_std;
    coef[k] = -a[k] * inv_std * dgamma[k] * inv_rows;
    constant[k] = -a[k] * dbeta[k] * inv_rows;
  }
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (long)r * c, *gr = dy + (long)r * c;
    float *out = dx + (long)r * c;
    int k = 0;
    for (; k + 4 <= c; k += 4) {
      v128_t v = wasm_f32x4_mul(vload(gr + k), vload(a + k));
      v = wasm_f32x4_add(v, wasm_f32x4_mul(wasm_f32x4_sub(vload(xr + k), vload(mean + k)), vload(coef + k)));
      wasm_v128_store(out + k, wasm_f32x4_add(v, vload(constant + k)));
    }
    for (; k < c; k++) out[k] = gr[k] * a[k] + (xr[k] - mean[k]) * coef[k] + constant[k];
  }
}
