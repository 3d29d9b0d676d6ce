"""A device lost in the middle of fit: training continues on the next backend from a host snapshot and
ends with the weights and History of an uninterrupted run.

The lost device is a test backend: the numpy backend whose kernels and readbacks start raising
DeviceLostError after a given number of optimizer steps (what a GPU backend does once its device is
gone). The browser tests destroy real WebGPU devices and WebGL contexts."""

import asyncio

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import backends, layers
from pybrowserml.backends.base import DeviceLostError
from pybrowserml.backends.numpy.backend import NumpyBackend
from pybrowserml.callbacks import LambdaCallback
from pybrowserml.training import device_recovery

rng = np.random.default_rng(0)
X = (rng.random((80, 10, 10, 1)) * 255).astype("uint8")
Y = rng.integers(0, 3, 80).astype("int32")
FIT = dict(batch_size=16, epochs=3, verbose=0, seed=5, log_every=0.0)  # 5 batches per epoch


class LosingBackend(NumpyBackend):
    """numpy kernels on a 'device' that is lost after `lose_after` optimizer steps, or at the
    `lose_at_download`-th readback."""

    name = "losing"

    def __init__(self, lose_after=None, lose_at_download=None):
        super().__init__()
        self.lose_after, self.lose_at_download = lose_after, lose_at_download
        self.updates = self.downloads = 0
        self.lost = False

    def _check(self):
        if self.lost:
            raise DeviceLostError(self.name, "destroyed by the test")

    def run(self, kernel_name, *args, **attrs):
        self._check()
        if kernel_name == "adam_update":
            if self.updates == self.lose_after:
                self.lost = True
                self._check()
            self.updates += 1
        return super().run(kernel_name, *args, **attrs)

    def upload(self, array):
        self._check()
        return super().upload(array)

    def download(self, array):
        self._check()
        self.downloads += 1
        if self.downloads == self.lose_at_download:
            self.lost = True
            self._check()
        return super().download(array)

    async def download_async(self, array):
        await asyncio.sleep(0)
        return self.download(array)


@pytest.fixture
def on_backend(monkeypatch):
    """Make a given backend current for the test (the registry is restored afterwards)."""
    monkeypatch.setattr(backends, "_created", dict(backends._created))
    monkeypatch.setattr(backends, "_current", backends._current)

    def use(backend):
        backends._created[backend.name] = backend
        backends.set_backend(backend.name)
        return backend

    return use


def make_model(validation=False):
    pb.set_random_seed(21)
    inputs = layers.Input((10, 10, 1))
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3, seed=4)(x)
    model = pb.Model(inputs, layers.Dense(3, activation="softmax")(x))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def fit_on(backend, on_backend, **extra):
    on_backend(backend)
    model = make_model()
    history = model.fit(X, Y, **FIT, **extra)
    return model, history.history


@pytest.fixture
def reference(on_backend):
    model, history = fit_on(backends.get_backend("numpy"), on_backend)
    return model.get_weights(), history


def assert_same_run(model, history, reference):
    weights, expected_history = reference
    assert model.home_backend().name == "numpy"
    assert max(float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), weights)) <= 1e-5
    assert history.keys() == expected_history.keys()
    for key, values in expected_history.items():
        assert len(history[key]) == len(values) == 3, key  # one entry per epoch
        assert np.allclose(history[key], values, atol=1e-5), key


@pytest.mark.parametrize("snapshot_seconds", [0.0, 1e9], ids=["snapshot every log read", "snapshot at epoch start"])
@pytest.mark.parametrize("lose_after", [0, 7, 13])
def test_fit_continues_on_numpy_after_the_device_is_lost(
    on_backend, reference, monkeypatch, snapshot_seconds, lose_after
):
    monkeypatch.setattr(device_recovery, "SNAPSHOT_SECONDS", snapshot_seconds)
    losing = LosingBackend(lose_after=lose_after)
    with pytest.warns(RuntimeWarning, match="the losing device was lost .*continues on the numpy backend"):
        model, history = fit_on(losing, on_backend)
    assert losing.lost
    assert_same_run(model, history, reference)
    assert backends.get_backend() is backends.get_backend("numpy")


def test_replayed_batches_do_not_call_the_batch_callbacks_again(on_backend, monkeypatch):
    monkeypatch.setattr(device_recovery, "SNAPSHOT_SECONDS", 1e9)  # replays every batch of the epoch so far
    seen = []
    callback = LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    with pytest.warns(RuntimeWarning, match="replaying 3 batches"):
        fit_on(LosingBackend(lose_after=8), on_backend, callbacks=[callback])
    assert seen == [0, 1, 2, 3, 4] * 3


def test_a_device_lost_during_a_readback_or_validation(on_backend, monkeypatch):
    """Readbacks fail too once the device is gone: during the logs, a snapshot or validation."""
    pb.set_random_seed(0)
    val = (X[:20], Y[:20])
    on_backend(backends.get_backend("numpy"))
    expected = make_model()
    expected_history = expected.fit(X, Y, validation_data=val, **FIT).history
    for lose_at in (12, 23, 50, 97):  # a log read, validation, a log read, the last validation
        losing = LosingBackend(lose_at_download=lose_at)
        with pytest.warns(RuntimeWarning, match="continues on the numpy backend"):
            model, history = fit_on(losing, on_backend, validation_data=val)
        assert losing.lost
        assert_same_run(model, history, (expected.get_weights(), expected_history))


def test_fit_async_continues_too(on_backend, reference):
    on_backend(LosingBackend(lose_after=6))
    model = make_model()
    with pytest.warns(RuntimeWarning, match="continues on the numpy backend"):
        history = asyncio.run(model.fit_async(X, Y, **FIT)).history
    assert_same_run(model, history, reference)


def test_without_a_snapshot_of_the_epoch_the_loss_is_raised(on_backend):
    """Lost while reading the epoch's first snapshot: nothing to continue from, so fit says so."""
    with pytest.raises(DeviceLostError, match="the losing device was lost"):
        fit_on(LosingBackend(lose_at_download=3), on_backend)


def test_a_fit_on_numpy_keeps_no_snapshots(on_backend):
    model, _ = fit_on(backends.get_backend("numpy"), on_backend)
    assert model.device_recovery is None


def test_no_snapshots_once_the_fit_is_on_numpy(on_backend, monkeypatch):
    monkeypatch.setattr(device_recovery, "SNAPSHOT_SECONDS", 0.0)
    with pytest.warns(RuntimeWarning):
        model, _ = fit_on(LosingBackend(lose_after=2), on_backend)
    assert model.device_recovery.snapshots_taken == 3  # epoch start, after steps 1 and 2; none on numpy
