/* grouped_gemm.c - the grouped (block-diagonal) dense kernels: every group's product in one pass.
 *
 * Students packed side by side along the channels (pybrowserml.compression) run their 1x1 convs and
 * dense heads as one layer whose weight is block-diagonal: group g multiplies its own input columns by
 * its own (K_g x units_g) block into its own output columns. A group reads one or several runs of the
 * input's columns: the packed channels of a dense block's concat are the concat's parts side by side,
 * each holding every student's channels, so a student's share is one run per part.
 *
 * One GEMM per group over the packed arrays would read every row of the input (and write every row of
 * the output) once per group, each time using a few floats of each cache line: measured 20-40% slower
 * than the students' own GEMMs on their own arrays. So the groups take turns within each strip of
 * rows instead: a 4-row strip of the packed input is read once into L1 and every group's tiles run on
 * it (gemm_tiles.h's micro-kernel, its K runs read in place one after another with the accumulators in
 * registers), writing the strip's output columns of every group. The filter gradient goes the same way
 * over blocks of rows (the sum over pixels): each block of the input and the output gradient is read
 * once for all groups. The groups' B blocks are packed once per call. A group with more than KC input
 * features takes a copying path (its runs gathered, then pb_gemm_core).
 *
 * `groups` (int32, built by kernels/gemm.py from the checked plan): the group count, then per group
 * units, out_start, w_start (its block's first entry in the flat weight), the run count and one
 * (start, width) pair per run.
 */
#include "gemm.h"
#include "gemm_tiles.h"

#define GROUP_HEADER 4
#define MAX_GROUPS 64 /* kernels/gemm.py hands more groups to numpy */
#define WEIGHT_KB 128 /* rows (pixels) per block of the filter gradient: its operands stay in cache */

typedef struct Group {
  int units, out, w_start, nrun, k;
  const int *run;
} Group;

static int parse_groups(const int *groups, Group *out) {
  const int count = *groups++;
  for (int g = 0; g < count; g++) {
    Group *p = out + g;
    p->units = groups[0];
    p->out = groups[1];
    p->w_start = groups[2];
    p->nrun = groups[3];
    p->run = groups + GROUP_HEADER;
    p->k = 0;
    for (int s = 0; s < p->nrun; s++) p->k += p->run[2 * s + 1];
    groups = p->run + 2 * p->nrun;
  }
  return count;
}

/* The stored column of logical column i of runs (start, width)..., and in *left how many logical columns
 * from i on stay in the same run. */
static int run_column(const int *run, int nrun, int i, int *left) {
  for (int s = 0; s < nrun; s++) {
    if (i < run[2 * s + 1]) {
      *left = run[2 * s + 1] - i;
      return run[2 * s] + i;
    }
    i -= run[2 * s + 1];
  }
  *left = 0;
  return 0;
}

/* -- the strip-by-strip driver: forward and input gradient ----------------------------------------------- */

/* One B panel of a group: C's stored columns col .. col+cols, packed B at bp + boff, bias at biasp + bias_off. */
typedef struct Panel {
  int col, cols, boff, bias_off;
} Panel;

/* A group's product in the strip driver: A's K columns are the runs arun (read in place), its panels
 * panel[first .. first+count). */
typedef struct RowGroup {
  const int *arun;
  int narun, k, first, count;
  int own_run[2]; /* the input gradient's one run: the output gradient's columns (out, units) */
} RowGroup;

typedef struct RowJob {
  const float *a, *bp, *biasp;
  float *c;
  int lda, ldc, m, act, task_rows, count;
  const Panel *panel;
  RowGroup group[MAX_GROUPS];
} RowJob;

/* One tile of C: its A strip's K runs one after another, the accumulators in registers throughout; stored
 * whole, cut at `cols` columns (lane stores), or through a local tile for the strip's last rows. */
PB_INLINE void tile_runs(const RowGroup *rg, const float *r0, const float *r1, const float *r2, const float *r3,
                         const float *bp, float *c, int ldc, int rows, int cols, v128_t init0, v128_t init1,
                         int act) {
  if (rg->narun == 1) { /* one run: gemm.c's own tiles */
    const int start = rg->arun[0];
    tile(rg->k, r0 + start, r1 + start, r2 + start, r3 + start, 1, bp, c, ldc, rows, cols, init0, init1, 0, act);
    return;
  }
  v128_t c00 = init0, c01 = init1, c10 = init0, c11 = init1;
  v128_t c20 = init0, c21 = init1, c30 = init0, c31 = init1;
  for (int s = 0; s < rg->narun; s++) {
    const int start = rg->arun[2 * s], width = rg->arun[2 * s + 1];
    tile_products(width, r0 + start, r1 + start, r2 + start, r3 + start, 1, bp, NR, &c00, &c01, &c10, &c11, &c20,
                  &c21, &c30, &c31);
    bp += (long)width * NR;
  }
  if (rows == MR && cols == NR) {
    tile_store_row(c, c00, c01, 0, act);
    tile_store_row(c + ldc, c10, c11, 0, act);
    tile_store_row(c + 2 * ldc, c20, c21, 0, act);
    tile_store_row(c + 3 * ldc, c30, c31, 0, act);
  } else if (rows == MR) {
    tile_store_cols(c, c00, c01, cols, 0, act);
    tile_store_cols(c + ldc, c10, c11, cols, 0, act);
    tile_store_cols(c + 2 * ldc, c20, c21, cols, 0, act);
    tile_store_cols(c + 3 * ldc, c30, c31, cols, 0, act);
  } else {
    float t[MR * NR] __attribute__((aligned(16)));
    tile_store_row(t, c00, c01, 0, act);
    tile_store_row(t + NR, c10, c11, 0, act);
    tile_store_row(t + 2 * NR, c20, c21, 0, act);
    tile_store_row(t + 3 * NR, c30, c31, 0, act);
    for (int r = 0; r < rows; r++)
      for (int q = 0; q < cols; q++) c[(long)r * ldc + q] = t[r * NR + q];
  }
}

static void rows_task(void *ctx, int task, int thread) {
  const RowJob *j = (const RowJob *)ctx;
  const v128_t zero = wasm_f32x4_splat(0.f);
  const int i0 = task * j->task_rows, i1 = pb_min(j->m, i0 + j->task_rows);
  for (int i = i0; i < i1; i += MR) {
    const int rows = pb_min(MR, i1 - i);
    /* rows past the edge re-read the strip's first row; their results are not stored */
    const float *r0 = j->a + (long)i * j->lda;
    const float *r1 = rows > 1 ? r0 + j->lda : r0, *r2 = rows > 2 ? r0 + 2 * j->lda : r0;
    const float *r3 = rows > 3 ? r0 + 3 * j->lda : r0;
    float *crow = j->c + (long)i * j->ldc;
    for (int g = 0; g < j->count; g++) {
      const RowGroup *rg = j->group + g;
      for (int q = rg->first; q < rg->first + rg->count; q++) {
        const Panel *p = j->panel + q;
        v128_t init0 = j->biasp ? wasm_v128_load(j->biasp + p->bias_off) : zero;
        v128_t init1 = j->biasp ? wasm_v128_load(j->biasp + p->bias_off + 4) : zero;
        tile_runs(rg, r0, r1, r2, r3, j->bp + p->boff, crow + p->col, j->ldc, rows, p->cols, init0, init1, j->act);
      }
    }
  }
}

/* Panels (and their packed B and bias) for C's runs crun of one group, B (K x N, or stored N x K with
 * trans_b) of k rows; appended at panel[*count], packed at bp + *boff, bias at biasp + *bias_off. */
static void pack_group(const float *b, int ldb, int trans_b, int n, int k, const float *bias, const int *crun,
                       int ncrun, Panel *panel, int *count, float *bp, int *boff, float *biasp, int *bias_off) {
  for (int s = 0, logical = 0; s < ncrun; logical += crun[2 * s + 1], s++) {
    const int width = crun[2 * s + 1], padded = (width + NR - 1) / NR * NR;
    pack_b(b, ldb, trans_b, n, logical, width, 0, k, bp + *boff);
    for (int q = 0; q < padded && biasp; q++) biasp[*bias_off + q] = bias && q < width ? bias[logical + q] : 0.f;
    for (int j = 0; j < width; j += NR) {
      panel[*count] = (Panel){crun[2 * s] + j, pb_min(NR, width - j), *boff + j * k, *bias_off + j};
      (*count)++;
    }
    *boff += padded * k;
    *bias_off += padded;
  }
}

/* A group with more than KC features: its A runs gathered into a contiguous buffer per chunk of rows, then
 * one pb_gemm_core (its C runs written through a second buffer when there are several). */
static void rows_copying(const float *a, int lda, const Group *gr, int forward, const float *w, const float *bias,
                         float *c, int ldc, int m, int act) {
  const int units = gr->units, k = gr->k;
  const int *arun = forward ? gr->run : 0, *crun = forward ? 0 : gr->run;
  const int nk = forward ? k : units, nn = forward ? units : k;
  const int chunk = pb_max(MR, (16384 / pb_max(1, nk + nn)) & ~3);
  float *ta = pb_work(3, (size_t)chunk * (nk + nn));
  float *tc = ta + (size_t)chunk * nk;
  for (int r0 = 0; r0 < m; r0 += chunk) {
    const int rows = pb_min(chunk, m - r0);
    const float *ar = a + (long)r0 * lda;
    if (arun) {
      for (int r = 0; r < rows; r++)
        for (int s = 0, at = 0; s < gr->nrun; at += arun[2 * s + 1], s++)
          for (int q = 0; q < arun[2 * s + 1]; q++) ta[(long)r * nk + at + q] = ar[(long)r * lda + arun[2 * s] + q];
    } else {
      for (int r = 0; r < rows; r++)
        for (int q = 0; q < nk; q++) ta[(long)r * nk + q] = ar[(long)r * lda + gr->out + q];
    }
    if (forward) {
      pb_gemm_core(ta, nk, 0, w + gr->w_start, units, 0, c + (long)r0 * ldc + gr->out, ldc, rows, units, k,
                   bias ? bias + gr->out : 0, act, 0);
      continue;
    }
    pb_gemm_core(ta, nk, 0, w + gr->w_start, units, 1, tc, nn, rows, nn, units, 0, ACT_NONE, 0);
    for (int r = 0; r < rows; r++)
      for (int s = 0, at = 0; s < gr->nrun; at += crun[2 * s + 1], s++)
        for (int q = 0; q < crun[2 * s + 1]; q++) c[(long)(r0 + r) * ldc + crun[2 * s] + q] = tc[(long)r * nn + at + q];
  }
}

/* forward: y[:, out_g..] = act(x[:, runs_g] @ W_g + bias); input gradient: dx[:, runs_g] = dz[:, out_g..] @ W_g^T. */
static void grouped_rows(int forward, const float *a, int lda, const float *w, const float *bias, float *c, int ldc,
                         int m, const int *groups, int act) {
  Group gr[MAX_GROUPS];
  const int count = parse_groups(groups, gr);
  if (m <= 0 || count <= 0) return;
  /* sizes of the packed B blocks and of the panel list */
  size_t floats = 0, bias_floats = 0;
  int panels = 0;
  for (int g = 0; g < count; g++) {
    if (gr[g].k > KC) continue;
    const int *crun = forward ? 0 : gr[g].run;
    const int ncrun = forward ? 1 : gr[g].nrun, k = forward ? gr[g].k : gr[g].units;
    for (int s = 0; s < ncrun; s++) {
      const int width = crun ? crun[2 * s + 1] : gr[g].units, padded = (width + NR - 1) / NR * NR;
      floats += (size_t)padded * k;
      bias_floats += padded;
      panels += padded / NR;
    }
  }
  float *bp = pb_work(1, floats + bias_floats + 4 * panels + 4);
  float *biasp = forward && bias ? bp + floats : 0;
  Panel *panel = (Panel *)(bp + floats + bias_floats);
  RowJob job = {a, bp, biasp, c, lda, ldc, m, forward ? act : ACT_NONE, 0, 0, panel, {{0}}};
  int npanel = 0, boff = 0, bias_off = 0;
  for (int g = 0; g < count; g++) {
    const Group *p = gr + g;
    if (p->k > KC) continue;
    RowGroup *rg = job.group + job.count++;
    rg->first = npanel;
    if (forward) {
      const int crun[2] = {p->out, p->units};
      rg->arun = p->run;
      rg->narun = p->nrun;
      rg->k = p->k;
      pack_group(w + p->w_start, p->units, 0, p->units, p->k, bias ? bias + p->out : 0, crun, 1, panel, &npanel, bp,
                 &boff, biasp, &bias_off);
    } else {
      rg->own_run[0] = p->out;
      rg->own_run[1] = p->units;
      rg->arun = rg->own_run;
      rg->narun = 1;
      rg->k = p->units;
      pack_group(w + p->w_start, p->units, 1, p->k, p->units, 0, p->run, p->nrun, panel, &npanel, bp, &boff, 0,
                 &bias_off);
    }
    rg->count = npanel - rg->first;
  }
  if (job.count) {
    /* >= 4 tasks per thread so that the threads finish together; whole MR strips */
    const int per_task = (m + 4 * pb_thread_count() - 1) / (4 * pb_thread_count());
    job.task_rows = pb_min(MC, pb_max(MR, (per_task + MR - 1) / MR * MR));
    double flops = 0;
    for (int g = 0; g < count; g++) flops += 2.0 * m * gr[g].k * gr[g].units;
    pb_parallel_for_flops(rows_task, &job, (m + job.task_rows - 1) / job.task_rows, flops);
  }
  for (int g = 0; g < count; g++)
    if (gr[g].k > KC) rows_copying(a, lda, gr + g, forward, w, bias, c, ldc, m, act);
}

/* -- the filter gradient, block by block of rows ------------------------------------------------------------ */

/* dw[r][0:8] (+)= the products over kb rows of four x columns (a_r, stepping by ldx) and eight dz columns
 * read in place (b, stepping by ldz); only the strip's first `rows` rows are stored. */
PB_INLINE void weight_tile(int kb, const float *a0, const float *a1, const float *a2, const float *a3, int ldx,
                           const float *b, int ldz, float *c, int ldc, int rows, int load_c) {
  const v128_t zero = wasm_f32x4_splat(0.f);
  v128_t c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero;
  tile_products(kb, a0, a1, a2, a3, ldx, b, ldz, &c00, &c01, &c10, &c11, &c20, &c21, &c30, &c31);
  tile_store_row(c, c00, c01, load_c, ACT_NONE);
  if (rows > 1) tile_store_row(c + ldc, c10, c11, load_c, ACT_NONE);
  if (rows > 2) tile_store_row(c + 2 * ldc, c20, c21, load_c, ACT_NONE);
  if (rows > 3) tile_store_row(c + 3 * ldc, c30, c31, load_c, ACT_NONE);
}

/* dw_g = x[:, runs_g]^T @ dz[:, out_g..]: over blocks of WEIGHT_KB rows, every group's tiles read the block's
 * x columns in place (four columns of op(A) = four pointers stepping by ldx) and its dz columns in place
 * too (whole panels of NR; a group's last, narrower panel packed first), adding into dw. */
static void grouped_weights(const float *x, int ldx, const float *dz, int ldz, float *dw, int rows, const int *groups) {
  Group gr[MAX_GROUPS];
  const int count = parse_groups(groups, gr);
  float *bp = pb_work(1, (size_t)count * NR * WEIGHT_KB + 4);
  const v128_t zero = wasm_f32x4_splat(0.f);
  if (rows <= 0)
    for (int g = 0; g < count; g++) memset(dw + gr[g].w_start, 0, (size_t)gr[g].k * gr[g].units * 4);
  for (int p0 = 0; p0 < rows; p0 += WEIGHT_KB) {
    const int kb = pb_min(WEIGHT_KB, rows - p0), load_c = p0 > 0;
    const float *xb = x + (long)p0 * ldx;
    for (int g = 0; g < count; g++) {
      const Group *p = gr + g;
      const int units = p->units, full = units / NR * NR;
      float *panel = bp + (long)g * NR * WEIGHT_KB;
      if (full < units) pack_b(dz + p->out, ldz, 0, units, full, units - full, p0, kb, panel);
      const float *db = dz + (long)p0 * ldz + p->out;
      float *block = dw + p->w_start;
      for (int i = 0; i < p->k; i += MR) {
        const int strip = pb_min(MR, p->k - i);
        int col[MR], left;
        for (int r = 0; r < MR; r++) col[r] = run_column(p->run, p->nrun, i + (r < strip ? r : 0), &left);
        const float *a0 = xb + col[0], *a1 = xb + col[1], *a2 = xb + col[2], *a3 = xb + col[3];
        for (int j = 0; j < full; j += NR)
          weight_tile(kb, a0, a1, a2, a3, ldx, db + j, ldz, block + (long)i * units + j, units, strip, load_c);
        if (full < units)
          tile(kb, a0, a1, a2, a3, ldx, panel, block + (long)i * units + full, units, strip, units - full, zero, zero,
               load_c, ACT_NONE);
      }
    }
  }
}

/* -- exports ---------------------------------------------------------------------------------------------- */

/* pb_grouped_dense(x, ldx, w, bias_or_0, y, ldy, rows, groups, act): for every group,
 * y[:, out:out+units] = act(x[:, its runs] @ its block + bias[out:out+units]). */
PB_EXPORT(pb_grouped_dense)
void pb_grouped_dense(const float *x, int ldx, const float *w, const float *bias, float *y, int ldy, int rows,
                      const int *groups, int act) {
  grouped_rows(1, x, ldx, w, bias, y, ldy, rows, groups, act);
}

/* pb_grouped_dense_grad_input(dz, ldz, w, dx, ldx, rows, groups): for every group,
 * dx[:, its runs] = dz[:, out:out+units] @ its block^T. Columns no group reads are left as they are (the
 * caller zeroes them). */
PB_EXPORT(pb_grouped_dense_grad_input)
void pb_grouped_dense_grad_input(const float *dz, int ldz, const float *w, float *dx, int ldx, int rows,
                                 const int *groups) {
  grouped_rows(0, dz, ldz, w, 0, dx, ldx, rows, groups, ACT_NONE);
}

/* pb_grouped_dense_grad_filter(x, ldx, dz, ldz, dw, rows, groups): for every group,
 * its block of dw = x[:, its runs]^T @ dz[:, out:out+units]. */
PB_EXPORT(pb_grouped_dense_grad_filter)
void pb_grouped_dense_grad_filter(const float *x, int ldx, const float *dz, int ldz, float *dw, int rows,
                                  const int *groups) {
  grouped_weights(x, ldx, dz, ldz, dw, rows, groups);
}
