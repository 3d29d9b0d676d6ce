"""Bad input to fit / evaluate / predict: a clear error saying what was wrong and what to do, and nothing
trained on the way."""

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import layers as L

GOOD_X = np.zeros((4, 8, 8, 1), "uint8")
GOOD_Y = np.array([0, 1, 2, 3], "int32")


@pytest.fixture(autouse=True)
def numpy_backend():
    pb.set_backend("numpy")


def small_model(loss="sparse_categorical_crossentropy"):
    pb.set_random_seed(0)
    model = pb.zoo.dense_block_cnn((8, 8, 1), 10, filters=(4,), layers_per_block=2, stem_filters=2)
    model.compile("adam", loss, metrics=["accuracy"])
    return model


BAD_INPUTS = [
    # x: shape, rank, values, emptiness, type
    (np.zeros((4, 8, 8), "uint8"), GOOD_Y, {}, r"expects inputs of shape \(batch, 8, 8, 1\).*x\[\.\.\., None\]"),
    (
        np.zeros((4, 9, 9, 1), "uint8"),
        GOOD_Y,
        {},
        r"expects inputs of shape \(batch, 8, 8, 1\), got \(batch, 9, 9, 1\)",
    ),
    (np.zeros((4, 64), "float32"), GOOD_Y, {}, "rank-4 inputs"),
    (np.full((4, 8, 8, 1), np.nan, "float32"), GOOD_Y, {}, "x contains 256 NaN or infinite values"),
    (np.full((4, 8, 8, 1), np.inf, "float32"), GOOD_Y, {}, "NaN or infinite"),
    (np.zeros((0, 8, 8, 1), "uint8"), np.zeros(0, "int32"), {}, "the dataset is empty"),
    (np.full((4, 8, 8, 1), "a"), GOOD_Y, {}, "x must hold numbers"),
    ("pictures", GOOD_Y, {}, "x must be a numpy array"),
    # y: range, dtype, length
    (GOOD_X, np.array([0, 1, 2, 10]), {}, r"labels must be in \[0, 9\].*from 0 to 10"),
    (GOOD_X, np.array([-1, 1, 2, 3]), {}, r"labels must be in \[0, 9\].*from -1 to 3"),
    (GOOD_X, np.zeros(4, "float32"), {}, r"integer class labels, got dtype float32.*astype\('int32'\)"),
    (GOOD_X, np.eye(10, dtype="int32")[GOOD_Y], {}, r"shape \(batch,\).*categorical_crossentropy"),
    (GOOD_X, np.zeros(3, "int32"), {}, "x has 4 samples but y has 3"),
    # arguments
    (GOOD_X, GOOD_Y, {"batch_size": 0}, "batch_size must be an int >= 1, got 0"),
    (GOOD_X, GOOD_Y, {"batch_size": 2.5}, "batch_size must be an int >= 1, got 2.5"),
]


@pytest.mark.parametrize("x, y, kwargs, message", BAD_INPUTS)
def test_fit_refuses_bad_input_before_touching_the_model(x, y, kwargs, message):
    model = small_model()
    before = model.get_weights()
    with pytest.raises((ValueError, TypeError), match=message):
        model.fit(x, y, verbose=0, **kwargs)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.optimizer.iterations == 0


@pytest.mark.parametrize("x, y, kwargs, message", BAD_INPUTS)
def test_evaluate_refuses_the_same_bad_input(x, y, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        small_model().evaluate(x, y, verbose=0, **kwargs)


@pytest.mark.parametrize(
    "x, kwargs, message",
    [
        (np.zeros((4, 8, 8), "uint8"), {}, r"x\[\.\.\., None\]"),
        (np.zeros((0, 8, 8, 1), "uint8"), {}, "empty"),
        (np.full((1, 8, 8, 1), np.nan, "float32"), {}, "NaN"),
        (GOOD_X, {"batch_size": -1}, "batch_size must be an int >= 1"),
    ],
)
def test_predict_refuses_bad_input(x, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        small_model().predict(x, verbose=0, **kwargs)


@pytest.mark.parametrize(
    "y, message",
    [
        (np.zeros((4, 9), "float32"), r"labels of shape \(batch, 10\).*got \(batch, 9\)"),
        (np.full((4, 10), np.nan, "float32"), "y contains NaN or infinite values"),
    ],
)
def test_one_hot_labels_must_match_the_output(y, message):
    with pytest.raises(ValueError, match=message):
        small_model("categorical_crossentropy").fit(GOOD_X, y, verbose=0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"validation_split": 1.5}, r"validation_split must be in \(0, 1\)"),
        ({"validation_split": 0.9}, "leaves no samples"),
        ({"validation_data": GOOD_X}, r"validation_data must be a tuple \(x_val, y_val\)"),
        ({"validation_data": (GOOD_X, np.full(4, 11, "int32"))}, r"fit \(validation_data\): labels must be in"),
        ({"epochs": -1}, "epochs must be an int >= 0"),
        ({"resume": True}, "resume=True.*needs a checkpoint callback"),
    ],
)
def test_bad_fit_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        small_model().fit(GOOD_X, GOOD_Y, verbose=0, **kwargs)


def test_compile_errors_name_the_choices():
    model = small_model()
    with pytest.raises(ValueError, match="compile needs a loss"):
        model.compile("adam")
    with pytest.raises(ValueError, match="unknown metric 'precision'"):
        model.compile("adam", "mse", metrics=["precision"])
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'"):
        model.compile("adagrad", "mse")


def test_fit_before_compile_says_what_to_do():
    model = pb.Sequential([L.Input((3,)), L.Dense(2)])
    with pytest.raises(RuntimeError, match=r"call model.compile\(optimizer, loss, metrics\) first"):
        model.fit(np.zeros((2, 3), "float32"), np.zeros(2, "int32"))
