"""The threaded WASM kernels (kernels_threads.wasm + Web Workers) in a crossOriginIsolated page: the
workers start and really take tasks, results do not depend on the schedule, and a training run matches
numpy and keeps device memory flat. That every kernel case matches numpy on threads is checked by
tests/conformance (its wasm-threads configurations)."""

import pytest
from _wasm_network import network

from harness import Browser

CREATE = "await create_async(threads=2)"

RAND = """
rng = np.random.default_rng(1234)

def rand(*shape):
    return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
"""


@pytest.fixture(scope="module")
def page():
    with Browser(isolated=True) as browser:
        page = browser.new_pyodide_page()
        page.run(network(CREATE) + RAND)
        yield page
        problems = [f"blocked request: {u}" for u in browser.blocked_requests] + page.errors()
        assert not problems, problems


def test_an_isolated_page_runs_the_threaded_module_with_workers(page):
    info = page.run("""
import js
automatic = await create_async()   # threads=None: every core of this machine, up to 8
{"isolated": bool(js.crossOriginIsolated), "threads": wasm.rt.threads, "memory": wasm.memory(),
 "shared": js.Object.prototype.toString.call(wasm.rt.memory_object.buffer),
 "automatic": automatic.rt.threads, "cores": js.navigator.hardwareConcurrency}
""")
    assert info["isolated"] is True
    assert info["threads"] == 2 and info["memory"]["threads"] == 2
    assert info["shared"] == "[object SharedArrayBuffer]"
    assert info["automatic"] == min(info["cores"], 8)


def test_threaded_direct_conv_kernels_use_the_workers(page):
    # The reference stem, batch 32, in a row: its image chunks must really run on the workers too
    # (until one did, so that a worker descheduled for a while on a busy machine is waited for).
    worker_tasks = page.run(r"""
x, f, b = wasm.upload(rand(32, 28, 28, 1)), wasm.upload(rand(3, 3, 1, 16)), wasm.upload(rand(16))
dz = wasm.upload(rand(32, 28, 28, 16))
before = wasm.rt.exports.pb_worker_tasks()
for _ in range(500):
    wasm.run("conv2d", x, f, b, activation="relu")
    wasm.run("conv2d_grad_filter", x, dz, filter_shape=(3, 3, 1, 16))
    if wasm.rt.exports.pb_worker_tasks() > before:
        break
wasm.rt.exports.pb_worker_tasks() - before
""")
    assert worker_tasks > 0, "the direct conv kernels never ran a task on a worker"


def test_threaded_training_matches_numpy_and_does_not_leak(page):
    result = page.run(r"""
x, y = batch(n=32, size=16)
losses = {}
for name, backend in (("numpy", numpy_backend), ("wasm", wasm)):
    trainer = Trainer(backend, initial_weights())
    xt, yt = pb.Tensor(x, backend=backend), pb.Tensor(y, backend=backend)
    losses[name] = [trainer.train_step(xt, yt).item() for _ in range(3)]
    if name == "wasm":
        loss = trainer.train_step(xt, yt)  # a loss stays referenced at every measurement
        first = wasm.memory()
        loss = trainer.train_step(xt, yt)
        second = wasm.memory()
        for _ in range(50):
            loss = trainer.train_step(xt, yt)
        last = wasm.memory()
{"losses": losses, "first": first, "second": second, "last": last}
""")
    for a, b in zip(result["losses"]["numpy"], result["losses"]["wasm"]):
        assert abs(a - b) <= 1e-4 * max(1.0, abs(a)), result["losses"]
    first, second, last = result["first"], result["second"], result["last"]
    assert (last["arrays"], last["bytes"]) == (first["arrays"], first["bytes"])
    # The heap reaches its steady state one step later: blocks that the previous step's results
    # still hold while a step runs are only reused from the step after.
    assert last["heap_bytes"] == second["heap_bytes"]


def test_many_back_to_back_parallel_jobs_stay_correct(page):
    # Hundreds of short jobs in a row exercise the hand-over between jobs (a worker waking up late
    # must never take a task of the next job); every product is checked against numpy.
    worst, worker_tasks = page.run(r"""
worst = 0.0
tasks_before = wasm.rt.exports.pb_worker_tasks()
for i in range(300):
    m, k, n = 64 + 4 * (i % 17), 128 + (i % 5), 128 + 8 * (i % 3)   # each >= 2 MFLOP: split over threads
    a, b = rand(m, k), rand(k, n)
    got = wasm.download(wasm.run("matmul", wasm.upload(a), wasm.upload(b)))
    worst = max(worst, float(np.max(np.abs(got - a @ b)) / (1 + np.max(np.abs(a @ b)))))
[worst, wasm.rt.exports.pb_worker_tasks() - tasks_before]
""")
    assert worst <= 1e-4
    assert worker_tasks > 0, "the workers never ran a task: the jobs did not really run in parallel"


def test_threaded_filter_gradients_do_not_depend_on_the_schedule(page):
    # Workers take tasks in whatever order they wake; kernels that sum over the batch (grad_filter)
    # keep one partial sum per task and add them in task order, so repeated runs agree to the bit.
    # Partial sums per thread would differ run to run whenever the threads split the tasks differently.
    distinct = page.run(r"""
rng = np.random.default_rng(4)
cases = {
    "depthwise": ("depthwise_conv2d_grad_filter", (32, 14, 14, 32), (32, 14, 14, 32), (3, 3, 32, 1)),
    "depthwise lazy": ("depthwise_conv2d_grad_filter", None, (32, 14, 14, 64), (3, 3, 64, 1)),
    "direct stem": ("conv2d_grad_filter", (32, 28, 28, 1), (32, 28, 28, 16), (3, 3, 1, 16)),
    "pointwise": ("conv2d_grad_filter", (32, 14, 14, 16), (32, 14, 14, 32), (1, 1, 16, 32)),
    "im2col": ("conv2d_grad_filter", (4, 15, 15, 24), (4, 15, 15, 40), (3, 3, 24, 40)),
}
distinct = {}
for name, (kernel, x_shape, dz_shape, filter_shape) in cases.items():
    if x_shape is None:   # a lazy concat of two parts: the padded path with its channel groups
        parts = [wasm.upload(rng.standard_normal((32, 14, 14, 32)).astype(np.float32)) for _ in range(2)]
        make_x = lambda: wasm.run("concat", parts, axis=-1, lazy=True)
    else:
        x_dev = wasm.upload(rng.standard_normal(x_shape).astype(np.float32))
        make_x = lambda: x_dev
    dz = wasm.upload(rng.standard_normal(dz_shape).astype(np.float32))
    seen = set()
    for _ in range(25):
        got = wasm.download(wasm.run(kernel, make_x(), dz, filter_shape=filter_shape, strides=(1, 1), padding="same"))
        seen.add(got.tobytes())
    distinct[name] = len(seen)
distinct
""")
    assert list(distinct.values()) == [1] * 5, distinct
