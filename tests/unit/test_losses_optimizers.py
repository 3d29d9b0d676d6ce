"""Losses (values, stability, gradients, aliases, user losses), metrics and optimizers (Keras 3 formulas)."""

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import layers as L
from pybrowserml import losses, metrics, ops, optimizers
from pybrowserml.debug import gradient_check

rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def numpy_backend():
    pb.set_backend("numpy")


def np_log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


# -- losses ---------------------------------------------------------------------------------------


def test_sparse_crossentropy_from_logits_is_exact_and_stable():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.5, 0.2, 0.1]])
    labels = np.array([2, 0], "int32")
    value = losses.SparseCategoricalCrossentropy(from_logits=True)(pb.Tensor(labels), pb.Tensor(logits))
    expected = -np_log_softmax(logits)[np.arange(2), labels].mean()
    assert np.isfinite(value.item()) and value.item() == pytest.approx(expected, rel=1e-12)


def test_categorical_crossentropy_on_probabilities_clips_like_keras():
    probs = np.array([[0.7, 0.2, 0.1], [0.0, 1.0, 0.0]])
    onehot = np.array([[1.0, 0, 0], [1.0, 0, 0]])
    value = losses.CategoricalCrossentropy()(pb.Tensor(onehot), pb.Tensor(probs)).item()
    assert value == pytest.approx((-np.log(0.7) - np.log(1e-7)) / 2, rel=1e-9)


@pytest.mark.parametrize(
    "loss, labels",
    [
        (losses.SparseCategoricalCrossentropy(from_logits=True), np.array([0, 3, 1], "int32")),
        (losses.CategoricalCrossentropy(from_logits=True), np.eye(4)[[2, 0, 3]]),
        (losses.SparseCategoricalCrossentropy(), np.array([0, 3, 1], "int32")),
        (losses.MeanSquaredError(), rng.standard_normal((3, 4))),
    ],
)
def test_loss_gradients_match_finite_differences(loss, labels):
    takes_probabilities = getattr(loss, "from_logits", True) is False
    y_pred = rng.dirichlet(np.ones(4), 3) if takes_probabilities else rng.standard_normal((3, 4))
    result = gradient_check(loss, [labels, y_pred])
    assert result.passed, str(result)


def test_softmax_head_is_fused_into_the_loss_and_matches_keras_value():
    """With a softmax head the model outputs probabilities; the loss is computed from the logits."""
    pb.set_random_seed(0)
    model = pb.Sequential([L.Input((5,)), L.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.set_weights([rng.standard_normal((5, 3)) * 40, np.zeros(3)])  # saturated: probabilities hit 0
    x = rng.standard_normal((8, 5)).astype("float32")
    y = rng.integers(0, 3, 8).astype("int32")
    logits = x @ model.get_weights()[0]
    expected = -np_log_softmax(logits.astype("float64"))[np.arange(8), y].mean()
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-4)
    assert np.isfinite(expected) and expected > -np.log(1e-7) / 8  # clipped probabilities would cap it


def test_aliases_and_unknown_names():
    assert isinstance(losses.get("sparse_categorical_crossentropy"), losses.SparseCategoricalCrossentropy)
    assert isinstance(losses.get("categorical_crossentropy"), losses.CategoricalCrossentropy)
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        losses.get("hinge")
    with pytest.raises(TypeError, match="loss must be a name"):
        losses.get(3)


def test_user_loss_written_with_ops_gets_its_gradient_and_trains():
    def mean_absolute_error(y_true, y_pred):  # per-sample values: averaged like a Keras loss function
        return ops.mean(ops.abs(y_pred - y_true), axis=-1)

    labels, y_pred = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    result = gradient_check(losses.get(mean_absolute_error), [labels, y_pred])
    assert result.passed, str(result)

    pb.set_random_seed(1)
    x = rng.standard_normal((64, 4)).astype("float32")
    y = (x @ rng.standard_normal((4, 2))).astype("float32")
    model = pb.Sequential([L.Input((4,)), L.Dense(2)])
    model.compile(optimizers.Adam(0.05), mean_absolute_error)
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0, seed=0)
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]


def test_user_loss_must_return_a_tensor():
    model = pb.Sequential([L.Input((2,)), L.Dense(1)])
    model.compile("sgd", lambda y_true, y_pred: 0.0)
    with pytest.raises(TypeError, match="must return a Tensor"):
        model.fit(np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32"), verbose=0)


# -- metrics --------------------------------------------------------------------------------------


def test_accuracy_follows_the_label_format_and_accumulates_on_device():
    logits = pb.Tensor(np.array([[2.0, 1.0], [0.0, 3.0], [5.0, 1.0]], "float32"))
    sparse = metrics.get("accuracy", losses.get("sparse_categorical_crossentropy"))
    dense = metrics.get("accuracy", losses.get("categorical_crossentropy"))
    assert isinstance(sparse, metrics.SparseCategoricalAccuracy) and isinstance(dense, metrics.CategoricalAccuracy)
    sparse.update_state(pb.Tensor(np.array([0, 1, 1], "int32")), logits)
    sparse.update_state(pb.Tensor(np.array([1], "int32")), pb.Tensor(np.array([[0.0, 1.0]], "float32")))
    assert sparse.count == 4 and sparse.result() == pytest.approx(3 / 4)
    dense.update_state(pb.Tensor(np.eye(2, dtype="float32")[[1, 1, 0]]), logits)
    assert dense.result() == pytest.approx(2 / 3)
    sparse.reset_state()
    assert sparse.result() == 0.0
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        metrics.get("f1")


# -- optimizers -----------------------------------------------------------------------------------


def keras_adam(p, grads, lr, b1=0.9, b2=0.999, eps=1e-7, wd=0.0):
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        p = p - lr * wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
    return p


def keras_sgd(p, grads, lr, momentum=0.0, nesterov=False):
    v = np.zeros_like(p)
    for g in grads:
        v = momentum * v - lr * g
        p = p + (momentum * v - lr * g if nesterov else v)
    return p


def run_optimizer(optimizer, p0, grads):
    variable = pb.Variable(p0.copy(), name="w")
    for g in grads:
        variable.grad = g.copy()
        optimizer.apply_gradients([variable])
    return variable.numpy()


@pytest.mark.parametrize(
    "optimizer, reference",
    [
        (optimizers.Adam(), lambda p, g: keras_adam(p, g, 1e-3)),
        (optimizers.AdamW(learning_rate=0.01), lambda p, g: keras_adam(p, g, 0.01, wd=0.004)),
        (optimizers.SGD(), lambda p, g: keras_sgd(p, g, 0.01)),
        (optimizers.SGD(0.1, momentum=0.9), lambda p, g: keras_sgd(p, g, 0.1, 0.9)),
        (optimizers.SGD(0.1, momentum=0.9, nesterov=True), lambda p, g: keras_sgd(p, g, 0.1, 0.9, True)),
    ],
)
def test_optimizer_steps_follow_keras_formulas(optimizer, reference):
    p0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(4)]
    # variables are float32, the reference float64
    np.testing.assert_allclose(run_optimizer(optimizer, p0, grads), reference(p0, grads), rtol=1e-5, atol=1e-6)


def test_keras_defaults_and_aliases():
    adam, sgd, adamw = optimizers.get("adam"), optimizers.get("sgd"), optimizers.get("AdamW")
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (1e-3, 0.9, 0.999, 1e-7)
    assert (sgd.learning_rate, sgd.momentum, sgd.nesterov) == (0.01, 0.0, False)
    assert (adamw.weight_decay, type(adamw)) == (0.004, optimizers.AdamW)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        optimizers.get("rmsprop")
    assert optimizers.SGD(0.1, momentum=0.5).get_config() == {
        "name": "SGD",
        "learning_rate": 0.1,
        "weight_decay": 0.0,
        "momentum": 0.5,
        "nesterov": False,
    }


def test_learning_rate_is_settable_and_validated():
    optimizer = optimizers.SGD(0.1)
    p0, grads = np.ones(3), [np.ones(3)] * 2
    variable = pb.Variable(p0.copy(), name="w")
    variable.grad = grads[0].copy()
    optimizer.apply_gradients([variable])
    optimizer.learning_rate = 0.01  # what ReduceLROnPlateau does
    variable.grad = grads[1].copy()
    optimizer.apply_gradients([variable])
    np.testing.assert_allclose(variable.numpy(), 1 - 0.1 - 0.01)
    with pytest.raises(ValueError, match="learning rate must be a finite number >= 0"):
        optimizer.learning_rate = -1.0


def test_schedule_sees_the_step_count_and_is_logged_per_epoch():
    schedule = pb.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    optimizer = optimizers.SGD(schedule)
    grads = [np.ones(2)] * 3
    expected = 1.0 - sum(0.1 * 0.5**k for k in range(3))
    np.testing.assert_allclose(run_optimizer(optimizer, np.ones(2), grads), expected)
    config = optimizer.get_config()["learning_rate"]
    assert config["class_name"] == "ExponentialDecay" and config["initial_learning_rate"] == 0.1

    pb.set_random_seed(0)
    model = pb.Sequential([L.Input((2,)), L.Dense(1)])
    model.compile(optimizers.SGD(schedule), "mse")
    history = model.fit(np.ones((8, 2), "float32"), np.ones((8, 1), "float32"), batch_size=4, epochs=2, verbose=0)
    assert history.history["learning_rate"] == pytest.approx([0.1 * 0.5**2, 0.1 * 0.5**4])


def test_state_round_trip_continues_identically():
    p0 = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(6)]
    straight = run_optimizer(optimizers.Adam(0.01), p0, grads)

    first = optimizers.Adam(0.01)
    variable = pb.Variable(p0.copy(), name="w")
    for g in grads[:3]:
        variable.grad = g.copy()
        first.apply_gradients([variable])
    state = first.get_state()
    assert state["iterations"] == 3 and set(state["slots"]) == {"ms", "vs"}

    second = optimizers.Adam(0.01)
    resumed = pb.Variable(variable.numpy(), name="w")
    second.set_state(state, [resumed])
    for g in grads[3:]:
        resumed.grad = g.copy()
        second.apply_gradients([resumed])
    np.testing.assert_allclose(resumed.numpy(), straight, rtol=1e-12)


def test_one_optimizer_per_model():
    optimizer = optimizers.SGD()
    a, b = pb.Variable(np.ones(2), name="a"), pb.Variable(np.ones(2), name="b")
    a.grad = np.ones(2)
    optimizer.apply_gradients([a])
    b.grad = np.ones(2)
    with pytest.raises(ValueError, match="one optimizer per model"):
        optimizer.apply_gradients([b])


def test_from_logits_on_a_softmax_head_warns_like_keras():
    model = pb.Sequential([L.Input((3,)), L.Dense(2, activation="softmax")])
    with pytest.warns(UserWarning, match="from_logits=True"):
        model.compile("adam", losses.SparseCategoricalCrossentropy(from_logits=True))


def test_apply_gradients_takes_keras_grads_and_vars_pairs():
    p0, g = rng.standard_normal(4), rng.standard_normal(4)
    variable = pb.Variable(p0.copy(), name="w")
    optimizers.SGD(0.5).apply_gradients(zip([g], [variable]))
    np.testing.assert_allclose(variable.numpy(), p0 - 0.5 * g, rtol=1e-6)
