"""Dispatches per training step of the reference network on the webgpu backend's op table, counted in
CPython: the backend's Python side (shapes, fusion, chunking) runs over the recording runtime of
scripts/check_webgpu_node_cases.py, which keeps every dispatch instead of sending it to a GPU. The browser
test (tests/browser/test_webgpu_backend.py) counts the same step on a real device.
"""

from collections import Counter

import pytest
from check_webgpu_node_cases import RecordingRuntime

import pybrowserml as pb
import pybrowserml.backends as backends
from bench_lib import pb_timing
from pybrowserml.backends.webgpu.backend import WebGPUBackend

# One train_on_batch of zoo.dense_block_cnn() (49,018 parameters, 28 weight arrays), the same at every
# batch size. A change that adds dispatches fails here; one that removes some lowers this number.
REFERENCE_DISPATCHES = 122


@pytest.fixture
def recorded(monkeypatch):
    runtime = RecordingRuntime()
    backend = WebGPUBackend(runtime)
    monkeypatch.setitem(backends._created, "webgpu", backend)
    pb.set_backend("webgpu")
    yield runtime, backend
    pb.set_backend("numpy")


def _one_step(runtime, batch):
    model = pb_timing.reference_model()
    x, y = pb_timing.random_batch(batch, 1)
    model.train_on_batch(x, y)  # the first step also uploads the weights and makes the optimizer's state
    start = len(runtime.js.ops)
    model.train_on_batch(x, y)
    return Counter("/".join(runtime.pipelines[op[1]][:2]) for op in runtime.js.ops[start:] if op[0] == "dispatch")


@pytest.mark.parametrize("batch", [8, 32, 128])
def test_a_training_step_of_the_reference_model_takes_a_fixed_number_of_dispatches(recorded, batch):
    runtime, backend = recorded
    kernels = _one_step(runtime, batch)
    assert backend.fallback_counts == {}
    assert sum(kernels.values()) == REFERENCE_DISPATCHES, kernels.most_common()


def test_bias_activation_and_optimizer_work_is_fused(recorded):
    runtime, _ = recorded
    kernels = _one_step(runtime, 32)
    # Bias and ReLU are epilogues of the conv kernels, the softmax is inside the loss: no separate
    # elementwise op, and no unfused activation gradient, anywhere in the step.
    assert not {"elementwise/binary", "elementwise/unary", "elementwise/activation_grad"} & set(kernels), kernels
    # The stem's 3x3 conv is an implicit GEMM; the 8 pointwise (1x1) convs are plain GEMMs (forward, input
    # and filter gradients), like the dense head: one dispatch each.
    assert (
        kernels["conv/forward_blocked"] == kernels["conv/grad_filter_blocked"] == 1 and "conv/grad_input" not in kernels
    )
    assert kernels["gemm/gemm"] == 3 * 8 + 3
    assert kernels["depthwise/forward4"] == 8  # 4 channels per invocation: every width here is a multiple of 4
    # Each conv's ReLU gradient and bias gradient come out of one pass (plus a sum of its partial rows).
    assert kernels["elementwise/activation_bias_grad"] == 9
    # Adam: m, v and the parameter of two parameters per dispatch (28 weight arrays).
    assert kernels["optim/adam_pair"] == 14 and "optim/adam" not in kernels
    # A dense block's concats (inputs of its layers 3 and 4, and its output) and their gradient sums:
    # one dispatch each, not one per part; the last layer's share of the output gradient is a slice.
    assert kernels["shape/concat_parts"] == 2 * 3 and kernels["shape/sum_parts"] == 2 * 3
    assert kernels["shape/copy_columns"] == 2
