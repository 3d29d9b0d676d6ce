"""Magnitude pruning: the schedule, masks kept through training, and compact sparse JSON files."""

import base64
import gzip
import json

import numpy as np
import pytest

import pybrowserml as pb
from harness.paths import FASHION_MNIST
from pybrowserml.compression import PolynomialSparsity, PruneLowMagnitude, prunable_weights, sparsity
from pybrowserml.io import ModelFormatError


def _fashion_mnist(n):
    images = gzip.open(FASHION_MNIST / "train-images-idx3-ubyte.gz").read()[16 : 16 + n * 784]
    labels = gzip.open(FASHION_MNIST / "train-labels-idx1-ubyte.gz").read()[8 : 8 + n]
    return np.frombuffer(images, np.uint8).reshape(n, 28, 28, 1), np.frombuffer(labels, np.uint8).astype("int32")


@pytest.fixture(autouse=True)
def numpy_backend():
    pb.set_backend("numpy")


def test_polynomial_schedule_goes_from_initial_to_target():
    schedule = PolynomialSparsity(0.8, begin_step=10, end_step=110, initial_sparsity=0.1)
    assert schedule(0) == pytest.approx(0.1)
    assert schedule(10) == pytest.approx(0.1)
    assert schedule(60) == pytest.approx(0.8 - 0.7 * 0.5**3)
    assert schedule(110) == pytest.approx(0.8)
    assert schedule(10_000) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="target_sparsity"):
        PolynomialSparsity(1.0, 0, 10)
    with pytest.raises(ValueError, match="begin_step"):
        PolynomialSparsity(0.5, 10, 10)


@pytest.fixture(scope="module")
def pruned():
    """A reference model trained 2 epochs on 256 images while pruned to 75% (masks every 4 steps)."""
    pb.set_backend("numpy")
    x, y = _fashion_mnist(256)
    model = pb.zoo.dense_block_cnn(seed=0, kernel_initializer="he_normal")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    callback = PruneLowMagnitude(0.75, begin_step=2, end_step=12, frequency=4)
    model.fit(x, y, batch_size=32, epochs=2, verbose=0, seed=0, callbacks=[callback])
    return model, callback, x


def test_each_kernel_reaches_the_target_sparsity_and_stays_there_after_the_schedule(pruned):
    model, callback, _ = pruned
    # 16 steps: the last mask update is at step 12, four more optimizer updates followed.
    assert model.optimizer.iterations == 16
    for w in prunable_weights(model):
        zeros = np.count_nonzero(w.numpy() == 0) / w.size
        assert zeros == pytest.approx(0.75, abs=1.0 / w.size), w.name
    assert sparsity(model) == pytest.approx(0.75, abs=0.01)
    biases = [w for w in model.weights if w.name.endswith("/bias")]
    assert all(np.count_nonzero(w.numpy()) > 0 for w in biases), "biases are not pruned"


def test_pruned_weights_stay_zero_through_more_training(pruned):
    model, callback, x = pruned
    zero_before = [w.numpy() == 0 for w in prunable_weights(model)]
    y = _fashion_mnist(64)[1]
    model.fit(x[:64], y, batch_size=32, epochs=1, verbose=0, callbacks=[callback])
    for mask, w in zip(zero_before, prunable_weights(model)):
        assert np.all(w.numpy()[mask] == 0), w.name


def test_a_pruned_model_saved_sparse_reloads_to_the_same_predictions(pruned, tmp_path):
    model, _, x = pruned
    exact = pb.io.save_json(model, tmp_path / "f32.json", quantize="float32")
    reloaded = pb.io.load_json(tmp_path / "f32.json")
    np.testing.assert_array_equal(reloaded.predict(x[:32], verbose=0), model.predict(x[:32], verbose=0))
    assert exact["bytes"] < 0.45 * exact["float32_json_bytes"], "75% zeros: bitmap + a quarter of the values"

    sparse = pb.io.save_json(model, tmp_path / "sparse.json", quantize="uint8")
    dense = pb.io.save_json(model, tmp_path / "dense.json", quantize="uint8", sparse=False)
    assert sparse["bytes"] < 0.6 * dense["bytes"]  # the architecture (~15 kB) is not compressed
    from_sparse, from_dense = pb.io.load_json(tmp_path / "sparse.json"), pb.io.load_json(tmp_path / "dense.json")
    for a, b in zip(from_sparse.get_weights(), from_dense.get_weights()):
        np.testing.assert_array_equal(a, b)  # the sparse layout loses nothing over the dense quantized one
    for w in prunable_weights(from_sparse):
        assert np.count_nonzero(w.numpy() == 0) / w.size >= 0.74
    np.testing.assert_allclose(from_sparse.predict(x[:32], verbose=0), model.predict(x[:32], verbose=0), atol=0.05)


def test_a_new_callback_past_the_schedule_keeps_the_zeros_it_finds(pruned, tmp_path):
    model, _, x = pruned
    pb.io.save_json(model, tmp_path / "pruned.json", quantize="float32")
    reloaded = pb.io.load_json(tmp_path / "pruned.json")
    reloaded.optimizer.iterations = model.optimizer.iterations  # as a restored checkpoint would set it
    zeros = [w.numpy() == 0 for w in prunable_weights(reloaded)]
    y = _fashion_mnist(64)[1]
    callback = PruneLowMagnitude(0.75, begin_step=2, end_step=12, frequency=4)
    reloaded.fit(x[:64], y, batch_size=32, epochs=1, verbose=0, callbacks=[callback])
    for mask, w in zip(zeros, prunable_weights(reloaded)):
        assert np.all(w.numpy()[mask] == 0), w.name


def test_a_corrupt_sparse_mask_is_refused(pruned):
    model, _, _ = pruned
    data, _ = pb.io.encode_model(model, quantize="uint8")
    document = json.loads(data)
    entry = next(e for e in document["weights"] if "sparse" in e)
    mask = bytearray(base64.b64decode(entry["sparse"]["mask"]))
    mask[0] ^= 0xFF
    entry["sparse"]["mask"] = base64.b64encode(bytes(mask)).decode()
    with pytest.raises(ModelFormatError, match="sparse mask"):
        pb.io.load_json(json.dumps(document))
    entry["sparse"]["nonzero"] = -1
    with pytest.raises(ModelFormatError, match="nonzero"):
        pb.io.load_json(json.dumps(document))


def test_dense_weights_are_not_stored_sparse():
    model = pb.zoo.dense_block_cnn(seed=0, alpha=0.25)
    document = json.loads(pb.io.encode_model(model, quantize="uint8")[0])
    kernels = [e for e in document["weights"] if e["name"].endswith("kernel")]
    assert kernels and not any("sparse" in e for e in kernels)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="frequency"):
        PruneLowMagnitude(0.5, frequency=0)
    x, y = _fashion_mnist(32)
    model = pb.zoo.dense_block_cnn(seed=0, alpha=0.25)
    with pytest.raises(RuntimeError, match="compile"):
        callback = PruneLowMagnitude(0.5)
        callback.set_model(model)
        callback.on_train_begin()
