"""What Keras users reach for next: input_shape= on the first layer, model.save / load_model, save_weights /
load_weights, Rescaling, Reshape, LeakyReLU (with a gradient check), the MaxPool2D / AvgPool2D aliases,
load_image_folder, and available_backends() listing only what runs here."""

import json

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import backends, layers, ops
from pybrowserml.tensor import Tensor


def small_model(first):
    return pb.Sequential(
        [first, layers.Conv2D(3, 3, padding="same"), layers.LeakyReLU(0.2), layers.MaxPool2D(), layers.Flatten()]
        + [layers.Dense(4, activation="softmax")]
    )


def test_input_shape_on_the_first_layer_builds_the_model_like_input():
    pb.set_random_seed(1)
    a = small_model(layers.Rescaling(1 / 255, input_shape=(8, 8, 1)))
    pb.set_random_seed(1)
    b = pb.Sequential([layers.Input((8, 8, 1)), *small_model(layers.Rescaling(1 / 255)).layers])
    assert a.input_shape == b.input_shape == (8, 8, 1) and a.built
    assert a.output_shape == (4,) and a.count_params() == b.count_params() == 30 + 48 * 4 + 4
    dense = pb.Sequential([layers.Dense(3, input_shape=(5,))])
    assert dense.count_params() == 18 and dense.input_shape == (5,)
    assert pb.Sequential([layers.Dense(3, input_shape=7)]).input_shape == (7,)


def test_input_shape_elsewhere_or_malformed_is_refused():
    with pytest.raises(ValueError, match="input_shape= belongs on the first layer only"):
        pb.Sequential([layers.Dense(3, input_shape=(5,)), layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match="positive ints without the batch axis"):
        layers.Dense(3, input_shape=(None, 5))
    with pytest.raises(ValueError, match="disagree"):
        pb.Sequential([layers.Input((4,)), layers.Dense(3, input_shape=(5,))])


def test_save_and_load_model_round_trip_exactly(tmp_path):
    pb.set_random_seed(2)
    model = small_model(layers.Rescaling(1 / 255, input_shape=(8, 8, 1)))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).integers(0, 256, (6, 8, 8, 1)).astype("uint8")
    model.fit(x, np.arange(6) % 4, epochs=1, batch_size=3, verbose=0)
    result = model.save(tmp_path / "m.json")
    assert result["quantize"] == "float32" and (tmp_path / "m.json").is_file()
    again = pb.load_model(tmp_path / "m.json")
    assert [type(layer).__name__ for layer in again.layers] == [type(layer).__name__ for layer in model.layers]
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(x, verbose=0), again.predict(x, verbose=0))
    assert again.optimizer is not None  # comes back compiled: training can go on
    again.fit(x, np.arange(6) % 4, epochs=1, batch_size=3, verbose=0)


def test_save_weights_and_load_weights_into_the_same_architecture(tmp_path):
    pb.set_random_seed(3)
    source = small_model(layers.Rescaling(1 / 255, input_shape=(8, 8, 1)))
    pb.set_random_seed(4)
    target = small_model(layers.Rescaling(1 / 255, input_shape=(8, 8, 1)))
    source.save_weights(tmp_path / "w.weights")
    target.load_weights(tmp_path / "w.weights")
    for a, b in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_array_equal(a, b)
    other = pb.Sequential([layers.Dense(3, input_shape=(5,))])
    with pytest.raises(ValueError, match="holds 4 weights but model .* has 2"):
        other.load_weights(tmp_path / "w.weights")
    (tmp_path / "junk").write_bytes(b"not an npz")
    with pytest.raises(ValueError, match="not a weights file written by save_weights"):
        target.load_weights(tmp_path / "junk")
    with pytest.raises(FileNotFoundError, match="no file"):
        target.load_weights(tmp_path / "missing")


def test_rescaling_and_reshape_compute_what_keras_does():
    x = np.arange(24, dtype="float32").reshape(2, 3, 4)
    model = pb.Sequential([layers.Rescaling(0.5, offset=-1.0, input_shape=(3, 4)), layers.Reshape((4, -1))])
    assert model.output_shape == (4, 3)
    np.testing.assert_allclose(model.predict(x, verbose=0), (x * 0.5 - 1.0).reshape(2, 4, 3))
    with pytest.raises(ValueError, match="cannot reshape inputs of shape .* to"):
        pb.Sequential([layers.Input((3, 4)), layers.Reshape((5, -1))])
    with pytest.raises(ValueError, match="at most one -1"):
        layers.Reshape((-1, -1))
    with pytest.raises(ValueError, match="finite number"):
        layers.Rescaling("1/255")


def test_leaky_relu_forward_and_its_gradient_against_finite_differences():
    layer = layers.LeakyReLU(negative_slope=0.1)
    x = np.random.default_rng(7).standard_normal((3, 5)).astype("float64")
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink
    t = Tensor(x, requires_grad=True)
    y = layer(t)
    np.testing.assert_allclose(y.numpy(), np.where(x > 0, x, 0.1 * x), rtol=1e-12)
    weights = np.random.default_rng(8).standard_normal(x.shape)
    loss = ops.sum(y * Tensor(weights))
    loss.backward()
    eps, numeric = 1e-6, np.zeros_like(x)
    leaky = lambda v: np.sum(np.where(v > 0, v, 0.1 * v) * weights)  # noqa: E731
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        numeric[index] = (leaky(x + step) - leaky(x - step)) / (2 * eps)
    np.testing.assert_allclose(np.asarray(t.grad), numeric, rtol=1e-6, atol=1e-8)
    assert layers.LeakyReLU().negative_slope == 0.3 and layers.LeakyReLU(alpha=0.05).negative_slope == 0.05
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        layers.LeakyReLU(-0.5)


def test_pooling_aliases_are_the_keras_classes_and_configs_round_trip():
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.AvgPool2D is layers.AveragePooling2D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    model = small_model(layers.Rescaling(1 / 255, input_shape=(8, 8, 1)))
    config = json.loads(json.dumps(model.get_config()))
    rebuilt = pb.model_from_config(config)
    assert [type(layer).__name__ for layer in rebuilt.layers] == [
        "Rescaling",
        "Conv2D",
        "LeakyReLU",
        "MaxPooling2D",
        "Flatten",
        "Dense",
    ]
    assert rebuilt.layers[2].negative_slope == pytest.approx(0.2) and rebuilt.layers[0].scale == 1 / 255


def _write_png(path, value, size=(6, 5), mode="L"):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 255 - value)).save(path)


def test_load_image_folder_reads_one_class_per_sub_folder(tmp_path):
    for i in range(3):
        _write_png(tmp_path / "cats" / f"c{i}.png", 10 + i)
    for i in range(2):
        _write_png(tmp_path / "dogs" / f"d{i}.jpg", 200)
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    (tmp_path / "stray.png").write_bytes(b"")  # not inside a class folder: ignored
    x, y, class_names = pb.data.load_image_folder(tmp_path, image_size=(4, 4))
    assert class_names == ["cats", "dogs"]
    assert x.shape == (5, 4, 4, 1) and x.dtype == np.uint8 and y.dtype == np.int32
    assert y.tolist() == [0, 0, 0, 1, 1]
    assert x[0].max() == 10 and x[2].min() == 12 and abs(int(x[4].mean()) - 200) <= 2  # JPEG is lossy
    rgb = pb.data.load_image_folder(tmp_path, image_size=(2, 3), color_mode="rgb")
    assert rgb.x.shape == (5, 2, 3, 3) and rgb.class_names == class_names


def test_load_image_folder_errors_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        pb.data.load_image_folder(tmp_path / "missing")
    _write_png(tmp_path / "only" / "a.png", 1)
    with pytest.raises(ValueError, match="only the class 'only'"):
        pb.data.load_image_folder(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match="other/broken.png"):
        pb.data.load_image_folder(tmp_path)
    with pytest.raises(ValueError, match="color_mode"):
        pb.data.load_image_folder(tmp_path, color_mode="cmyk")


def test_available_backends_in_cpython_is_numpy_only_while_more_are_registered():
    assert pb.available_backends() == ["numpy"]
    assert {"numpy", "wasm", "webgpu"} <= set(backends.registered_backends())
    import asyncio

    assert asyncio.run(backends.available_backends_async()) == ["numpy"]
