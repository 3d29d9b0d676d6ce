"""The WASM backend as a whole, in headless Chromium: data in and out, memory accounting, per-op
fallback, and a real training step that must match the numpy backend and must not leak."""

import pytest
from _wasm_network import network


@pytest.fixture(scope="module")
def page(shared_pyodide_page):
    shared_pyodide_page.run(network())
    return shared_pyodide_page


def test_upload_download_round_trip_keeps_values_shapes_and_dtypes(page):
    result = page.run(r"""
cases = {
    "f32": np.linspace(-3, 3, 35, dtype=np.float32).reshape(5, 7),
    "i32": np.arange(-4, 9, dtype=np.int32),
    "scalar": np.array(2.5, dtype=np.float32),
    "empty": np.zeros((0, 3), dtype=np.float32),
    "f64 becomes f32": np.array([[0.1, 0.2]], dtype=np.float64),
    "bool becomes i32": np.array([True, False, True]),
    "non-contiguous": np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2],
}
out = {}
for name, values in cases.items():
    back = wasm.download(wasm.upload(values))
    out[name] = [list(back.shape), str(back.dtype), bool(np.array_equal(back, values.astype(back.dtype)))]
w = wasm.upload(np.zeros((2, 3), np.float32))
wasm.write(w, np.ones((2, 3)))
out["write"] = wasm.download(w).tolist()
out["zeros"] = wasm.download(wasm.zeros((3,), "int32")).tolist()
try:
    wasm.write(w, np.ones((3, 2)))
    out["bad write"] = "no error"
except ValueError as e:
    out["bad write"] = str(e)
try:
    wasm.zeros((600_000_000,))   # 2.4 GB: more than a wasm32 heap can hold
    out["too big"] = "no error"
except MemoryError as e:
    out["too big"] = str(e)
out
""")
    assert result["f32"] == [[5, 7], "float32", True]
    assert result["i32"] == [[13], "int32", True]
    assert result["scalar"] == [[], "float32", True]
    assert result["empty"] == [[0, 3], "float32", True]
    assert result["f64 becomes f32"] == [[1, 2], "float32", True]
    assert result["bool becomes i32"] == [[3], "int32", True]
    assert result["non-contiguous"] == [[4, 3], "float32", True]
    assert result["write"] == [[1.0] * 3] * 2
    assert result["zeros"] == [0, 0, 0]
    assert "shape (3, 2)" in result["bad write"] and "(2, 3)" in result["bad write"]
    assert "2400000000 bytes" in result["too big"] and "smaller batches" in result["too big"]


def test_uint8_arrays_stay_bytes_and_from_uint8_converts_them_like_numpy(page):
    result = page.run(r"""
rng = np.random.default_rng(5)
out = {"convert": []}
for shape, scale in (((2, 28, 28, 1), 1 / 255), ((17,), 1 / 255), ((15,), 2.0), ((1,), 0.5), ((0, 4), 1 / 255),
                     ((3, 16), 1.0)):
    host = rng.integers(0, 256, size=shape, dtype=np.uint8)
    host.flat[:2] = (0, 255)[: host.size]
    device = wasm.upload(host)
    y = wasm.download(wasm.run("from_uint8", device, scale=scale))
    expected = host.astype(np.float32) * np.float32(scale)
    out["convert"].append([str(device.dtype), device.nbytes == host.size, str(y.dtype), list(y.shape),
                           bool(np.array_equal(y, expected))])
before = dict(wasm.fallback_counts)
u = rng.integers(0, 100, size=(4, 6), dtype=np.uint8)
a = wasm.upload(u)
total = wasm.download(wasm.run("add", a, a))              # float32-only C loops: numpy runs it on the bytes
joined = wasm.download(wasm.run("concat", [a, a], axis=-1))  # 32-bit copies: must not read bytes as floats
out["other kernels"] = [str(total.dtype), bool(np.array_equal(total, u + u)), str(joined.dtype),
                        bool(np.array_equal(joined, np.concatenate([u, u], axis=-1))),
                        {k: wasm.fallback_counts.get(k, 0) - before.get(k, 0) for k in ("add", "concat", "from_uint8")}]
out["zeros"] = wasm.download(wasm.zeros((5,), "uint8")).tolist()
out["default"] = wasm.download(wasm.run("from_uint8", wasm.upload(np.array([255, 51], np.uint8)))).tolist()
out
""")
    assert result["convert"] == [
        ["uint8", True, "float32", shape, True] for shape in ([2, 28, 28, 1], [17], [15], [1], [0, 4], [3, 16])
    ]
    assert result["other kernels"] == ["uint8", True, "uint8", True, {"add": 1, "concat": 1, "from_uint8": 0}]
    assert result["zeros"] == [0] * 5
    assert result["default"] == pytest.approx([1.0, 0.2], rel=1e-6)  # scale defaults to 1/255


def test_memory_is_released_when_python_drops_the_arrays(page):
    result = page.run(r"""
gc.collect()
before = wasm.memory()
arrays = [wasm.upload(np.ones((64, 64), np.float32)) for _ in range(10)]
during = wasm.memory()
heap_during = during["heap_bytes"]
del arrays
gc.collect()
after = wasm.memory()
again = [wasm.upload(np.ones((64, 64), np.float32)) for _ in range(10)]  # reuses the freed blocks
reused = wasm.memory()
del again
base = wasm.upload(np.arange(12, dtype=np.float32))
counted = wasm.memory()["arrays"]
view = wasm.run("reshape", base, shape=(3, -1))   # no copy: shares base's block and keeps it alive
view_counted = wasm.memory()["arrays"]
del base
gc.collect()
view_values = wasm.download(view).tolist()
del view
gc.collect()
view_after = wasm.memory()["arrays"]
public = pb.memory()["wasm"]
{"before": before, "during": during, "after": after, "reused": reused, "public": public,
 "view": [counted, view_counted, view_values, view_after]}
""")
    before, during, after, reused = result["before"], result["during"], result["after"], result["reused"]
    assert during["arrays"] == before["arrays"] + 10
    assert during["bytes"] == before["bytes"] + 10 * 64 * 64 * 4
    assert after["arrays"] == before["arrays"] and after["bytes"] == before["bytes"]
    assert reused["heap_bytes"] == during["heap_bytes"]
    assert result["public"]["backend"] == "wasm" and "fallbacks" in result["public"]
    counted, view_counted, view_values, view_after = result["view"]
    assert view_counted == counted  # a view is not a new array
    assert view_values == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]
    assert view_after == counted - 1  # the block went away with its last handle


def test_a_kernel_missing_on_wasm_falls_back_to_numpy_visibly(page):
    result = page.run(r"""
before = dict(wasm.fallback_counts)
a, b = wasm.upload(np.arange(3, dtype=np.float32).reshape(3, 1)), wasm.upload(np.ones((1, 4), np.float32))
total = wasm.download(wasm.run("add", a, b))   # a general broadcast: not in the C loops
[total.tolist(), wasm.fallback_counts.get("add", 0) - before.get("add", 0), pb.memory()["wasm"]["fallbacks"].get("add", 0)]
""")
    assert result[0] == [[1.0] * 4, [2.0] * 4, [3.0] * 4]
    assert result[1] == 1
    assert result[2] >= 1


def test_a_training_step_on_wasm_matches_numpy(page):
    result = page.run(r"""
x, y = batch()
out = {}
for name, backend in (("numpy", numpy_backend), ("wasm", wasm)):
    trainer = Trainer(backend, initial_weights())
    xt, yt = pb.Tensor(x, backend=backend), pb.Tensor(y, backend=backend)
    losses = [trainer.train_step(xt, yt).item() for _ in range(3)]
    out[name] = {"losses": losses, "grads": [p.backend.download(p.grad) for p in trainer.params],
                 "params": [p.numpy() for p in trainer.params]}
grad_err = max(float(np.max(np.abs(a - b)) / (1e-3 + np.max(np.abs(a))))
               for a, b in zip(out["numpy"]["grads"], out["wasm"]["grads"]))
param_err = max(float(np.max(np.abs(a - b))) for a, b in zip(out["numpy"]["params"], out["wasm"]["params"]))
{"losses": [out["numpy"]["losses"], out["wasm"]["losses"]], "grad_err": grad_err, "param_err": param_err,
 "kernels_on_wasm": sorted(wasm.kernels)}
""")
    numpy_losses, wasm_losses = result["losses"]
    assert numpy_losses[2] < numpy_losses[0], "the reference run did not learn: the test network is broken"
    for a, b in zip(numpy_losses, wasm_losses):
        assert abs(a - b) <= 1e-4 * max(1.0, abs(a)), (numpy_losses, wasm_losses)
    assert result["grad_err"] <= 1e-3, result["grad_err"]
    assert result["param_err"] <= 1e-4, result["param_err"]
    assert {"conv2d", "conv2d_grad_input", "conv2d_grad_filter", "dense", "matmul"} <= set(result["kernels_on_wasm"])


def test_two_hundred_training_steps_do_not_grow_device_memory(page):
    result = page.run(r"""
x, y = batch(seed=2)
trainer = Trainer(wasm, initial_weights(seed=3))
xt, yt = pb.Tensor(x, backend=wasm), pb.Tensor(y, backend=wasm)
loss = trainer.train_step(xt, yt)   # a loss stays referenced at every measurement
after_first = wasm.memory()
loss = trainer.train_step(xt, yt)
after_second = wasm.memory()
for _ in range(198):
    loss = trainer.train_step(xt, yt)
after_last = wasm.memory()
{"first": after_first, "second": after_second, "last": after_last, "loss": loss.item()}
""")
    first, second, last = result["first"], result["second"], result["last"]
    assert last["arrays"] == first["arrays"], (first, last)
    assert last["bytes"] == first["bytes"], (first, last)
    # The heap reaches its steady state one step later: blocks that the previous step's results
    # still hold while a step runs are only reused from the step after.
    assert last["heap_bytes"] == second["heap_bytes"], (second, last)


def test_the_reference_network_never_copies_its_dense_block_concats(page):
    # Lazy concat: the depthwise kernels and global average pooling read the parts in place, so a
    # training step and a prediction of zoo.dense_block_cnn never materialise one (each would copy
    # up to 3 MiB at batch 32).
    result = page.run(r"""
rt = wasm.rt
copies = []
copy = rt.copy_side_by_side   # every materialised lazy concat (and eager ones of <= 3 parts) copies here
rt.copy_side_by_side = lambda parts, out, rows, widths: copies.append(out.shape) or copy(parts, out, rows, widths)
try:
    pb.set_random_seed(0)
    model = pb.zoo.dense_block_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = batch(seed=4, n=4, size=28)
    losses = [float(model.train_on_batch(x, y)) for _ in range(2)]
    probs = model.predict(x, verbose=0)
finally:
    del rt.copy_side_by_side
{"copies": copies, "losses": losses, "probs_sum": float(probs.sum())}
""")
    assert result["copies"] == [], result["copies"]
    assert all(loss == loss for loss in result["losses"])
    assert abs(result["probs_sum"] - 4.0) < 1e-3


def test_threads_need_a_cross_origin_isolated_page(page):
    message = page.run(r"""
from pybrowserml.backends.wasm import create_async
try:
    await create_async(threads=2)
    message = "no error"
except RuntimeError as e:
    message = str(e)
message
""")
    assert "crossOriginIsolated" in message and "threads=1" in message


def test_speed_probes_report_gemm_against_the_multiply_add_peak(page):
    report = page.run("""
from pybrowserml.backends.wasm import bench
await bench.report(wasm.rt)
""")
    assert report["threads"] == 1
    # A speed is machine-dependent: only check that each probe measured something real.
    for key in ("fma_peak_gflops", "gemm_256_gflops", "gemm_512_gflops"):
        assert report[key] > 0.1, report
    assert 0 < report["gemm_256_share_of_peak"] < 5, report
