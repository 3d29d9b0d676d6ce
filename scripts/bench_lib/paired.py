"""A paired comparison of inference at one batch size: pybrowserml's wasm page and TF.js's wasm page
measured in alternating rounds, so a change of load on the machine hits both sides alike. The table's
rows are measured one after another and drift apart on a busy machine; this ratio does not."""

from __future__ import annotations

import statistics

from . import pyodide_rows, tfjs


def paired_inference(pb_page, tf_page, batch: int, plan: dict, rounds: int) -> dict:
    """Median over `rounds` of (pybrowserml samples/s) / (TF.js samples/s), each round measuring both."""
    pairs = []
    for _ in range(rounds):
        ours = pyodide_rows.infer_once(pb_page, batch, plan)["samples_per_s"]
        theirs = tfjs.infer_once(tf_page, batch, plan)["samples_per_s"]
        pairs.append({"pybrowserml": ours, "tfjs": theirs, "ratio": ours / theirs})
    return {"batch": batch, "rounds": pairs, "ratio": statistics.median(p["ratio"] for p in pairs)}
