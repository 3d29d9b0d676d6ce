"""Paired comparisons at one batch size: two pages measured in alternating rounds, so a change of load
on the machine hits both sides alike. The table's rows are measured one after another and drift apart
on a busy machine; these ratios do not.

- inference: pybrowserml's wasm page against TF.js's wasm page (target >= 0.8x);
- training: pybrowserml's wasm page against pybrowserml's numpy backend in Pyodide (target >= 20x).
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
