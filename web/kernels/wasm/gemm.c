/* gemm.c - single-precision GEMM with WASM SIMD: C = act(beta * C + op(A) op(B) + bias).
 *
 * The classic Goto/BLIS structure, sized for this project's target (x86-64 V8/SpiderMonkey with 16
 * SIMD registers, 32-64 KiB L1, >= 512 KiB L2):
 *   - B is packed per (KC x NC) block into NR-wide column panels (zero-padded at the edge);
 *     a row-major A is read in place (four row streams, no packing pass: most of our GEMMs have a
 *     tall A and a small B, so packing A would cost as much as the arithmetic), a transposed A is
 *     packed per (MC x KC) block into MR-tall row panels; so one micro-kernel serves A, A^T, B, B^T;
 *   - the micro-kernel keeps an MR x NR tile of C in registers (MR=4 rows x NR=8 columns = 8 f32x4
 *     accumulators + 2 B vectors + 1 broadcast A value: 11 of the 16 registers, V8 keeps a few
 *     for itself; unrolling the K loop 4x measured 30% slower) and streams four A rows (or one
 *     packed A^T panel) against one packed B panel (L1);
 *   - on the last K block the tile is finished by the fused epilogue (bias + activation,
 *     epilogue.h) before it is stored, so the output is written exactly once.
 * Packing buffers: pb_work slot 0 (packed B, shared by the row tasks) and per-thread slot 1
 * (packed A^T); pb_gemm_serial takes its buffers from the caller (conv.c's per-thread tasks).
 * Threads (kernels_threads.wasm): the row blocks (MC rows) of each (KC x NC) block are tasks of
 * pb_parallel_for; every task reads the same packed B and writes its own rows of C.
 */
#include "epilogue.h"
#include "gemm.h"

#define MR 4
#define NR 8
#define KC 256
#define MC 96
#define NC 1024

/* Pack rows [i0, i0+mc) x depth [p0, p0+kc) of op(A) into MR-row panels: panel[p*MR + r].
 * Only used for a transposed A (a plain A is read in place by the micro-kernel). */
static void pack_a(const float *a, int lda, int trans_a, int m, int i0, int mc, int p0, int kc, float *dst) {
  for (int i = 0; i < mc; i += MR) {
    float *panel = dst + (long)i * kc;
    int rows = pb_min(MR, mc - i);
    if (!trans_a) {
      for (int r = 0; r < MR; r++) {
        if (r < rows) {
          const float *src = a + (long)(i0 + i + r) * lda + p0;
          for (int p = 0; p < kc; p++) panel[p * MR + r] = src[p];
        } else {
          for (int p = 0; p < kc; p++) panel[p * MR + r] = 0.f;
        }
      }
    } else {  /* A stored (k x m): row p of storage holds column p of op(A); 4 contiguous floats */
      for (int p = 0; p < kc; p++) {
        const float *src = a + (long)(p0 + p) * lda + i0 + i;
        if (rows == MR) {
          wasm_v128_store(panel + p * MR, wasm_v128_load(src));
        } else {
          for (int r = 0; r < MR; r++) panel[p * MR + r] = r < rows ? src[r] : 0.f;
        }
      }
    }
  }
}

/* Pack depth [p0, p0+kc) x columns [j0, j0+nc) of op(B) into NR-column panels: panel[p*NR + c]. */
static void pack_b(const float *b, int ldb, int trans_b, int n, int j0, int nc, int p0, int kc, float *dst) {
  for (int j = 0; j < nc; j += NR) {
    float *panel = dst + (long)j * kc;
    int cols = pb_min(NR, nc - j);
    if (!trans_b) {
      for (int p = 0; p < kc; p++) {
        const float *src = b + (long)(p0 + p) * ldb + j0 + j;
        float *d = panel + p * NR;
        if (cols == NR) {
          wasm_v128_store(d, wasm_v128_load(src));
          wasm_v128_store(d + 4, wasm_v128_load(src + 4));
        } else {
          for (int c = 0; c < NR; c++) d[c] = c < cols ? src[c] : 0.f;
        }
      }
    } else {  /* B stored (n x k): column c of op(B) is row c of storage */
      for (int c = 0; c < NR; c++) {
        if (c < cols) {
          const float *src = b + (long)(j0 + j + c) * ldb + p0;
          for (int p = 0; p < kc; p++) panel[p * NR + c] = src[p];
        } else {
          for (int p = 0; p < kc; p++) panel[p * NR + c] = 0.f;
        }
      }
    }
  }
}

/* One MR x NR tile: acc = Ap . Bp over kc; then C = [C +] acc, and on the last K block the
 * epilogue. `load_c`: add the tile's current C (accumulating over K blocks or beta = 1). */
static void micro_kernel(int kc, const float *a0, const float *a1, const float *a2, const float *a3, int astep,
                         const float *bp, float *c, int ldc, int rows, int cols,
                         int load_c, int last, const float *bias, int act) {
  /* The four A rows come either from a packed panel (a_r = panel + r, astep = MR) or straight
   * from a row-major A (a_r = row r, astep = 1): same loads, no packing pass for plain A. */
  v128_t c00 = wasm_f32x4_splat(0.f), c01 = c00, c10 = c00, c11 = c00;
  v128_t c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int p = 0; p < kc; p++) {
    v128_t b0 = wasm_v128_load(bp), b1 = wasm_v128_load(bp + 4);
    v128_t a = wasm_v128_load32_splat(a0);
    c00 = PB_MADD(a, b0, c00);
    c01 = PB_MADD(a, b1, c01);
    a = wasm_v128_load32_splat(a1);
    c10 = PB_MADD(a, b0, c10);
    c11 = PB_MADD(a, b1, c11);
    a = wasm_v128_load32_splat(a2);
    c20 = PB_MADD(a, b0, c20);
    c21 = PB_MADD(a, b1, c21);
    a = wasm_v128_load32_splat(a3);
    c30 = PB_MADD(a, b0, c30);
    c31 = PB_MADD(a, b1, c31);
    a0 += astep;
    a1 += astep;
    a2 += astep;
    a3 += astep;
    bp += NR;
  }
  v128_t acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
  float tile[MR * NR] __attribute__((aligned(16)));
  int full = rows == MR && cols == NR;
  /* edge tiles go through a local buffer so the vector code below is the same for all tiles */
  float *dst = full ? c : tile;
  int ld = full ? ldc : NR;
  if (!full && load_c) {
    for (int r = 0; r < rows; r++)
      for (int q = 0; q < cols; q++) tile[r * NR + q] = c[(long)r * ldc + q];
  }
  v128_t bias0 = wasm_f32x4_splat(0.f), bias1 = bias0;
  if (last && bias) {
    if (cols == NR) {
      bias0 = wasm_v128_load(bias);
      bias1 = wasm_v128_load(bias + 4);
    } else {
      float bb[NR] __attribute__((aligned(16))) = {0};
      for (int q = 0; q < cols; q++) bb[q] = bias[q];
      bias0 = wasm_v128_load(bb);
      bias1 = wasm_v128_load(bb + 4);
    }
  }
  for (int r = 0; r < MR; r++) {
    if (r >= rows) break;
    float *row = dst + (long)r * ld;
    v128_t v0 = acc[r][0], v1 = acc[r][1];
    if (load_c) {
      v0 = wasm_f32x4_add(v0, wasm_v128_load(row));
      v1 = wasm_f32x4_add(v1, wasm_v128_load(row + 4));
    }
    if (last) {
      v0 = pb_act_v(wasm_f32x4_add(v0, bias0), act);
      v1 = pb_act_v(wasm_f32x4_add(v1, bias1), act);
    }
    wasm_v128_store(row, v0);
    wasm_v128_store(row + 4, v1);
  }
  if (!full) {
    for (int r = 0; r < rows; r++)
      for (int q = 0; q < cols; q++) c[(long)r * ldc + q] = tile[r * NR + q];
  }
}

/* One GEMM call: operands, and the (j0, p0) block whose packed B the row tasks share. */
typedef struct Gemm {
  const float *a, *b, *bias;
  float *c;
  int lda, trans_a, ldb, trans_b, ldc, m, n, k, act, accumulate;
  int j0, nc, p0, kc, load_c, last;
  int task_rows;   /* rows per parallel task (a multiple of MR, <= MC) */
  const float *bp;
} Gemm;

/* Rows [i0, i0+mc) of C for the current (j0, p0) block. `ap`: packing space for a transposed A. */
static void gemm_rows(const Gemm *g, int i0, int mc, float *ap) {
  if (g->trans_a) pack_a(g->a, g->lda, 1, g->m, i0, mc, g->p0, g->kc, ap);
  for (int j = 0; j < g->nc; j += NR) {
    const float *bpanel = g->bp + (long)j * g->kc;
    const float *bias_j = g->bias ? g->bias + g->j0 + j : 0;
    int cols = pb_min(NR, g->nc - j);
    for (int i = 0; i < mc; i += MR) {
      int rows = pb_min(MR, mc - i);
      float *ct = g->c + (long)(i0 + i) * g->ldc + g->j0 + j;
      if (g->trans_a) {
        const float *panel = ap + (long)i * g->kc;
        micro_kernel(g->kc, panel, panel + 1, panel + 2, panel + 3, MR, bpanel, ct, g->ldc, rows, cols,
                     g->load_c, g->last, bias_j, g->act);
      } else {
        /* rows past the edge re-read the tile's first row; their results are not stored */
        long lda = g->lda;
        const float *r0 = g->a + (long)(i0 + i) * lda + g->p0;
        micro_kernel(g->kc, r0, rows > 1 ? r0 + lda : r0, rows > 2 ? r0 + 2 * lda : r0, rows > 3 ? r0 + 3 * lda : r0,
                     1, bpanel, ct, g->ldc, rows, cols, g->load_c, g->last, bias_j, g->act);
      }
    }
  }
}

static void gemm_rows_task(void *ctx, int task, int thread) {
  const Gemm *g = (const Gemm *)ctx;
  int i0 = task * g->task_rows;
  gemm_rows(g, i0, pb_min(g->task_rows, g->m - i0), pb_work_of(1, thread));
}

void pb_gemm_buffer_sizes(int m, int n, int k, int trans_a, size_t *bp_floats, size_t *ap_floats) {
  int nc_max = pb_min(NC, (n + NR - 1) / NR * NR);
  int kc_max = pb_min(KC, k);
  *bp_floats = (size_t)nc_max * kc_max;
  *ap_floats = trans_a ? (size_t)MC * kc_max : 0;
}

/* The blocked loops; `parallel`: split each block's rows over the thread pool (main thread only). */
static void gemm_run(Gemm *g, float *bp, float *ap, int parallel) {
  if (g->m <= 0 || g->n <= 0) return;
  if (g->k <= 0) {  /* no products: C = act(beta * C + bias) */
    if (!g->accumulate)
      for (int i = 0; i < g->m; i++) memset(g->c + (long)i * g->ldc, 0, (size_t)g->n * 4);
    pb_bias_act_rows(g->c, g->bias, g->m, g->n, g->ldc, g->act);
    return;
  }
  g->bp = bp;
  /* >= 4 tasks per thread so that the threads finish together; whole MR tiles */
  int per_task = (g->m + 4 * pb_thread_count() - 1) / (4 * pb_thread_count());
  g->task_rows = pb_min(MC, pb_max(MR, (per_task + MR - 1) / MR * MR));
  for (g->j0 = 0; g->j0 < g->n; g->j0 += NC) {
    g->nc = pb_min(NC, g->n - g->j0);
    for (g->p0 = 0; g->p0 < g->k; g->p0 += KC) {
      g->kc = pb_min(KC, g->k - g->p0);
      g->last = g->p0 + g->kc >= g->k;
      g->load_c = g->accumulate || g->p0 > 0;
      pack_b(g->b, g->ldb, g->trans_b, g->n, g->j0, g->nc, g->p0, g->kc, bp);
      if (parallel) {
        pb_parallel_for(gemm_rows_task, g, (g->m + g->task_rows - 1) / g->task_rows);
      } else {
        for (int i0 = 0; i0 < g->m; i0 += MC) gemm_rows(g, i0, pb_min(MC, g->m - i0), ap);
      }
    }
  }
}

/* Worth splitting over threads: enough rows for two tasks and enough work to pay the wake-up. */
static int gemm_parallel(int m, int n, int k) {
  return pb_thread_count() > 1 && m >= 8 * MR && 2.0 * m * n * k >= PB_PARALLEL_MIN_FLOPS;
}

void pb_gemm_serial(const float *a, int lda, int trans_a, const float *b, int ldb, int trans_b, float *c, int ldc,
                    int m, int n, int k, const float *bias, int act, int accumulate, float *bp, float *ap) {
  Gemm g = {a, b, bias, c, lda, trans_a, ldb, trans_b, ldc, m, n, k, act, accumulate, 0, 0, 0, 0, 0, 0, MC, 0};
  gemm_run(&g, bp, ap, 0);
}

void pb_gemm_core(const float *a, int lda, int trans_a, const float *b, int ldb, int trans_b, float *c, int ldc,
                  int m, int n, int k, const float *bias, int act, int accumulate) {
  Gemm g = {a, b, bias, c, lda, trans_a, ldb, trans_b, ldc, m, n, k, act, accumulate, 0, 0, 0, 0, 0, 0, MC, 0};
  size_t bp_n, ap_n;
  pb_gemm_buffer_sizes(m, n, k, trans_a, &bp_n, &ap_n);
  float *bp = pb_work(0, bp_n);
  int parallel = gemm_parallel(m, n, k);
  float *ap = 0;
  if (ap_n) {
    pb_work_threads(1, ap_n);  /* thread 0's slot doubles as the serial buffer */
    ap = pb_work_of(1, 0);
  }
  gemm_run(&g, bp, ap, parallel);
}

/* pb_gemm(a, lda, trans_a, b, ldb, trans_b, c, ldc, m, n, k, bias_or_0, act, accumulate):
 *   C[m x n] (row stride ldc) = act(accumulate * C + op(A) @ op(B) + bias[n]).
 *   op(A) is m x k: A stored row-major (m x k, stride lda) or, with trans_a, (k x m, stride lda).
 *   op(B) is k x n: B stored (k x n, stride ldb) or, with trans_b, (n x k, stride ldb). */
PB_EXPORT(pb_gemm) void pb_gemm(const float *a, int lda, int trans_a, const float *b, int ldb, int trans_b,
                                float *c, int ldc, int m, int n, int k, const float *bias, int act, int accumulate) {
  pb_gemm_core(a, lda, trans_a, b, ldb, trans_b, c, ldc, m, n, k, bias, act, accumulate);
}

/* -- benchmark hooks (scripts/bench and the measurements in the report) ----------------------- */

/* pb_bench_fma_peak(iters): the practical ceiling of a SIMD multiply-add loop on this engine, for
 * judging the GEMM: iters x 8 independent f32x4 "acc += a * b" (PB_MADD: mul + add in the plain
 * build, one f32x4.relaxed_madd in the relaxed one) with b streamed from a small L1-resident
 * buffer, i.e. a micro-kernel with zero cache misses, no packing and no edges. FLOPs = iters * 64.
 * The result depends on every accumulator so nothing is optimised away. */
PB_EXPORT(pb_bench_fma_peak) float pb_bench_fma_peak(int iters) {
  static float buf[64] __attribute__((aligned(16)));
  for (int i = 0; i < 64; i++) buf[i] = 1e-6f * (float)i;
  /* 8 accumulators + 4 multipliers + 2 loaded vectors = 14 of 16 registers: no spills */
  v128_t x0 = wasm_f32x4_splat(0.5f), x1 = wasm_f32x4_splat(0.25f), x2 = wasm_f32x4_splat(0.125f);
  v128_t x3 = wasm_f32x4_splat(1.5f);
  v128_t a0 = wasm_f32x4_splat(0.f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
#define PB_PEAK_STEP(off)                                                              \
  {                                                                                    \
    v128_t b0 = wasm_v128_load(buf + (off)), b1 = wasm_v128_load(buf + (off) + 4);    \
    a0 = PB_MADD(x0, b0, a0); a1 = PB_MADD(x0, b1, a1);                                \
    a2 = PB_MADD(x1, b0, a2); a3 = PB_MADD(x1, b1, a3);                                \
    a4 = PB_MADD(x2, b0, a4); a5 = PB_MADD(x2, b1, a5);                                \
    a6 = PB_MADD(x3, b0, a6); a7 = PB_MADD(x3, b1, a7);                                \
  }
  /* unrolled 8x so loop overhead does not count against the arithmetic; iters rounds down to 8 */
  for (int i = 0; i + 8 <= iters; i += 8) {
    PB_PEAK_STEP(0) PB_PEAK_STEP(8) PB_PEAK_STEP(16) PB_PEAK_STEP(24)
    PB_PEAK_STEP(32) PB_PEAK_STEP(40) PB_PEAK_STEP(48) PB_PEAK_STEP(56)
  }
#undef PB_PEAK_STEP
  v128_t s = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3)),
                            wasm_f32x4_add(wasm_f32x4_add(a4, a5), wasm_f32x4_add(a6, a7)));
  return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 3);
}

/* pb_bench_gemm(a, b, c, n, reps): reps x (n x n x n) GEMMs on caller-provided buffers. */
PB_EXPORT(pb_bench_gemm) void pb_bench_gemm(const float *a, const float *b, float *c, int n, int reps) {
  for (int r = 0; r < reps; r++) pb_gemm_core(a, n, 0, b, n, 0, c, n, n, n, n, 0, ACT_NONE, 0);
}
