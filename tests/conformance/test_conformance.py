"""Every kernel case (cases.py) on every backend configuration, against the numpy oracle.

One row of CONFIGURATIONS per way of getting a backend; a test per (configuration, kernel family), all
cases of a family in one page call. Each run also checks which cases fell back to numpy against
expected_fallbacks/<backend>.txt, exactly: a kernel that becomes native, or one that starts falling back,
fails until that file says so. Adding a backend adds a row here and a fallback file, not a harness.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cases
import numpy as np
import pytest

from harness import Browser
from pybrowserml.backends import get_backend
from pybrowserml.backends.kernel_names import FAMILY_OF, KERNEL_NAMES, KERNELS_BY_FAMILY

HERE = Path(__file__).parent
CASES_SOURCE = (HERE / "cases.py").read_text()

# One rule for every float result: error <= RTOL * (1 + scale), error the largest absolute difference
# from the oracle, scale the largest magnitude of the oracle's result. The longest float32 accumulations
# in the cases are filter gradients summed over 6,272 positions (batch 32 of 14x14), bias gradients over
# 3,828 rows and dot products of 1,500 terms. Summed in another order (blocked, vectorised, fused, in
# per-task partials), float32 rounding (2^-24 ~ 6e-8 per addition) grows roughly like the square root of
# the length: the worst rows measured are 4.2e-6 (wasm, that filter gradient) and 2.8e-6 (numpy float32
# against float64, that bias gradient) of 1 + scale, so 1e-5 holds them with a margin of two and more,
# while an indexing or padding bug gives errors of the order of the values themselves. The 1 + keeps
# results near zero (gradients through relu, sums that cancel) from demanding a relative accuracy
# float32 cannot give.
RTOL = 1e-5
# Integer results and kernels that only move or copy values must match exactly.
EXACT_KERNELS = frozenset(
    {
        "argmax",
        "count_correct",
        "reshape",
        "transpose",
        "broadcast_to",
        "concat",
        "slice",
        "cast",
        "max_pool2d",
        "max",
        "remap_pixels",
    }
)


@dataclasses.dataclass(frozen=True)
class Configuration:
    """How to get one backend to test: in CPython (page None), or in a page that is cross-origin isolated
    or not, by ``await set_backend_async(backend, **options)``; `probe` is a page expression on `backend`
    whose value must be `expect` (that the configuration really is what its name says)."""

    name: str
    backend: str  # also names expected_fallbacks/<backend>.txt
    page: str | None = None  # None (CPython), "plain" or "isolated"
    options: dict = dataclasses.field(default_factory=dict)
    probe: str | None = None
    expect: object = None
    webgpu: bool = False  # start Chromium with WebGPU enabled (--enable-unsafe-webgpu)
    device_limits: str | None = None  # page JS run before the backend is made: a device's limits


WASM_MODULE = "[backend.rt.module_name, backend.rt.threads]"

# A WebGL2 device with the spec's minimum of draw buffers and colour attachments: it says 4, and asking it
# for more render targets fails as such a device's INVALID_VALUE would (loudly, not as a GL error flag).
FOUR_DRAW_BUFFERS = """() => {
  const proto = WebGL2RenderingContext.prototype, getParameter = proto.getParameter, drawBuffers = proto.drawBuffers;
  proto.getParameter = function (name) {
    const value = getParameter.call(this, name);
    return name === this.MAX_DRAW_BUFFERS || name === this.MAX_COLOR_ATTACHMENTS ? Math.min(value, 4) : value;
  };
  proto.drawBuffers = function (buffers) {
    if (buffers.length > 4) throw new Error(`drawBuffers: ${buffers.length} render targets on a 4-target device`);
    return drawBuffers.call(this, buffers);
  };
}"""

CONFIGURATIONS = [
    Configuration("numpy", "numpy"),
    Configuration("wasm", "wasm", "plain", dict(threads=1), WASM_MODULE, ["kernels_relaxed.wasm", 1]),
    Configuration(
        "wasm-threads", "wasm", "isolated", dict(threads=2), WASM_MODULE, ["kernels_threads_relaxed.wasm", 2]
    ),
    Configuration(
        "wasm-plain-simd", "wasm", "plain", dict(threads=1, relaxed_simd=False), WASM_MODULE, ["kernels.wasm", 1]
    ),
    Configuration(
        "wasm-threads-plain-simd",
        "wasm",
        "isolated",
        dict(threads=2, relaxed_simd=False),
        WASM_MODULE,
        ["kernels_threads.wasm", 2],
    ),
    Configuration("webgpu", "webgpu", "plain", probe="backend.name", expect="webgpu", webgpu=True),
    # WebGL2 needs no flag: headless Chromium gives SwiftShader's WebGL2 with EXT_color_buffer_float.
    Configuration("webgl", "webgl", "plain", probe="backend.rt.js.maxDrawBuffers >= 8", expect=True),
    # WebGL2 promises only 4 draw buffers (SwiftShader has 8, many phones 4): the kernels that write eight
    # render targets must give way to their four-target forms on such a device.
    Configuration(
        "webgl-4-targets",
        "webgl",
        "plain",
        probe="backend.rt.js.maxDrawBuffers",
        expect=4,
        device_limits=FOUR_DRAW_BUFFERS,
    ),
]


def expected_fallbacks(backend: str) -> set[str]:
    """The lines of expected_fallbacks/<backend>.txt without comments: `kernel` (not in the backend's
    table: every case falls back) or `kernel: case id` (a native kernel that hands this case to numpy)."""
    lines = (HERE / "expected_fallbacks" / f"{backend}.txt").read_text().splitlines()
    return {line.split("#", 1)[0].strip() for line in lines} - {""}


def observed_fallbacks(rows, table) -> set[str]:
    found = set()
    for case_id, kernel, _error, _scale, native in rows:
        if kernel not in table:
            found.add(kernel)
        elif not native:
            found.add(f"{kernel}: {case_id.split(cases.OUTPUT_SEPARATOR)[0]}")
    return found


class PageTarget:
    """A backend made in a Pyodide page; families run there (rows come back as JSON)."""

    def __init__(self, page, configuration):
        self.page = page
        if configuration.device_limits:
            page.js(configuration.device_limits)
        options = ", ".join(f"{k}={v!r}" for k, v in configuration.options.items())
        page.run(
            CASES_SOURCE + "\nfrom pybrowserml.backends import set_backend_async\n"
            f"backend = await set_backend_async({configuration.backend!r}, {options})\n"
        )
        self.table = set(page.run("sorted(backend.kernels)"))
        self.described = page.run(configuration.probe) if configuration.probe else None

    def run_family(self, family):
        return self.page.run(f"run_family(backend, {family!r})")


class CPythonTarget:
    """The numpy backend in this process, against the same kernels on float64 inputs."""

    described = None

    def __init__(self):
        self.backend = get_backend("numpy")
        self.table = set(self.backend.kernels)

    def run_family(self, family):
        return cases.run_family(self.backend, family, oracle=cases.Float64Oracle())


def _params():
    for configuration in CONFIGURATIONS:
        marks = [pytest.mark.browser] if configuration.page else []
        yield pytest.param(configuration, id=configuration.name, marks=marks)


@pytest.fixture(scope="module", params=list(_params()))
def target(request, check_clean):
    configuration = request.param
    if configuration.page is None:
        yield configuration, CPythonTarget()
        return
    with Browser(isolated=configuration.page == "isolated", webgpu=configuration.webgpu) as browser:
        page = browser.new_pyodide_page()
        try:
            yield configuration, PageTarget(page, configuration)
        finally:
            check_clean(browser, [page])


@pytest.mark.parametrize("family", list(KERNELS_BY_FAMILY))
def test_kernels_match_the_oracle(target, family):
    configuration, backend = target
    assert backend.described == configuration.expect, f"{configuration.name} made {backend.described}"
    rows = backend.run_family(family)
    assert rows, f"family {family} ran no cases"
    failures = [
        f"{case_id} ({kernel}): error {error:.3g}, oracle scale {scale:.3g}"
        for case_id, kernel, error, scale, _native in rows
        if not (error == 0 if kernel in EXACT_KERNELS else error <= RTOL * (1 + scale))
    ]
    fell_back = observed_fallbacks(rows, backend.table)
    expected = {
        entry for entry in expected_fallbacks(configuration.backend) if FAMILY_OF.get(entry.split(":")[0]) == family
    }
    problems = (
        failures[:40]
        + [f"fell back unexpectedly: {e}" for e in sorted(fell_back - expected)]
        + [f"expected to fall back, ran natively: {e}" for e in sorted(expected - fell_back)]
    )
    assert not problems, (
        f"{configuration.name}, {family}: {len(failures)} of {len(rows)} outputs differ from "
        f"the oracle; fallbacks differ from expected_fallbacks/{configuration.backend}.txt:\n" + "\n".join(problems)
    )


def test_the_cases_exercise_every_kernel_of_the_vocabulary():
    exercised = {kernel for family in KERNELS_BY_FAMILY for _, kernel, _ in cases.family_cases(family)}
    assert exercised == KERNEL_NAMES, (
        f"no case for {sorted(KERNEL_NAMES - exercised)}; not in the vocabulary: {sorted(exercised - KERNEL_NAMES)}"
    )


def test_case_ids_are_unique_within_a_family():
    for family in KERNELS_BY_FAMILY:
        ids = [case_id for case_id, _, _ in cases.family_cases(family)]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        assert not duplicates, f"{family}: {duplicates}"


def test_every_fallback_file_names_kernels_of_the_vocabulary():
    for configuration in CONFIGURATIONS:
        for entry in expected_fallbacks(configuration.backend):
            assert entry.split(":")[0] in KERNEL_NAMES, f"{configuration.backend}.txt: {entry!r}"


def test_a_wrong_result_or_an_unexpected_fallback_is_reported():
    """The comparison helper itself: a kernel off by more than the rule allows, and one that fell
    back, show up in the rows the test reads."""

    class Broken:
        """The numpy backend, off by 1e-3 (about 30 times the tolerance here), counting every call as a fallback."""

        numpy = get_backend("numpy")
        upload, download = numpy.upload, numpy.download

        def __init__(self):
            self.fallback_counts = {}

        def run(self, name, *args, **attrs):
            self.fallback_counts[name] = self.fallback_counts.get(name, 0) + 1
            return self.numpy.run(name, *args, **attrs) + np.float32(1e-3)

    rows = []
    x = cases.normal(np.random.default_rng(0), 4, 3)
    cases.compare(rows, Broken(), get_backend("numpy"), "off", "relu", cases.kernel("relu", x))
    [[case_id, kernel, error, scale, native]] = rows
    assert (case_id, kernel, native) == ("off", "relu", False)
    assert error > RTOL * (1 + scale)
    assert observed_fallbacks(rows, {"relu"}) == {"relu: off"}
