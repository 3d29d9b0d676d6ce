"""Log readback: fit_async reads the running loss and metrics through the backend's download_async
(awaited between steps, never inside one); sync fit reads them with download and never asks for it.
Also: uint8 batches reach the device as uint8 and are scaled there by the from_uint8 kernel."""

import asyncio

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import backends, layers
from pybrowserml.backends.numpy.backend import NumpyBackend

rng = np.random.default_rng(0)
X = rng.integers(0, 256, (48, 6, 6, 1), dtype=np.uint8)
Y = rng.integers(0, 3, 48).astype("int32")
FIT = dict(batch_size=16, epochs=2, verbose=0, seed=1, log_every=0)  # log_every=0: logs due after every step


class AsyncReadbackBackend(NumpyBackend):
    """The numpy backend with a download_async that returns an awaitable, like a GPU backend's, counting
    the reads and the ones that happen while a training step runs."""

    name = "async-readback"

    def __init__(self):
        super().__init__()
        self.async_reads = 0
        self.reads_mid_step = 0
        self.in_step = False
        self.uploads = []

    def upload(self, array):
        self.uploads.append((np.asarray(array).dtype, np.shape(array)))
        return super().upload(array)

    def download_async(self, array):
        self.async_reads += 1
        self.reads_mid_step += self.in_step

        async def read():
            await asyncio.sleep(0)
            return self.download(array)

        return read()


@pytest.fixture
def backend(monkeypatch):
    backend = AsyncReadbackBackend()
    monkeypatch.setattr(backends, "_current", backend)
    return backend


def make_model(backend):
    pb.set_random_seed(3)
    model = pb.Sequential(
        [
            layers.Input((6, 6, 1)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    train_step = model.train_step

    def step(*args, **kwargs):  # marks the span of each training step on the backend
        backend.in_step = True
        try:
            return train_step(*args, **kwargs)
        finally:
            backend.in_step = False

    model.train_step = step
    return model


def test_fit_async_awaits_download_async_between_steps_only(backend):
    model = make_model(backend)
    history = asyncio.run(model.fit_async(X, Y, validation_data=(X[:16], Y[:16]), yield_every=0, **FIT))
    # 3 steps x 2 epochs, each with a loss and an accuracy read after it, plus the epoch-end reads
    # and the validation's: every one through download_async.
    assert backend.async_reads >= 2 * 3 * 2
    assert backend.reads_mid_step == 0
    assert all(isinstance(v, float) for values in history.history.values() for v in values)

    sync_model = make_model(backend)
    reads_before = backend.async_reads
    sync_history = sync_model.fit(X, Y, validation_data=(X[:16], Y[:16]), **FIT)
    assert backend.async_reads == reads_before  # sync fit never asks for an asynchronous read
    assert sync_history.history == history.history


def test_evaluate_async_and_predict_async_read_back_asynchronously(backend):
    model = make_model(backend)
    loss = model.evaluate(X, Y, batch_size=16, verbose=0)
    predictions = model.predict(X, batch_size=16, verbose=0)
    assert backend.async_reads == 0
    assert asyncio.run(model.evaluate_async(X, Y, batch_size=16, verbose=0, yield_every=0)) == loss
    assert backend.async_reads > 0
    reads = backend.async_reads
    np.testing.assert_array_equal(
        asyncio.run(model.predict_async(X, batch_size=16, verbose=0, yield_every=0)), predictions
    )
    assert backend.async_reads == reads + 3  # one output batch each


def test_uint8_batches_are_uploaded_as_uint8_and_scaled_on_the_device(backend):
    model = make_model(backend)
    model.fit(X, Y, **FIT)
    batches = [(dtype, shape) for dtype, shape in backend.uploads if shape[1:] == X.shape[1:]]
    assert batches == [(np.dtype(np.uint8), (16, 6, 6, 1))] * 6  # 3 batches x 2 epochs, none as float32
    scaled = backend.run("from_uint8", backend.upload(np.array([0, 1, 255], np.uint8)), scale=1.0 / 255.0)
    assert scaled.dtype == np.float32
    np.testing.assert_array_equal(scaled, np.array([0, 1, 255], np.float32) * np.float32(1.0 / 255.0))


def test_a_tensor_of_uint8_pixels_stays_an_int32_tensor(backend):
    assert pb.Tensor(np.array([1, 2], np.uint8)).dtype == np.int32
    assert pb.Tensor(np.array([1, 2], np.uint8), dtype="uint8").dtype == np.uint8
