"""scripts/check_webgpu_node: the webgpu kernels replayed on Dawn under Node (npm package `webgpu`), no browser.

Here Dawn finds no Vulkan driver and runs on OpenGL ES through Mesa's EGL (llvmpipe, software); on a machine
with a GPU it takes the GPU. Skipped only when Dawn reports no adapter at all (the script's exit code 2).
"""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pybrowserml.backends.kernel_names import KERNEL_NAMES

REPO = Path(__file__).resolve().parents[2]
NO_ADAPTER = 2


def webgpu_lacks() -> set[str]:
    """The kernels the webgpu table does not have (whole-kernel lines of the conformance suite's
    expected_fallbacks/webgpu.txt): numpy runs them there, so the replay has nothing of theirs to check."""
    lines = (REPO / "tests" / "conformance" / "expected_fallbacks" / "webgpu.txt").read_text().splitlines()
    entries = {line.split("#", 1)[0].strip() for line in lines} - {""}
    return {entry for entry in entries if ":" not in entry}


def _replay(trace: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "EGL_PLATFORM": os.environ.get("EGL_PLATFORM", "surfaceless")}
    return subprocess.run(
        ["node", str(REPO / "scripts" / "check_webgpu_node.mjs"), str(trace)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    if not (REPO / "node_modules" / "webgpu" / "package.json").exists():
        pytest.fail("the npm package webgpu is not installed: run scripts/setup (it is in package.json)")
    path = tmp_path_factory.mktemp("webgpu_node") / "trace.json"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "check_webgpu_node_cases.py"), str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return path


def _skip_without_adapter(result):
    if result.returncode == NO_ADAPTER:
        pytest.skip("Dawn (npm webgpu) reports no GPU adapter on this machine: " + result.stderr.strip()[-500:])


def test_every_conformance_output_matches_numpy_on_dawn(trace):
    result = _replay(trace)
    _skip_without_adapter(result)
    checks = json.loads(trace.read_text())["checks"]
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert f"{len(checks)} passed, 0 failed" in result.stdout, result.stdout
    # every kernel of the webgpu table ran on Dawn: the vocabulary less what it hands to numpy whole
    assert {c["kernel"] for c in checks} == KERNEL_NAMES - webgpu_lacks()
    print(result.stdout)  # the adapter Dawn used (pytest -s shows it)


def test_a_wrong_expected_value_fails_the_replay_and_names_the_case(trace, tmp_path):
    document = json.loads(trace.read_text())
    target = next(i for i, c in enumerate(document["checks"]) if c["kernel"] == "conv2d")
    check = document["checks"][target]
    wrong = np.frombuffer(base64.b64decode(check["expected"]), np.float32).copy()
    wrong[0] += 1.0
    check["expected"] = base64.b64encode(wrong.tobytes()).decode("ascii")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document))
    result = _replay(broken)
    _skip_without_adapter(result)
    assert result.returncode == 1, result.stdout + result.stderr[-2000:]
    assert "1 failed" in result.stdout and check["case"] in result.stdout, result.stdout
