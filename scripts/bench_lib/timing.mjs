// Timing helpers of the benchmark pages, the same rule as scripts/bench_lib/pb_timing.py: warm-up calls,
// then each timed call measured on its own, and the median of those (robust to a garbage collection or a
// background compile landing in one of them).

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// Runs `step` (async) `warmup` times untimed, then up to `steps` times timed (fewer once `budget_s` seconds
// of timed work are spent, but at least `min_steps`): slow backends get few steps, fast ones many.
export async function timeSteps(step, { warmup, steps, budget_s = Infinity, min_steps = 2 }) {
  for (let i = 0; i < warmup; i++) await step();
  // Let V8's optimising tier and any background shader compilation finish before timing.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const seconds = [];
  const spent = () => seconds.reduce((a, b) => a + b, 0);
  while (seconds.length < steps && (seconds.length < min_steps || spent() < budget_s)) {
    const start = performance.now();
    await step();
    seconds.push((performance.now() - start) / 1000);
  }
  // best_s too: on a busy machine the fastest step is the least disturbed one (the table uses the median).
  return { median_s: median(seconds), best_s: Math.min(...seconds), steps: seconds.length, warmup };
}
