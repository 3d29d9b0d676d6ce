/* runtime.c - the memory of kernels.wasm: a size-class allocator over memory.grow, memset/memcpy,
 * and reusable per-kernel work buffers.
 *
 * Why size classes: training allocates the same few tensor shapes every step (activations,
 * gradients), so freed blocks are reused exactly by the next step and the heap stops growing after
 * the first step. WASM memory can never shrink, so nothing is ever returned to the host; blocks
 * wait on the free list of their class. Classes are 4 steps per power of two (<= 25% waste).
 *
 * Layout of a block: a 16-byte header {class, magic, requested bytes, pad} followed by the payload
 * (16-byte aligned, so v128 loads/stores on it are aligned).
 */
#include "pb.h"

extern unsigned char __heap_base;   /* provided by wasm-ld: end of static data + stack */

#define PAGE 65536u
#define HEADER 16u
#define MAGIC_LIVE 0x5042u   /* "PB" */
#define MAGIC_FREE 0x4652u
#define NCLASSES 128

typedef struct Header {
  u32 cls;
  u32 magic;
  u32 nbytes;   /* requested payload bytes (for pb_live_bytes) */
  u32 next;     /* free-list link when free */
} Header;

static u32 heap_top = 0;      /* first unused byte of the bump region */
static u32 free_lists[NCLASSES];
static u32 live_blocks = 0;
static u32 live_bytes = 0;

/* Payload capacity of class c: 4 steps per power of two starting at 64 bytes. */
static u32 class_size(u32 c) {
  u32 octave = c >> 2, step = c & 3;
  return (64u << octave) + (step * (16u << octave));
}

static u32 class_of(u32 n) {
  u32 c = 0;
  while (class_size(c) < n) c++;
  return c;
}

static int grow_to(u32 end) {
  u32 have = (u32)__builtin_wasm_memory_size(0) * PAGE;
  if (end <= have) return 1;
  u32 pages = (end - have + PAGE - 1) / PAGE;
  return __builtin_wasm_memory_grow(0, pages) != (size_t)-1;
}

/* Blocks for the runtime itself (work buffers) are not counted as user arrays. */
static void *block_alloc(size_t nbytes) {
  if (nbytes == 0) nbytes = 1;
  if (nbytes > 0x7fff0000u) return 0;
  u32 c = class_of((u32)nbytes);
  if (c >= NCLASSES) return 0;
  Header *h;
  if (free_lists[c]) {
    h = (Header *)free_lists[c];
    free_lists[c] = h->next;
  } else {
    if (heap_top == 0) heap_top = ((u32)&__heap_base + 15u) & ~15u;
    if (heap_top < 16) heap_top = 16;   /* address 0 means "absent" in the kernel ABI */
    u32 start = heap_top;
    u32 end = start + HEADER + class_size(c);
    if (end < start || !grow_to(end)) return 0;
    heap_top = end;
    h = (Header *)start;
    h->cls = c;
  }
  h->magic = MAGIC_LIVE;
  h->nbytes = (u32)nbytes;
  h->next = 0;
  return (unsigned char *)h + HEADER;
}

static Header *block_free(void *p) {
  Header *h = (Header *)((unsigned char *)p - HEADER);
  if (h->magic != MAGIC_LIVE) __builtin_trap();   /* double free or foreign pointer: fail loudly */
  h->magic = MAGIC_FREE;
  h->next = free_lists[h->cls];
  free_lists[h->cls] = (u32)h;
  return h;
}

/* Runtime-internal blocks (work buffers, per-thread buffers): not counted as live user blocks. */
void *pb_alloc_internal(size_t nbytes) { return block_alloc(nbytes); }
void pb_free_internal(void *p) {
  if (p) block_free(p);
}

/* pb_malloc(n): a 16-byte aligned block of n bytes, or 0 when memory cannot grow. */
PB_EXPORT(pb_malloc) void *pb_malloc(size_t nbytes) {
  void *p = block_alloc(nbytes);
  if (p) {
    live_blocks++;
    live_bytes += (u32)nbytes;
  }
  return p;
}

PB_EXPORT(pb_free) void pb_free(void *p) {
  if (!p) return;
  Header *h = block_free(p);
  live_blocks--;
  live_bytes -= h->nbytes;
}

/* Bytes of linear memory the heap has claimed so far (high-water mark, never shrinks). */
PB_EXPORT(pb_heap_bytes) u32 pb_heap_bytes(void) {
  u32 base = ((u32)&__heap_base + 15u) & ~15u;
  return heap_top ? heap_top - base : 0;
}

PB_EXPORT(pb_live_blocks) u32 pb_live_blocks(void) { return live_blocks; }
PB_EXPORT(pb_live_bytes) u32 pb_live_bytes(void) { return live_bytes; }

/* -- per-kernel work buffers ---------------------------------------------------------------- */
static float *work_ptr[4];
static size_t work_cap[4];

float *pb_work(int slot, size_t nfloats) {
  if (nfloats > work_cap[slot]) {
    if (work_ptr[slot]) block_free(work_ptr[slot]);
    /* grow geometrically so alternating sizes do not reallocate every call */
    size_t cap = nfloats + nfloats / 2 + 64;
    work_ptr[slot] = (float *)block_alloc(cap * 4);
    if (!work_ptr[slot]) __builtin_trap();   /* out of memory: the JS side reports a RuntimeError */
    work_cap[slot] = cap;
  }
  return work_ptr[slot];
}

/* -- what clang may call even in -ffreestanding code ------------------------------------------ */
void *memset(void *dst, int value, size_t n) {
  unsigned char *d = (unsigned char *)dst;
  unsigned char v = (unsigned char)value;
  while (n && ((u32)d & 15)) { *d++ = v; n--; }
  v128_t vv = wasm_i8x16_splat((signed char)v);
  while (n >= 16) { wasm_v128_store(d, vv); d += 16; n -= 16; }
  while (n) { *d++ = v; n--; }
  return dst;
}

void *memcpy(void *dst, const void *src, size_t n) {
  unsigned char *d = (unsigned char *)dst;
  const unsigned char *s = (const unsigned char *)src;
  while (n >= 16) { wasm_v128_store(d, wasm_v128_load(s)); d += 16; s += 16; n -= 16; }
  while (n) { *d++ = *s++; n--; }
  return dst;
}

/* Exported helpers for the Python runtime (byte counts, 16-byte multiples not required). */
PB_EXPORT(pb_fill_f32) void pb_fill_f32(float *dst, float value, int n) {
  v128_t v = wasm_f32x4_splat(value);
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, v);
  for (; i < n; i++) dst[i] = value;
}

/* zeros() of a uint8 array: pb_fill_f32 would write 4 bytes per element. */
PB_EXPORT(pb_fill_bytes) void pb_fill_bytes(void *dst, int value, int nbytes) { memset(dst, value, (size_t)nbytes); }

PB_EXPORT(pb_copy) void pb_copy(void *dst, const void *src, int nbytes) { memcpy(dst, src, (size_t)nbytes); }
