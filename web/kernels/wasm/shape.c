/* shape.c - the copies behind concat, slice and 2-D transpose.
 *
 * concat along any axis and slice along any axis are both "copy `rows` rows of `width` floats
 * between two row-major arrays with different row strides": the Python side folds the leading axes
 * into rows and the trailing ones into the width. Dense blocks concatenate NHWC channels at every
 * layer (rows = N*H*W, width = channels of one input), so the row copy is a v128 loop specialised
 * for short widths, not a memcpy call per row.
 */
#include "pb.h"

/* Copy `width` floats; both pointers are 4-byte aligned (v128 loads/stores need no alignment). */
PB_INLINE void copy_row(float *dst, const float *src, int width) {
  int j = 0;
  for (; j + 16 <= width; j += 16) {
    v128_t a = wasm_v128_load(src + j), b = wasm_v128_load(src + j + 4);
    v128_t c = wasm_v128_load(src + j + 8), d = wasm_v128_load(src + j + 12);
    wasm_v128_store(dst + j, a);
    wasm_v128_store(dst + j + 4, b);
    wasm_v128_store(dst + j + 8, c);
    wasm_v128_store(dst + j + 12, d);
  }
  for (; j + 4 <= width; j += 4) wasm_v128_store(dst + j, wasm_v128_load(src + j));
  for (; j < width; j++) dst[j] = src[j];
}

/* pb_copy_rows(src, src_stride, dst, dst_stride, rows, width): for r < rows,
 * dst[r*dst_stride : +width] = src[r*src_stride : +width] (element strides, 32-bit elements).
 * concat: one call per input (src_stride = width, dst = output + column offset);
 * slice:  src = input + start offset, dst_stride = width. */
PB_EXPORT(pb_copy_rows)
void pb_copy_rows(const float *src, int src_stride, float *dst, int dst_stride, int rows, int width) {
  if (src_stride == width && dst_stride == width) {   /* contiguous: one block */
    memcpy(dst, src, (size_t)rows * width * 4);
    return;
  }
  for (int r = 0; r < rows; r++) copy_row(dst + (long)r * dst_stride, src + (long)r * src_stride, width);
}

/* pb_concat_rows(ptrs, widths, count, dst, rows): dst (rows, sum(widths)) = the count inputs
 * (rows, widths[i]) side by side; ptrs is an int32 array of the inputs' addresses. Row-outer, so the
 * output is written once, sequentially (better for the cache than one pass per input). */
PB_EXPORT(pb_concat_rows)
void pb_concat_rows(const int *ptrs, const int *widths, int count, float *dst, int rows) {
  int total = 0;
  for (int i = 0; i < count; i++) total += widths[i];
  for (int r = 0; r < rows; r++) {
    float *out = dst + (long)r * total;
    for (int i = 0; i < count; i++) {
      const int wd = widths[i];
      copy_row(out, (const float *)ptrs[i] + (long)r * wd, wd);
      out += wd;
    }
  }
}

/* pb_transpose2d(src, dst, rows, cols): dst (cols, rows) = src (rows, cols) transposed, 32-bit
 * elements, in 16x16 tiles so both sides stay in cache. */
PB_EXPORT(pb_transpose2d)
void pb_transpose2d(const float *src, float *dst, int rows, int cols) {
  const int T = 16;
  for (int r0 = 0; r0 < rows; r0 += T) {
    const int r1 = pb_min(rows, r0 + T);
    for (int c0 = 0; c0 < cols; c0 += T) {
      const int c1 = pb_min(cols, c0 + T);
      for (int r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++) dst[(long)c * rows + r] = src[(long)r * cols + c];
    }
  }
}
