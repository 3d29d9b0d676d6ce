"""pybrowserml inside Pyodide in the harness's Chromium: one page per backend, the same timing code
(pb_timing.py, sent as source) as the native CPython row."""

from __future__ import annotations

from pathlib import Path

TIMING_SOURCE = (Path(__file__).parent / "pb_timing.py").read_text()

# Installs pb_timing.py in the page as an importable module.
_INSTALL = """
import sys, types
_module = types.ModuleType("pb_timing")
exec(compile(_SOURCE, "pb_timing.py", "exec"), _module.__dict__)
sys.modules["pb_timing"] = _module
del _SOURCE, _module
"""

# How each row gets its backend. wasm without cross-origin isolation is single-threaded by construction;
# in an isolated page threads=None takes every core (up to 8).
SELECT_BACKEND = {
    "numpy": 'pb.set_backend("numpy")',
    "wasm": 'await pb.set_backend_async("wasm")',
    "webgpu": 'await pb.set_backend_async("webgpu")',
    "webgl": 'await pb.set_backend_async("webgl")',
}


def _int_keys(mapping):
    return {int(k): v for k, v in mapping.items()}


def prepare(page, backend: str):
    """Installs the timing module in a harness PyodidePage and selects `backend` (a key of SELECT_BACKEND)."""
    page.run(f"_SOURCE = {TIMING_SOURCE!r}\n" + _INSTALL)
    page.run("import pybrowserml as pb\n" + SELECT_BACKEND[backend] + "\npb.get_backend().name")


def bench_page(page, batches, train_plan, infer_plan, memory_steps=0) -> dict:
    result = page.run(
        "import pb_timing\n"
        f"await pb_timing.bench({list(batches)!r}, {train_plan!r}, {infer_plan!r}, memory_steps={memory_steps})"
    )
    result["train"] = _int_keys(result["train"])
    result["infer"] = _int_keys(result["infer"])
    return result


def gemm_report(page) -> dict:
    """FMA peak and GEMM GFLOP/s of the current wasm backend's kernels (pybrowserml.backends.wasm.bench)."""
    return page.run(
        "import pybrowserml as pb\nfrom pybrowserml.backends.wasm.bench import report\n"
        "await report(pb.get_backend().rt)"
    )


def infer_once(page, batch: int, plan) -> dict:
    """One inference measurement on the page's current backend (for the paired comparison)."""
    return page.run(f"import pb_timing\nawait pb_timing.measure_inference({batch}, {plan!r})")


def train_once(page, batch: int, plan) -> dict:
    """One training measurement on the page's current backend (for the paired comparison)."""
    return page.run(f"import pb_timing\nawait pb_timing.measure_training({batch}, {plan!r})")
