"""Callbacks driven by a scripted training loop (exact Keras semantics on chosen loss sequences)
and by real pybrowserml models (the behaviour users see in fit())."""

import io
import math

import numpy as np
import pytest

from pybrowserml.callbacks import (
    Callback,
    DomProgress,
    EarlyStopping,
    LambdaCallback,
    ModelCheckpoint,
    ProgbarLogger,
    ReduceLROnPlateau,
    TerminateOnNaN,
    default_progress,
    load_checkpoint_weights,
)

# -- a scripted training loop: Keras's fit() order of hooks, with losses we choose ------------------


class ScriptedOptimizer:
    def __init__(self, learning_rate):
        self.learning_rate = learning_rate


class ScriptedModel:
    """Weights are one array holding the index of the last epoch that 'trained' them."""

    def __init__(self, learning_rate=1.0):
        self.weights = [np.array([-1.0])]
        self.optimizer = ScriptedOptimizer(learning_rate)
        self.stop_training = False

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]


def scripted_fit(callbacks, epoch_logs, steps=1, batch_logs=None, model=None):
    """Run the hooks like Keras fit(); epoch_logs[i] is the logs dict of epoch i. Returns (model, history)."""
    model = model or ScriptedModel()
    history = []
    for cb in callbacks:
        cb.set_model(model)
        cb.set_params({"epochs": len(epoch_logs), "steps": steps, "verbose": 1})
    model.stop_training = False
    for cb in callbacks:
        cb.on_train_begin()
    for epoch, logs in enumerate(epoch_logs):
        for cb in callbacks:
            cb.on_epoch_begin(epoch)
        for batch in range(steps):
            for cb in callbacks:
                cb.on_train_batch_begin(batch)
            model.weights = [np.array([float(epoch)])]
            blogs = dict(batch_logs(epoch, batch)) if batch_logs else dict(logs)
            for cb in callbacks:
                cb.on_train_batch_end(batch, blogs)
            if model.stop_training:
                break
        logs = dict(logs)
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)
        history.append(logs)
        if model.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end()
    return model, history


def losses(*values, key="loss"):
    return [{key: v} for v in values]


# -- EarlyStopping ----------------------------------------------------------------------------------


def test_early_stopping_stops_after_patience_and_restores_best_weights():
    es = EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    model, history = scripted_fit([es], losses(1.0, 0.5, 0.6, 0.7, 0.4))
    assert len(history) == 4  # epochs 2 and 3 did not improve: stop at the end of epoch 3
    assert es.stopped_epoch == 3 and es.best_epoch == 1 and es.best == 0.5
    assert model.get_weights()[0].tolist() == [1.0]


def test_early_stopping_restores_best_weights_even_without_stopping_like_keras3():
    es = EarlyStopping(monitor="loss", patience=5, restore_best_weights=True)
    model, history = scripted_fit([es], losses(1.0, 0.5, 0.6))
    assert len(history) == 3 and es.stopped_epoch == 0
    assert model.get_weights()[0].tolist() == [1.0]


def test_early_stopping_without_restore_keeps_last_weights():
    model, _ = scripted_fit([EarlyStopping(monitor="loss", patience=1)], losses(1.0, 0.5, 0.6, 0.7))
    assert model.get_weights()[0].tolist() == [2.0]


def test_early_stopping_min_delta_counts_small_gains_as_no_improvement():
    es = EarlyStopping(monitor="loss", patience=1, min_delta=0.1)
    _, history = scripted_fit([es], losses(1.0, 0.95, 0.9, 0.85))
    assert len(history) == 2 and es.stopped_epoch == 1


def test_early_stopping_baseline_keeps_counting_until_it_is_beaten():
    es = EarlyStopping(monitor="loss", patience=2, baseline=0.5)
    _, history = scripted_fit([es], losses(0.9, 0.8, 0.7, 0.7, 0.7))
    assert len(history) == 4  # improvements above the baseline never reset the wait


def test_early_stopping_max_mode_inferred_from_accuracy_name():
    es = EarlyStopping(monitor="val_accuracy", patience=1)
    _, history = scripted_fit([es], losses(0.5, 0.7, 0.6, 0.9, key="val_accuracy"))
    assert len(history) == 3 and es.best == 0.7


def test_early_stopping_start_from_epoch_ignores_warmup():
    es = EarlyStopping(monitor="loss", patience=0, start_from_epoch=2)
    _, history = scripted_fit([es], losses(1.0, 2.0, 3.0, 4.0, 5.0))
    assert len(history) == 4 and es.stopped_epoch == 3


def test_early_stopping_unknown_direction_and_missing_metric():
    with pytest.raises(ValueError, match="mode='max'"):
        scripted_fit([EarlyStopping(monitor="zebra")], losses(1.0, key="zebra"))
    with pytest.warns(UserWarning, match="`val_loss` which is not available. Available metrics are: loss"):
        _, history = scripted_fit([EarlyStopping(patience=0)], losses(1.0, 2.0, 3.0))
    assert len(history) == 3


def test_early_stopping_instance_can_be_reused():
    es = EarlyStopping(monitor="loss", patience=1)
    scripted_fit([es], losses(0.1, 0.2, 0.3))
    _, history = scripted_fit([es], losses(5.0, 4.0, 3.0))  # judged afresh, not against 0.1
    assert len(history) == 3


# -- ReduceLROnPlateau ------------------------------------------------------------------------------


def test_reduce_lr_on_plateau_with_cooldown_and_min_lr():
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, cooldown=1, min_lr=0.2)
    model, history = scripted_fit([cb], losses(1.0, 1.0, 1.0, 1.0, 1.0, 1.0))
    # The logged rate is the one used during the epoch; reductions happen at its end.
    assert [h["learning_rate"] for h in history] == [1.0, 1.0, 0.5, 0.25, 0.2, 0.2]
    assert model.optimizer.learning_rate == 0.2


def test_reduce_lr_on_plateau_waits_for_patience_and_resets_on_improvement():
    cb = ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=2)
    model, history = scripted_fit([cb], losses(1.0, 1.0, 0.5, 0.6, 0.7, 0.8, key="val_loss"))
    assert [h["learning_rate"] for h in history] == pytest.approx([1.0, 1.0, 1.0, 1.0, 1.0, 0.1])


def test_reduce_lr_on_plateau_rejects_factor_of_one_or_more():
    with pytest.raises(ValueError, match="factor >= 1.0"):
        ReduceLROnPlateau(factor=1.0)


# -- TerminateOnNaN, LambdaCallback ----------------------------------------------------------------


def test_terminate_on_nan_stops_at_the_first_invalid_batch(capsys):
    seen = []
    spy = LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append((batch, logs["loss"])))
    batch_loss = lambda epoch, batch: {"loss": math.inf if (epoch, batch) == (1, 2) else 0.5}  # noqa: E731
    model, history = scripted_fit([TerminateOnNaN(), spy], losses(0.5, 0.5, 0.5), steps=4, batch_logs=batch_loss)
    assert model.stop_training and len(history) == 2 and len(seen) == 4 + 3
    assert "Batch 2: Invalid loss, terminating training" in capsys.readouterr().out


def test_lambda_callback_calls_each_hook_with_keras_arguments():
    calls = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(f"epoch_begin {epoch}"),
        on_batch_end=lambda batch, logs: calls.append(f"batch_end {batch} {logs['loss']}"),
        on_epoch_end=lambda epoch, logs: calls.append(f"epoch_end {epoch} {logs['loss']}"),
        on_train_end=lambda logs: calls.append("train_end"),
    )
    scripted_fit([cb], losses(0.5, 0.25), steps=2)
    assert calls == [
        "train_begin",
        "epoch_begin 0",
        "batch_end 0 0.5",
        "batch_end 1 0.5",
        "epoch_end 0 0.5",
        "epoch_begin 1",
        "batch_end 0 0.25",
        "batch_end 1 0.25",
        "epoch_end 1 0.25",
        "train_end",
    ]


def test_lambda_callback_rejects_unknown_hooks_and_non_callables():
    with pytest.raises(TypeError, match="unknown hooks \\['on_epoch_finish'\\]"):
        LambdaCallback(on_epoch_finish=print)
    with pytest.raises(TypeError, match="on_epoch_end must be callable"):
        LambdaCallback(on_epoch_end=3)


# -- ModelCheckpoint --------------------------------------------------------------------------------


def test_model_checkpoint_writes_formatted_weight_files_each_epoch(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "ckpt" / "w-{epoch:02d}-{loss:.2f}.npz"), save_weights_only=True)
    scripted_fit([cb], losses(0.75, 0.5))
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["w-01-0.75.npz", "w-02-0.50.npz"]
    assert load_checkpoint_weights(tmp_path / "ckpt" / "w-02-0.50.npz")[0].tolist() == [1.0]


def test_model_checkpoint_save_best_only_keeps_the_best_epoch(tmp_path):
    path = tmp_path / "best.npz"
    cb = ModelCheckpoint(path, monitor="val_loss", save_best_only=True, save_weights_only=True)
    scripted_fit([cb], losses(0.9, 0.4, 0.6, 0.5, key="val_loss"))
    assert load_checkpoint_weights(path)[0].tolist() == [1.0] and cb.best == 0.4


def test_model_checkpoint_every_n_batches(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.npz"), save_weights_only=True, save_freq=3)
    scripted_fit([cb], losses(0.5, 0.5), steps=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e1-b3.npz", "e2-b2.npz"]


def test_model_checkpoint_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="ending in '.npz'"):
        ModelCheckpoint(tmp_path / "w.h5", save_weights_only=True)
    with pytest.raises(ValueError, match="ending in '.json'"):
        ModelCheckpoint(tmp_path / "model.keras")
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint(tmp_path / "w.npz", save_weights_only=True, save_freq="batch")
    cb = ModelCheckpoint(str(tmp_path / "{val_acc}.npz"), save_weights_only=True)
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        scripted_fit([cb], losses(0.5))


# -- progress output --------------------------------------------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class CountedValue:
    """A logged value that counts how often it is read (a device read, on a real backend)."""

    reads = 0

    def __init__(self, value):
        self.value = value

    def __float__(self):
        CountedValue.reads += 1
        return self.value


class TTY(io.StringIO):
    def isatty(self):
        return True


def test_progbar_prints_one_line_per_epoch_when_not_a_tty():
    out = io.StringIO()
    scripted_fit(
        [ProgbarLogger(stream=out)], [{"loss": 0.5, "accuracy": 0.81}, {"loss": 0.25, "accuracy": 0.9}], steps=3
    )
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Epoch 1/2 - 3/3 - ")
    assert lines[0].endswith("loss: 0.5000 - accuracy: 0.8100")
    assert "\r" not in out.getvalue()


def test_progbar_live_bar_is_throttled_and_reads_logs_only_when_rendering():
    out, clock = TTY(), FakeClock()
    CountedValue.reads = 0

    def batch_logs(epoch, batch):
        clock.now += 0.01  # 100 batches per second: only ~1 in 10 may be rendered
        return {"loss": CountedValue(1.0 / (batch + 1))}

    bar = ProgbarLogger(stream=out, clock=clock)
    scripted_fit([bar], [{"loss": 0.1}], steps=100, batch_logs=batch_logs)
    text = out.getvalue()
    renders = text.count("\r")
    assert text.startswith("Epoch 1/1\n")
    assert 10 <= renders <= 13  # first batch, one per 0.1 s, the last batch, and the epoch end
    assert CountedValue.reads == renders - 1  # the epoch-end render reads the plain float epoch logs
    final = text.rsplit("\r", 1)[1]
    assert final.startswith("100/100 [" + "=" * 30 + "]") and final.endswith("loss: 0.1000\n")
    assert "ETA" in text


def test_dom_progress_needs_a_browser_in_cpython():
    with pytest.raises(RuntimeError, match="DomProgress needs a web page"):
        scripted_fit([DomProgress()], losses(0.5))


def test_default_progress_in_cpython():
    assert default_progress(0) is None
    assert isinstance(default_progress(1), ProgbarLogger)
    assert default_progress(2).verbose == 2
    assert default_progress("auto").verbose == 1  # Keras's fit(verbose="auto")
    with pytest.raises(ValueError, match='verbose must be "auto", 0, 1 or 2, got 3'):
        default_progress(3)


def test_callback_base_routes_train_batch_hooks_to_batch_aliases():
    calls = []

    class Legacy(Callback):
        def on_batch_end(self, batch, logs=None):
            calls.append(batch)

    scripted_fit([Legacy()], losses(0.5), steps=3)
    assert calls == [0, 1, 2]


class MiniElement:
    """Just the DOM surface DomProgress uses, to check its logic in CPython (the browser test checks the page)."""

    def __init__(self, tag):
        self.tagName, self.children, self.attributes = tag.upper(), [], {}
        self.id = self.className = self.textContent = self.innerHTML = ""
        self.value = self.max = None
        self.classList = set()

    def appendChild(self, child):
        self.children.append(child)

    def setAttribute(self, name, value):
        self.attributes[name] = value

    def removeAttribute(self, name):
        self.attributes.pop(name, None)


class MiniDocument:
    def __init__(self):
        self.body = MiniElement("body")

    def createElement(self, tag):
        return MiniElement(tag)

    def getElementById(self, element_id):
        return next((c for c in self.body.children if c.id == element_id), None)


def test_dom_progress_throttles_and_reads_logs_only_when_rendering():
    doc, clock = MiniDocument(), FakeClock()
    CountedValue.reads = 0
    renders = []

    def batch_logs(epoch, batch):
        clock.now += 0.02  # 50 batches per second, interval 0.1 s: about 1 render in 5
        return {"loss": CountedValue(0.5)}

    progress = DomProgress(document=doc, clock=clock)
    spy = LambdaCallback(on_train_batch_end=lambda b, logs: renders.append(progress._el["status"].textContent))
    scripted_fit([progress, spy], [{"loss": 0.25, "accuracy": 0.5}] * 2, steps=50, batch_logs=batch_logs)
    root = doc.getElementById("pybrowserml-progress")
    assert root is not None and root.attributes["data-state"] == "done"
    distinct_updates = sum(1 for before, after in zip([None] + renders, renders) if after != before)
    assert 2 * 9 <= distinct_updates <= 2 * 13  # per epoch: the first step, ~1 per 0.1 s, the last step
    assert CountedValue.reads == 2 * distinct_updates  # the text and data-loss, only on renders
    title, bar, status, epochs = root.children
    assert title.textContent.startswith("Epoch 2/2 - done in ")
    assert (bar.max, bar.value) == (50, 50)
    assert status.textContent.startswith("50/50 - 1s - 50.0 steps/s - loss: 0.2500 - accuracy: 0.5000")
    assert [li.textContent[:14] for li in epochs.children] == ["Epoch 1/2 - 50", "Epoch 2/2 - 50"]


# -- real models: what users see in fit() -----------------------------------------------------------


@pytest.fixture
def digits():
    """sklearn's 8x8 digits, flattened and scaled to [0, 1]: a real task that trains in seconds."""
    datasets = pytest.importorskip("sklearn.datasets")
    data = datasets.load_digits()
    x = (data.data / 16.0).astype("float32")
    return x, data.target.astype("int32")


def mlp(learning_rate=1e-2, optimizer="adam", hidden=32, seed=3):
    import pybrowserml as pb

    pb.set_backend("numpy")
    pb.set_random_seed(seed)
    model = pb.models.Sequential(
        [pb.layers.Input((64,)), pb.layers.Dense(hidden, activation="relu"), pb.layers.Dense(10, activation="softmax")]
    )
    opt = pb.optimizers.get(optimizer) if isinstance(optimizer, str) else optimizer
    opt.learning_rate = learning_rate
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_real_early_stopping_restores_the_weights_of_the_best_val_loss_epoch(digits):
    x, y = digits
    model = mlp(learning_rate=0.05)
    snapshots = []
    record = LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.append((float(logs["val_loss"]), model.get_weights()))
    )
    es = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    # 40 training samples and a held-out set: validation loss soon rises while training loss falls.
    history = model.fit(
        x[:40],
        y[:40],
        validation_data=(x[1000:1400], y[1000:1400]),
        batch_size=8,
        epochs=40,
        verbose=0,
        callbacks=[record, es],
        seed=0,
    )
    epochs_run = len(history.history["loss"])
    val_losses = [v for v, _ in snapshots]
    best = int(np.argmin(val_losses))
    assert epochs_run < 40, "validation loss should stop improving on 40 samples"
    assert es.stopped_epoch == epochs_run - 1 == best + 2
    assert history.history["val_loss"] == pytest.approx(val_losses)
    for restored, expected in zip(model.get_weights(), snapshots[best][1]):
        np.testing.assert_array_equal(restored, expected)


def test_real_reduce_lr_on_plateau_shows_in_history(digits):
    x, y = digits
    model = mlp(learning_rate=0.01)
    # min_delta=10 makes every epoch after the first a plateau: the rate halves at each epoch end.
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)
    history = model.fit(x[:256], y[:256], batch_size=64, epochs=4, verbose=0, callbacks=[cb])
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.01, 0.005, 0.0025])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.00125)


def test_real_terminate_on_nan_stops_at_the_first_bad_batch(digits):
    import pybrowserml as pb

    x, y = digits
    model = mlp(optimizer=pb.optimizers.SGD(), learning_rate=1e12)
    batch_losses = []
    record = LambdaCallback(on_train_batch_end=lambda batch, logs: batch_losses.append(float(logs["loss"])))
    # log_every=0: the loop reads the loss after every batch (by default at most every 0.1 s).
    with np.errstate(over="ignore", invalid="ignore"):  # the overflow is the point of this test
        history = model.fit(
            x[:512], y[:512], batch_size=16, epochs=5, verbose=0, log_every=0, callbacks=[record, TerminateOnNaN()]
        )
    finite = [math.isfinite(v) for v in batch_losses]
    assert not finite[-1], f"the learning rate should blow the loss up: {batch_losses[:5]}"
    assert all(finite[:-1]), "training must stop at the first non-finite loss"
    assert len(history.history["loss"]) <= 2 and len(batch_losses) < 5 * 32


def test_real_reduce_lr_on_plateau_refuses_a_scheduled_learning_rate(digits):
    from pybrowserml import schedules

    x, y = digits
    model = mlp(learning_rate=schedules.ExponentialDecay(0.01, 10, 0.5))
    with pytest.raises(TypeError, match="cannot change a learning rate that follows a schedule"):
        model.fit(x[:64], y[:64], epochs=1, verbose=0, callbacks=[ReduceLROnPlateau(monitor="loss")])


def test_real_model_checkpoint_writes_loadable_weights(digits, tmp_path):
    x, y = digits
    model = mlp()
    cb = ModelCheckpoint(str(tmp_path / "digits-{epoch:02d}-{val_loss:.3f}.npz"), save_weights_only=True)
    history = model.fit(x[:300], y[:300], validation_split=0.2, batch_size=32, epochs=3, verbose=0, callbacks=[cb])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"digits-{e + 1:02d}-{v:.3f}.npz" for e, v in enumerate(history.history["val_loss"])]
    saved = load_checkpoint_weights(tmp_path / names[-1])
    assert [w.shape for w in saved] == [w.shape for w in model.get_weights()]
    for a, b in zip(saved, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_real_model_checkpoint_whole_model_json(digits, tmp_path):
    io_module = pytest.importorskip("pybrowserml.io")
    x, y = digits
    model = mlp()
    cb = ModelCheckpoint(str(tmp_path / "best.json"), monitor="loss", save_best_only=True)
    model.fit(x[:128], y[:128], batch_size=32, epochs=2, verbose=0, callbacks=[cb])
    restored = io_module.load_json(str(tmp_path / "best.json"))
    np.testing.assert_allclose(restored.predict(x[:16], verbose=0), model.predict(x[:16], verbose=0), atol=1e-6)


def test_progbar_shows_the_latest_values_when_a_batch_logs_none():
    out, clock = TTY(), FakeClock()

    def batch_logs(epoch, batch):
        clock.now += 0.2  # every batch is due for a render
        return {"size": 8, "loss": 0.5} if batch == 0 else {"size": 8}  # the loop read the loss only once

    scripted_fit([ProgbarLogger(stream=out, clock=clock)], [{"loss": 0.25}], steps=3, batch_logs=batch_logs)
    renders = out.getvalue().split("\r")[1:]
    assert len(renders) == 4
    assert all("loss: 0.5000" in line for line in renders[:3]) and "size" not in out.getvalue()
