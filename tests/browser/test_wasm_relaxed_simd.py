"""The relaxed-SIMD kernels (fused multiply-add, kernels*_relaxed.wasm) and the plain SIMD ones:
which one the runtime picks, and that the patched opcode really is f32x4.relaxed_madd computing
a * b + c. That the plain modules, which Safari and older browsers get, match numpy when forced is
checked by tests/conformance (its wasm-plain-simd configurations)."""

import pytest

SETUP = """
import numpy as np
from pybrowserml.backends.wasm import create_async

wasm = await create_async(relaxed_simd=False)
"""


@pytest.fixture(scope="module")
def page(shared_pyodide_page):
    shared_pyodide_page.run(SETUP)
    return shared_pyodide_page


def test_this_chromium_gets_the_relaxed_module_and_the_choice_is_visible(page):
    info = page.run(r"""
import io, logging, js
from pyodide.ffi import to_js
from pybrowserml.backends.wasm import modules, runtime as wasm_runtime

records = io.StringIO()
handler = logging.StreamHandler(records)
logger = logging.getLogger("pybrowserml.backends.wasm")
logger.addHandler(handler); logger.setLevel(logging.INFO)
try:
    auto = await create_async()
    required = await create_async(relaxed_simd=True)
finally:
    logger.removeHandler(handler)
# the probe with clang 14's prototype encoding (f32x4.fma = 0xfd 0xaf 0x01) must not validate:
# that is why the build re-encodes it
prototype = wasm_runtime.RELAXED_SIMD_PROBE.replace(b"\xfd\x85\x02", b"\xfd\xaf\x01")
validate = lambda data: bool(js.WebAssembly.validate(to_js(memoryview(data))))
base, _ = modules.kernels_base()  # the served modules, beside the wheel
served = {}
for name in ("kernels.wasm", "kernels_relaxed.wasm", "kernels_threads.wasm", "kernels_threads_relaxed.wasm"):
    response = await js.fetch(base + modules.served_name(name))
    served[name] = bool(js.WebAssembly.validate(await response.arrayBuffer()))
{"auto": [auto.rt.relaxed_simd, auto.rt.module_name, auto.memory()["relaxed_simd"]],
 "required": required.rt.module_name,
 "plain": [wasm.rt.relaxed_simd, wasm.rt.module_name, wasm.memory()["relaxed_simd"]],
 "probe": validate(wasm_runtime.RELAXED_SIMD_PROBE), "prototype probe": validate(prototype),
 "modules": served,
 "log": records.getvalue()}
""")
    assert info["probe"] is True and info["prototype probe"] is False
    assert info["modules"] == dict.fromkeys(info["modules"], True)
    assert info["auto"] == [True, "kernels_relaxed.wasm", True]
    assert info["required"] == "kernels_relaxed.wasm"
    assert info["plain"] == [False, "kernels.wasm", False]
    assert "kernels_relaxed.wasm, 1 thread(s), relaxed SIMD (fused multiply-add)" in info["log"]


def test_without_relaxed_simd_the_runtime_falls_back_to_the_plain_module(page):
    """What Safari gets: the probe fails, so automatic means plain and relaxed_simd=True is an error."""
    result = page.run(r"""
from pybrowserml.backends.wasm import runtime as wasm_runtime
saved = wasm_runtime._relaxed_simd_supported
wasm_runtime._relaxed_simd_supported = False   # as if WebAssembly.validate refused the probe
try:
    auto = await create_async()
    try:
        await create_async(relaxed_simd=True)
        required = "no error"
    except RuntimeError as error:
        required = str(error)
    try:
        await create_async(relaxed_simd="yes")
        bad = "no error"
    except ValueError as error:
        bad = str(error)
finally:
    wasm_runtime._relaxed_simd_supported = saved
[auto.rt.module_name, auto.memory()["relaxed_simd"], required, bad]
""")
    assert result[:2] == ["kernels.wasm", False]
    assert "does not support WebAssembly relaxed SIMD" in result[2]
    assert "relaxed_simd must be" in result[3]


def test_relaxed_madd_computes_a_times_b_plus_c(page):
    """A 1x1 GEMM over k=2 sums 1*(-1) and x*y with x*y = 1 - 2^-26 exactly: one rounding (fused)
    gives -2^-26, mul then add rounds x*y to 1 and gives 0. The relaxed opcode may do either (the
    spec allows both); a wrong operand order (a + b*c) would give about 2."""
    result = page.run(r"""
relaxed = await create_async(relaxed_simd=True)
x, y = np.float32(1 + 2**-13), np.float32(1 - 2**-13)
out = {}
for name, be in (("plain", wasm), ("relaxed", relaxed)):
    a, b = be.upload(np.array([[1, x]], np.float32)), be.upload(np.array([[-1], [y]], np.float32))
    out[name] = float(be.download(be.run("matmul", a, b))[0, 0])
out
""")
    assert result["plain"] == 0.0
    assert result["relaxed"] in (0.0, -(2.0**-26))
