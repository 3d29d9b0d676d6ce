"""Writes the webgpu kernel check for Node + Dawn: every conformance case (tests/conformance/cases.py),
run through the webgpu backend's real op table (Python wrappers: shapes, geometry, uniforms) on a runtime
that records what it would send to js/runtime.mjs (allocations, uploads, dispatches, frees, reads), with
numpy's result for every read. scripts/check_webgpu_node.mjs replays the trace on a real GPU device and
compares. Usage: check_webgpu_node_cases.py OUT.json
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "conformance"), str(REPO / "scripts")]

import cases  # noqa: E402
from test_conformance import EXACT_KERNELS, RTOL  # noqa: E402  (the suite's one tolerance rule)

from pybrowserml.backends import get_backend  # noqa: E402
from pybrowserml.backends.kernel_names import KERNELS_BY_FAMILY  # noqa: E402
from pybrowserml.backends.webgpu.backend import WebGPUBackend  # noqa: E402
from pybrowserml.backends.webgpu.kernels import FAMILIES  # noqa: E402
from pybrowserml.backends.webgpu.runtime import WebGPURuntime, package_text  # noqa: E402


def encoded(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


class Recorder:
    """Stands where the JS runtime object stands, keeping the calls in `ops` (one list per call)."""

    adapter = "recording"
    lostReason = None
    download = None  # reads are RecordingRuntime.download

    def __init__(self):
        self.ops, self.next_id, self.dispatches = [], 1, 0

    def alloc(self, nbytes):
        buffer_id, self.next_id = self.next_id, self.next_id + 1
        self.ops.append(["alloc", buffer_id, int(nbytes)])
        return buffer_id

    def free(self, buffer_id):
        self.ops.append(["free", buffer_id])

    def upload(self, buffer_id, array):
        self.ops.append(["upload", buffer_id, encoded(array)])

    def fill(self, buffer_id, value, nbytes):
        self.ops.append(["fill", buffer_id, value, nbytes])

    def dispatch(self, pipeline, gx, gy, gz, *args):
        self.dispatches += 1
        self.ops.append(
            ["dispatch", pipeline, gx, gy, gz, [float(a) if isinstance(a, float) else int(a) for a in args]]
        )


class RecordingRuntime(WebGPURuntime):
    """The webgpu runtime over a Recorder; pipelines are numbered in the order asked for."""

    def __init__(self):
        self.pipelines: list = []
        super().__init__(Recorder())

    def pipeline(self, family, kernel, **constants):
        key = [family, kernel, constants]
        if key not in self.pipelines:
            self.pipelines.append(key)
        return self.pipelines.index(key)

    # The index of the next check while a case's outputs are read, None while its program runs (a read
    # inside a program, e.g. one that may materialise a lazy concat, is replayed but not compared).
    current_read = None

    def download(self, array):
        """Records a read of `array` (checked by the replay when it reads an output) and returns zeros of
        its shape."""
        self.js.ops.append(["read", array.id, array.nbytes, self.current_read])
        if self.current_read is not None:
            self.current_read += 1
        return np.zeros(array.shape, array.dtype)

    download_async = None  # the replay is synchronous here


def main(out_path: str) -> None:
    runtime = RecordingRuntime()
    backend = WebGPUBackend(runtime)
    oracle = get_backend("numpy")
    checks = []  # one per read: case, output, kernel, expected bytes, dtype, tolerance
    for family in KERNELS_BY_FAMILY:
        for case_id, kernel_name, program in cases.family_cases(family):
            if kernel_name not in backend.kernels:  # no WGSL kernel (expected_fallbacks/webgpu.txt): nothing to replay
                continue
            outputs = program(backend)
            runtime.current_read = len(checks)
            got = cases._download(backend, outputs)
            runtime.current_read = None
            want = cases._download(oracle, program(oracle))
            if list(got) != list(want):
                raise SystemExit(f"{case_id}: webgpu gives outputs {list(got)}, numpy {list(want)}")
            for output, expected in want.items():
                expected = expected.astype(got[output].dtype)
                scale = float(np.max(np.abs(expected[np.isfinite(expected)]), initial=0.0))
                allowed = 0.0 if kernel_name in EXACT_KERNELS else RTOL * (1 + scale)
                checks.append(
                    {
                        "case": case_id + (cases.OUTPUT_SEPARATOR + output if output else ""),
                        "kernel": kernel_name,
                        "dtype": expected.dtype.name,
                        "expected": encoded(expected),
                        "allowed": allowed,
                    }
                )
    if backend.fallback_counts:
        raise SystemExit(f"cases fell back to numpy while recording: {backend.fallback_counts}")
    trace = {
        "families": {f: package_text("shaders", f"{f}.wgsl") for f in FAMILIES},
        "pipelines": runtime.pipelines,
        "ops": runtime.js.ops,
        "checks": checks,
    }
    Path(out_path).write_text(json.dumps(trace))
    print(
        f"{len(checks)} outputs of {len({c['case'].split(cases.OUTPUT_SEPARATOR)[0] for c in checks})} cases, "
        f"{runtime.js.dispatches} dispatches -> {out_path}"
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
