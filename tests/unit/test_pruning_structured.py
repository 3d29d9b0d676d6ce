"""Channel pruning: a really smaller network that computes what the original computes without the
dropped channels."""

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml.compression import channels_for_macs, count_macs, prune_channels


@pytest.fixture(autouse=True)
def numpy_backend():
    pb.set_backend("numpy")


def _images(n=8):
    return np.random.default_rng(0).integers(0, 256, (n, 28, 28, 1)).astype("uint8")


def test_macs_of_the_reference_model():
    model = pb.zoo.dense_block_cnn()
    # stem 28*28*9*16; block 1 (14x14): depthwise 9*(16+32+32+64)... counted layer by layer here
    stem = 28 * 28 * 9 * 16
    block_1 = 14 * 14 * sum(9 * c + c * 32 for c in (16, 32, 64, 96))
    block_2 = 7 * 7 * sum(9 * c + c * 64 for c in (128, 64, 128, 192))
    assert count_macs(model) == stem + block_1 + block_2 + 256 * 10


def test_macs_of_mobile_unet_count_the_transposed_convs():
    model = pb.zoo.mobile_unet((16, 16, 1), classes=2, alpha=1.0)
    full, half, quarter = 16 * 16, 8 * 8, 4 * 4
    stem = full * 9 * 16
    encoder = half * (9 * 16 + 16 * 32 + 9 * 32 + 32 * 32) + quarter * (9 * 32 + 32 * 64 + 9 * 64 + 64 * 64)
    up_2 = quarter * 9 * 64 * 32 + half * (9 * 64 + 64 * 32)  # transposed conv from 4x4, then separable on 32+32
    up_1 = half * 9 * 32 * 16 + full * (9 * 32 + 32 * 16)
    assert count_macs(model) == stem + encoder + up_2 + up_1 + full * 16 * 2


def test_keeping_every_channel_changes_nothing():
    model = pb.zoo.dense_block_cnn(seed=1)
    same = prune_channels(model, keep=1.0)
    assert same.count_params() == model.count_params()
    np.testing.assert_array_equal(same.predict(_images(), verbose=0), model.predict(_images(), verbose=0))


def test_the_pruned_model_equals_the_original_with_the_dropped_channels_zeroed():
    """Dropped channels are ReLU(0) = 0 everywhere downstream once their filters and biases are zero, so
    the original with them zeroed must compute exactly what the smaller model computes."""
    model = pb.zoo.dense_block_cnn(seed=2)
    for w in model.weights:  # positive biases: no unit is dead for both models by accident
        if w.name.endswith("/bias"):
            w.assign(np.abs(w.numpy()) + 0.05)
    smaller = prune_channels(model, keep=0.5)
    assert smaller.count_params() < 0.4 * model.count_params()
    for layer in model.layers:
        if not isinstance(layer, pb.layers.Conv2D):
            continue
        kept = smaller.get_layer(layer.name).filters
        kernel, bias = layer.get_weights()
        norms = np.abs(kernel).reshape(-1, kernel.shape[-1]).sum(0)
        dropped = np.argsort(-norms, kind="stable")[kept:]
        kernel[..., dropped], bias[dropped] = 0.0, 0.0
        layer.set_weights([kernel, bias])
    np.testing.assert_allclose(smaller.predict(_images(), verbose=0), model.predict(_images(), verbose=0), atol=1e-5)


def test_channels_for_macs_halves_the_macs_and_the_result_trains():
    model = pb.zoo.dense_block_cnn(seed=3)
    keep = channels_for_macs(model, 0.5)
    smaller = prune_channels(model, keep)
    assert count_macs(smaller) / count_macs(model) == pytest.approx(0.5, abs=0.05)
    assert all(
        smaller.get_layer(layer.name).filters % 8 == 0 for layer in model.layers if isinstance(layer, pb.layers.Conv2D)
    )
    smaller.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = _images(32), np.arange(32, dtype="int32") % 10
    history = smaller.fit(x, y, batch_size=16, epochs=3, verbose=0, seed=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    reloaded = pb.io.load_json(pb.io.encode_model(smaller, quantize="float32")[0])
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), smaller.predict(x, verbose=0))


def test_only_named_layers_are_pruned_and_bad_input_is_refused():
    model = pb.zoo.dense_block_cnn(seed=4)
    smaller = prune_channels(model, 0.5, layers=["stem"])
    assert smaller.get_layer("stem").filters == 8
    assert prune_channels(model, 0.5, layers=["stem"], multiple_of=1).get_layer("stem").filters == 8
    assert smaller.get_layer("block_1/layer_1/pointwise").filters == 32
    with pytest.raises(ValueError, match="no layer named"):
        prune_channels(model, 0.5, layers=["nope"])
    with pytest.raises(ValueError, match="keep"):
        prune_channels(model, 0.0)
    flat = pb.models.Sequential([pb.layers.Input((4, 4, 1)), pb.layers.Flatten(), pb.layers.Dense(2)])
    with pytest.raises(TypeError, match="functional"):
        prune_channels(flat, 0.5)


def test_separable_convs_and_batch_norm_are_pruned_consistently():
    pb.set_random_seed(5)
    inputs = pb.layers.Input((12, 12, 3))
    x = pb.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv")(inputs)
    x = pb.layers.BatchNormalization(name="bn")(x)
    x = pb.layers.SeparableConv2D(32, 3, padding="same", activation="relu", name="separable")(x)
    x = pb.layers.GlobalAveragePooling2D(name="pool")(x)
    model = pb.Model(inputs, pb.layers.Dense(4, activation="softmax", name="head")(x))
    images = np.random.default_rng(3).random((4, 12, 12, 3)).astype("float32")
    np.testing.assert_allclose(
        prune_channels(model, 1.0).predict(images, verbose=0), model.predict(images, verbose=0), rtol=1e-6
    )
    smaller = prune_channels(model, 0.5)
    assert smaller.get_layer("conv").filters == 8 and smaller.get_layer("separable").filters == 16
    assert [w.shape for w in smaller.get_layer("bn").weights] == [(8,)] * 4
    assert smaller.predict(images, verbose=0).shape == (4, 4)
    assert count_macs(smaller) < 0.5 * count_macs(model)
