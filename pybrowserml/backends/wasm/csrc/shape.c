/* shape.c - the copies behind concat, slice and 2-D transpose, and the uint8 -> float32 conversion.
 *
 * concat along any axis and slice along any axis are both "copy `rows` rows of `width` floats
 * between two row-major arrays with different row strides": the Python side folds the leading axes
 * into rows and the trailing ones into the width. Dense blocks concatenate NHWC channels at every
 * layer (rows = N*H*W, width = channels of one input), so the row copy is a v128 loop specialised
 * for short widths, not a memcpy call per row. pb_add_parts walks rows the same way to sum the
 * parts of a gradient (backprop).
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
  if (width < 4 || j == width) {
    for (; j < width; j++) dst[j] = src[j];
    return;
  }
  /* the rest as v128s, the last one at width - 4 (overlapping: the same values written twice) */
  for (; j + 4 < width; j += 4) wasm_v128_store(dst + j, wasm_v128_load(src + j));
  wasm_v128_store(dst + width - 4, wasm_v128_load(src + width - 4));
}

/* The row ranges of the copies below are independent: large ones are split over the threads
 * (pb_parallel_rows), since one core does not saturate the memory bandwidth. */
typedef struct { const float *src; float *dst; int src_stride, dst_stride, width; } copy_job;

/* dst[0:width] += src[0:width]. A width >= 4 that is not a multiple of 4 ends with one v128 at
 * width - 4, summed from dst's values before the loop touches them (so the lanes it shares with the
 * last whole block get the same sum, not the sum added twice). */
PB_INLINE void add_row_into(float *dst, const float *src, int width) {
  const int tail = width >= 4 && width % 4;
  const v128_t last = tail ? wasm_f32x4_add(wasm_v128_load(dst + width - 4), wasm_v128_load(src + width - 4))
                           : wasm_f32x4_splat(0.f);
  int j = 0;
  for (; j + 8 <= width; j += 8) {
    wasm_v128_store(dst + j, wasm_f32x4_add(wasm_v128_load(dst + j), wasm_v128_load(src + j)));
    wasm_v128_store(dst + j + 4, wasm_f32x4_add(wasm_v128_load(dst + j + 4), wasm_v128_load(src + j + 4)));
  }
  for (; j + 4 <= width; j += 4) wasm_v128_store(dst + j, wasm_f32x4_add(wasm_v128_load(dst + j), wasm_v128_load(src + j)));
  if (tail) {
    wasm_v128_store(dst + width - 4, last);
    return;
  }
  for (; j < width; j++) dst[j] += src[j];
}

/* Rows r0..r1 of a strided copy. */
static void rows_range(void *ctx, int r0, int r1) {
  copy_job *j = (copy_job *)ctx;
  if (j->src_stride == j->width && j->dst_stride == j->width) {   /* contiguous: one block */
    float *dst = j->dst + (long)r0 * j->width;
    const float *src = j->src + (long)r0 * j->width;
    memcpy(dst, src, (size_t)(r1 - r0) * j->width * 4);
    return;
  }
  for (int r = r0; r < r1; r++) {
    float *dst = j->dst + (long)r * j->dst_stride;
    const float *src = j->src + (long)r * j->src_stride;
    copy_row(dst, src, j->width);
  }
}

/* pb_copy_rows(src, src_stride, dst, dst_stride, rows, width): for r < rows,
 * dst[r*dst_stride : +width] = src[r*src_stride : +width] (element strides, 32-bit elements).
 * concat: one call per input (src_stride = width, dst = output + column offset);
 * slice:  src = input + start offset, dst_stride = width. */
PB_EXPORT(pb_copy_rows)
void pb_copy_rows(const float *src, int src_stride, float *dst, int dst_stride, int rows, int width) {
  copy_job j = {src, dst, src_stride, dst_stride, width};
  pb_parallel_rows(rows_range, &j, rows, 2.0 * width);
}

typedef struct { const int *ptrs, *widths; int count, total; float *dst; } concat_job;

static void concat_rows_range(void *ctx, int r0, int r1) {
  concat_job *j = (concat_job *)ctx;
  for (int r = r0; r < r1; r++) {
    float *out = j->dst + (long)r * j->total;
    for (int i = 0; i < j->count; i++) {
      const int wd = j->widths[i];
      copy_row(out, (const float *)j->ptrs[i] + (long)r * wd, wd);
      out += wd;
    }
  }
}

/* pb_concat_rows(ptrs, widths, count, dst, rows): dst (rows, sum(widths)) = the count inputs
 * (rows, widths[i]) side by side; ptrs is an int32 array of the inputs' addresses. Row-outer, so the
 * output is written once, sequentially (better for the cache than one pass per input). */
PB_EXPORT(pb_concat_rows)
void pb_concat_rows(const int *ptrs, const int *widths, int count, float *dst, int rows) {
  int total = 0;
  for (int i = 0; i < count; i++) total += widths[i];
  concat_job j = {ptrs, widths, count, total, dst};
  pb_parallel_rows(concat_rows_range, &j, rows, 2.0 * total);
}


#define PB_MAX_PARTS 4
typedef struct { const float *src[PB_MAX_PARTS]; int stride[PB_MAX_PARTS]; int count, width; float *dst; } parts_job;

/* Rows in blocks of about 2K floats of dst: within a block the parts go one after another (each a
 * tight strided loop) while the block's sum stays in L1. */
static void parts_rows_range(void *ctx, int r0, int r1) {
  const parts_job *j = (const parts_job *)ctx;
  const int width = j->width, block = pb_max(1, 2048 / pb_max(1, width));
  for (int b0 = r0; b0 < r1; b0 += block) {
    const int b1 = pb_min(r1, b0 + block);
    float *dst = j->dst + (long)b0 * width;
    const float *src = j->src[0] + (long)b0 * j->stride[0];
    for (int r = b0; r < b1; r++, src += j->stride[0]) copy_row(dst + (long)(r - b0) * width, src, width);
    for (int i = 1; i < j->count; i++) {
      src = j->src[i] + (long)b0 * j->stride[i];
      for (int r = b0; r < b1; r++, src += j->stride[i]) add_row_into(dst + (long)(r - b0) * width, src, width);
    }
  }
}

/* pb_add_parts(dst, rows, width, count, src0, stride0, ... src3, stride3): dst (rows, width) = the
 * sum of count (1..4) parts, part i's row r at src_i + r * stride_i (element strides). Backprop
 * sums the gradient of a tensor used several times in one pass: whole arrays (stride = width) and,
 * for the inputs of a concat, channel slices of the concat's gradient (src = gradient + offset,
 * stride = its width). Each source is read once and dst written once, where adding the parts one
 * at a time into an accumulator would read and write it again per part. The parts are arguments,
 * not a list in memory, because uploading a list costs more than the sum itself on small arrays;
 * callers with more parts chain calls (the sum so far is part 0 of the next). */
PB_EXPORT(pb_add_parts)
void pb_add_parts(float *dst, int rows, int width, int count, const float *s0, int t0, const float *s1, int t1,
                  const float *s2, int t2, const float *s3, int t3) {
  parts_job j = {{s0, s1, s2, s3}, {t0, t1, t2, t3}, pb_max(1, pb_min(count, PB_MAX_PARTS)), width, dst};
  pb_parallel_rows(parts_rows_range, &j, rows, (j.count + 1.0) * width);
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

/* pb_from_uint8(a, y, n, scale): y[i] = (float)a[i] * scale. Batches of images go to the device as
 * uint8 (a quarter of the bytes to copy) and are converted here: 16 pixels per step, widened
 * u8 -> u16 -> u32 -> f32, one multiply each (the same rounding as numpy's float32 a * scale). */
PB_EXPORT(pb_from_uint8) void pb_from_uint8(const unsigned char *a, float *y, int n, float scale) {
  v128_t s = wasm_f32x4_splat(scale);
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    v128_t bytes = wasm_v128_load(a + i);
    v128_t lo = wasm_u16x8_extend_low_u8x16(bytes), hi = wasm_u16x8_extend_high_u8x16(bytes);
    wasm_v128_store(y + i, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_u32x4_extend_low_u16x8(lo)), s));
    wasm_v128_store(y + i + 4, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_u32x4_extend_high_u16x8(lo)), s));
    wasm_v128_store(y + i + 8, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_u32x4_extend_low_u16x8(hi)), s));
    wasm_v128_store(y + i + 12, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_u32x4_extend_high_u16x8(hi)), s));
  }
  for (; i < n; i++) y[i] = (float)a[i] * scale;
}
