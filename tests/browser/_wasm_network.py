"""A small training setup sent as page code by test_wasm_backend.py and test_wasm_threads.py."""

# A small network in the shape of the project's reference model (stem conv, a depthwise-separable
# block whose outputs are concatenated, global average pooling, dense head), written with ops
# directly so it does not depend on the layers API.
NETWORK_TEMPLATE = r"""
import gc
import numpy as np
import pybrowserml as pb
from pybrowserml import ops
from pybrowserml.backends import get_backend, set_backend_async
from pybrowserml.backends.wasm import create_async

wasm = {create}
numpy_backend = get_backend("numpy")

def initial_weights(seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 3, 1, 8), (8,), (3, 3, 8, 1), (1, 1, 8, 12), (12,), (3, 3, 12, 1), (1, 1, 12, 12),
              (12,), (20, 10), (10,)]
    return [(rng.standard_normal(s) * 0.3).astype(np.float32) for s in shapes]

def batch(seed=1, n=8, size=12):
    rng = np.random.default_rng(seed)
    return rng.random((n, size, size, 1)).astype(np.float32), rng.integers(0, 10, n).astype(np.int32)

def forward(params, x):
    stem_w, stem_b, dw1, pw1, b1, dw2, pw2, b2, head_w, head_b = params
    h = ops.conv2d(x, stem_w, stem_b, padding="same", activation="relu")
    a = ops.conv2d(ops.depthwise_conv2d(h, dw1, strides=2), pw1, b1, activation="relu")
    b = ops.conv2d(ops.depthwise_conv2d(a, dw2), pw2, b2, activation="relu6")
    h = ops.concat([ops.global_avg_pool(h), ops.global_avg_pool(b)], axis=-1)
    return ops.dense(h, head_w, head_b)

class Trainer:
    # one Adam training step at a time on `backend`, everything resident on that backend
    def __init__(self, backend, weights):
        self.be = backend
        self.params = [pb.Variable(w, name=f"w{i}", backend=backend) for i, w in enumerate(weights)]
        self.ms = [backend.zeros(p.shape) for p in self.params]
        self.vs = [backend.zeros(p.shape) for p in self.params]
        self.step = 0

    def train_step(self, x, y):
        for p in self.params:
            p.grad = None
        loss = ops.softmax_xent(forward(self.params, x), y)
        loss.backward()
        self.step += 1
        self.be.run("adam_update", [p.data for p in self.params], [p.grad for p in self.params],
                    self.ms, self.vs, lr=1e-2, step=self.step)
        return loss
"""


def network(create='await set_backend_async("wasm")'):
    """Page code defining initial_weights(), batch(), forward() and Trainer on a backend made by `create`."""
    return NETWORK_TEMPLATE.replace("{create}", create)
