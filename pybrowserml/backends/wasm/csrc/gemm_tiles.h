/* gemm_tiles.h - the GEMM's blocking sizes, B packing and register-tile micro-kernels (gemm.c), shared
 * with the grouped GEMM (grouped_gemm.c), which drives the same tiles over several groups at once.
 * Static and always-inline functions: each including file gets its own copy. See gemm.c. */
#ifndef PB_GEMM_TILES_H
#define PB_GEMM_TILES_H
#include "pb.h"

#define MR 4
#define NR 8
#define KC 256
#define MC 96
#define NC 1024

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

/* The activation as single-instruction pmin/pmax: f32x4.min/max must propagate NaN and order
 * -0 < +0, which V8 lowers to several instructions each; pmax(v, 0) = v < 0 ? 0 : v keeps a NaN
 * (the comparison is false) and only a -0 may differ in sign, as in any relu. */
PB_INLINE v128_t tile_act(v128_t v, int act) {
  if (act == ACT_RELU) return wasm_f32x4_pmax(v, wasm_f32x4_splat(0.f));
  if (act == ACT_RELU6) return wasm_f32x4_pmin(wasm_f32x4_pmax(v, wasm_f32x4_splat(0.f)), wasm_f32x4_splat(6.f));
  return v;
}

/* One row of a finished tile: [+ C], activation, store. */
PB_INLINE void tile_store_row(float *row, v128_t v0, v128_t v1, int load_c, int act) {
  if (load_c) {
    v0 = wasm_f32x4_add(v0, wasm_v128_load(row));
    v1 = wasm_f32x4_add(v1, wasm_v128_load(row + 4));
  }
  wasm_v128_store(row, tile_act(v0, act));
  wasm_v128_store(row + 4, tile_act(v1, act));
}

/* acc (the MR x NR tile as 8 vectors, row r in c_r0, c_r1) += Ap . Bp over kc. Always inlined, so
 * the accumulators stay in registers. */
PB_INLINE void tile_products(int kc, const float *a0, const float *a1, const float *a2, const float *a3, int astep,
                             const float *bp, int bstep, v128_t *c00_, v128_t *c01_, v128_t *c10_, v128_t *c11_,
                             v128_t *c20_, v128_t *c21_, v128_t *c30_, v128_t *c31_) {
  v128_t c00 = *c00_, c01 = *c01_, c10 = *c10_, c11 = *c11_, c20 = *c20_, c21 = *c21_, c30 = *c30_, c31 = *c31_;
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
    bp += bstep;
  }
  *c00_ = c00; *c01_ = c01; *c10_ = c10; *c11_ = c11; *c20_ = c20; *c21_ = c21; *c30_ = c30; *c31_ = c31;
}

/* One full MR x NR tile: C = act([C +] init + Ap . Bp) over kc. The accumulators start at `init`
 * (the bias on the first K block, else 0), so the bias costs nothing per tile; act is ACT_NONE
 * except on the last K block. Everything stays in registers: no stack frame per tile, which for
 * the short K of pointwise convs (16..64) cost as much as the products. The four A rows come from
 * a packed panel (a_r = panel + r, astep = MR) or straight from a row-major A (astep = 1). */
PB_INLINE void tile_full(int kc, const float *a0, const float *a1, const float *a2, const float *a3, int astep,
                         const float *bp, int bstep, float *c, int ldc, v128_t init0, v128_t init1, int load_c,
                         int act) {
  v128_t c00 = init0, c01 = init1, c10 = init0, c11 = init1;
  v128_t c20 = init0, c21 = init1, c30 = init0, c31 = init1;
  tile_products(kc, a0, a1, a2, a3, astep, bp, bstep, &c00, &c01, &c10, &c11, &c20, &c21, &c30, &c31);
  tile_store_row(c, c00, c01, load_c, act);
  tile_store_row(c + ldc, c10, c11, load_c, act);
  tile_store_row(c + 2 * ldc, c20, c21, load_c, act);
  tile_store_row(c + 3 * ldc, c30, c31, load_c, act);
}

/* The first n (1..4) lanes of p, the others zero. */
PB_INLINE v128_t load_lanes(const float *p, int n) {
  if (n >= 4) return wasm_v128_load(p);
  v128_t v = wasm_f32x4_splat(0.f);
  v = wasm_f32x4_replace_lane(v, 0, p[0]);
  if (n > 1) v = wasm_f32x4_replace_lane(v, 1, p[1]);
  if (n > 2) v = wasm_f32x4_replace_lane(v, 2, p[2]);
  return v;
}

/* One row of a tile cut at `cols` (1..NR-1) columns: [+ C], activation, only those columns stored. */
PB_INLINE void tile_store_cols(float *row, v128_t v0, v128_t v1, int cols, int load_c, int act) {
  const int n0 = pb_min(cols, 4), n1 = cols - 4;
  if (load_c) v0 = wasm_f32x4_add(v0, load_lanes(row, n0));
  store_lanes(row, tile_act(v0, act), n0);
  if (n1 > 0) {
    if (load_c) v1 = wasm_f32x4_add(v1, load_lanes(row + 4, n1));
    store_lanes(row + 4, tile_act(v1, act), n1);
  }
}

/* A full-height tile cut by C's last columns (cols < NR; narrow pointwise convs have n = 11, 22, ...):
 * the products in registers, only the first B vector when cols <= 4, then lane stores. Computing it
 * in a local buffer and copying (tile_edge) made n = 12 cost more than n = 16. */
static __attribute__((noinline)) void tile_cols(int kc, const float *a0, const float *a1, const float *a2,
                                                const float *a3, int astep, const float *bp, float *c, int ldc,
                                                int cols, v128_t init0, v128_t init1, int load_c, int act) {
  if (cols > 4) {
    v128_t c00 = init0, c01 = init1, c10 = init0, c11 = init1;
    v128_t c20 = init0, c21 = init1, c30 = init0, c31 = init1;
    tile_products(kc, a0, a1, a2, a3, astep, bp, NR, &c00, &c01, &c10, &c11, &c20, &c21, &c30, &c31);
    tile_store_cols(c, c00, c01, cols, load_c, act);
    tile_store_cols(c + ldc, c10, c11, cols, load_c, act);
    tile_store_cols(c + 2 * ldc, c20, c21, cols, load_c, act);
    tile_store_cols(c + 3 * ldc, c30, c31, cols, load_c, act);
    return;
  }
  v128_t c0 = init0, c1 = init0, c2 = init0, c3 = init0;
  for (int p = 0; p < kc; p++) {
    const v128_t b0 = wasm_v128_load(bp);
    c0 = PB_MADD(wasm_v128_load32_splat(a0), b0, c0);
    c1 = PB_MADD(wasm_v128_load32_splat(a1), b0, c1);
    c2 = PB_MADD(wasm_v128_load32_splat(a2), b0, c2);
    c3 = PB_MADD(wasm_v128_load32_splat(a3), b0, c3);
    a0 += astep;
    a1 += astep;
    a2 += astep;
    a3 += astep;
    bp += NR;
  }
  const v128_t none = wasm_f32x4_splat(0.f);
  tile_store_cols(c, c0, none, cols, load_c, act);
  tile_store_cols(c + ldc, c1, none, cols, load_c, act);
  tile_store_cols(c + 2 * ldc, c2, none, cols, load_c, act);
  tile_store_cols(c + 3 * ldc, c3, none, cols, load_c, act);
}

/* A tile cut by the last rows of C (rows < MR, any cols): computed whole in a local buffer (B and the
 * bias are zero-padded; missing A rows re-read a valid row), then only the valid part is copied. */
static __attribute__((noinline)) void tile_edge(int kc, const float *a0, const float *a1, const float *a2,
                                                const float *a3, int astep, const float *bp, float *c, int ldc,
                                                int rows, int cols, v128_t init0, v128_t init1, int load_c, int act) {
  float t[MR * NR] __attribute__((aligned(16))) = {0};
  if (load_c)
    for (int r = 0; r < rows; r++)
      for (int q = 0; q < cols; q++) t[r * NR + q] = c[(long)r * ldc + q];
  tile_full(kc, a0, a1, a2, a3, astep, bp, NR, t, NR, init0, init1, load_c, act);
  for (int r = 0; r < rows; r++)
    for (int q = 0; q < cols; q++) c[(long)r * ldc + q] = t[r * NR + q];
}

PB_INLINE void tile(int kc, const float *a0, const float *a1, const float *a2, const float *a3, int astep,
                    const float *bp, float *c, int ldc, int rows, int cols, v128_t init0, v128_t init1, int load_c,
                    int act) {
  if (rows == MR && cols == NR) tile_full(kc, a0, a1, a2, a3, astep, bp, NR, c, ldc, init0, init1, load_c, act);
  else if (rows == MR) tile_cols(kc, a0, a1, a2, a3, astep, bp, c, ldc, cols, init0, init1, load_c, act);
  else tile_edge(kc, a0, a1, a2, a3, astep, bp, c, ldc, rows, cols, init0, init1, load_c, act);
}


#endif
