"""TF.js 4.22 on the reference network, in a plain page of the harness's Chromium (no Pyodide).

The npm packages come from /node_modules/ of the local server (scripts/setup installs them with npm ci);
the page-side work is scripts/bench_lib/tfjs_bench.mjs (served at /bench/).
"""

from __future__ import annotations

TFJS_SCRIPTS = (
    "/node_modules/@tensorflow/tfjs/dist/tf.min.js",
    "/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js",
    "/node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js",
)

# Counts GPU work TF.js issues (draws of WebGL2, compute dispatches of WebGPU), installed before TF.js loads
# so that every context and pass it creates is counted: window.__gpuDispatches.
COUNT_DISPATCHES = """() => {
  window.__gpuDispatches = 0;
  const wrap = (proto, names) => {
    for (const name of names) {
      const original = proto && proto[name];
      if (!original) continue;
      proto[name] = function (...args) { window.__gpuDispatches += 1; return original.apply(this, args); };
    }
  };
  wrap(globalThis.WebGL2RenderingContext && WebGL2RenderingContext.prototype, ["drawArrays", "drawElements"]);
  wrap(globalThis.GPUComputePassEncoder && GPUComputePassEncoder.prototype, ["dispatchWorkgroups"]);
}"""
WASM_PATHS = "/node_modules/@tensorflow/tfjs-backend-wasm/dist/"

_RUN = """
async ([backend, plan]) => {
  const { benchTfjsBackend } = await import("/bench/tfjs_bench.mjs");
  return await benchTfjsBackend(window.tf, backend, plan);
}
"""


def open_tfjs_page(browser):
    """A page of `browser` (a harness Browser) with TF.js and its wasm and webgpu backends loaded from the local
    server, and a counter of the GPU draws and dispatches it issues."""
    page = browser.new_page()
    page.goto(browser.server.url("/web/pages/blank.html"))
    page.evaluate(COUNT_DISPATCHES)
    for script in TFJS_SCRIPTS:
        page.add_script_tag(url=script)
    version = page.evaluate(f"""() => {{ tf.wasm.setWasmPaths({WASM_PATHS!r}); return tf.version.tfjs; }}""")
    if not version.startswith("4.22."):
        raise RuntimeError(f"expected TF.js 4.22.x from /node_modules/, found {version}: run scripts/setup (npm ci)")
    return page, version


def bench_backend(page, backend: str, batches, train_plan, infer_plan, train_once=False) -> dict:
    """Training and inference timings of one TF.js backend; see benchTfjsBackend for the result's shape.
    A backend TF.js cannot start (webgpu without --enable-unsafe-webgpu) gives {"unavailable": why}."""
    try:
        return _bench_backend(page, backend, batches, train_plan, infer_plan, train_once)
    except Exception as error:  # playwright's Error carries the page's exception text
        if "could not initialise" not in str(error):
            raise
        return {"backend": backend, "unavailable": str(error).split("Error: ", 1)[-1].splitlines()[0]}


def _bench_backend(page, backend, batches, train_plan, infer_plan, train_once):
    plan = {"batches": list(batches), "train": train_plan, "infer": infer_plan, "trainOnce": train_once}
    binaries = []  # which tfjs-backend-wasm build the page chose (plain, simd, threaded-simd)
    listener = lambda request: request.url.endswith(".wasm") and binaries.append(request.url.rsplit("/", 1)[-1])  # noqa: E731
    page.on("request", listener)
    try:
        result = page.evaluate(_RUN, [backend, plan])
    finally:
        page.remove_listener("request", listener)
    if binaries:
        result["wasm_binary"] = binaries[0]
    # JSON object keys come back as strings: index by batch size.
    for part in ("train", "infer"):
        result[part] = {int(k): v for k, v in result[part].items()}
    return result


def use_backend(page, backend: str) -> None:
    """Switches the page's TF.js to `backend` (already initialised by bench_backend on this page)."""
    if not page.evaluate("async (b) => { const ok = await tf.setBackend(b); await tf.ready(); return ok; }", backend):
        raise RuntimeError(f"TF.js could not switch to its {backend} backend")


def train_once(page, batch: int, plan) -> dict:
    """One training measurement on the page's current backend (for the GPU paired comparison)."""
    return page.evaluate(
        """async ([batch, plan]) => {
        const { trainingSamplesPerSecond } = await import("/bench/tfjs_bench.mjs");
        return await trainingSamplesPerSecond(window.tf, batch, plan);
    }""",
        [batch, plan],
    )


def infer_once(page, batch: int, plan) -> dict:
    """One inference measurement on the page's current backend (for the paired comparison)."""
    return page.evaluate(
        """async ([batch, plan]) => {
        const { inferenceSamplesPerSecond } = await import("/bench/tfjs_bench.mjs");
        return await inferenceSamplesPerSecond(window.tf, batch, plan);
    }""",
        [batch, plan],
    )
