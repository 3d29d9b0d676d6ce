"""The reference network pybrowserml.zoo.dense_block_cnn: size, structure, widths, seeding, bad arguments."""

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import ops
from pybrowserml.debug import gradient_check


@pytest.fixture(autouse=True)
def numpy_backend():
    pb.set_backend("numpy")


def test_reference_model_has_49018_parameters():
    model = pb.zoo.dense_block_cnn((28, 28, 1), 10)
    assert model.count_params() == 49_018
    text = model.summary(print_fn=None)
    assert "Total params: 49,018" in text and "Trainable params: 49,018" in text
    assert "block_2/layer_4/pointwise (Conv2D)" in text and "191.5 KiB as float32" in text
    assert model.output_shape == (10,)


def test_parameters_per_part_match_the_design():
    """stem 160; block 1 at 14x14 on 16, 32, 64, 96 channels; block 2 at 7x7 on 128, 64, 128, 192; head."""
    model = pb.zoo.dense_block_cnn()
    separable = lambda c, f: 9 * c + c * f + f  # noqa: E731  depthwise (no bias) + pointwise (bias)
    assert model.get_layer("stem").count_params() == 160
    for block, filters, inputs in ((1, 32, (16, 32, 64, 96)), (2, 64, (128, 64, 128, 192))):
        counted = sum(
            model.get_layer(f"block_{block}/layer_{k}/{part}").count_params()
            for k in range(1, 5)
            for part in ("depthwise", "pointwise")
        )
        assert counted == sum(separable(c, filters) for c in inputs)
    assert model.get_layer("classifier").count_params() == 256 * 10 + 10
    shapes = dict((layer.name, shape) for layer, shape in model._layer_output_shapes())
    assert shapes["block_1/output"] == (14, 14, 128) and shapes["block_2/output"] == (7, 7, 256)


def test_weight_names_are_stable_paths():
    names = [w.name for w in pb.zoo.dense_block_cnn().weights]
    assert names[:2] == ["stem/kernel", "stem/bias"]
    assert "block_1/layer_2/depthwise/depthwise_kernel" in names
    assert "block_2/layer_4/pointwise/kernel" in names and names[-1] == "classifier/bias"
    assert len(names) == len(set(names))


def test_dense_connectivity_layer_k_sees_the_concatenation_of_earlier_layers():
    """Recompute block 1 by hand with ops from the model's own weights and compare to the model."""
    model = pb.zoo.dense_block_cnn((12, 12, 1), 3, filters=(4,), layers_per_block=3, stem_filters=2, seed=0)
    x = np.random.default_rng(1).random((2, 12, 12, 1)).astype("float32")
    get = model.get_layer
    stem = ops.conv2d(pb.Tensor(x), get("stem").kernel, get("stem").bias, padding="same", activation="relu")
    outputs = []
    for k in range(1, 4):
        source = stem if k == 1 else (outputs[0] if k == 2 else ops.concat(outputs, -1))
        d = ops.depthwise_conv2d(source, get(f"block_1/layer_{k}/depthwise").kernel, strides=2 if k == 1 else 1)
        pw = get(f"block_1/layer_{k}/pointwise")
        outputs.append(ops.conv2d(d, pw.kernel, pw.bias, activation="relu"))
    head = get("classifier")
    logits = ops.dense(ops.global_avg_pool(ops.concat(outputs, -1)), head.kernel, head.bias)
    np.testing.assert_allclose(model.predict(x, verbose=0), ops.softmax(logits).numpy(), rtol=1e-5, atol=1e-7)


def test_alpha_scales_widths_like_mobilenet():
    half = pb.zoo.dense_block_cnn((28, 28, 1), 10, alpha=0.5)
    assert half.get_layer("stem").filters == 8 and half.get_layer("block_1/layer_1/pointwise").filters == 16
    assert half.count_params() < 49_018 / 2.5
    tiny = pb.zoo.dense_block_cnn((28, 28, 1), 10, alpha=0.01)
    assert tiny.get_layer("stem").filters == 1 and tiny.get_layer("block_2/layer_1/pointwise").filters == 1


def test_seed_makes_weights_reproducible_without_touching_the_global_generator():
    pb.set_random_seed(3)
    expected_next = np.random.default_rng(3)
    a = pb.zoo.dense_block_cnn(seed=7).get_weights()
    b = pb.zoo.dense_block_cnn(seed=7).get_weights()
    c = pb.zoo.dense_block_cnn(seed=8).get_weights()
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    assert pb.random.generator().integers(1 << 30) == expected_next.integers(1 << 30)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"alpha": 0}, "alpha must be > 0"),
        ({"classes": 1}, "classes must be an int >= 2"),
        ({"input_shape": (28, 28)}, r"input_shape must be \(height, width, channels\).*\(28, 28, 1\)"),
        ({"filters": ()}, "at least one block"),
        ({"input_shape": (28, 28, 0)}, "Input shape must be a tuple of positive ints"),
    ],
)
def test_bad_arguments_say_what_to_do(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        pb.zoo.dense_block_cnn(**kwargs)


def test_whole_network_gradient_matches_finite_differences():
    """Backprop through the dense connectivity (a layer's output feeds several concatenations) in float64;
    tanh instead of relu keeps finite differences away from kinks."""
    model = pb.zoo.dense_block_cnn(
        (6, 6, 2), 3, filters=(3, 4), layers_per_block=3, stem_filters=2, activation="tanh", seed=0
    )
    result = gradient_check(model, np.random.default_rng(0).standard_normal((2, 6, 6, 2)), max_checks=24)
    assert result.passed, str(result)
