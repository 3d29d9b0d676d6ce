/* epilogue.h - the bias + activation step fused into the store of every GEMM tile (and reused by
 * any kernel that ends in "+ bias, then activation"). Applying it while the tile is still in
 * registers saves a full extra pass over the output, which is what "fused" buys.
 */
#ifndef PB_EPILOGUE_H
#define PB_EPILOGUE_H
#include "pb.h"

PB_INLINE v128_t pb_act_v(v128_t v, int act) {
  if (act == ACT_RELU) return wasm_f32x4_max(v, wasm_f32x4_splat(0.f));
  if (act == ACT_RELU6) return wasm_f32x4_min(wasm_f32x4_max(v, wasm_f32x4_splat(0.f)), wasm_f32x4_splat(6.f));
  return v;
}

PB_INLINE float pb_act_s(float v, int act) {
  if (act == ACT_RELU) return v > 0.f ? v : 0.f;
  if (act == ACT_RELU6) return v > 0.f ? (v < 6.f ? v : 6.f) : 0.f;
  return v;
}

/* y[r, :] = act(y[r, :] + bias) for `rows` rows of `cols` floats (row stride ld); bias may be 0. */
void pb_bias_act_rows(float *y, const float *bias, int rows, int cols, int ld, int act);

#endif
