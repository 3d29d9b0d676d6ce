"""python -m bench_lib [--quick] [--output FILE]: run the whole benchmark (scripts/bench calls this after
scripts/setup and scripts/build) and print one table measured in this run on this machine."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

from harness import REPO, Browser, PyodideError

from . import cold_start, pyodide_rows, report, tfjs
from .paired import paired_gpu, paired_inference, paired_training
from .plans import plans
from .report import RATIO_BATCH

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def native_row(p) -> dict:
    """pybrowserml with the numpy backend in this CPython process (numpy as installed, its BLAS threads)."""
    import numpy as np

    import pybrowserml as pb

    from . import pb_timing

    pb.set_backend("numpy")
    result = asyncio.run(pb_timing.bench(p["BATCHES"], p["FAST_TRAIN"], p["FAST_INFER"]))
    result["numpy"] = np.__version__
    return result


def open_pyodide_page(browser, backend):
    page = browser.new_pyodide_page()
    pyodide_rows.prepare(page, backend)
    return page


def pyodide_row(page, p, slow=False, memory_steps=0, gemm=False):
    extra = {"pyodide": page.run("import pyodide\npyodide.__version__")}
    if gemm:
        extra["gemm"] = pyodide_rows.gemm_report(page)
    train, infer = (p["SLOW_TRAIN"], p["SLOW_INFER"]) if slow else (p["FAST_TRAIN"], p["FAST_INFER"])
    result = pyodide_rows.bench_page(page, p["BATCHES"], train, infer, memory_steps=memory_steps)
    result.update(extra)
    if page.errors():
        raise RuntimeError(f"the page misbehaved: {page.errors()}")
    return result


def tfjs_rows(page, version, p, threaded: bool) -> dict:
    """TF.js rows; the page is left on its wasm backend (for the paired comparison)."""
    rows = {}
    if not threaded:
        for backend, train_plan in (("cpu", p["TFJS_CPU_TRAIN"]), ("webgl", p["SLOW_TRAIN"])):
            log(f"TF.js {backend}")
            rows[backend] = tfjs.bench_backend(page, backend, p["BATCHES"], train_plan, p["SLOW_INFER"])
    log(f"TF.js wasm ({'threaded' if threaded else '1 thread'})")
    # TF.js cannot train this network on wasm: try once and keep the error it gives.
    rows["wasm"] = tfjs.bench_backend(page, "wasm", p["BATCHES"], None, p["FAST_INFER"], train_once=True)
    for row in rows.values():
        row["tfjs"] = version
    return rows


def pyodide_gpu_row(browser, backend, p):
    """One of our GPU backends (slow plans: SwiftShader) and its page, left open for the paired comparison;
    ({"unavailable": why}, None) if it cannot start or run here."""
    log(f"Pyodide, {backend} backend (SwiftShader)")
    try:
        page = open_pyodide_page(browser, backend)
    except PyodideError as error:
        return {"backend": backend, "unavailable": str(error).strip().splitlines()[-1]}, None
    try:
        return pyodide_row(page, p, slow=True), page
    except PyodideError as error:  # started but could not run the network: say why, go on with the rows
        page.page.close()
        return {"backend": backend, "unavailable": "failed: " + str(error).strip().splitlines()[-1]}, None


def gpu_rows(p, measured, paired, with_tfjs_webgl: bool) -> str:
    """Our webgpu and webgl backends and TF.js's webgpu (and webgl if asked) in one browser with WebGPU
    enabled: a SwiftShader adapter here (see report.SWIFTSHADER_NOTE); then each of ours against TF.js on
    the same backend in alternating rounds (into `paired`). Returns Chromium's version."""
    with Browser(isolated=False, webgpu=True) as browser:
        chromium = browser._browser.version if browser._browser else "?"
        pages = {}
        measured[report.PB_WEBGPU], pages["webgpu"] = pyodide_gpu_row(browser, "webgpu", p)
        measured[report.PB_WEBGL], pages["webgl"] = pyodide_gpu_row(browser, "webgl", p)
        tf_page, version = tfjs.open_tfjs_page(browser)
        backends = (("webgpu", report.TFJS_WEBGPU),) + ((("webgl", report.TFJS_WEBGL),) if with_tfjs_webgl else ())
        for backend, key in backends:
            log(f"TF.js {backend} (SwiftShader)")
            measured[key] = tfjs.bench_backend(tf_page, backend, p["BATCHES"], p["SLOW_TRAIN"], p["SLOW_INFER"])
            measured[key]["tfjs"] = version
        tfjs_available = {"webgpu": not measured[report.TFJS_WEBGPU].get("unavailable"), "webgl": True}
        for backend in ("webgl", "webgpu"):
            if pages[backend] is None or not tfjs_available[backend]:
                continue
            log(f"paired training and inference, {backend} vs TF.js {backend}")
            pair = paired_gpu(
                pages[backend],
                tf_page,
                backend,
                RATIO_BATCH,
                p["GPU_PAIRED_TRAIN"],
                p["GPU_PAIRED_INFER"],
                p["PAIRED_ROUNDS"],
            )
            for part in ("training", "inference"):
                paired[f"{part}, {backend} / TF.js {backend} (SwiftShader)"] = pair[part]
        if browser.blocked_requests:
            raise RuntimeError(f"pages tried to reach the network: {browser.blocked_requests}")
    return chromium


def label_rows(measured: dict) -> list[dict]:
    labels = {
        report.PB_NATIVE: "pybrowserml numpy, native CPython",
        report.PB_PYODIDE_NUMPY: "pybrowserml numpy in Pyodide",
        report.PB_WASM: "pybrowserml wasm, 1 thread",
        report.PB_WASM_THREADS: "pybrowserml wasm, {threads} threads",
        report.PB_WEBGL: "pybrowserml webgl (SwiftShader)",
        report.PB_WEBGPU: "pybrowserml webgpu (SwiftShader)",
        report.TFJS_CPU: "TF.js 4.22 cpu",
        report.TFJS_WEBGL: "TF.js 4.22 webgl (SwiftShader)",
        report.TFJS_WEBGPU: "TF.js 4.22 webgpu (SwiftShader)",
        report.TFJS_WASM: "TF.js 4.22 wasm, 1 thread",
        # Its getThreadsCount() says 1 even when the threaded-simd build runs on a thread pool: name the build.
        report.TFJS_WASM_THREADS: "TF.js 4.22 wasm, threaded-simd build",
    }
    rows = []
    for key, label in labels.items():
        if key in measured:
            row = measured[key]
            row["key"] = key
            row["label"] = label.format(threads=row.get("threads", "?"))
            rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a rough smoke run of every row (batches 8 and 32)")
    parser.add_argument(
        "--gpu-only",
        action="store_true",
        help="only the GPU rows: our webgpu and webgl against TF.js's webgpu and webgl",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO / "bench-results.json",
        help="where to write the figures as JSON (default: bench-results.json at the repo root)",
    )
    parser.add_argument(
        "--cold-start",
        action="store_true",
        help="only the cold start: worker demo opened to its first training step, where the time goes, wheel size",
    )
    args = parser.parse_args(argv)
    if args.cold_start:
        return cold_start_only(args)
    p = plans(args.quick)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    measured, gemm, paired = {}, {}, {}

    if not args.gpu_only:
        cpu_rows(p, measured, gemm, paired)
    chromium = gpu_rows(p, measured, paired, with_tfjs_webgl=args.gpu_only)
    cold = None if args.gpu_only else measure_cold_start(runs=2)
    report_and_save(args, p, measured, gemm, paired, started, load_before, chromium, cold)


def measure_cold_start(runs):
    log(f"cold start: the worker demo opened {runs} times (first visit, then dataset cached)")
    return cold_start.measure(runs)


def cold_start_only(args) -> None:
    load_before = os.getloadavg()[0]
    cold = measure_cold_start(runs=3)
    cold["load_average_1min"] = {"start": round(load_before, 2), "end": round(os.getloadavg()[0], 2)}
    print(f"Cold start (1-min load average {load_before:.1f} on {os.cpu_count()} CPUs):")
    print(cold_start.format_cold_start(cold))
    args.output.write_text(json.dumps({"cold_start": cold}, indent=2) + "\n")
    print(f"\nwrote {args.output}")


def cpu_rows(p, measured, gemm, paired) -> None:
    """numpy (native and in Pyodide), our wasm (1 thread, threaded) and TF.js cpu, webgl and wasm."""
    log("native CPython, numpy backend")
    measured[report.PB_NATIVE] = native_row(p)

    with Browser(isolated=False) as browser:
        log("Pyodide, numpy backend")
        numpy_page = open_pyodide_page(browser, "numpy")
        measured[report.PB_PYODIDE_NUMPY] = pyodide_row(numpy_page, p, slow=True)
        log("Pyodide, wasm backend, 1 thread (page not cross-origin isolated)")
        pb_page = open_pyodide_page(browser, "wasm")
        row = pyodide_row(pb_page, p, memory_steps=p["MEMORY_STEPS"], gemm=True)
        gemm["1 thread"] = row.pop("gemm")
        measured[report.PB_WASM] = row
        log("paired training, wasm 1 thread vs numpy in Pyodide")
        paired["training, wasm 1 thread / numpy in Pyodide"] = paired_training(
            pb_page, numpy_page, RATIO_BATCH, p["FAST_TRAIN"], p["SLOW_TRAIN"], p["PAIRED_ROUNDS"]
        )
        numpy_page.page.close()
        tf_page, version = tfjs.open_tfjs_page(browser)
        tf_rows = tfjs_rows(tf_page, version, p, threaded=False)
        measured[report.TFJS_CPU], measured[report.TFJS_WEBGL] = tf_rows["cpu"], tf_rows["webgl"]
        measured[report.TFJS_WASM] = tf_rows["wasm"]
        log("paired inference, wasm 1 thread vs TF.js wasm 1 thread")
        paired["inference, wasm 1 thread / TF.js wasm 1 thread"] = paired_inference(
            pb_page, tf_page, RATIO_BATCH, p["FAST_INFER"], p["PAIRED_ROUNDS"]
        )
        if browser.blocked_requests:
            raise RuntimeError(f"pages tried to reach the network: {browser.blocked_requests}")

    with Browser(isolated=True) as browser:
        log("Pyodide, wasm backend, threaded (cross-origin isolated page)")
        pb_page = None
        try:
            pb_page = open_pyodide_page(browser, "wasm")
            row = pyodide_row(pb_page, p, gemm=True)
            if row.get("threads", 1) > 1:
                gemm[f"{row['threads']} threads"] = row.pop("gemm")
                measured[report.PB_WASM_THREADS] = row
            else:
                log("threads are not available here: no threaded wasm row")
                pb_page = None
        except PyodideError as error:  # threads are optional: say why and carry on
            log(f"threaded wasm backend unavailable: {str(error).strip().splitlines()[-1]}")
            pb_page = None
        tf_page, version = tfjs.open_tfjs_page(browser)
        measured[report.TFJS_WASM_THREADS] = tfjs_rows(tf_page, version, p, threaded=True)["wasm"]
        if pb_page is not None:
            log("paired inference, wasm threaded vs TF.js wasm threaded")
            paired["inference, wasm threaded / TF.js wasm threaded"] = paired_inference(
                pb_page, tf_page, RATIO_BATCH, p["FAST_INFER"], p["PAIRED_ROUNDS"]
            )
            log("paired training, wasm threaded vs numpy in Pyodide")
            numpy_page = open_pyodide_page(browser, "numpy")
            paired["training, wasm threaded / numpy in Pyodide"] = paired_training(
                pb_page, numpy_page, RATIO_BATCH, p["FAST_TRAIN"], p["SLOW_TRAIN"], p["PAIRED_ROUNDS"]
            )
        if browser.blocked_requests:
            raise RuntimeError(f"pages tried to reach the network: {browser.blocked_requests}")


def report_and_save(args, p, measured, gemm, paired, started, load_before, chromium, cold=None) -> None:
    rows = label_rows(measured)
    memory = measured.get(report.PB_WASM, {}).get("memory", {})
    by_key = {r["key"]: r for r in rows}
    # --gpu-only measures no CPU row: list only the GPU targets rather than CPU ones "not measured".
    ratio_items = report.gpu_ratios(by_key) if args.gpu_only else report.ratios(by_key, gemm)
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "chromium": chromium,
        "pyodide": next((r["pyodide"] for r in rows if r.get("pyodide")), None),
        "tfjs": next((r["tfjs"] for r in rows if r.get("tfjs")), None),
        "numpy_native": measured.get(report.PB_NATIVE, {}).get("numpy"),
        "load_average_1min": {"start": round(load_before, 2), "end": round(os.getloadavg()[0], 2)},
    }

    print()
    print(
        f"pybrowserml benchmark: reference network dense_block_cnn (49,018 params), 28x28x1, 10 classes; "
        f"samples/s, median of timed steps; {machine['cpus']} CPUs, Chromium {chromium}, "
        f"Pyodide {machine['pyodide']}, TF.js {machine['tfjs']}{' (--quick)' if args.quick else ''}"
    )
    if load_before > 0.5 * (machine["cpus"] or 1):
        # Rows run one after another: other work on the machine skews them unevenly, and so the ratios.
        # (Only the start is judged: by the end the load average includes this benchmark's own browser.)
        print(
            f"WARNING: the machine was busy when the benchmark started (1-min load average {load_before:.1f} on "
            f"{machine['cpus']} CPUs): figures and ratios are unreliable; run again on an idle machine"
        )
    print(report.SWIFTSHADER_NOTE)
    print()
    print(report.table(rows, p["BATCHES"]))
    failures = report.format_failures(rows)
    if failures:
        print(failures)
    print()
    # A kernel missing from the wasm table runs in numpy (correct but slow): say so next to the figures.
    fallbacks = {r["label"]: r["fallbacks"] for r in rows if r.get("fallbacks")}
    print("Kernels that fell back to numpy: " + (json.dumps(fallbacks) if fallbacks else "none"))
    print("GPU draws/dispatches per training step:")
    print(report.format_dispatches(rows, p["BATCHES"]))
    if gemm:
        print("WASM GEMM kernel (float32):")
        print(report.format_gemm(gemm))
        print("Device memory:")
        print(report.format_memory(memory))
    print("Targets (batch 32; GPU ratios from the single-pass rows, the paired ones below are robust):")
    print(report.format_ratios(ratio_items))
    if paired:
        print(f"Paired comparisons b{RATIO_BATCH}, measured in alternating rounds (robust to load changes):")
        print(report.format_paired(paired))

    if cold:
        print("Cold start:")
        print(cold_start.format_cold_start(cold))

    elapsed = time.perf_counter() - started
    document = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "seconds": round(elapsed, 1),
        "machine": machine,
        "plans": p,
        "rows": rows,
        "gemm": gemm,
        "memory": memory,
        "ratios": ratio_items,
        "paired": paired,
        "cold_start": cold,
    }
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {args.output} ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
