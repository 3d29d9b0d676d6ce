"""Every layer: output shapes, Keras-style configs, and gradients against finite differences (float64)."""

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import layers as L
from pybrowserml.debug import gradient_check

rng = np.random.default_rng(0)


def images(n=2, h=7, w=6, c=3):
    # Away from 0 so ReLU kinks do not meet finite differences.
    return rng.uniform(0.2, 1.0, (n, h, w, c)) * rng.choice([-1, 1], (n, h, w, c))


LAYER_CASES = {
    "conv2d_same_stride2_relu": (lambda: L.Conv2D(4, 3, strides=2, padding="same", activation="relu"), images()),
    "conv2d_valid": (lambda: L.Conv2D(5, (2, 3), padding="valid"), images()),
    "conv2d_1x1_relu6": (lambda: L.Conv2D(4, 1, activation="relu6"), images() * 0.5),
    "depthwise_multiplier2": (lambda: L.DepthwiseConv2D(3, padding="same", depth_multiplier=2), images()),
    "depthwise_stride2_valid": (lambda: L.DepthwiseConv2D(3, strides=2, padding="valid"), images(h=8, w=7)),
    "separable": (lambda: L.SeparableConv2D(4, 3, padding="same", activation="tanh"), images()),
    "dense_block": (lambda: L.DenseBlock(3, layers=3, strides=2, activation="tanh"), images(h=6, w=6)),
    "dense_softmax": (lambda: L.Dense(4, activation="softmax"), rng.standard_normal((3, 5))),
    "dense_sigmoid": (lambda: L.Dense(4, activation="sigmoid"), rng.standard_normal((3, 5))),
    "dense_relu_no_bias": (lambda: L.Dense(4, activation="relu", use_bias=False), rng.standard_normal((3, 5))),
    "activation_tanh": (lambda: L.Activation("tanh"), rng.standard_normal((3, 5))),
    "avg_pool_valid": (lambda: L.AveragePooling2D(2), images(h=6, w=6)),
    "max_pool": (lambda: L.MaxPooling2D(2), images(h=6, w=6)),
    "max_pool_same_stride1": (lambda: L.MaxPooling2D(3, strides=1, padding="same"), images()),
    "avg_pool_same": (lambda: L.AveragePooling2D(3, strides=2, padding="same"), images()),
    "global_avg_pool": (lambda: L.GlobalAveragePooling2D(), images()),
    "batch_norm": (lambda: L.BatchNormalization(), images(n=4)),
    "flatten": (lambda: L.Flatten(), images()),
    "relu": (lambda: L.ReLU(), images()),
    "relu6": (lambda: L.ReLU6(), images() * 8),
    "softmax": (lambda: L.Softmax(), rng.standard_normal((3, 6))),
}


@pytest.fixture(autouse=True)
def numpy_backend():
    pb.set_backend("numpy")


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_layer_gradient_matches_finite_differences(case):
    make, x = LAYER_CASES[case]
    pb.set_random_seed(1)
    layer = make()
    training = {"training": True} if case == "batch_norm" else {}
    result = gradient_check(layer, x, **training)
    assert result.passed, str(result)


def test_concatenate_gradient_and_shape():
    layer = L.Concatenate()
    a, b = images(c=2), images(c=3)
    assert layer([pb.Tensor(a), pb.Tensor(b)]).shape == (2, 7, 6, 5)
    result = gradient_check(lambda p, q: layer([p, q]), [a, b])
    assert result.passed, str(result)


def test_dropout_is_identity_at_inference_and_scales_in_training():
    layer = L.Dropout(0.5, seed=3)
    x = np.ones((4, 100), "float32")
    assert np.array_equal(layer(x).numpy(), x)
    y = layer(x, training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.3 < (y == 0).mean() < 0.7


@pytest.mark.parametrize(
    "make, shape, expected",
    [
        (lambda: L.Conv2D(8, 3, strides=2, padding="same"), (28, 28, 1), (14, 14, 8)),
        (lambda: L.Conv2D(8, 3, padding="valid"), (28, 28, 1), (26, 26, 8)),
        (lambda: L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=3), (7, 7, 5), (4, 4, 15)),
        (lambda: L.SeparableConv2D(6, 3, padding="same"), (9, 9, 4), (9, 9, 6)),
        (lambda: L.DenseBlock(32, layers=4, strides=2), (28, 28, 16), (14, 14, 128)),
        (lambda: L.MaxPooling2D(2), (7, 7, 3), (3, 3, 3)),
        (lambda: L.AveragePooling2D(2, padding="same"), (7, 7, 3), (4, 4, 3)),
        (lambda: L.GlobalAveragePooling2D(), (5, 5, 7), (7,)),
        (lambda: L.Flatten(), (2, 3, 4), (24,)),
    ],
)
def test_output_shapes_follow_tensorflow_rules(make, shape, expected):
    layer = make()
    assert layer(np.zeros((2, *shape), "float32")).shape == (2, *expected)
    assert tuple(layer.compute_output_shape(shape)) == expected


def test_weights_start_glorot_normal_and_biases_zero():
    pb.set_random_seed(0)
    layer = L.Dense(400)
    layer(np.zeros((1, 600), "float32"))
    kernel, bias = layer.get_weights()
    assert np.all(bias == 0)
    assert abs(kernel.std() - np.sqrt(2 / (600 + 400))) < 0.002  # truncated normal rescaled to this std
    assert np.abs(kernel).max() <= 2 * np.sqrt(2 / 1000) / 0.87962566103423978 + 1e-6


def test_dense_block_param_count_and_concatenation_order():
    block = L.DenseBlock(32, layers=4, strides=2)
    block(np.zeros((1, 28, 28, 16), "float32"))
    # depthwise 3x3 (no bias) + pointwise 1x1 (bias) on inputs of 16, 32, 64, 96 channels
    assert block.count_params() == sum(9 * c + c * 32 + 32 for c in (16, 32, 64, 96))


@pytest.mark.parametrize(
    "make, x, message",
    [
        (lambda: L.Conv2D(4, 3), np.zeros((2, 28, 28), "float32"), "expects images of shape"),
        (lambda: L.Dense(4), np.zeros((2, 3, 3), "float32"), "add Flatten()"),
        (lambda: L.Conv2D(4, 5, padding="valid"), np.zeros((1, 3, 3, 1), "float32"), "larger than the input"),
        (lambda: L.MaxPooling2D(4), np.zeros((1, 3, 3, 1), "float32"), "larger than the input"),
    ],
)
def test_bad_input_shapes_name_the_layer(make, x, message):
    layer = make()
    with pytest.raises(ValueError, match=message) as info:
        layer(x)
    assert layer.name in str(info.value)


def test_a_built_layer_refuses_another_input_shape():
    layer = L.Dense(3, name="head")
    layer(np.zeros((1, 4), "float32"))
    with pytest.raises(ValueError, match="'head'.*built for inputs of shape \\(batch, 4\\).*\\(batch, 5\\)"):
        layer(np.zeros((1, 5), "float32"))


@pytest.mark.parametrize(
    "bad",
    [
        lambda: L.Conv2D(0, 3),
        lambda: L.Conv2D(4, 3, padding="full"),
        lambda: L.Dense(3, activation="gelu"),
        lambda: L.Dropout(1.0),
        lambda: L.DepthwiseConv2D(3, depth_multiplier=0),
        lambda: L.Conv2D(4, (3, 3, 3)),
    ],
)
def test_bad_layer_arguments_are_rejected(bad):
    with pytest.raises(ValueError):
        bad()


def test_initializers_by_keras_name_and_default_layer_names():
    layer = L.DepthwiseConv2D(3, depthwise_initializer="ones", bias_initializer="ones")
    layer(np.zeros((1, 5, 5, 2), "float32"))
    assert all(np.all(w == 1) for w in layer.get_weights())
    assert layer.name.startswith("depthwise_conv2d") and L.Conv2D(1, 1).name.startswith("conv2d")
    assert [w.name for w in layer.weights] == [f"{layer.name}/depthwise_kernel", f"{layer.name}/bias"]
