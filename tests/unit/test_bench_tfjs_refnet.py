"""The TF.js network the benchmark races against (scripts/bench_lib/tfjs_refnet.mjs) is pybrowserml's reference
network: the same parameter count and the same weight shapes. Runs the module in Node with the npm TF.js."""

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

import pybrowserml as pb

REPO = Path(__file__).resolve().parents[2]
REFNET = REPO / "scripts" / "bench_lib" / "tfjs_refnet.mjs"

# Imports the page module from Node; "@tensorflow/tfjs" resolves from the repository's node_modules (cwd).
_SCRIPT = f"""
import * as tf from "@tensorflow/tfjs";
import {{ buildRefNet, checkRefNet }} from {json.dumps(REFNET.as_uri())};
const model = buildRefNet(tf);
console.log(JSON.stringify({{ params: checkRefNet(model), shapes: model.weights.map((w) => w.shape) }}));
"""


def _tfjs_refnet():
    if shutil.which("node") is None or not (REPO / "node_modules" / "@tensorflow" / "tfjs").is_dir():
        pytest.skip("needs node and the npm packages (scripts/setup)")
    done = subprocess.run(
        ["node", "--input-type=module", "-e", _SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_tfjs_reference_network_matches_dense_block_cnn():
    tfjs = _tfjs_refnet()
    model = pb.zoo.dense_block_cnn()
    assert tfjs["params"] == model.count_params() == 49_018
    ours = Counter(tuple(w.shape) for w in model.weights)
    assert Counter(tuple(s) for s in tfjs["shapes"]) == ours
