/* epilogue.c - the standalone form of the fused epilogue (epilogue.h), for kernels whose main loop
 * cannot apply it in registers (e.g. a GEMM with K == 0, or E2's kernels).
 */
#include "epilogue.h"

/* pb_bias_act(y, bias_or_0, rows, cols, act): y[r, c] = act(y[r, c] + bias[c]) in place. */
PB_EXPORT(pb_bias_act) void pb_bias_act(float *y, const float *bias, int rows, int cols, int act) {
  pb_bias_act_rows(y, bias, rows, cols, cols, act);
}

void pb_bias_act_rows(float *y, const float *bias, int rows, int cols, int ld, int act) {
  if (!bias && act == ACT_NONE) return;
  for (int r = 0; r < rows; r++) {
    float *row = y + (long)r * ld;
    int c = 0;
    for (; c + 4 <= cols; c += 4) {
      v128_t v = wasm_v128_load(row + c);
      if (bias) v = wasm_f32x4_add(v, wasm_v128_load(bias + c));
      wasm_v128_store(row + c, pb_act_v(v, act));
    }
    for (; c < cols; c++) row[c] = pb_act_s(row[c] + (bias ? bias[c] : 0.f), act);
  }
}
