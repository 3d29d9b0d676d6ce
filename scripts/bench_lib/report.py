"""Turns the measured rows into the printed table, the target ratios of the issue, and the JSON document."""

from __future__ import annotations

# Row keys used by run.py; the ratios below refer to them.
PB_NATIVE = "pb_native_numpy"
PB_PYODIDE_NUMPY = "pb_pyodide_numpy"
PB_WASM = "pb_wasm_1t"
PB_WASM_THREADS = "pb_wasm_threads"
TFJS_CPU = "tfjs_cpu"
TFJS_WEBGL = "tfjs_webgl"
TFJS_WASM = "tfjs_wasm_1t"
TFJS_WASM_THREADS = "tfjs_wasm_threads"
PB_WEBGPU = "pb_webgpu"
PB_WEBGL = "pb_webgl"
TFJS_WEBGPU = "tfjs_webgpu"
TFJS_TRAINING_BACKENDS = (TFJS_CPU, TFJS_WEBGL)
# Ours against TF.js's on the same kind of device (issue targets: training >= 3x, inference >= 2x).
GPU_PAIRS = ((PB_WEBGL, TFJS_WEBGL), (PB_WEBGPU, TFJS_WEBGPU))
SWIFTSHADER_NOTE = (
    "GPU rows (webgl, webgpu) run on SwiftShader, Chromium's software GPU, on this machine's CPUs: their ratios "
    "measure kernel efficiency and per-step overhead, not GPU speed."
)

RATIO_BATCH = 32


def rate(row: dict | None, part: str, batch: int):
    """samples/s of a row's train or infer figure, or None when missing or failed."""
    if row is None:
        return None
    entry = row.get(part, {}).get(batch)
    return entry.get("samples_per_s") if isinstance(entry, dict) else None


def _cell(row: dict, part: str, batch: int) -> str:
    if row.get("unavailable"):
        return "n/a (cannot start, see below)"
    entry = row.get(part, {}).get(batch)
    if entry is None:
        return "-"
    if "samples_per_s" in entry:
        value = entry["samples_per_s"]
        return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    missing = row.get("missing_backprop_kernels") or []
    if any(name.startswith("DepthwiseConv2dNativeBackprop") for name in missing):
        return "n/a (no DepthwiseConv2dNative backprop)"
    if entry.get("missing_kernel"):
        return f"n/a (no {entry['missing_kernel']})"
    return "n/a (failed, see below)"


def format_failures(rows: list[dict]) -> str:
    """One line per row that could not train or infer: the error it actually raised."""
    lines = []
    for row in rows:
        if row.get("unavailable"):
            lines.append(f"  {row['label']}: could not start: {row['unavailable']}")
        for part in ("train", "infer"):
            errors = {
                entry["error"] for entry in row.get(part, {}).values() if isinstance(entry, dict) and "error" in entry
            }
            for error in sorted(errors):
                missing = row.get("missing_backprop_kernels")
                lines.append(
                    f"  {row['label']} {part}: tried one step, it raised: {error}"
                    + (f"; kernels missing from its registry: {', '.join(missing)}" if missing else "")
                )
    return "\n".join(lines)


def table(rows: list[dict], batches) -> str:
    headers = ["", *[f"train b{b}" for b in batches], *[f"infer b{b}" for b in batches]]
    lines = [
        [row["label"], *[_cell(row, "train", b) for b in batches], *[_cell(row, "infer", b) for b in batches]]
        for row in rows
    ]
    widths = [max(len(str(line[i])) for line in [headers, *lines]) for i in range(len(headers))]

    def fmt(cells):
        return (
            "| "
            + " | ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
            + " |"
        )

    rule = "|" + "|".join("-" * (w + 1) + ":" if i else "-" * (w + 2) for i, w in enumerate(widths)) + "|"
    return "\n".join([fmt(headers), rule, *[fmt(line) for line in lines]])


def _ratio(name, numerator, denominator, target):
    value = numerator / denominator if numerator and denominator else None
    return {"name": name, "value": value, "target": target, "met": None if value is None else value >= target}


def ratios(rows_by_key: dict, gemm: dict) -> list[dict]:
    b = RATIO_BATCH
    get = rows_by_key.get
    tfjs_train = {k: rate(get(k), "train", b) for k in TFJS_TRAINING_BACKENDS}
    tfjs_train = {k: v for k, v in tfjs_train.items() if v}
    best_key = max(tfjs_train, key=tfjs_train.get) if tfjs_train else None
    best_label = get(best_key)["label"] if best_key else "TF.js (none trained)"
    result = [
        _ratio(
            f"wasm 1 thread training b{b} / {best_label} (TF.js's best training backend)",
            rate(get(PB_WASM), "train", b),
            tfjs_train.get(best_key),
            20.0,
        ),
        _ratio(
            f"wasm 1 thread training b{b} / numpy in Pyodide",
            rate(get(PB_WASM), "train", b),
            rate(get(PB_PYODIDE_NUMPY), "train", b),
            20.0,
        ),
        _ratio(
            f"wasm 1 thread inference b{b} / TF.js wasm 1 thread",
            rate(get(PB_WASM), "infer", b),
            rate(get(TFJS_WASM), "infer", b),
            0.8,
        ),
    ]
    if get(PB_WASM_THREADS) and get(TFJS_WASM_THREADS):
        threads = get(PB_WASM_THREADS).get("threads")
        result += [
            _ratio(
                f"wasm {threads} threads training b{b} / {best_label}",
                rate(get(PB_WASM_THREADS), "train", b),
                tfjs_train.get(best_key),
                20.0,
            ),
            _ratio(
                f"wasm {threads} threads training b{b} / numpy in Pyodide",
                rate(get(PB_WASM_THREADS), "train", b),
                rate(get(PB_PYODIDE_NUMPY), "train", b),
                20.0,
            ),
            _ratio(
                f"wasm {threads} threads inference b{b} / TF.js wasm threaded",
                rate(get(PB_WASM_THREADS), "infer", b),
                rate(get(TFJS_WASM_THREADS), "infer", b),
                0.8,
            ),
        ]
    result += gpu_ratios(rows_by_key)
    peak = one_thread_peak(gemm)
    for key, g in gemm.items():
        if peak and "gemm_256_gflops" in g:
            share = gemm_share(g, peak)
            result.append(
                {"name": f"GEMM 256^3 / SIMD FMA peak ({key})", "value": share, "target": 0.6, "met": share >= 0.6}
            )
    return result


def dispatches(row: dict | None, batch: int):
    entry = (row or {}).get("train", {}).get(batch)
    return entry.get("dispatches_per_step") if isinstance(entry, dict) else None


def gpu_ratios(rows_by_key: dict) -> list[dict]:
    """Our GPU backends over TF.js's of the same kind (SwiftShader: see SWIFTSHADER_NOTE), and TF.js's
    dispatches per training step over ours (target: ours at most half of TF.js webgl's)."""
    b, get = RATIO_BATCH, rows_by_key.get
    result = []
    for ours, theirs in GPU_PAIRS:
        if get(ours) is None and get(theirs) is None:
            continue
        names = [(get(k) or {}).get("label", k) for k in (ours, theirs)]
        for part, target in (("train", 3.0), ("infer", 2.0)):
            item = _ratio(
                f"{names[0]} {part} b{b} / {names[1]}", rate(get(ours), part, b), rate(get(theirs), part, b), target
            )
            # Rows measured one after another: a load change between them skews this; the paired figure does not.
            item["single_pass"] = True
            result.append(item)
    # The target compares each of our GPU backends with TF.js webgl's count (its most used GPU
    # backend); webgpu is also compared with TF.js webgpu, the same API.
    theirs_webgl = dispatches(get(TFJS_WEBGL), b)
    for ours, theirs in ((PB_WEBGL, TFJS_WEBGL), (PB_WEBGPU, TFJS_WEBGL), (PB_WEBGPU, TFJS_WEBGPU)):
        ours_count, theirs_count = dispatches(get(ours), b), dispatches(get(theirs), b)
        if ours_count or theirs_count or (theirs == TFJS_WEBGL and theirs_webgl and get(ours)):
            result.append(
                _ratio(
                    f"TF.js {theirs.split('_')[1]} dispatches per training step b{b} / ours ({ours.split('_')[1]})",
                    theirs_count,
                    ours_count,
                    2.0,
                )
            )
    return result


def format_dispatches(rows: list[dict], batches) -> str:
    """GPU draws/dispatches per training step of every row that issued any."""
    lines = []
    for row in rows:
        counts = [(b, dispatches(row, b)) for b in batches]
        if any(count for _, count in counts):
            lines.append(f"  {row['label']}: " + ", ".join(f"b{b} {count if count else '-'}" for b, count in counts))
    return "\n".join(lines) or "  not measured"


def one_thread_peak(gemm: dict) -> float:
    """The SIMD multiply-add peak of one thread: the best probe of the run. Every page probes the same loop on
    the same cores, and other work on the machine can only make a probe slower, never faster."""
    return max((g["fma_peak_gflops"] for g in gemm.values() if g.get("fma_peak_gflops")), default=0.0)


def gemm_share(g: dict, peak: float, n: int = 256) -> float:
    """GEMM GFLOP/s over the peak of the threads it ran on (the threaded module's GEMM uses all of them)."""
    return g[f"gemm_{n}_gflops"] / (peak * (g.get("threads") or 1))


def format_ratios(items: list[dict]) -> str:
    lines = []
    for r in items:
        value = "n/a" if r["value"] is None else f"{r['value']:.2f}x"
        verdict = {True: "met", False: "NOT met", None: "not measured"}[r["met"]]
        single = "single pass, see paired; " if r.get("single_pass") else ""
        lines.append(f"  {r['name']}: {value} ({single}target >= {r['target']}x: {verdict})")
    return "\n".join(lines)


def format_gemm(gemm: dict) -> str:
    peak = one_thread_peak(gemm)
    probes = ", ".join(f"{g['fma_peak_gflops']} ({key} page)" for key, g in gemm.items() if "fma_peak_gflops" in g)
    lines = [f"  SIMD multiply-add peak of one thread: {peak} GFLOP/s (best of the probes: {probes})"]
    for key, g in gemm.items():
        if "error" in g:
            lines.append(f"  {key}: {g['error']}")
            continue
        threads = g.get("threads") or 1
        of = "peak" if threads == 1 else f"{threads} x peak"
        flavour = {True: " (relaxed SIMD, fused multiply-add)", False: " (plain SIMD)"}.get(g.get("relaxed_simd"), "")
        lines.append(
            f"  GEMM {key}{flavour}: 256^3 {g['gemm_256_gflops']} GFLOP/s ({gemm_share(g, peak, 256):.0%} of {of}), "
            f"512^3 {g['gemm_512_gflops']} GFLOP/s ({gemm_share(g, peak, 512):.0%})"
        )
    return "\n".join(lines)


def format_memory(memory: dict) -> str:
    if not memory:
        return "  not measured"
    steps = memory["steps"]
    first, last = memory["after_step_1"], memory[f"after_step_{steps}"]
    mib = lambda n: f"{n / 2**20:.2f} MiB"  # noqa: E731
    return (
        f"  wasm, batch {memory['batch']}: after step 1 {first['arrays']} arrays, {mib(first['bytes'])} live, "
        f"heap {mib(first['heap_bytes'])}; after step {steps} {last['arrays']} arrays, {mib(last['bytes'])} live, "
        f"heap {mib(last['heap_bytes'])} (growth {last['bytes'] - first['bytes']:+,} bytes live)"
    )


def format_paired(paired: dict) -> str:
    if not paired:
        return "  not measured"
    lines = []
    for key, result in paired.items():
        each = ", ".join(f"{r['ratio']:.2f}" for r in result["rounds"])
        target = result.get("target", 0.8)
        lines.append(
            f"  {key}: {result['ratio']:.2f}x (median of rounds {each}; target >= {target:g}x: "
            f"{'met' if result['ratio'] >= target else 'NOT met'})"
        )
    return "\n".join(lines)
