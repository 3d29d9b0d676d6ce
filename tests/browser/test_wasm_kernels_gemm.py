"""The WASM GEMM/conv/dense/elementwise kernels against the numpy reference, in headless Chromium.

All cases of a family run in one page (one Pyodide boot per module); each returns, per case id,
the error relative to the reference's magnitude, whether shape and dtype match, and whether the
call ran on WASM or fell back to numpy. Sizes are deliberately awkward: odd spatial sizes, channel
counts not divisible by 4, stride 2, padding at the edges, GEMM dimensions crossing the blocking
sizes (KC=256, MC=96, NC=1024) and several im2col chunks. The cases live in _wasm_gemm_cases.py.
"""

import pytest

from _wasm_gemm_cases import CONV_CASES, DIRECT_CASES, ELEMENTWISE_CASES, ELEMENTWISE_FALLBACKS, GEMM_CASES, check, setup


@pytest.fixture(scope="module")
def page(shared_pyodide_page):
    shared_pyodide_page.run(setup())
    assert shared_pyodide_page.run("wasm.rt.threads") == 1  # a page without cross-origin isolation
    return shared_pyodide_page


def test_conv2d_forward_and_gradients_match_numpy(page):
    check(page.run(CONV_CASES))


def test_direct_conv2d_for_few_input_channels_matches_numpy(page):
    check(page.run(DIRECT_CASES))


def test_matmul_dense_and_bias_grad_match_numpy(page):
    check(page.run(GEMM_CASES))


def test_elementwise_and_reductions_match_numpy(page):
    check(page.run(ELEMENTWISE_CASES), expect_fallback=ELEMENTWISE_FALLBACKS)


def test_wrong_shapes_are_refused_before_reaching_the_c_kernels(page):
    messages = page.run(r"""
x, w, dz = wasm.upload(rand(2, 6, 6, 3)), wasm.upload(rand(3, 3, 3, 4)), wasm.upload(rand(2, 5, 5, 4))
calls = {
    "channels": lambda: wasm.run("conv2d", x, wasm.upload(rand(3, 3, 5, 4)), None),
    "dz": lambda: wasm.run("conv2d_grad_input", dz, w, input_shape=(2, 6, 6, 3)),
    "dz filter": lambda: wasm.run("conv2d_grad_filter", x, dz, filter_shape=(3, 3, 3, 4)),
    "bias": lambda: wasm.run("conv2d", x, w, wasm.upload(rand(5))),
    "dense": lambda: wasm.run("dense", wasm.upload(rand(2, 7)), wasm.upload(rand(6, 3))),
    "matmul": lambda: wasm.run("matmul", wasm.upload(rand(2, 7)), wasm.upload(rand(6, 3))),
}
out = {}
for name, call in calls.items():
    try:
        call()
        out[name] = "no error"
    except ValueError as e:
        out[name] = str(e)
out
""")
    assert "3 channels, filter expects 5" in messages["channels"]
    assert "output gradient has shape (2, 5, 5, 4), expected (2, 6, 6, 4)" in messages["dz"]
    assert "conv2d_grad_filter" in messages["dz filter"] and "expected (2, 6, 6, 4)" in messages["dz filter"]
    assert "bias has shape (5,), expected (4,)" in messages["bias"]
    assert "7 features" in messages["dense"] and "expect 6" in messages["dense"]
    assert "do not align" in messages["matmul"]
