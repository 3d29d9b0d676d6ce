/* threads.c - a minimal fork-join pool for the threaded build (kernels_threads.wasm, -DPB_THREADS).
 *
 * The page starts N-1 Web Workers that instantiate the same module on the same shared memory and
 * call pb_worker_loop(tid); it never returns. pb_parallel_for (main thread) publishes a job,
 * wakes the workers (memory.atomic.notify), takes tasks itself, then spins until every task is
 * done: the browser's main thread may not block in memory.atomic.wait, so it busy-waits, which is
 * short because it only waits for tasks already running. Tasks are claimed with a compare-exchange
 * on a generation-tagged counter, so the main thread never waits for a worker that is slow to wake
 * up (another process may hold its core), and a late worker cannot take a task of a later job.
 * In the single-threaded build everything here reduces to a loop on the calling thread.
 */
#include "pb.h"

/* per-thread work buffers (slot x thread), sized by the main thread before a parallel region */
#define PB_THREAD_SLOTS 4
static float *thread_work[PB_THREAD_SLOTS][PB_MAX_THREADS];
static size_t thread_work_cap[PB_THREAD_SLOTS][PB_MAX_THREADS];

static int nthreads = 1;

int pb_thread_count(void) { return nthreads; }

void pb_work_threads(int slot, size_t nfloats) {
  for (int t = 0; t < nthreads; t++) {
    if (nfloats > thread_work_cap[slot][t]) {
      pb_free_internal(thread_work[slot][t]);
      size_t cap = nfloats + nfloats / 2 + 64;
      thread_work[slot][t] = (float *)pb_alloc_internal(cap * 4);
      if (!thread_work[slot][t]) __builtin_trap();   /* out of memory: JS sees a RuntimeError */
      thread_work_cap[slot][t] = cap;
    }
  }
}

float *pb_work_of(int slot, int thread) { return thread_work[slot][thread]; }

void pb_parallel_for_flops(pb_task_fn fn, void *ctx, int ntasks, double flops) {
  if (flops < PB_PARALLEL_MIN_FLOPS) {
    for (int t = 0; t < ntasks; t++) fn(ctx, t, 0);
    return;
  }
  pb_parallel_for(fn, ctx, ntasks);
}

int pb_rows_chunk(int rows, double floats_per_row) {
  if (rows <= 0) return 1;
  if (nthreads <= 1 || (double)rows * floats_per_row < PB_PARALLEL_MIN_FLOATS) return rows;
  int tasks = pb_min(rows, nthreads * 4);   /* a few ranges per thread: a late worker delays less */
  return (rows + tasks - 1) / tasks;
}

typedef struct { pb_rows_fn fn; void *ctx; int rows, chunk; } rows_job;

static void rows_task(void *ctx, int task, int thread) {
  rows_job *j = (rows_job *)ctx;
  int r0 = task * j->chunk;
  j->fn(j->ctx, r0, pb_min(j->rows, r0 + j->chunk));
}

void pb_sum_partials(float *dst, const float *partials, int count, int rows, int cols, int ld) {
  const long block = (long)rows * ld;
  for (int r = 0; r < rows; r++) {
    float *d = dst + (long)r * cols;
    const float *p = partials + (long)r * ld;
    int q = 0;
    for (; q + 4 <= cols; q += 4) {
      v128_t s = count > 0 ? wasm_v128_load(p + q) : wasm_f32x4_splat(0.f);
      for (int t = 1; t < count; t++) s = wasm_f32x4_add(s, wasm_v128_load(p + t * block + q));
      wasm_v128_store(d + q, s);
    }
    for (; q < cols; q++) {
      float s = count > 0 ? p[q] : 0.f;
      for (int t = 1; t < count; t++) s += p[t * block + q];
      d[q] = s;
    }
  }
}

void pb_parallel_rows(pb_rows_fn fn, void *ctx, int rows, double floats_per_row) {
  if (rows <= 0) return;
  int chunk = pb_rows_chunk(rows, floats_per_row);
  if (chunk >= rows) {
    fn(ctx, 0, rows);
    return;
  }
  rows_job j = {fn, ctx, rows, chunk};
  pb_parallel_for(rows_task, &j, (rows + chunk - 1) / chunk);
}

#ifdef PB_THREADS

typedef unsigned long long u64;

static int job_seq;            /* the current job's generation; the futex word workers wait on */
static u64 job_tasks;          /* (generation << 32) | next task index: claimed by compare-exchange */
static pb_task_fn job_fn;
static void *job_ctx;
static int job_ntasks;
static int job_done;           /* tasks of the current job finished */
static int worker_tasks;       /* tasks run by workers since start: shows the pool really works */

/* Claim and run tasks of job `gen` until none is left. A claim succeeds only while the task word
 * still carries this generation, so a worker that wakes up late (after its job is over, or while
 * the next one is being written) can never take a task of the wrong job; the job's fields are read
 * only after a successful claim, when the main thread is still waiting for that very task. */
static void take_tasks(int gen, int tid) {
  for (;;) {
    u64 word = __atomic_load_n(&job_tasks, __ATOMIC_SEQ_CST);
    if ((int)(word >> 32) != gen) return;
    int index = (int)(u32)word;
    if (index >= __atomic_load_n(&job_ntasks, __ATOMIC_SEQ_CST)) return;
    if (!__atomic_compare_exchange_n(&job_tasks, &word, word + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) continue;
    job_fn(job_ctx, index, tid);
    if (tid) __atomic_fetch_add(&worker_tasks, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&job_done, 1, __ATOMIC_SEQ_CST);
  }
}

/* pb_worker_loop(tid): a worker's whole life (tid in 1..N-1); called once by the worker's JS. */
PB_EXPORT(pb_worker_loop) void pb_worker_loop(int tid) {
  int seen = __atomic_load_n(&job_seq, __ATOMIC_SEQ_CST);
  for (;;) {
    while (__atomic_load_n(&job_seq, __ATOMIC_SEQ_CST) == seen)
      __builtin_wasm_memory_atomic_wait32(&job_seq, seen, -1);
    seen = __atomic_load_n(&job_seq, __ATOMIC_SEQ_CST);   /* a late worker skips to the newest job */
    take_tasks(seen, tid);
  }
}

/* pb_set_threads(n): called by the main thread once n-1 workers are running pb_worker_loop. */
PB_EXPORT(pb_set_threads) int pb_set_threads(int n) {
  nthreads = n < 1 ? 1 : (n > PB_MAX_THREADS ? PB_MAX_THREADS : n);
  return nthreads;
}

/* pb_worker_tasks(): how many tasks the workers (not the main thread) have run so far. */
PB_EXPORT(pb_worker_tasks) int pb_worker_tasks(void) { return __atomic_load_n(&worker_tasks, __ATOMIC_SEQ_CST); }

void pb_parallel_for(pb_task_fn fn, void *ctx, int ntasks) {
  if (nthreads <= 1 || ntasks <= 1) {
    for (int t = 0; t < ntasks; t++) fn(ctx, t, 0);
    return;
  }
  int gen = __atomic_load_n(&job_seq, __ATOMIC_SEQ_CST) + 1;
  job_fn = fn;
  job_ctx = ctx;
  __atomic_store_n(&job_ntasks, ntasks, __ATOMIC_SEQ_CST);
  __atomic_store_n(&job_done, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&job_tasks, (u64)(u32)gen << 32, __ATOMIC_SEQ_CST);
  __atomic_store_n(&job_seq, gen, __ATOMIC_SEQ_CST);
  __builtin_wasm_memory_atomic_notify(&job_seq, (unsigned)-1);
  take_tasks(gen, 0);
  /* The browser's main thread may not block: spin, but only for tasks a worker has claimed and
   * is running (workers that have not woken up yet are not waited for). */
  while (__atomic_load_n(&job_done, __ATOMIC_SEQ_CST) < ntasks) {
  }
}

#else

PB_EXPORT(pb_set_threads) int pb_set_threads(int n) { return 1; }   /* no threads in this build */
PB_EXPORT(pb_worker_tasks) int pb_worker_tasks(void) { return 0; }

void pb_parallel_for(pb_task_fn fn, void *ctx, int ntasks) {
  for (int t = 0; t < ntasks; t++) fn(ctx, t, 0);
}

#endif
