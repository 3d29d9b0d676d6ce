/* gemm.h - the GEMM entry point shared by the kernels built on it (conv.c). See gemm.c. */
#ifndef PB_GEMM_H
#define PB_GEMM_H
#include "pb.h"

/* C[m x n] (row stride ldc) = act(accumulate * C + op(A) @ op(B) + bias[n]); bias may be 0.
 * op(A) (m x k) is A (stride lda) or, with trans_a, the transpose of a stored (k x m) matrix;
 * likewise op(B) (k x n) and trans_b. */
void pb_gemm_core(const float *a, int lda, int trans_a, const float *b, int ldb, int trans_b, float *c, int ldc,
                  int m, int n, int k, const float *bias, int act, int accumulate);

/* The same on the calling thread only, with caller-provided packing buffers sized by
 * pb_gemm_buffer_sizes (for tasks already running in parallel, which must not allocate). */
void pb_gemm_serial(const float *a, int lda, int trans_a, const float *b, int ldb, int trans_b, float *c, int ldc,
                    int m, int n, int k, const float *bias, int act, int accumulate, float *bp, float *ap);
void pb_gemm_buffer_sizes(int m, int n, int k, int trans_a, size_t *bp_floats, size_t *ap_floats);

#endif
