"""Paired comparisons at one batch size: two pages measured in alternating rounds, so a change of load
on the machine hits both sides alike. The table's rows are measured one after another and drift apart
on a busy machine; these ratios do not.

- inference: pybrowserml's wasm page against TF.js's wasm page (target >= 0.8x);
- training: pybrowserml's wasm page against pybrowserml's numpy backend in Pyodide (target >= 20x);
- GPU (SwiftShader): our webgl / webgpu page against TF.js's page on the same backend, training (>= 3x)
  and inference (>= 2x).
"""

from __future__ import annotations

import statistics

from . import pyodide_rows, tfjs


def _paired(measure_ours, measure_theirs, rounds: int, batch: int, target: float, versus: str) -> dict:
    pairs = []
    for _ in range(rounds):
        ours = measure_ours()["samples_per_s"]
        theirs = measure_theirs()["samples_per_s"]
        pairs.append({"pybrowserml": ours, versus: theirs, "ratio": ours / theirs})
    return {
        "batch": batch,
        "versus": versus,
        "target": target,
        "rounds": pairs,
        "ratio": statistics.median(p["ratio"] for p in pairs),
    }


def paired_inference(pb_page, tf_page, batch: int, plan: dict, rounds: int) -> dict:
    """Median over `rounds` of (pybrowserml samples/s) / (TF.js wasm samples/s), each round measuring both."""
    return _paired(
        lambda: pyodide_rows.infer_once(pb_page, batch, plan),
        lambda: tfjs.infer_once(tf_page, batch, plan),
        rounds,
        batch,
        0.8,
        "tfjs",
    )


def paired_training(wasm_page, numpy_page, batch: int, wasm_plan: dict, numpy_plan: dict, rounds: int) -> dict:
    """Median over `rounds` of (wasm training samples/s) / (numpy-in-Pyodide training samples/s)."""
    return _paired(
        lambda: pyodide_rows.train_once(wasm_page, batch, wasm_plan),
        lambda: pyodide_rows.train_once(numpy_page, batch, numpy_plan),
        rounds,
        batch,
        20.0,
        "numpy_in_pyodide",
    )


def paired_gpu(pb_page, tf_page, backend: str, batch: int, train_plan: dict, infer_plan: dict, rounds: int) -> dict:
    """Our `backend` page against TF.js's page switched to the same backend: {"training": ..., "inference": ...},
    each a median over `rounds` of alternating measurements."""
    tfjs.use_backend(tf_page, backend)
    versus = f"tfjs_{backend}"
    return {
        "training": _paired(
            lambda: pyodide_rows.train_once(pb_page, batch, train_plan),
            lambda: tfjs.train_once(tf_page, batch, train_plan),
            rounds,
            batch,
            3.0,
            versus,
        ),
        "inference": _paired(
            lambda: pyodide_rows.infer_once(pb_page, batch, infer_plan),
            lambda: tfjs.infer_once(tf_page, batch, infer_plan),
            rounds,
            batch,
            2.0,
            versus,
        ),
    }
