"""Runs inside the Pyodide page (sent as source): trains and times one MobileUNet on MNIST masks."""

import time

import numpy as np

import pybrowserml as pb
from pybrowserml.compression import count_macs
from pybrowserml.data import load_mnist_async, mnist_masks

_DATA = {}


async def _digits(train_samples, test_samples):
    key = (train_samples, test_samples)
    if key not in _DATA:
        (x, y), (xt, yt) = await load_mnist_async()
        x, y, xt, yt = x[:train_samples], y[:train_samples], xt[:test_samples], yt[:test_samples]
        _DATA[key] = (x, mnist_masks(x, y, "foreground"), xt, mnist_masks(xt, yt, "foreground"))
    return _DATA[key]


def framed(a, size):
    """MNIST images or masks (N, 28, 28, ...) at size x size: padded with background to 32 x 32 (2 pixels
    per side, the digit unchanged; 32 divides by 2 ** levels for up to 5 levels, 28 only up to 2), then
    scaled up by nearest neighbour by size // 32."""
    if size % 32:
        raise ValueError(f"size must be a multiple of 32 (MNIST digits padded to 32 x 32), got {size}")
    pad = [(0, 0), (2, 2), (2, 2)] + [(0, 0)] * (a.ndim - 3)
    a = np.pad(a, pad)
    factor = size // 32
    return a if factor == 1 else np.repeat(np.repeat(a, factor, axis=1), factor, axis=2)


class _EpochTimes(pb.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.started


async def unet_row(alpha, size, filters, train_samples, test_samples, epochs, infer_images, batch_size, seed):
    """{alpha, size, iou, params, macs (per image), infer_ms, train_samples_per_s} for one MobileUNet
    (zoo.mobile_unet with these filters) trained on MNIST foreground masks framed to size x size (framed);
    training speed from the last epoch, inference ms per image from the fastest of five predict passes."""
    x, m, xt, mt = (framed(a, size) for a in await _digits(train_samples, test_samples))
    model = pb.zoo.mobile_unet((size, size, 1), classes=2, alpha=alpha, filters=tuple(filters), seed=seed)
    model.compile(optimizer=pb.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["mean_iou"])
    timer = _EpochTimes()
    await model.fit_async(x, m, epochs=epochs, batch_size=batch_size, seed=seed, verbose=0, callbacks=[timer])
    _, iou = await model.evaluate_async(xt, mt, batch_size=batch_size, verbose=0)
    images = xt[:infer_images]
    model.predict(images[:batch_size], batch_size=batch_size, verbose=0)  # warm-up: buffers, caches
    timings = []
    for _ in range(5):  # the fastest of five: the machine's other load only ever adds time
        started = time.perf_counter()
        model.predict(images, batch_size=batch_size, verbose=0)
        timings.append(time.perf_counter() - started)
    infer_ms = min(timings) * 1000 / len(images)
    return {
        "alpha": alpha,
        "size": size,
        "filters": list(filters),
        "iou": iou,
        "params": model.count_params(),
        "macs": count_macs(model),
        "infer_ms": infer_ms,
        "train_samples_per_s": len(x) / timer.seconds,
    }
