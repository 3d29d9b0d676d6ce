"""Compression in the page on the wasm backend: pruning during fit_async, sparse JSON round trip,
channel pruning and distillation with the compiled kernels."""

import base64
import gzip

from harness.paths import FASHION_MNIST

SCRIPT = """
import base64
import numpy as np
import pybrowserml as pb
from pybrowserml import compression

await pb.set_backend_async("wasm")
x = np.frombuffer(base64.b64decode(X_B64), np.uint8).reshape(-1, 28, 28, 1)
y = np.frombuffer(base64.b64decode(Y_B64), np.uint8).astype("int32")
model = pb.zoo.dense_block_cnn(seed=0, kernel_initializer="he_normal")
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
prune = compression.PruneLowMagnitude(0.8, begin_step=0, end_step=6, frequency=2)
await model.fit_async(x, y, batch_size=16, epochs=2, verbose=0, seed=0, callbacks=[prune])
kernel_sparsities = [float(np.mean(w.numpy() == 0)) for w in compression.prunable_weights(model)]
data, report = pb.io.encode_model(model, quantize="float32")
reloaded = pb.io.load_json(data)
same_predictions = bool(np.array_equal(reloaded.predict(x, verbose=0), model.predict(x, verbose=0)))
# uint8: the sparse layout must decode to exactly the weights of the dense quantized file
sparse_u8, dense_u8 = (pb.io.load_json(pb.io.encode_model(model, quantize="uint8", sparse=s)[0]) for s in (True, False))
uint8_same_weights = all(np.array_equal(a, b) for a, b in zip(sparse_u8.get_weights(), dense_u8.get_weights()))
uint8_same_predictions = bool(np.array_equal(sparse_u8.predict(x, verbose=0), dense_u8.predict(x, verbose=0)))
uint8_sparsities = [float(np.mean(w.numpy() == 0)) for w in compression.prunable_weights(sparse_u8)]

smaller = compression.prune_channels(model, 0.5)
smaller.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
fine_tune = (await smaller.fit_async(x, y, batch_size=16, epochs=2, verbose=0, seed=0)).history["loss"]

students = [pb.zoo.dense_block_cnn(alpha=a, seed=1) for a in (0.25, 0.5)]
distilled = await compression.distill_async(students, model, x, y, epochs=2, batch_size=16, seed=0)
result = {
    "backend": pb.get_backend().name,
    "weights_on": model.home_backend().name,
    "kernel_sparsities": kernel_sparsities,
    "same_predictions": same_predictions,
    "uint8": [uint8_same_weights, uint8_same_predictions, min(uint8_sparsities)],
    "sparse_ratio": report["ratio"],
    "macs": [compression.count_macs(model), compression.count_macs(smaller)],
    "fine_tune": fine_tune,
    "distilled": list(distilled["loss"].values()),
    "fallbacks": dict(pb.get_backend().fallback_counts),
}
result
"""


def _fashion_mnist(n=64):
    images = gzip.open(FASHION_MNIST / "train-images-idx3-ubyte.gz").read()[16 : 16 + n * 784]
    labels = gzip.open(FASHION_MNIST / "train-labels-idx1-ubyte.gz").read()[8 : 8 + n]
    return base64.b64encode(images).decode(), base64.b64encode(labels).decode()


def test_pruning_and_distillation_run_on_wasm_in_the_page(pyodide_page):
    x_b64, y_b64 = _fashion_mnist()
    r = pyodide_page.run(f"X_B64 = {x_b64!r}\nY_B64 = {y_b64!r}\n" + SCRIPT)
    assert r["backend"] == r["weights_on"] == "wasm"
    assert r["kernel_sparsities"] and all(abs(s - 0.8) < 0.01 for s in r["kernel_sparsities"])
    assert r["same_predictions"], "a pruned model saved as sparse float32 JSON must reload to the same predictions"
    assert r["sparse_ratio"] < 0.5
    assert r["uint8"][:2] == [True, True], "sparse uint8 JSON must decode to the dense uint8 file's weights"
    assert r["uint8"][2] >= 0.79, "the pruned zeros survive quantization"
    assert r["macs"][1] < 0.6 * r["macs"][0]
    assert r["fine_tune"][-1] < r["fine_tune"][0]
    assert all(losses[-1] < losses[0] for losses in r["distilled"])
    assert "mul" not in r["fallbacks"], "masks are applied by the wasm mul kernel, not on numpy"
