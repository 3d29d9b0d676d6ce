"""RandomTranslation (Keras's preprocessing layer, whole-pixel shifts) and the remap_pixels op under it."""

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import debug, ops
from pybrowserml.io import tfjs_artifacts
from pybrowserml.layers import RandomTranslation
from pybrowserml.layers.augmentation import source_indices


@pytest.mark.parametrize(
    "mode, shift, expected",
    [
        ("constant", 2, [-1, -1, 0, 1]),
        ("constant", -1, [1, 2, 3, -1]),
        ("reflect", 2, [1, 0, 0, 1]),
        ("reflect", -1, [1, 2, 3, 3]),
        ("reflect", 5, [3, 3, 2, 1]),
        ("nearest", 2, [0, 0, 0, 1]),
        ("nearest", -3, [3, 3, 3, 3]),
        ("wrap", 2, [2, 3, 0, 1]),
        ("wrap", -1, [1, 2, 3, 0]),
    ],
)
def test_source_indices_follow_keras_fill_modes(mode, shift, expected):
    assert source_indices([shift], 4, mode).tolist() == [expected]


def test_a_shift_moves_the_image_and_fills_with_the_fill_value():
    x = np.arange(2 * 4 * 5, dtype=np.float32).reshape(2, 4, 5, 1) + 1
    rows = source_indices([1, -2], 4, "constant")
    cols = source_indices([-1, 0], 5, "constant")
    y = ops.remap_pixels(pb.Tensor(x), rows, cols, fill_value=-7).numpy()
    expected = np.full_like(x, -7)
    expected[0, 1:, :4] = x[0, :3, 1:]  # down 1, left 1
    expected[1, :2, :] = x[1, 2:, :]  # up 2
    np.testing.assert_array_equal(y, expected)


def test_remap_pixels_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 4, 3))
    rows = source_indices([2, -1], 5, "reflect")  # reflect repeats pixels: their gradients add up
    cols = source_indices([0, 3], 4, "nearest")
    result = debug.gradient_check(lambda t: ops.remap_pixels(t, rows, cols, 0.5), [x])
    assert result.passed, result


def test_training_shifts_each_image_inference_leaves_it_alone():
    layer = RandomTranslation(0.25, 0.25, fill_mode="constant", seed=3)
    x = pb.Tensor(np.random.default_rng(1).random((16, 8, 8, 1), dtype=np.float32) + 1)
    assert np.array_equal(layer(x).numpy(), x.numpy())  # training=False by default
    y = layer(x, training=True).numpy()
    moved = [not np.array_equal(y[i], x.numpy()[i]) for i in range(16)]
    assert sum(moved) >= 8
    # every output pixel is an input pixel of the same image or the fill value
    for i in range(16):
        assert set(np.unique(y[i])) <= set(np.unique(x.numpy()[i])) | {0.0}
    # at most 2 pixels (0.25 * 8) each way: the centre 4x4 of the input is still all there
    for i in range(16):
        assert np.isin(x.numpy()[i, 2:6, 2:6], y[i]).all()


def test_the_same_seed_draws_the_same_shifts():
    x = pb.Tensor(np.random.default_rng(2).random((8, 10, 10, 2), dtype=np.float32))
    a = RandomTranslation((-0.2, 0.3), 0.1, seed=5)(x, training=True).numpy()
    b = RandomTranslation((-0.2, 0.3), 0.1, seed=5)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)


def test_the_reference_model_with_augmentation_keeps_its_weights_and_trains():
    layer = RandomTranslation(2 / 28, 2 / 28, fill_mode="constant", seed=0)
    model = pb.zoo.dense_block_cnn(seed=0, augmentation=[layer])
    assert model.count_params() == 49_018
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (64, 28, 28, 1)).astype(np.uint8), rng.integers(0, 10, 64).astype(np.int32)
    state = layer.rng.bit_generator.state
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, seed=0)
    assert layer.rng.bit_generator.state != state  # it drew shifts in training
    state = layer.rng.bit_generator.state
    p1 = model.predict(x[:8], verbose=0)
    np.testing.assert_array_equal(p1, model.predict(x[:8], verbose=0))  # no randomness at inference
    assert layer.rng.bit_generator.state == state


def test_config_round_trip_and_tfjs_export_leaves_it_out():
    model = pb.zoo.dense_block_cnn(
        seed=0, augmentation=[RandomTranslation(0.1, (0.0, 0.2), fill_mode="wrap", seed=4, name="shift")]
    )
    clone = pb.models.model_from_config(model.get_config())
    shift = next(layer for layer in clone.layers if layer.name == "shift")
    assert (shift.height_range, shift.width_range, shift.fill_mode, shift.seed) == ((-0.1, 0.1), (0.0, 0.2), "wrap", 4)
    model_json, _ = tfjs_artifacts(model)
    classes = [layer["class_name"] for layer in model_json["modelTopology"]["config"]["layers"]]
    assert "RandomTranslation" not in classes and "Conv2D" in classes


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"height_factor": 1.5, "width_factor": 0.1}, "height_factor must lie in [-1, 1]"),
        ({"height_factor": 0.1, "width_factor": "a"}, "width_factor must be a float or a (lower, upper) pair"),
        ({"height_factor": (0.3, 0.1), "width_factor": 0.1}, "lower <= upper"),
        ({"height_factor": 0.1, "width_factor": 0.1, "fill_mode": "mirror"}, "fill_mode must be one of"),
        ({"height_factor": 0.1, "width_factor": 0.1, "interpolation": "bilinear"}, "use interpolation='nearest'"),
    ],
)
def test_bad_arguments_get_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        RandomTranslation(**kwargs)


def test_images_of_the_wrong_rank_are_refused():
    with pytest.raises(ValueError, match="expects images"):
        RandomTranslation(0.1, 0.1)(pb.Tensor(np.zeros((2, 8, 8), np.float32)), training=True)
