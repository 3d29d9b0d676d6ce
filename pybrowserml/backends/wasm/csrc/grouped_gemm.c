/* grouped_gemm.c - the grouped (block-diagonal) dense kernels: every group's GEMM in one call.
 *
 * Students packed side by side along the channels (pybrowserml.compression) run their 1x1 convs and
 * dense heads as one layer whose weight is block-diagonal: group g multiplies its own input columns
 * by its own (K_g x units_g) block into its own output columns. One call walks the groups and runs
 * pb_gemm_core on strided views (row strides are the whole arrays' widths), so the layer costs one
 * kernel call instead of one per student, with the same arithmetic.
 *
 * `groups` (int32, built by kernels/gemm.py from the checked plan): the group count, then per group
 * units, out_start, w_start (its block's first entry in the flat weight), the segment count and one
 * (start, width) pair per segment. A group may read several segments of the input (the packed
 * channels of a dense block's concat are the concat's parts side by side, each holding every
 * student's channels), which are its block's rows in order; the forward sums them in the output
 * (the first segment with the bias, the activation after the last).
 */
#include "gemm.h"

#define GROUP_HEADER 4

/* pb_grouped_dense(x, ldx, w, bias_or_0, y, ldy, rows, groups, act): for every group,
 * y[:, out:out+units] = act(x[:, segments] @ block + bias[out:out+units]). */
PB_EXPORT(pb_grouped_dense)
void pb_grouped_dense(const float *x, int ldx, const float *w, const float *bias, float *y, int ldy, int rows,
                      const int *groups, int act) {
  const int count = *groups++;
  for (int g = 0; g < count; g++) {
    const int units = groups[0], out = groups[1], nseg = groups[3];
    const int *seg = groups + GROUP_HEADER;
    const float *block = w + groups[2];
    for (int s = 0, row = 0; s < nseg; row += seg[2 * s + 1], s++) {
      pb_gemm_core(x + seg[2 * s], ldx, 0, block + (long)row * units, units, 0, y + out, ldy, rows, units,
                   seg[2 * s + 1], s == 0 && bias ? bias + out : 0, s == nseg - 1 ? act : ACT_NONE, s > 0);
    }
    groups = seg + 2 * nseg;
  }
}

/* pb_grouped_dense_grad_input(dz, ldz, w, dx, ldx, rows, groups): for every group and segment,
 * dx[:, segment] = dz[:, out:out+units] @ (its rows of the block)^T. Columns no group reads are
 * left as they are (the caller zeroes them). */
PB_EXPORT(pb_grouped_dense_grad_input)
void pb_grouped_dense_grad_input(const float *dz, int ldz, const float *w, float *dx, int ldx, int rows,
                                 const int *groups) {
  const int count = *groups++;
  for (int g = 0; g < count; g++) {
    const int units = groups[0], out = groups[1], nseg = groups[3];
    const int *seg = groups + GROUP_HEADER;
    const float *block = w + groups[2];
    for (int s = 0, row = 0; s < nseg; row += seg[2 * s + 1], s++) {
      pb_gemm_core(dz + out, ldz, 0, block + (long)row * units, units, 1, dx + seg[2 * s], ldx, rows,
                   seg[2 * s + 1], units, 0, ACT_NONE, 0);
    }
    groups = seg + 2 * nseg;
  }
}

/* pb_grouped_dense_grad_filter(x, ldx, dz, ldz, dw, rows, groups): for every group and segment,
 * (its rows of the block in dw) = x[:, segment]^T @ dz[:, out:out+units]. */
PB_EXPORT(pb_grouped_dense_grad_filter)
void pb_grouped_dense_grad_filter(const float *x, int ldx, const float *dz, int ldz, float *dw, int rows,
                                  const int *groups) {
  const int count = *groups++;
  for (int g = 0; g < count; g++) {
    const int units = groups[0], out = groups[1], nseg = groups[3];
    const int *seg = groups + GROUP_HEADER;
    float *block = dw + groups[2];
    for (int s = 0, row = 0; s < nseg; row += seg[2 * s + 1], s++) {
      pb_gemm_core(x + seg[2 * s], ldx, 1, dz + out, ldz, 0, block + (long)row * units, units, seg[2 * s + 1],
                   units, rows, 0, ACT_NONE, 0);
    }
    groups = seg + 2 * nseg;
  }
}
