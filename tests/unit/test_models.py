"""Models: the reference network, Keras-style training, configs, determinism and input errors."""

import asyncio
import json

import numpy as np
import pytest
from sklearn.datasets import load_digits

import pybrowserml as pb
from pybrowserml import layers as L


@pytest.fixture(autouse=True)
def numpy_backend():
    pb.set_backend("numpy")


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    x = (d.images[..., None] * (255 / 16)).astype("uint8")  # 8x8 uint8 images like the real loaders give
    return x[:1500], d.target[:1500].astype("int32"), x[1500:], d.target[1500:].astype("int32")


def small_cnn(seed=0):
    pb.set_random_seed(seed)
    return pb.zoo.dense_block_cnn((8, 8, 1), 10, filters=(16, 32), layers_per_block=3, stem_filters=8)


def test_reference_model_has_49018_parameters():
    model = pb.zoo.dense_block_cnn((28, 28, 1), 10)
    assert model.count_params() == 49_018
    text = model.summary(print_fn=None)
    assert "Total params: 49,018" in text and "block_2/layer_4/pointwise (Conv2D)" in text
    assert model.output_shape == (10,)


def test_alpha_scales_widths_like_mobilenet():
    half = pb.zoo.dense_block_cnn((28, 28, 1), 10, alpha=0.5)
    assert half.get_layer("stem").filters == 8 and half.get_layer("block_1/layer_1/pointwise").filters == 16
    assert half.count_params() < 49_018 / 2.5


def test_fit_learns_digits_and_evaluate_predict_agree(digits):
    x, y, x_test, y_test = digits
    model = small_cnn()
    model.compile(optimizer=pb.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=8, validation_data=(x_test, y_test), verbose=0, seed=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(x_test, y_test)
    assert accuracy > 0.8
    assert accuracy == pytest.approx(history.history["val_accuracy"][-1])
    probs = model.predict(x_test)
    assert probs.shape == (len(x_test), 10) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert np.mean(probs.argmax(1) == y_test) == pytest.approx(accuracy)


def test_same_seed_same_weights_and_loss_curve(digits):
    x, y, _, _ = digits
    runs = []
    for _ in range(2):
        model = small_cnn(seed=5)
        model.compile("adam", "sparse_categorical_crossentropy")
        history = model.fit(x[:256], y[:256], epochs=2, batch_size=32, seed=9, verbose=0)
        runs.append((history.history["loss"], model.get_weights()))
    assert runs[0][0] == runs[1][0]
    assert all(np.array_equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


def test_sequential_with_softmax_head_trains_on_one_hot_labels(digits):
    x, y, _, _ = digits
    pb.set_random_seed(0)
    model = pb.Sequential([L.Input((8, 8, 1)), L.Conv2D(8, 3, padding="same", activation="relu"), L.MaxPooling2D(2),
                           L.BatchNormalization(), L.Flatten(), L.Dropout(0.1, seed=1), L.Dense(10),
                           L.Softmax()])
    model.compile(pb.optimizers.SGD(0.05, momentum=0.9, nesterov=True), "categorical_crossentropy",
                  metrics=["accuracy"])
    onehot = np.eye(10, dtype="float32")[y]
    history = model.fit(x, onehot, epochs=3, batch_size=64, verbose=0, validation_split=0.2)
    assert history.history["val_accuracy"][-1] > 0.8


def test_config_round_trip_rebuilds_the_same_function(digits):
    x = digits[0][:16]
    for model in (small_cnn(), pb.Sequential([L.Input((8, 8, 1)), L.SeparableConv2D(4, 3), L.DenseBlock(4, 2),
                                              L.GlobalAveragePooling2D(), L.Dense(3, activation="softmax")])):
        config = json.loads(json.dumps(model.get_config()))
        clone = pb.model_from_config(config)
        assert [w.name for w in clone.weights] == [w.name for w in model.weights]
        clone.set_weights(model.get_weights())
        np.testing.assert_allclose(clone.predict(x), model.predict(x), rtol=1e-6)


def test_model_from_config_refuses_unknown_classes():
    with pytest.raises(ValueError, match="unknown layer class 'Lambda'"):
        pb.model_from_config({"class_name": "Sequential", "config": {
            "name": "m", "input_shape": [3], "layers": [{"class_name": "Lambda", "config": {}}]}})


def test_fit_async_gives_the_same_result_as_fit(digits):
    x, y, _, _ = digits
    results = []
    for use_async in (False, True):
        model = small_cnn(seed=2)
        model.compile("adam", "sparse_categorical_crossentropy")
        kwargs = dict(epochs=1, batch_size=64, seed=3, verbose=0)
        history = asyncio.run(model.fit_async(x[:256], y[:256], yield_every=0, **kwargs)) if use_async \
            else model.fit(x[:256], y[:256], **kwargs)
        results.append(history.history["loss"])
    assert results[0] == results[1]


def test_sync_fit_refuses_a_callback_that_must_be_awaited(digits):
    x, y, _, _ = digits

    class AsyncCallback(pb.callbacks.Callback):
        async def _save(self):
            return None

        def on_epoch_end(self, epoch, logs=None):
            return self._save()

    model = small_cnn()
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(RuntimeError, match="fit_async"):
        model.fit(x[:64], y[:64], callbacks=[AsyncCallback()], verbose=0)
    model.fit(x[:64], y[:64], verbose=0)  # nothing half-done blocks the next fit


def test_resume_protocol_replays_the_rest_of_an_interrupted_run(digits):
    """A checkpoint callback's restore() hands fit the epoch, step and RNG state; the run then ends
    exactly like one that was never interrupted."""
    x, y, _, _ = digits
    x, y = x[:192], y[:192]

    def fresh():
        model = small_cnn(seed=4)
        model.compile("adam", "sparse_categorical_crossentropy")
        return model

    reference = fresh()
    reference.fit(x, y, epochs=2, batch_size=32, seed=1, verbose=0)

    class Snapshot(pb.callbacks.Callback):
        saved = None

        def on_train_batch_end(self, batch, logs=None):
            if self.model._fit_state["epoch"] == 1 and self.model._fit_state["step"] == 2:
                Snapshot.saved = (self.model.get_weights(), self.model.optimizer.get_state(),
                                  json.loads(json.dumps(self.model._fit_state)))
                raise KeyboardInterrupt  # the tab closes

        def restore(self, model):
            weights, optimizer_state, fit_state = Snapshot.saved
            model.set_weights(weights)
            model.optimizer.set_state(optimizer_state, model.trainable_weights)
            return fit_state

    with pytest.raises(KeyboardInterrupt):
        fresh().fit(x, y, epochs=2, batch_size=32, seed=1, verbose=0, callbacks=[Snapshot()])
    resumed = fresh()

    class Restorer(pb.callbacks.Callback):
        restore = Snapshot.restore

    resumed.fit(x, y, epochs=2, batch_size=32, seed=1, verbose=0, callbacks=[Restorer()], resume=True)
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("x, y, kwargs, message", [
    (np.zeros((4, 8, 8), "uint8"), np.zeros(4, "int32"), {}, r"expects inputs of shape \(batch, 8, 8, 1\).*x\[\.\.\., None\]"),
    (np.zeros((4, 9, 9, 1), "uint8"), np.zeros(4, "int32"), {}, r"expects inputs of shape \(batch, 8, 8, 1\)"),
    (np.zeros((4, 8, 8, 1), "uint8"), np.array([0, 1, 2, 10]), {}, r"labels must be in \[0, 9\].*from 0 to 10"),
    (np.zeros((4, 8, 8, 1), "uint8"), np.zeros(4, "float32"), {}, r"integer class labels.*astype\('int32'\)"),
    (np.full((4, 8, 8, 1), np.nan, "float32"), np.zeros(4, "int32"), {}, "NaN or infinite"),
    (np.zeros((0, 8, 8, 1), "uint8"), np.zeros(0, "int32"), {}, "empty"),
    (np.zeros((4, 8, 8, 1), "uint8"), np.zeros(4, "int32"), {"batch_size": 0}, "batch_size must be an int >= 1"),
    (np.zeros((4, 8, 8, 1), "uint8"), np.zeros(3, "int32"), {}, "x has 4 samples but y has 3"),
])
def test_bad_training_input_gets_a_clear_error(x, y, kwargs, message):
    model = small_cnn()
    model.compile("adam", "sparse_categorical_crossentropy")
    before = model.get_weights()
    with pytest.raises((ValueError, TypeError), match=message):
        model.fit(x, y, verbose=0, **kwargs)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # nothing was touched


def test_fit_before_compile_says_what_to_do():
    with pytest.raises(RuntimeError, match="compile"):
        small_cnn().fit(np.zeros((2, 8, 8, 1), "uint8"), np.zeros(2, "int32"))
