/* remap.c - copy pixels by row and column index maps: the forward of RandomTranslation (and of any
 * whole-pixel remap whose source index separates into a row map and a column map per image).
 * The maps are computed in Python (a few hundred ints per batch); the pixels never leave WASM memory.
 */
#include "pb.h"

/* pb_remap_pixels(x, rows, cols, y, n, h, w, c, h_out, w_out, fill): NHWC float32,
 * y[b, i, j, :] = x[b, rows[b*h_out + i], cols[b*w_out + j], :], or `fill` where either index is -1.
 * rows/cols are int32; every other index is inside the h x w image (the Python side checks). */
PB_EXPORT(pb_remap_pixels)
void pb_remap_pixels(const float *x, const int *rows, const int *cols, float *y, int n, int h, int w, int c,
                     int h_out, int w_out, float fill) {
  const v128_t vfill = wasm_f32x4_splat(fill);
  for (int b = 0; b < n; b++) {
    const float *image = x + (long)b * h * w * c;
    const int *col_map = cols + (long)b * w_out;
    for (int i = 0; i < h_out; i++) {
      const int r = rows[(long)b * h_out + i];
      float *out = y + (((long)b * h_out + i) * w_out) * c;
      for (int j = 0; j < w_out; j++, out += c) {
        const int s = col_map[j];
        int k = 0;
        if (r < 0 || s < 0) {
          for (; k + 4 <= c; k += 4) wasm_v128_store(out + k, vfill);
          for (; k < c; k++) out[k] = fill;
        } else {
          const float *src = image + ((long)r * w + s) * c;
          for (; k + 4 <= c; k += 4) wasm_v128_store(out + k, wasm_v128_load(src + k));
          for (; k < c; k++) out[k] = src[k];
        }
      }
    }
  }
}
