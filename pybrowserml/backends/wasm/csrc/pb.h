/* pb.h - shared by every pybrowserml WASM kernel source (every .c file in this csrc/ folder).
 *
 * All .c files here are compiled together into ONE freestanding module, kernels.wasm
 * (scripts/build_wasm). There is no libc: the runtime (runtime.c) provides the allocator and the
 * memset/memcpy that clang may emit calls to.
 *
 * Calling convention (see docs/architecture.md for layouts):
 *  - exported kernels are named pb_<kernel> (PB_EXPORT) and take plain int32 arguments: pointers
 *    are byte offsets into the module's linear memory, dimensions are ints;
 *  - outputs are PREALLOCATED by the caller (Python: rt.empty); a kernel allocates only through
 *    pb_malloc (e.g. GEMM packing buffers), never returns memory it did not get as an argument;
 *  - images are NHWC float32, conv filters HWIO (kh, kw, in, out), dense weights (in, out);
 *  - padding is given explicitly as pad_top/pad_left (TensorFlow 'same'/'valid' geometry is
 *    computed in Python: pad_before = total // 2, the extra row/column goes after);
 *  - an optional pointer (e.g. a bias) is 0 when absent (address 0 is never a valid array:
 *    the allocator never hands it out);
 *  - fused activations are the ACT_* codes below.
 */
#ifndef PB_H
#define PB_H

#include <wasm_simd128.h>

typedef unsigned int u32;
typedef int i32;
typedef unsigned long size_t;   /* wasm32: 32-bit */
typedef float f32;

#define PB_EXPORT(name) __attribute__((export_name(#name))) 
#define PB_INLINE static inline __attribute__((always_inline))

/* Fused activation codes (Python maps None/"relu"/"relu6"; grads also use SIGMOID/TANH). */
#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_RELU6 2
#define ACT_SIGMOID 3
#define ACT_TANH 4

/* Allocator (runtime.c). Blocks are 16-byte aligned; pb_free(0) is a no-op. */
void *pb_malloc(size_t nbytes);
void pb_free(void *p);
void *pb_alloc_internal(size_t nbytes);   /* the same, not counted in pb_live_blocks/bytes */
void pb_free_internal(void *p);
void *memset(void *dst, int value, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

/* PB_MADD(a, b, c) = a * b + c on f32x4. The relaxed build (-DPB_RELAXED_SIMD -mrelaxed-simd,
 * kernels*_relaxed.wasm) makes it one f32x4.relaxed_madd: one rounding where the CPU has FMA (V8
 * on x86-64 with FMA3 fuses it), the spec also allows mul + add. clang 14 emits the proposal's
 * prototype opcode for __builtin_wasm_fma_f32x4; scripts/patch_relaxed_simd.py re-encodes it as
 * the final f32x4.relaxed_madd (same operand order a, b, c; see docs/wasm_backend.md). The plain
 * build keeps the separate multiply and add that every SIMD engine runs. */
#ifdef PB_RELAXED_SIMD
#define PB_MADD(a, b, c) __builtin_wasm_fma_f32x4((a), (b), (c))
#else
#define PB_MADD(a, b, c) wasm_f32x4_add(wasm_f32x4_mul((a), (b)), (c))
#endif

PB_INLINE int pb_min(int a, int b) { return a < b ? a : b; }
PB_INLINE int pb_max(int a, int b) { return a > b ? a : b; }
/* Channel counts rounded up to whole f32x4 vectors (padded work buffers). */
PB_INLINE int round4(int c) { return (c + 3) & ~3; }

/* Store the first n (1..4) lanes of v at p (the tail of a channel block). */
PB_INLINE void store_lanes(float *p, v128_t v, int n) {
  if (n >= 4) { wasm_v128_store(p, v); return; }
  p[0] = wasm_f32x4_extract_lane(v, 0);
  if (n > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (n > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
}

/* A float buffer of at least n floats that the calling kernel may use until it returns; each
 * slot (0..3) is an independent growing buffer kept across calls (runtime.c). Main thread only. */
float *pb_work(int slot, size_t nfloats);

/* -- threads (threads.c) ------------------------------------------------------------------------
 * kernels.wasm is single-threaded; kernels_threads.wasm is the same sources built with
 * -DPB_THREADS over a shared memory, where Web Workers run pb_worker_loop and take tasks of a
 * pb_parallel_for. In both builds kernels call the same API; without threads it is a plain loop.
 * Tasks must not allocate (the allocator is not thread-safe): the main thread sizes per-thread
 * buffers first with pb_work_threads(slot, n), tasks then fetch theirs with pb_work_of(slot, tid). */
#define PB_MAX_THREADS 8
typedef void (*pb_task_fn)(void *ctx, int task, int thread);
void pb_parallel_for(pb_task_fn fn, void *ctx, int ntasks);
/* The same, but on the calling thread alone when the job is too small (flops) to pay for waking
 * the workers (tens of microseconds). */
#define PB_PARALLEL_MIN_FLOPS 2e6
void pb_parallel_for_flops(pb_task_fn fn, void *ctx, int ntasks, double flops);
int pb_thread_count(void);
/* Memory-bound kernels (copies, elementwise, column sums) split their rows with this: fn(ctx, r0, r1)
 * runs on row ranges covering [0, rows), on several threads only when the job moves enough data
 * (PB_PARALLEL_MIN_FLOATS) to pay for waking the workers. Ranges follow the row order, so a kernel
 * that writes per-range results (partial sums) can combine them in a fixed order (pb_rows_chunk). */
#define PB_PARALLEL_MIN_FLOATS 65536
typedef void (*pb_rows_fn)(void *ctx, int r0, int r1);
void pb_parallel_rows(pb_rows_fn fn, void *ctx, int rows, double floats_per_row);
/* The row-range size pb_parallel_rows uses for (rows, floats_per_row): range k is [k*chunk, ...). */
int pb_rows_chunk(int rows, double floats_per_row);
void pb_work_threads(int slot, size_t nfloats);   /* main thread: >= nfloats in every thread's slot */
/* dst (rows x cols, contiguous) = the sum of `count` partial blocks, added in block order (0 blocks:
 * zeros); block t's row r starts at partials + ((long)t * rows + r) * ld, ld >= cols (padded rows).
 * Kernels that reduce over the batch (grad_filter) give each task its own block and combine them
 * here: the result does not depend on which thread ran which task. */
void pb_sum_partials(float *dst, const float *partials, int count, int rows, int cols, int ld);
float *pb_work_of(int slot, int thread);          /* any thread: its buffer of that slot */

#endif
