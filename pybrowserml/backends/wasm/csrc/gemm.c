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
 *     for itself; unrolling the K loop 4x measured 30% slower, 2x 35% slower) and streams four A
 *     rows (or one packed A^T panel) against one packed B panel;
 *   - a row-major A goes strip by strip (MR rows, all B panels for each strip: the strip stays in
 *     L1), a packed A^T panel by panel (Goto's order, B panel in L1);
 *   - conv grad_filter's A^T B with whole tiles skips packing altogether (gemm_stream);
 *   - K is cut into equal blocks of at most KC; the bias is the accumulators' starting value on
 *     the first block and the activation is applied on the last, as the tile is stored, so the
 *     output is written once per K block (once in all for our convs, K <= 192).
 * Packing buffers: pb_work slot 0 (packed B, shared by the row tasks) and per-thread slot 1
 * (packed A^T); pb_gemm_serial takes its buffers from the caller (conv.c's per-thread tasks).
 * Threads (kernels_threads.wasm): the row blocks (MC rows) of each (KC x NC) block are tasks of
 * pb_parallel_for; every task reads the same packed B and writes its own rows of C.
 */
#include "epilogue.h"
#include "gemm.h"
#include "gemm_tiles.h"


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


/* One GEMM call: operands, and the (j0, p0) block whose packed B the row tasks share. */
typedef struct Gemm {
  const float *a, *b, *bias;
  float *c;
  int lda, trans_a, ldb, trans_b, ldc, m, n, k, act, accumulate;
  int j0, nc, p0, kc, load_c, act_now, bias_now;
  int task_rows;   /* rows per parallel task (a multiple of MR, <= MC) */
  const float *bp; /* packed B block */
  float *biasp;    /* bias[j0 .. j0+nc), zero-padded to whole panels */
} Gemm;

/* Rows [i0, i0+mc) of a row-major A: each MR-row strip meets every B panel while its rows
 * (MR x kc floats, a few KiB) are in L1; B (at most NC x KC, our convs' is <= 48 KiB) is reread
 * from L1/L2 instead. */
static void gemm_rows_plain(const Gemm *g, int i0, int mc) {
  long lda = g->lda;
  v128_t zero = wasm_f32x4_splat(0.f);
  for (int i = 0; i < mc; i += MR) {
    int rows = pb_min(MR, mc - i);
    /* rows past the edge re-read the strip's first row; their results are not stored */
    const float *r0 = g->a + (long)(i0 + i) * lda + g->p0;
    const float *r1 = rows > 1 ? r0 + lda : r0, *r2 = rows > 2 ? r0 + 2 * lda : r0, *r3 = rows > 3 ? r0 + 3 * lda : r0;
    float *crow = g->c + (long)(i0 + i) * g->ldc + g->j0;
    for (int j = 0; j < g->nc; j += NR) {
      v128_t init0 = g->bias_now ? wasm_v128_load(g->biasp + j) : zero;
      v128_t init1 = g->bias_now ? wasm_v128_load(g->biasp + j + 4) : zero;
      tile(g->kc, r0, r1, r2, r3, 1, g->bp + (long)j * g->kc, crow + j, g->ldc, rows, pb_min(NR, g->nc - j),
           init0, init1, g->load_c, g->act_now);
    }
  }
}

/* Rows [i0, i0+mc) of a transposed A, packed into `ap` first (MR-row panels); the classic order:
 * each B panel (L1) meets every A panel of the block (L2). */
static void gemm_rows_packed(const Gemm *g, int i0, int mc, float *ap) {
  v128_t zero = wasm_f32x4_splat(0.f);
  pack_a(g->a, g->lda, 1, g->m, i0, mc, g->p0, g->kc, ap);
  for (int j = 0; j < g->nc; j += NR) {
    const float *bpanel = g->bp + (long)j * g->kc;
    v128_t init0 = g->bias_now ? wasm_v128_load(g->biasp + j) : zero;
    v128_t init1 = g->bias_now ? wasm_v128_load(g->biasp + j + 4) : zero;
    int cols = pb_min(NR, g->nc - j);
    for (int i = 0; i < mc; i += MR) {
      const float *panel = ap + (long)i * g->kc;
      tile(g->kc, panel, panel + 1, panel + 2, panel + 3, MR, bpanel, g->c + (long)(i0 + i) * g->ldc + g->j0 + j,
           g->ldc, pb_min(MR, mc - i), cols, init0, init1, g->load_c, g->act_now);
    }
  }
}

static void gemm_rows(const Gemm *g, int i0, int mc, float *ap) {
  if (g->trans_a) gemm_rows_packed(g, i0, mc, ap);
  else gemm_rows_plain(g, i0, mc);
}

static void gemm_rows_task(void *ctx, int task, int thread) {
  const Gemm *g = (const Gemm *)ctx;
  int i0 = task * g->task_rows;
  gemm_rows(g, i0, pb_min(g->task_rows, g->m - i0), pb_work_of(1, thread));
}

/* C = A^T B with A (k x m) and B (k x n) both row-major and whole tiles only: both operands are
 * read in place, no packing. In conv grad_filter (x^T dz over thousands of pixels) each x value
 * meets only n/NR B panels and each dz value m/MR strips, so packing them is a large share of the
 * work (measured 5-20% faster without, m = 16..192, n = 32/64). K goes in blocks of STREAM_KC rows:
 * a strip's A rows and the block's B rows then stay in L1 while every B panel meets the strip. Not
 * for rows of A 512 bytes apart or a multiple of it: STREAM_KC such rows fall into a few L1 sets
 * and evict each other (measured slower at m = 128). Nor for a large C, which is reread and
 * rewritten once per K block: up to STREAM_MAX_C floats it stays in L2 (conv filters: <= 12K). */
#define STREAM_KC 64
#define STREAM_MAX_C 65536

static int streamable(const Gemm *g) {
  return g->trans_a && !g->trans_b && g->m % MR == 0 && g->n % NR == 0 && g->lda % 128 != 0 &&
         (long)g->m * g->n <= STREAM_MAX_C;
}

static void gemm_stream(const Gemm *g) {
  v128_t zero = wasm_f32x4_splat(0.f);
  long lda = g->lda, ldb = g->ldb;
  for (int p0 = 0; p0 < g->k; p0 += STREAM_KC) {
    int kc = pb_min(STREAM_KC, g->k - p0);
    int load_c = g->accumulate || p0 > 0, act = p0 + kc >= g->k ? g->act : ACT_NONE;
    int bias_now = g->bias && p0 == 0;
    for (int i = 0; i < g->m; i += MR) {
      const float *a = g->a + p0 * lda + i;
      for (int j = 0; j < g->n; j += NR) {
        v128_t init0 = bias_now ? wasm_v128_load(g->bias + j) : zero;
        v128_t init1 = bias_now ? wasm_v128_load(g->bias + j + 4) : zero;
        tile_full(kc, a, a + 1, a + 2, a + 3, lda, g->b + p0 * ldb + j, ldb, g->c + (long)i * g->ldc + j, g->ldc,
                  init0, init1, load_c, act);
      }
    }
  }
}

/* The packed B block, then the padded bias after it. */
void pb_gemm_buffer_sizes(int m, int n, int k, int trans_a, size_t *bp_floats, size_t *ap_floats) {
  int nc_max = pb_min(NC, (n + NR - 1) / NR * NR);
  int kc_max = pb_min(KC, k);
  *bp_floats = (size_t)nc_max * kc_max + nc_max;
  *ap_floats = trans_a ? (size_t)MC * kc_max : 0;
}

static void pack_bias(const float *bias, int j0, int nc, float *dst) {
  int padded = (nc + NR - 1) / NR * NR;
  for (int q = 0; q < padded; q++) dst[q] = q < nc ? bias[j0 + q] : 0.f;
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
  if (!parallel && streamable(g)) {
    gemm_stream(g);
    return;
  }
  g->bp = bp;
  g->biasp = bp + (long)pb_min(NC, (g->n + NR - 1) / NR * NR) * pb_min(KC, g->k);
  /* >= 4 tasks per thread so that the threads finish together; whole MR tiles */
  int per_task = (g->m + 4 * pb_thread_count() - 1) / (4 * pb_thread_count());
  g->task_rows = pb_min(MC, pb_max(MR, (per_task + MR - 1) / MR * MR));
  /* equal K blocks: 300 = 150 + 150, not 256 + 44 (a short block pays the per-tile costs for
   * few products) */
  int kblocks = (g->k + KC - 1) / KC, kstep = (g->k + kblocks - 1) / kblocks;
  for (g->j0 = 0; g->j0 < g->n; g->j0 += NC) {
    g->nc = pb_min(NC, g->n - g->j0);
    if (g->bias) pack_bias(g->bias, g->j0, g->nc, g->biasp);
    for (g->p0 = 0; g->p0 < g->k; g->p0 += kstep) {
      g->kc = pb_min(kstep, g->k - g->p0);
      g->act_now = g->p0 + g->kc >= g->k ? g->act : ACT_NONE;
      g->bias_now = g->bias && g->p0 == 0;
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
  Gemm g = {a, b, bias, c, lda, trans_a, ldb, trans_b, ldc, m, n, k, act, accumulate, 0, 0, 0, 0, 0, 0, 0, MC, 0, 0};
  gemm_run(&g, bp, ap, 0);
}

void pb_gemm_core(const float *a, int lda, int trans_a, const float *b, int ldb, int trans_b, float *c, int ldc,
                  int m, int n, int k, const float *bias, int act, int accumulate) {
  Gemm g = {a, b, bias, c, lda, trans_a, ldb, trans_b, ldc, m, n, k, act, accumulate, 0, 0, 0, 0, 0, 0, 0, MC, 0, 0};
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
