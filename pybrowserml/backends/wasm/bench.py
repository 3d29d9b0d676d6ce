"""Speed probes of the WASM kernels, for benchmarks and for judging the GEMM against the machine.

V8 runs WASM first in its baseline compiler and switches a function to optimised code only on a
later call, after compiling it in the background; a long call never switches. So every probe warms
its export up with short calls and yields to the event loop before timing. Results are the best
of `repeats` timings (the least disturbed by other work on the machine).
"""

from __future__ import annotations

import asyncio
import time

import numpy as np

PEAK_ITERATIONS = 10_000_000  # x 64 FLOP: ~20 ms at 30 GFLOP/s
_WARM_UP_PAUSE = 0.5  # seconds for the optimising tier to finish in the background


async def _warm_up(call, times=50):
    for _ in range(times):
        call()
    await asyncio.sleep(_WARM_UP_PAUSE)


def _best_seconds(call, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


async def fma_peak_gflops(rt, repeats=3) -> float:
    """GFLOP/s of pb_bench_fma_peak: independent f32x4 multiply-adds on L1 data, the ceiling a
    GEMM micro-kernel can approach on this engine (mul + add in the plain module, one fused
    f32x4.relaxed_madd in the relaxed one: see rt.relaxed_simd)."""
    peak = rt.exports.pb_bench_fma_peak
    await _warm_up(lambda: peak(100_000), times=30)
    return PEAK_ITERATIONS * 64 / _best_seconds(lambda: peak(PEAK_ITERATIONS), repeats) / 1e9


async def gemm_gflops(rt, n=256, repeats=3) -> float:
    """GFLOP/s of an n x n x n float32 GEMM (pb_bench_gemm) on random data in WASM memory."""
    rng = np.random.default_rng(0)
    a = rt.upload(rng.random((n, n), dtype=np.float32))
    b = rt.upload(rng.random((n, n), dtype=np.float32))
    c = rt.empty((n, n))
    bench = rt.exports.pb_bench_gemm
    small = [rt.upload(np.ones((64, 64), np.float32)) for _ in range(2)] + [rt.empty((64, 64))]
    await _warm_up(lambda: bench(small[0].ptr, small[1].ptr, small[2].ptr, 64, 1))
    reps = max(1, int(2e8 // (2 * n**3)))  # ~0.2 GFLOP per timing
    bench(a.ptr, b.ptr, c.ptr, n, 1)
    seconds = _best_seconds(lambda: bench(a.ptr, b.ptr, c.ptr, n, reps), repeats)
    return 2 * n**3 * reps / seconds / 1e9


async def report(rt) -> dict:
    """Peak, GEMM at 256^3 and 512^3, and the GEMM's share of the peak, for one runtime."""
    peak = await fma_peak_gflops(rt)
    result = {"threads": rt.threads, "relaxed_simd": rt.relaxed_simd, "fma_peak_gflops": round(peak, 1)}
    for n in (256, 512):
        gflops = await gemm_gflops(rt, n)
        result[f"gemm_{n}_gflops"] = round(gflops, 1)
        result[f"gemm_{n}_share_of_peak"] = round(gflops / peak, 2)
    return result
