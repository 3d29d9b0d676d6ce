/* elementwise.c - the elementwise and reduction kernels the training step calls most:
 * add/sub/mul/div (same shape, scalar, trailing-axis broadcast), scale, relu/relu6,
 * activation_grad (alone, or fused with the bias gradient), where_positive, column sums (bias_grad,
 * sum_to_shape) and full sums. Large same-shape kernels split their rows over the threads.
 * Other broadcasts are handled by the numpy fallback (the Python side decides).
 */
#include "epilogue.h"

#define OP_ADD 0
#define OP_SUB 1
#define OP_MUL 2
#define OP_DIV 3

PB_INLINE v128_t binop_v(int op, v128_t a, v128_t b) {
  switch (op) {
    case OP_ADD: return wasm_f32x4_add(a, b);
    case OP_SUB: return wasm_f32x4_sub(a, b);
    case OP_MUL: return wasm_f32x4_mul(a, b);
    default: return wasm_f32x4_div(a, b);
  }
}

PB_INLINE float binop_s(int op, float a, float b) {
  switch (op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    default: return a / b;
  }
}

/* One row of `cols` outputs; a_step/b_step are 1 (a vector) or 0 (a scalar broadcast). */
static void binary_row(int op, const float *a, int a_step, const float *b, int b_step, float *y, int cols) {
  int j = 0;
  if (a_step && b_step) {
    for (; j + 4 <= cols; j += 4) wasm_v128_store(y + j, binop_v(op, wasm_v128_load(a + j), wasm_v128_load(b + j)));
  } else if (a_step) {
    v128_t vb = wasm_f32x4_splat(b[0]);
    for (; j + 4 <= cols; j += 4) wasm_v128_store(y + j, binop_v(op, wasm_v128_load(a + j), vb));
  } else if (b_step) {
    v128_t va = wasm_f32x4_splat(a[0]);
    for (; j + 4 <= cols; j += 4) wasm_v128_store(y + j, binop_v(op, va, wasm_v128_load(b + j)));
  }
  for (; j < cols; j++) y[j] = binop_s(op, a[j * a_step], b[j * b_step]);
}

/* Same-shape and scalar operands have no row structure: they are walked in rows of this many
 * elements, so that large ones can be split over the threads (pb_parallel_rows). */
#define FLAT_ROW 2048

typedef struct { int op; const float *a, *b; float *y; int a_period, b_period, n, cols; } binary_job;

static void binary_range(void *ctx, int r0, int r1) {
  binary_job *j = (binary_job *)ctx;
  for (int r = r0; r < r1; r++) {
    long off = (long)r * j->cols;
    int len = pb_min(j->cols, j->n - (int)off);
    const float *ar = j->a_period == j->n ? j->a + off : j->a;   /* period C or 1: the same row every time */
    const float *br = j->b_period == j->n ? j->b + off : j->b;
    binary_row(j->op, ar, j->a_period != 1 || j->n == 1, br, j->b_period != 1 || j->n == 1, j->y + off, len);
  }
}

/* pb_binary(op, a, a_period, b, b_period, y, n): y[i] = a[i % a_period] OP b[i % b_period] for
 * i < n, OP = 0 add, 1 sub, 2 mul, 3 div. Each period is n (same shape), 1 (a scalar) or the
 * length C of the trailing axis (a bias-like broadcast, n % C == 0); the Python side checks. */
PB_EXPORT(pb_binary) void pb_binary(int op, const float *a, int a_period, const float *b, int b_period, float *y, int n) {
  int cols = 0;
  if (a_period != n && a_period != 1) cols = a_period;
  if (b_period != n && b_period != 1) cols = b_period;
  if (cols == 0) cols = pb_min(n, FLAT_ROW);   /* no trailing broadcast: any row length will do */
  if (cols <= 0 || n <= 0) return;
  binary_job j = {op, a, b, y, a_period, b_period, n, cols};
  pb_parallel_rows(binary_range, &j, (n + cols - 1) / cols, 3.0 * cols);
}

/* pb_scale(a, y, n, alpha, beta): y = a * alpha + beta. */
PB_EXPORT(pb_scale) void pb_scale(const float *a, float *y, int n, float alpha, float beta) {
  v128_t va = wasm_f32x4_splat(alpha), vb = wasm_f32x4_splat(beta);
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(a + i), va), vb));
  for (; i < n; i++) y[i] = a[i] * alpha + beta;
}

/* pb_activation(a, y, n, act): y = act(a) for ACT_RELU / ACT_RELU6. */
PB_EXPORT(pb_activation) void pb_activation(const float *a, float *y, int n, int act) {
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, pb_act_v(wasm_v128_load(a + i), act));
  for (; i < n; i++) y[i] = pb_act_s(a[i], act);
}

/* dx[0:n] = dy * act'(y), in terms of the OUTPUT y. */
static void activation_grad_run(const float *dy, const float *y, float *dx, int n, int act) {
  v128_t zero = wasm_f32x4_splat(0.f), six = wasm_f32x4_splat(6.f), one = wasm_f32x4_splat(1.f);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t g = wasm_v128_load(dy + i), v = wasm_v128_load(y + i), r;
    switch (act) {
      case ACT_RELU: r = wasm_v128_and(g, wasm_f32x4_gt(v, zero)); break;
      case ACT_RELU6: r = wasm_v128_and(g, wasm_v128_and(wasm_f32x4_gt(v, zero), wasm_f32x4_lt(v, six))); break;
      case ACT_SIGMOID: r = wasm_f32x4_mul(g, wasm_f32x4_mul(v, wasm_f32x4_sub(one, v))); break;
      case ACT_TANH: r = wasm_f32x4_mul(g, wasm_f32x4_sub(one, wasm_f32x4_mul(v, v))); break;
      default: r = g;
    }
    wasm_v128_store(dx + i, r);
  }
  for (; i < n; i++) {
    float g = dy[i], v = y[i];
    switch (act) {
      case ACT_RELU: dx[i] = v > 0.f ? g : 0.f; break;
      case ACT_RELU6: dx[i] = (v > 0.f && v < 6.f) ? g : 0.f; break;
      case ACT_SIGMOID: dx[i] = g * v * (1.f - v); break;
      case ACT_TANH: dx[i] = g * (1.f - v * v); break;
      default: dx[i] = g;
    }
  }
}

typedef struct { const float *dy, *y; float *dx; int n, act; } activation_grad_job;

static void activation_grad_range(void *ctx, int r0, int r1) {
  activation_grad_job *j = (activation_grad_job *)ctx;
  long off = (long)r0 * FLAT_ROW;
  int len = pb_min(j->n, r1 * FLAT_ROW) - (int)off;
  activation_grad_run(j->dy + off, j->y + off, j->dx + off, len, j->act);
}

/* pb_activation_grad(dy, y, dx, n, act): dx = dy * act'(.) written in terms of the OUTPUT y:
 * relu: y > 0; relu6: 0 < y < 6; sigmoid: y (1 - y); tanh: 1 - y^2. */
PB_EXPORT(pb_activation_grad) void pb_activation_grad(const float *dy, const float *y, float *dx, int n, int act) {
  activation_grad_job j = {dy, y, dx, n, act};
  pb_parallel_rows(activation_grad_range, &j, (n + FLAT_ROW - 1) / FLAT_ROW, 3.0 * FLAT_ROW);
}

/* block[c] = sum over r < nrows of x[r*cols + c]: 16 columns at a time in four v128 registers,
 * walking the (cache-resident) rows once per group, instead of a load and a store of block[] per row. */
static void column_sums(const float *x, int nrows, int cols, float *block) {
  int c = 0;
  for (; c + 16 <= cols; c += 16) {
    v128_t s0 = wasm_f32x4_splat(0.f), s1 = s0, s2 = s0, s3 = s0;
    for (int r = 0; r < nrows; r++) {
      const float *row = x + (long)r * cols + c;
      s0 = wasm_f32x4_add(s0, wasm_v128_load(row));
      s1 = wasm_f32x4_add(s1, wasm_v128_load(row + 4));
      s2 = wasm_f32x4_add(s2, wasm_v128_load(row + 8));
      s3 = wasm_f32x4_add(s3, wasm_v128_load(row + 12));
    }
    wasm_v128_store(block + c, s0);
    wasm_v128_store(block + c + 4, s1);
    wasm_v128_store(block + c + 8, s2);
    wasm_v128_store(block + c + 12, s3);
  }
  for (; c + 4 <= cols; c += 4) {
    v128_t s0 = wasm_f32x4_splat(0.f);
    for (int r = 0; r < nrows; r++) s0 = wasm_f32x4_add(s0, wasm_v128_load(x + (long)r * cols + c));
    wasm_v128_store(block + c, s0);
  }
  for (; c < cols; c++) {
    float s0 = 0.f;
    for (int r = 0; r < nrows; r++) s0 += x[(long)r * cols + c];
    block[c] = s0;
  }
}

/* -- fused: the backward of a layer ending in bias + activation ------------------------------------
 * dz = dy * act'(y) and the bias gradient sum_rows(dz) in one pass over dz while it is in cache,
 * instead of activation_grad then a second full read in bias_grad. Each row range keeps its own
 * partial column sums (float32 blocks of 64 rows added in float64, like pb_sum_rows), combined in
 * range order at the end, so the result does not depend on which thread ran which range. */
typedef struct { const float *dy, *y; float *dz; double *partials; int rows, cols, act, chunk; } act_bias_job;

static void activation_bias_grad_range(void *ctx, int r0, int r1) {
  act_bias_job *j = (act_bias_job *)ctx;
  const int cols = j->cols;
  double *total = j->partials + (long)(r0 / j->chunk) * (cols * 3 + 2);
  float *block = (float *)(total + cols);
  for (int c = 0; c < cols; c++) total[c] = 0.0;
  for (int b0 = r0; b0 < r1; b0 += 64) {
    int b1 = pb_min(r1, b0 + 64);
    long off = (long)b0 * cols;
    activation_grad_run(j->dy + off, j->y + off, j->dz + off, (b1 - b0) * cols, j->act);
    column_sums(j->dz + off, b1 - b0, cols, block);
    for (int c = 0; c < cols; c++) total[c] += block[c];
  }
}

/* pb_activation_bias_grad(dy, y, dz, db, rows, cols, act): dz (rows, cols) = dy * act'(y) (as
 * pb_activation_grad) and db[c] = sum over rows of dz[r, c]. */
PB_EXPORT(pb_activation_bias_grad)
void pb_activation_bias_grad(const float *dy, const float *y, float *dz, float *db, int rows, int cols, int act) {
  if (cols <= 0) return;
  const double floats_per_row = 3.0 * cols;
  int chunk = pb_rows_chunk(rows, floats_per_row), ranges = rows > 0 ? (rows + chunk - 1) / chunk : 0;
  /* per range: cols float64 totals + cols float32 block sums (+ slack for 8-byte alignment) */
  double *partials = (double *)pb_work(3, (size_t)(ranges > 0 ? ranges : 1) * (cols * 6 + 4));
  act_bias_job j = {dy, y, dz, partials, rows, cols, act, chunk};
  pb_parallel_rows(activation_bias_grad_range, &j, rows, floats_per_row);
  for (int c = 0; c < cols; c++) {
    double sum = 0.0;
    for (int k = 0; k < ranges; k++) sum += partials[(long)k * (cols * 3 + 2) + c];
    db[c] = (float)sum;
  }
}

/* pb_where_positive(a, y, n): y = 1.0 where a > 0 else 0.0. */
PB_EXPORT(pb_where_positive) void pb_where_positive(const float *a, float *y, int n) {
  v128_t zero = wasm_f32x4_splat(0.f), one = wasm_f32x4_splat(1.f);
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, wasm_v128_and(one, wasm_f32x4_gt(wasm_v128_load(a + i), zero)));
  for (; i < n; i++) y[i] = a[i] > 0.f ? 1.f : 0.f;
}

/* pb_sum_rows(x, out, rows, cols): out[c] = sum over r of x[r, c] (bias gradients, reducing a
 * trailing-axis broadcast). Blocks of 64 rows are summed in float32, blocks are added in float64,
 * so long columns (a batch of feature maps) keep float32 accuracy. */
PB_EXPORT(pb_sum_rows) void pb_sum_rows(const float *x, float *out, int rows, int cols) {
  double *total = (double *)pb_work(3, (size_t)cols * 2 + 2);
  float *block = out;   /* the per-block float32 sums live in out until the end */
  for (int c = 0; c < cols; c++) total[c] = 0.0;
  for (int r0 = 0; r0 < rows; r0 += 64) {
    int r1 = pb_min(rows, r0 + 64);
    column_sums(x + (long)r0 * cols, r1 - r0, cols, block);
    for (int c = 0; c < cols; c++) total[c] += block[c];
  }
  for (int c = 0; c < cols; c++) out[c] = (float)total[c];
}

/* pb_sum_all(x, out, n, scale): out[0] = scale * sum(x) (sum: scale 1; mean: scale 1/n).
 * Four float32x4 partial sums per block of 256, blocks added in float64. */
PB_EXPORT(pb_sum_all) void pb_sum_all(const float *x, float *out, int n, double scale) {
  double total = 0.0;
  for (int i0 = 0; i0 < n; i0 += 256) {
    int i1 = pb_min(n, i0 + 256), i = i0;
    v128_t s0 = wasm_f32x4_splat(0.f), s1 = s0;
    for (; i + 8 <= i1; i += 8) {
      s0 = wasm_f32x4_add(s0, wasm_v128_load(x + i));
      s1 = wasm_f32x4_add(s1, wasm_v128_load(x + i + 4));
    }
    s0 = wasm_f32x4_add(s0, s1);
    float part = wasm_f32x4_extract_lane(s0, 0) + wasm_f32x4_extract_lane(s0, 1) +
                 wasm_f32x4_extract_lane(s0, 2) + wasm_f32x4_extract_lane(s0, 3);
    for (; i < i1; i++) part += x[i];
    total += part;
  }
  out[0] = (float)(total * scale);
}
