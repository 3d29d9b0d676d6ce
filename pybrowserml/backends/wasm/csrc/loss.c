/* loss.c - fused softmax cross-entropy (sparse int32 labels or one-hot float32 labels), its
 * gradient, the accuracy count, and softmax / log_softmax over the last axis.
 *
 * Numerically stable like the numpy reference: every row is shifted by its max before exp, and the
 * loss uses log_probs = shifted - log(sum exp(shifted)) (never log of a probability).
 * There is no libm here: pb_expf and pb_logf below are range reduction + polynomial, accurate to
 * about 1 ulp of float32 over the ranges these kernels use.
 */
#include "pb.h"

/* e^x in float32: x = k ln2 + r, |r| <= ln2/2, e^r by a degree-7 Taylor polynomial (error < 1e-8
 * relative), then scaled by 2^k through the exponent bits. Underflows to 0 below -87.3, like float32. */
static float pb_expf(float x) {
  if (x != x) return x;
  if (x > 88.72f) return __builtin_inff();
  if (x < -87.33f) return 0.f;
  const float k = __builtin_rintf(x * 1.44269504f);
  const float r = (x - k * 0.693145752f) - k * 1.42860677e-6f;   /* ln2 split in two for exactness */
  float p = 1.f / 5040.f;
  p = p * r + 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  union { u32 u; float f; } scale;
  scale.u = (u32)((int)k + 127) << 23;
  return p * scale.f;
}

/* ln(x) for x > 0 in float64 (used on row sums, once per row): x = m 2^e with m in [sqrt(1/2), sqrt(2)),
 * ln m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172, series to s^13. */
static double pb_log(double x) {
  if (!(x > 0.0)) return x == 0.0 ? -__builtin_inf() : __builtin_nan("");
  if (x == __builtin_inf()) return x;
  union { unsigned long long u; double d; } v;
  v.d = x;
  int e = (int)((v.u >> 52) & 0x7ff) - 1023;
  v.u = (v.u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;   /* m in [1, 2) */
  double m = v.d;
  if (m > 1.4142135623730951) { m *= 0.5; e += 1; }
  const double s = (m - 1.0) / (m + 1.0), s2 = s * s;
  double series = 1.0 / 13;
  series = series * s2 + 1.0 / 11;
  series = series * s2 + 1.0 / 9;
  series = series * s2 + 1.0 / 7;
  series = series * s2 + 1.0 / 5;
  series = series * s2 + 1.0 / 3;
  series = series * s2 + 1.0;
  return 2.0 * s * series + e * 0.6931471805599453;
}

/* One row: probs[j] = exp(x[j] - max) / total; returns shifted log-normaliser: log(total) + max. */
static double softmax_row(const float *x, float *probs, int k) {
  float mx = x[0];
  for (int j = 1; j < k; j++) mx = x[j] > mx ? x[j] : mx;
  float total = 0.f;
  for (int j = 0; j < k; j++) {
    probs[j] = pb_expf(x[j] - mx);
    total += probs[j];
  }
  const float inv = 1.f / total;
  for (int j = 0; j < k; j++) probs[j] *= inv;
  return pb_log((double)total) + (double)mx;
}

/* Returns how many sparse labels lie outside [0, k) (0 for one-hot labels). */
static int bad_labels(const int *labels, int n, int k) {
  int bad = 0;
  for (int i = 0; i < n; i++) bad += labels[i] < 0 || labels[i] >= k;
  return bad;
}

/* pb_softmax_xent(logits, labels, probs, loss, n, k, sparse) -> number of out-of-range labels.
 * logits, probs (n, k); labels int32 (n,) when sparse, else float32 (n, k); loss: 1 float, the
 * batch mean of -sum(target * log_softmax(logits)). Nothing is written when a label is invalid. */
PB_EXPORT(pb_softmax_xent)
int pb_softmax_xent(const float *logits, const void *labels, float *probs, float *loss, int n, int k, int sparse) {
  if (sparse) {
    const int bad = bad_labels((const int *)labels, n, k);
    if (bad) return bad;
  }
  double total = 0.0;
  for (int i = 0; i < n; i++) {
    const float *x = logits + (long)i * k;
    const double lse = softmax_row(x, probs + (long)i * k, k);
    if (sparse) {
      total += lse - (double)x[((const int *)labels)[i]];
    } else {
      const float *t = (const float *)labels + (long)i * k;
      for (int j = 0; j < k; j++) total += (double)t[j] * (lse - (double)x[j]);
    }
  }
  *loss = n ? (float)(total / n) : 0.f;
  return 0;
}

/* pb_softmax_xent_grad(probs, labels, g, dlogits, n, k, sparse) -> number of out-of-range labels.
 * dlogits (n, k) = (probs - onehot(labels)) * (g[0] / n); g points at the scalar upstream gradient. */
PB_EXPORT(pb_softmax_xent_grad)
int pb_softmax_xent_grad(const float *probs, const void *labels, const float *g, float *dlogits, int n, int k, int sparse) {
  if (sparse) {
    const int bad = bad_labels((const int *)labels, n, k);
    if (bad) return bad;
  }
  const float scale = g[0] / (float)n;
  for (int i = 0; i < n; i++) {
    const float *p = probs + (long)i * k;
    float *d = dlogits + (long)i * k;
    if (sparse) {
      const int label = ((const int *)labels)[i];
      for (int j = 0; j < k; j++) d[j] = (p[j] - (j == label ? 1.f : 0.f)) * scale;
    } else {
      const float *t = (const float *)labels + (long)i * k;
      for (int j = 0; j < k; j++) d[j] = (p[j] - t[j]) * scale;
    }
  }
  return 0;
}

/* Index of the first maximum of a row (numpy's argmax; a NaN counts as the maximum, like numpy). */
static int argmax_row(const float *x, int k) {
  int best = 0;
  for (int j = 0; j < k; j++) {
    if (x[j] != x[j]) return j;
    if (x[j] > x[best]) best = j;
  }
  return best;
}

/* pb_count_correct(logits, labels, out, n, k, sparse): out[0] = number of rows whose logits argmax
 * equals the label (sparse int32) or the argmax of the one-hot row (float32). */
PB_EXPORT(pb_count_correct)
void pb_count_correct(const float *logits, const void *labels, float *out, int n, int k, int sparse) {
  int correct = 0;
  for (int i = 0; i < n; i++) {
    const int predicted = argmax_row(logits + (long)i * k, k);
    const int truth = sparse ? ((const int *)labels)[i] : argmax_row((const float *)labels + (long)i * k, k);
    correct += predicted == truth;
  }
  *out = (float)correct;
}

/* pb_expf on four lanes: the same range reduction, polynomial and special cases, lane for lane (no
 * fused multiply-add, so that every lane rounds like the scalar function). */
PB_INLINE v128_t pb_expf4(v128_t x) {
  const v128_t k = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504f)));
  const v128_t r = wasm_f32x4_sub(wasm_f32x4_sub(x, wasm_f32x4_mul(k, wasm_f32x4_splat(0.693145752f))),
                                  wasm_f32x4_mul(k, wasm_f32x4_splat(1.42860677e-6f)));
  v128_t p = wasm_f32x4_splat(1.f / 5040.f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f / 720.f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f / 120.f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f / 24.f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f / 6.f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f));
  /* k is only used (as an exponent) where -87.33 <= x <= 88.72, i.e. -126 <= k <= 128 */
  const v128_t kk = wasm_f32x4_pmax(wasm_f32x4_pmin(k, wasm_f32x4_splat(128.f)), wasm_f32x4_splat(-127.f));
  const v128_t scale = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(kk), wasm_i32x4_splat(127)), 23);
  v128_t y = wasm_f32x4_mul(p, scale);
  y = wasm_v128_bitselect(wasm_f32x4_splat(__builtin_inff()), y, wasm_f32x4_gt(x, wasm_f32x4_splat(88.72f)));
  y = wasm_v128_andnot(y, wasm_f32x4_lt(x, wasm_f32x4_splat(-87.33f)));
  return wasm_v128_bitselect(x, y, wasm_f32x4_ne(x, x));
}

/* Softmax of rows of two (a segmentation head's two classes per pixel), four rows per step: the
 * rows' first and second entries are split into two vectors, and every lane computes what
 * softmax_row computes for its row (max, exp, 1 / total, products), so the results are the same. */
static int softmax_pairs(const float *x, float *y, int rows) {
  int i = 0;
  for (; i + 4 <= rows; i += 4) {
    const v128_t a = wasm_v128_load(x + 2 * i), b = wasm_v128_load(x + 2 * i + 4);
    const v128_t first = wasm_i32x4_shuffle(a, b, 0, 2, 4, 6), second = wasm_i32x4_shuffle(a, b, 1, 3, 5, 7);
    const v128_t mx = wasm_f32x4_pmax(first, second);   /* second > first ? second : first */
    v128_t p0 = pb_expf4(wasm_f32x4_sub(first, mx)), p1 = pb_expf4(wasm_f32x4_sub(second, mx));
    const v128_t inv = wasm_f32x4_div(wasm_f32x4_splat(1.f), wasm_f32x4_add(p0, p1));
    p0 = wasm_f32x4_mul(p0, inv);
    p1 = wasm_f32x4_mul(p1, inv);
    wasm_v128_store(y + 2 * i, wasm_i32x4_shuffle(p0, p1, 0, 4, 1, 5));
    wasm_v128_store(y + 2 * i + 4, wasm_i32x4_shuffle(p0, p1, 2, 6, 3, 7));
  }
  return i;
}

/* One row of softmax without the log-normaliser: exp four entries at a time. */
static void softmax_row_probs(const float *x, float *probs, int k) {
  float mx = x[0];
  for (int j = 1; j < k; j++) mx = x[j] > mx ? x[j] : mx;
  const v128_t shift = wasm_f32x4_splat(mx);
  v128_t sums = wasm_f32x4_splat(0.f);
  int j = 0;
  for (; j + 4 <= k; j += 4) {
    const v128_t e = pb_expf4(wasm_f32x4_sub(wasm_v128_load(x + j), shift));
    wasm_v128_store(probs + j, e);
    sums = wasm_f32x4_add(sums, e);
  }
  float total = (wasm_f32x4_extract_lane(sums, 0) + wasm_f32x4_extract_lane(sums, 1)) +
                (wasm_f32x4_extract_lane(sums, 2) + wasm_f32x4_extract_lane(sums, 3));
  for (; j < k; j++) {
    probs[j] = pb_expf(x[j] - mx);
    total += probs[j];
  }
  const float inv = 1.f / total;
  for (j = 0; j < k; j++) probs[j] *= inv;
}

/* pb_softmax(x, y, rows, k, log): y = softmax(x) over the last axis (k), or log_softmax when log != 0.
 * Plain softmax never needs the log-normaliser (a float64 log per row) and runs its exps on f32x4;
 * rows of two (per-pixel binary heads, where a scalar row costs more in set-up than in arithmetic)
 * go four at a time. */
PB_EXPORT(pb_softmax)
void pb_softmax(const float *x, float *y, int rows, int k, int log) {
  if (log) {
    for (int i = 0; i < rows; i++) {
      const float *xr = x + (long)i * k;
      float *yr = y + (long)i * k;
      const double lse = softmax_row(xr, yr, k);
      for (int j = 0; j < k; j++) yr[j] = (float)((double)xr[j] - lse);
    }
    return;
  }
  int i = k == 2 ? softmax_pairs(x, y, rows) : 0;
  for (; i < rows; i++) softmax_row_probs(x + (long)i * k, y + (long)i * k, k);
}

/* pb_confusion_matrix(logits, labels, counts, m, k): counts (k x k floats) = how many of the m rows with
 * int32 label t have their logits argmax (the first maximum) at p, at counts[t * k + p]. Returns how
 * many labels were outside [0, k) (those rows are not counted). */
PB_EXPORT(pb_confusion_matrix)
int pb_confusion_matrix(const float *logits, const int *labels, float *counts, int m, int k) {
  int bad = 0;
  for (int i = 0; i < k * k; i++) counts[i] = 0.f;
  for (int i = 0; i < m; i++) {
    const int truth = labels[i];
    if (truth < 0 || truth >= k) {
      bad++;
      continue;
    }
    counts[truth * k + argmax_row(logits + (long)i * k, k)] += 1.f;
  }
  return bad;
}
