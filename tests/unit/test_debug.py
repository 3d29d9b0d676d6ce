"""debug.gradient_check against the real ops (and a deliberately wrong backward it must catch),
and debug.overfit_check on real models (sklearn digits)."""

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import debug, ops
from pybrowserml.tensor import Tensor, Variable


@pytest.fixture(autouse=True)
def numpy_backend():
    previous = pb.get_backend().name
    pb.set_backend("numpy")
    yield
    pb.set_backend(previous)


rng = np.random.default_rng(42)


def test_gradient_check_passes_for_fused_dense_in_float64():
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    result = debug.gradient_check(lambda x, w, b: ops.dense(x, w, b, activation="relu"), [x, w, b])
    assert result.passed, str(result)
    assert [t.name for t in result.tensors] == ["input[0]", "input[1]", "input[2]"]
    assert result.max_rel_error < 1e-6
    assert result.dtype == "float64"


def test_gradient_check_passes_for_conv_and_pooling():
    x, w = rng.standard_normal((2, 5, 5, 2)), rng.standard_normal((3, 3, 2, 3))

    def conv_pool(x, w):
        return ops.avg_pool2d(ops.conv2d(x, w, strides=1, padding="same"), pool_size=2)

    result = debug.gradient_check(conv_pool, [x, w])
    assert result.passed, str(result)
    assert [t.checked for t in result.tensors] == [100, 54]


def test_gradient_check_samples_big_tensors():
    x = rng.standard_normal((40, 30))
    result = debug.gradient_check(lambda x: ops.sum(ops.square(x), axis=1), [x], max_checks=25)
    assert result.passed and result.tensors[0].checked == 25


def test_gradient_check_treats_y_true_y_pred_functions_as_losses():
    def loss(y_true, y_pred):
        return ops.softmax_xent(y_pred, y_true, sparse=True)

    labels, logits = np.array([0, 2, 1, 2], dtype=np.int32), rng.standard_normal((4, 3))
    result = debug.gradient_check(loss, [labels, logits])
    assert result.passed, str(result)
    assert [t.name for t in result.tensors] == ["input[1]"]


def test_gradient_check_catches_a_wrong_backward():
    def bad_square(x):  # forward x**2, backward claims g * x instead of 2 * g * x
        be = x.backend
        y = be.run("square", x.data)
        return Tensor.wrap(y, be, (x,), lambda g: (be.run("mul", g, x.data),))

    result = debug.gradient_check(bad_square, [rng.standard_normal((3, 3)) + 3.0])
    assert not result.passed
    assert result.tensors[0].max_rel_error == pytest.approx(0.5, rel=1e-6)
    assert "FAIL input[0]" in str(result)


def test_gradient_check_fails_when_autograd_loses_an_input():
    def detached(a, b):  # b goes through the host: autograd cannot see it, finite differences can
        return a * 2.0 + Tensor(b.numpy())

    x = rng.standard_normal((2, 2))
    result = debug.gradient_check(detached, [x, x])
    assert not result.passed
    assert [(t.name, t.passed) for t in result.tensors] == [("input[0]", True), ("input[1]", False)]
    with pytest.raises(ValueError, match="does not depend"):
        debug.gradient_check(lambda a: Tensor(np.ones(2)) * 1.0, [x])


def test_gradient_check_float32_mode_and_input_errors():
    x = rng.standard_normal((3, 4)).astype(np.float32)
    result = debug.gradient_check(lambda x: ops.sigmoid(x), [x], dtype="float32")
    assert result.passed and result.eps == 1e-3 and result.dtype == "float32"
    with pytest.raises(ValueError, match="only float inputs"):
        debug.gradient_check(lambda a: a, [np.array([1, 2])], wrt=[0])
    with pytest.raises(ValueError, match="out of range"):
        debug.gradient_check(lambda a: a, [x], wrt=[3])


def test_gradient_check_batch_norm_in_training_mode():
    mm, mv = Variable(np.zeros(3), trainable=False), Variable(np.ones(3), trainable=False)
    x = rng.standard_normal((6, 3))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    result = debug.gradient_check(lambda x, g, b: ops.batch_norm(x, g, b, mm, mv, training=True), [x, gamma, beta])
    assert result.passed, str(result)


# -- real layers and models ------------------------------------------------------------------------


def test_gradient_check_real_layers_inputs_and_weights():
    layers = pytest.importorskip("pybrowserml.layers")
    dense = layers.Dense(4, activation="relu")
    result = debug.gradient_check(dense, rng.standard_normal((3, 5)))
    assert result.passed, str(result)
    assert len(result.tensors) == 3  # the input, the kernel and the bias
    conv = layers.Conv2D(3, 3, padding="same")
    assert debug.gradient_check(conv, rng.standard_normal((2, 5, 5, 2))).passed
    bn = layers.BatchNormalization()
    bn(Tensor(np.zeros((1, 3), np.float32)))  # build
    before = [w.numpy() for w in bn.weights]
    result = debug.gradient_check(bn, rng.standard_normal((8, 3)), training=True)
    assert result.passed, str(result)
    assert [t.name for t in result.tensors][1:] == [w.name for w in bn.trainable_weights]
    assert all(w.dtype == np.float32 for w in bn.weights), "the layer's own weights stay float32"
    for w, b in zip(bn.weights, before):  # moving statistics included: the check leaves no trace
        np.testing.assert_array_equal(w.numpy(), b)


@pytest.fixture
def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    data = datasets.load_digits()
    return (data.data / 16.0).astype("float32"), data.target.astype("int32")


def _digits_model(learning_rate):
    pb.set_random_seed(0)
    model = pb.models.Sequential(
        [pb.layers.Input((64,)), pb.layers.Dense(32, activation="relu"), pb.layers.Dense(10, activation="softmax")]
    )
    model.compile(
        optimizer=pb.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _assert_same_state(a, b):
    assert a["iterations"] == b["iterations"] and a["slots"].keys() == b["slots"].keys()
    for name in a["slots"]:
        for x, y in zip(a["slots"][name], b["slots"][name]):
            np.testing.assert_array_equal(x, y)


def test_overfit_check_passes_on_digits_and_leaves_the_model_untouched(digits):
    x, y = digits
    model = _digits_model(0.01)
    model.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0, seed=1)  # optimizer state exists already
    weights, state, history = model.get_weights(), model.optimizer.get_state(), model.history
    result = debug.overfit_check(model, x, y, n=20, epochs=300, threshold=0.05)
    assert result.passed, result.message
    assert result.initial_loss > 1.0 and result.final_loss <= 0.05
    assert result.steps == len(result.losses) < 300
    assert result.message.startswith("passed")
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    _assert_same_state(model.optimizer.get_state(), state)
    assert float(model.optimizer.learning_rate) == 0.01 and model.history is history


def test_overfit_check_on_a_fresh_model_does_not_change_its_later_training(digits):
    x, y = digits
    checked, untouched = _digits_model(0.01), _digits_model(0.01)
    assert debug.overfit_check(checked, x, y, n=10, epochs=50, threshold=0.1).passed
    for model in (checked, untouched):
        model.fit(x[:96], y[:96], batch_size=32, epochs=2, verbose=0, seed=5)
    for a, b in zip(checked.get_weights(), untouched.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_overfit_check_explains_a_model_that_cannot_learn(digits):
    x, y = digits
    result = debug.overfit_check(_digits_model(0.0), x, y, n=20, epochs=5)
    assert not result.passed
    assert result.final_loss == pytest.approx(result.initial_loss, rel=1e-5)
    assert "barely moved" in result.message and "learning rate" in result.message


def test_overfit_check_needs_a_compiled_model(digits):
    x, y = digits
    model = pb.models.Sequential([pb.layers.Input((64,)), pb.layers.Dense(10)])
    with pytest.raises(ValueError, match="compile"):
        debug.overfit_check(model, x, y)
