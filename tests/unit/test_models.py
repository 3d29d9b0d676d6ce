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
    model = pb.Sequential(
        [
            L.Input((8, 8, 1)),
            L.Conv2D(8, 3, padding="same", activation="relu"),
            L.MaxPooling2D(2),
            L.BatchNormalization(),
            L.Flatten(),
            L.Dropout(0.1, seed=1),
            L.Dense(10),
            L.Softmax(),
        ]
    )
    model.compile(
        pb.optimizers.SGD(0.05, momentum=0.9, nesterov=True), "categorical_crossentropy", metrics=["accuracy"]
    )
    onehot = np.eye(10, dtype="float32")[y]
    history = model.fit(x, onehot, epochs=3, batch_size=64, verbose=0, validation_split=0.2)
    assert history.history["val_accuracy"][-1] > 0.8


def test_config_round_trip_rebuilds_the_same_function(digits):
    x = digits[0][:16]
    for model in (
        small_cnn(),
        pb.Sequential(
            [
                L.Input((8, 8, 1)),
                L.SeparableConv2D(4, 3),
                L.DenseBlock(4, 2),
                L.GlobalAveragePooling2D(),
                L.Dense(3, activation="softmax"),
            ]
        ),
    ):
        config = json.loads(json.dumps(model.get_config()))
        clone = pb.model_from_config(config)
        assert [w.name for w in clone.weights] == [w.name for w in model.weights]
        clone.set_weights(model.get_weights())
        np.testing.assert_allclose(clone.predict(x), model.predict(x), rtol=1e-6)


def test_model_from_config_refuses_unknown_classes():
    with pytest.raises(ValueError, match="unknown layer class 'Lambda'"):
        pb.model_from_config(
            {
                "class_name": "Sequential",
                "config": {"name": "m", "input_shape": [3], "layers": [{"class_name": "Lambda", "config": {}}]},
            }
        )


def test_fit_async_gives_the_same_result_as_fit(digits):
    x, y, _, _ = digits
    results = []
    for use_async in (False, True):
        model = small_cnn(seed=2)
        model.compile("adam", "sparse_categorical_crossentropy")
        kwargs = dict(epochs=1, batch_size=64, seed=3, verbose=0)
        history = (
            asyncio.run(model.fit_async(x[:256], y[:256], yield_every=0, **kwargs))
            if use_async
            else model.fit(x[:256], y[:256], **kwargs)
        )
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
            if self.model.fit_state.epoch == 1 and self.model.fit_state.step == 2:
                Snapshot.saved = (
                    self.model.get_weights(),
                    self.model.optimizer.get_state(),
                    json.loads(json.dumps(self.model.fit_state.to_dict())),
                )
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


@pytest.mark.parametrize("with_dropout", [False, True])
def test_resume_replays_dropout_masks_too(digits, with_dropout):
    """Dropout draws its masks from its own generator; its state is part of the fit state."""
    x, y = digits[0][:96].reshape(96, 64), digits[1][:96]

    def fresh():
        pb.set_random_seed(11)
        stack = [L.Input((64,)), L.Dense(16, activation="relu")]
        stack += [L.Dropout(0.3, seed=5)] if with_dropout else []
        model = pb.Sequential(stack + [L.Dense(10, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        return model

    reference = fresh()
    reference.fit(x, y, epochs=2, batch_size=16, seed=2, verbose=0)
    saved = {}

    class Interrupt(pb.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.fit_state.epoch == 1 and self.model.fit_state.step == 3:
                saved.update(
                    weights=self.model.get_weights(),
                    optimizer=self.model.optimizer.get_state(),
                    fit_state=json.loads(json.dumps(self.model.fit_state.to_dict())),
                )
                self.model.stop_training = True

    class Restore(pb.callbacks.Callback):
        def restore(self, model):
            model.set_weights(saved["weights"])
            model.optimizer.set_state(saved["optimizer"], model.trainable_weights)
            return saved["fit_state"]

    fresh().fit(x, y, epochs=2, batch_size=16, seed=2, verbose=0, callbacks=[Interrupt()])
    resumed = fresh()
    resumed.fit(x, y, epochs=2, batch_size=16, seed=2, verbose=0, callbacks=[Restore()], resume=True)
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_fit_async_gives_the_event_loop_turns_and_awaits_async_callbacks(digits):
    x, y, _, _ = digits
    events = []

    class AsyncCheckpoint(pb.callbacks.Callback):
        async def on_epoch_end(self, epoch, logs=None):  # like a checkpoint written to IndexedDB
            await asyncio.sleep(0)
            events.append(("saved", epoch))

    async def main():
        ticks = 0
        done = False

        async def ticker():
            nonlocal ticks
            while not done:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        model = small_cnn()
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = await model.fit_async(
            x[:256], y[:256], epochs=2, batch_size=32, verbose=0, yield_every=0, callbacks=[AsyncCheckpoint()]
        )
        ticks_during_fit = ticks
        evaluated = await model.evaluate_async(x[:64], y[:64], verbose=0, yield_every=0)
        predicted = await model.predict_async(x[:64], verbose=0, yield_every=0)
        done = True
        await task
        return model, history, ticks_during_fit, evaluated, predicted

    model, history, ticks, evaluated, predicted = asyncio.run(main())
    assert events == [("saved", 0), ("saved", 1)] and len(history.history["loss"]) == 2
    assert ticks >= 16  # 16 steps, each followed by a turn of the event loop
    assert evaluated == model.evaluate(x[:64], y[:64], verbose=0)
    np.testing.assert_array_equal(predicted, model.predict(x[:64], verbose=0))


def test_callbacks_see_keras_hooks_in_order(digits):
    x, y, x_val, y_val = digits
    calls = []

    class Recorder(pb.callbacks.Callback):
        def __getattribute__(self, name):
            if name.startswith("on_") and not name.startswith("on_batch_"):  # on_batch_*: Keras's aliases
                calls.append(name)
            return super().__getattribute__(name)

    model = small_cnn()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    recorder = Recorder()
    model.fit(
        x[:64],
        y[:64],
        batch_size=32,
        epochs=1,
        validation_data=(x_val[:32], y_val[:32]),
        callbacks=[recorder],
        verbose=0,
    )
    assert recorder.model is model and recorder.params["steps"] == 2 and recorder.params["epochs"] == 1
    assert calls == [
        "on_train_begin",
        "on_epoch_begin",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_test_begin",
        "on_test_batch_begin",
        "on_test_batch_end",
        "on_test_end",
        "on_epoch_end",
        "on_train_end",
    ]
    calls.clear()
    model.evaluate(x_val[:32], y_val[:32], callbacks=[recorder], verbose=0)
    model.predict(x_val[:32], callbacks=[recorder], verbose=0)
    assert calls == [
        "on_test_begin",
        "on_test_batch_begin",
        "on_test_batch_end",
        "on_test_end",
        "on_predict_begin",
        "on_predict_batch_begin",
        "on_predict_batch_end",
        "on_predict_end",
    ]


def test_stop_training_ends_fit_after_the_current_epoch(digits):
    x, y, _, _ = digits

    class StopAfterFirstEpoch(pb.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    model = small_cnn()
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x[:64], y[:64], epochs=5, callbacks=[StopAfterFirstEpoch()], verbose=0)
    assert history.epoch == [0] and model.history is history


def test_weights_and_set_weights_round_trip_and_check_counts():
    model = small_cnn()
    weights = model.get_weights()
    assert [tuple(w.shape) for w in model.weights] == [w.shape for w in weights]
    assert len(model.trainable_weights) == len(model.weights)
    model.set_weights([w + 1 for w in weights])
    assert all(np.array_equal(a + 1, b) for a, b in zip(weights, model.get_weights()))
    with pytest.raises(ValueError, match=f"has {len(weights)} weights, got 1 arrays"):
        model.set_weights(weights[:1])


def test_summary_reports_sizes_of_a_sequential_model():
    model = pb.Sequential(
        [L.Input((4, 4, 2)), L.Conv2D(3, 3, padding="same"), L.BatchNormalization(), L.Flatten(), L.Dense(5)]
    )
    text = model.summary(print_fn=None)
    total = (3 * 3 * 2 * 3 + 3) + 4 * 3 + (48 * 5 + 5)
    assert f"Total params: {total:,}" in text
    assert f"Trainable params: {total - 6:,}" in text and "Non-trainable params: 6" in text  # BN moving stats
    assert "(batch, 4, 4, 3)" in text and "(batch, 5)" in text


def test_sequential_without_input_is_built_from_the_first_data_like_keras(digits):
    x, y, _, _ = digits
    model = pb.Sequential([L.Flatten(), L.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:64], y[:64], verbose=0)
    assert model.input_shape == (8, 8, 1) and model.count_params() == 64 * 10 + 10
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, 8, 8, 1\)"):
        model.predict(np.zeros((2, 9, 9, 1), "float32"), verbose=0)
    unbuilt = pb.Sequential([L.Conv2D(2, 3)])
    unbuilt.compile("adam", "mse")
    with pytest.raises(ValueError, match="'conv2d.*expects images of shape"):
        unbuilt.predict(np.zeros((2, 5), "float32"), verbose=0)


def test_batches_go_to_the_backend_holding_the_weights_not_the_current_one(monkeypatch):
    """A model built on one backend keeps training there after another backend became current."""
    import pybrowserml.tensor as tensor_module

    pb.set_random_seed(0)
    model = pb.Sequential([pb.layers.Input((4,)), pb.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((8, 4), dtype=np.float32)
    y = np.arange(8, dtype=np.int32) % 3
    expected = model.predict(x, verbose=0)

    def elsewhere():
        raise AssertionError("a batch went to the current backend instead of the model's")

    monkeypatch.setattr(tensor_module, "get_backend", elsewhere)
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)
    model.train_on_batch(x, y)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    model.evaluate(x, y, verbose=0)
