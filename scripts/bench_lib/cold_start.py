"""Cold start: from opening the worker demo (web/demo/index.html?autostart=1) to its first training step,
and where the time goes; plus what a page downloads of pybrowserml: the core wheel, the add-on wheel of its
backend (the demo runs wasm here and installs its add-on with the core), and the one WASM module it fetches
from beside the wheels (.build/dist/wasm/).

Each run opens a new page in one browser context, so run 1 is a first visit (the dataset comes from the
server and is cached in IndexedDB) and the later runs are return visits (the dataset comes from IndexedDB).
The server forbids HTTP caching, so Pyodide, numpy and the wheels are fetched every time, as on a first visit.
Times are ms since the page opened (navigation start), read from the page's own clock.
"""

from __future__ import annotations

import statistics
import zipfile

from harness import Browser
from harness.paths import WHEEL_DIR, addon_wheels, wheel_path

URL = "/web/demo/index.html?autostart=1&backend=wasm&epochs=1&train_samples=2048&test_samples=256"
# (phase, the mark that ends it); each phase runs from the previous mark.
PHASES = (
    ("page + worker start", "worker"),
    ("Pyodide boot (numpy + wheels load during it)", "pyodide"),
    ("numpy + wheels, after the boot", "packages"),
    ("import pybrowserml + demo_app", "app"),
    ("wasm backend (compile, instantiate)", "backend"),
    ("dataset, beyond the backend (they overlap)", "dataset"),
    ("build + compile model", "model"),
    ("first training step", "first_step"),
)


# What users meet: the core wheel every page downloads, and page open to the first training step (median of the runs).
WHEEL_TARGET_BYTES = 200 * 1024
COLD_START_TARGET_MS = 4000


def targets(result: dict) -> list[str]:
    """The two targets, each with its measured value and whether it is met."""
    wheel_bytes = result["wheel"]["bytes"]
    median_ms = statistics.median(r["first_step_ms"] for r in result["runs"])
    verdict = {True: "met", False: "NOT met"}
    return [
        f"  core wheel: {wheel_bytes / 1024:.0f} KB ({wheel_bytes} bytes; target <= {WHEEL_TARGET_BYTES // 1024} KB: "
        f"{verdict[wheel_bytes <= WHEEL_TARGET_BYTES]})",
        f"  page open -> first training step, median of {len(result['runs'])} runs: {median_ms / 1000:.2f} s "
        f"(target <= {COLD_START_TARGET_MS / 1000:g} s: {verdict[median_ms <= COLD_START_TARGET_MS]})",
    ]


def wheel_sizes(fetched_wasm=(), fetched_wheels=()) -> dict:
    """The core wheel's size (and any .wasm still inside it), each add-on wheel's, and the add-on wheels and
    served WASM modules the pages fetched."""
    wheel = wheel_path()
    with zipfile.ZipFile(wheel) as archive:
        wasm = [i for i in archive.infolist() if i.filename.endswith(".wasm")]
    served = sorted(set(fetched_wasm))
    return {
        "wheel": wheel.name,
        "bytes": wheel.stat().st_size,
        "wasm_modules": len(wasm),
        "wasm_compressed_bytes": sum(i.compress_size for i in wasm),
        "addons": {backend: path.stat().st_size for backend, path in addon_wheels().items()},
        "fetched_addons": {name: (WHEEL_DIR / name).stat().st_size for name in sorted(set(fetched_wheels))},
        "fetched_wasm": {name: (WHEEL_DIR / "wasm" / name).stat().st_size for name in served},
    }


def one_run(browser, fetched_wasm: list, fetched_wheels: list) -> dict:
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # the kernels come from beside the wheel (the demo's worker fetches them; Chromium reports a dedicated
    # worker's requests as its page's)
    page.on("request", lambda r: "/dist/wasm/" in r.url and fetched_wasm.append(r.url.rsplit("/", 1)[-1]))
    page.on(
        "request",
        lambda r: "/dist/pybrowserml_backend_" in r.url and fetched_wheels.append(r.url.rsplit("/", 1)[-1]),
    )
    try:
        page.goto(browser.server.url(URL))
        page.wait_for_function(
            "() => window.demoState && (demoState.firstStepMs !== null || demoState.errors.length)", timeout=180_000
        )
        state = page.evaluate(
            "() => ({times: demoState.times, boot: demoState.boot, first: demoState.firstStepMs, "
            "errors: demoState.errors, cached: demoState.dataset && demoState.dataset.was_cached, "
            "origin: performance.timeOrigin})"
        )
    finally:
        page.close()
    if errors or state["errors"]:
        raise RuntimeError(f"the demo failed: {errors or state['errors']}")
    worker = state["boot"]["worker_start_ms"] - state["origin"]
    marks = {"worker": worker, **{k: worker + v for k, v in state["boot"]["marks"].items()}}
    marks.update(
        backend=state["times"]["backend"],
        dataset=max(state["times"]["dataset:ready"], state["times"]["backend"]),
        model=state["times"]["model"],
        first_step=state["first"],
    )
    phases, previous = {}, 0.0
    for name, mark in PHASES:
        phases[name] = round(marks[mark] - previous)
        previous = marks[mark]
    return {"first_step_ms": round(state["first"]), "dataset_cached": bool(state["cached"]), "phases": phases}


def measure(runs: int = 3) -> dict:
    fetched_wasm, fetched_wheels = [], []
    with Browser(isolated=False) as browser:
        results = [one_run(browser, fetched_wasm, fetched_wheels) for _ in range(runs)]
        if browser.blocked_requests:
            raise RuntimeError(f"the demo tried to reach the network: {browser.blocked_requests}")
    return {"url": URL, "runs": results, "wheel": wheel_sizes(fetched_wasm, fetched_wheels)}


def format_cold_start(result: dict) -> str:
    runs = result["runs"]
    header = "| phase (ms) | " + " | ".join(
        f"run {i + 1} ({'dataset cached' if r['dataset_cached'] else 'first visit'})" for i, r in enumerate(runs)
    )
    lines = [header + " |", "|---" * (len(runs) + 1) + "|"]
    for name, _ in PHASES:
        lines.append(f"| {name} | " + " | ".join(str(r["phases"][name]) for r in runs) + " |")
    lines.append(
        "| **page open -> first training step** | " + " | ".join(f"**{r['first_step_ms']}**" for r in runs) + " |"
    )
    w = result["wheel"]
    inside = (
        f", of which {w['wasm_modules']} wasm modules {w['wasm_compressed_bytes'] / 1024:.0f} KB compressed"
        if w["wasm_modules"]
        else " (no wasm inside)"
    )
    fetched = w.get("fetched_wasm") or {}
    beside = ", ".join(f"{name} {size / 1024:.0f} KB" for name, size in fetched.items()) or "none"
    lines.append(f"core wheel {w['wheel']}: {w['bytes'] / 1024:.0f} KB{inside}; WASM fetched from beside it: {beside}")
    addons = w.get("addons") or {}
    if addons:
        lines.append("add-on wheels: " + ", ".join(f"{name} {size / 1024:.0f} KB" for name, size in addons.items()))
    fetched_addons = w.get("fetched_addons") or {}
    total = w["bytes"] + sum(fetched_addons.values()) + sum(fetched.values())
    lines.append(
        f"a page downloads {total / 1024:.0f} KB of pybrowserml ({total} bytes): the core, "
        + ", ".join([*fetched_addons, *fetched] or ["no add-on, no WASM module"])
    )
    lines.extend(targets(result))
    return "\n".join(lines)
