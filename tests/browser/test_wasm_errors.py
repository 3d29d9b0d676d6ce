"""Bad input to the wasm kernels gets a clear ValueError saying what was wrong, before it reaches the C code."""

import pytest

SETUP = r"""
import numpy as np
from pybrowserml.backends import set_backend_async

wasm = await set_backend_async("wasm")

def zeros(*shape, dtype=np.float32):
    return wasm.upload(np.zeros(shape, dtype))

def error_messages(calls):
    # the ValueError each call raises, as text (None: no error)
    out = {}
    for name, call in calls.items():
        try:
            call()
            out[name] = None
        except ValueError as error:
            out[name] = str(error)
    return out
"""


@pytest.fixture(scope="module")
def page(shared_pyodide_page):
    shared_pyodide_page.run(SETUP)
    return shared_pyodide_page


def test_wrong_shapes_are_refused_before_reaching_the_gemm_and_conv_kernels(page):
    messages = page.run(r"""
x, w, dz = zeros(2, 6, 6, 3), zeros(3, 3, 3, 4), zeros(2, 5, 5, 4)
error_messages({
    "channels": lambda: wasm.run("conv2d", x, zeros(3, 3, 5, 4), None),
    "dz": lambda: wasm.run("conv2d_grad_input", dz, w, input_shape=(2, 6, 6, 3)),
    "dz filter": lambda: wasm.run("conv2d_grad_filter", x, dz, filter_shape=(3, 3, 3, 4)),
    "bias": lambda: wasm.run("conv2d", x, w, zeros(5)),
    "dense": lambda: wasm.run("dense", zeros(2, 7), zeros(6, 3)),
    "matmul": lambda: wasm.run("matmul", zeros(2, 7), zeros(6, 3)),
})
""")
    assert "3 channels, filter expects 5" in messages["channels"]
    assert "output gradient has shape (2, 5, 5, 4), expected (2, 6, 6, 4)" in messages["dz"]
    assert "conv2d_grad_filter" in messages["dz filter"] and "expected (2, 6, 6, 4)" in messages["dz filter"]
    assert "bias has shape (5,), expected (4,)" in messages["bias"]
    assert "7 features" in messages["dense"] and "expect 6" in messages["dense"]
    assert "do not align" in messages["matmul"]


def test_bad_input_to_the_other_kernels_gets_a_clear_error(page):
    messages = page.run(r"""
x = zeros(1, 4, 4, 3)
error_messages({
    "channels": lambda: wasm.run("depthwise_conv2d", x, zeros(3, 3, 5, 1)),
    "label_range": lambda: wasm.run("softmax_xent", zeros(2, 3), wasm.upload(np.array([0, 3], np.int32)),
                                    sparse=True),
    "label_shape": lambda: wasm.run("softmax_xent", zeros(2, 3), zeros(2, 3, dtype=np.int32), sparse=True),
    "concat_shapes": lambda: wasm.run("concat", [x, zeros(1, 5, 4, 3)], axis=-1),
    "padding": lambda: wasm.run("max_pool2d", x, pool_size=(2, 2), strides=(2, 2), padding="full"),
    "reshape": lambda: wasm.run("reshape", x, shape=(5, -1)),
    "strides": lambda: wasm.run("depthwise_conv2d", x, zeros(3, 3, 3, 1), strides=(0, 1)),
    "parts_shapes": lambda: wasm.run("add_parts", [x, zeros(1, 4, 4, 2)], [None, None]),
    "parts_slice": lambda: wasm.run("add_parts", [x, x], [None, (3, 1, 5)]),
})
""")
    assert "input has 3 channels, filter expects 5" in messages["channels"]
    assert "outside [0, 3)" in messages["label_range"] and "class indices" in messages["label_range"]
    assert "sparse=False" in messages["label_shape"]
    assert "must match except along axis 3" in messages["concat_shapes"]
    assert "'same' or 'valid'" in messages["padding"]
    assert "strides must be a positive int" in messages["strides"]
    assert "cannot reshape an array of 48 elements into shape (5, -1)" in messages["reshape"]
    assert "all parts must have the same shape" in messages["parts_shapes"]
    assert "slice 1:5 of axis 3 does not fit shape (1, 4, 4, 3)" in messages["parts_slice"]
