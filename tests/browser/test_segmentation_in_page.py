"""MobileUNet segmentation in the browser: trained on the wasm backend from real MNIST masks (fetched by
the page), every new kernel native, the same first steps as numpy, and a quantized JSON round trip."""

from __future__ import annotations

import pytest

SETUP = r"""
import numpy as np
import pybrowserml as pb
from pybrowserml.backends import get_backend
from pybrowserml.data import load_mnist_segmentation_async
from pybrowserml.io import encode_model, load_json

(x, masks), (x_test, masks_test) = await load_mnist_segmentation_async(classes="foreground")
x, masks, x_test, masks_test = x[:600], masks[:600], x_test[:200], masks_test[:200]

def unet():
    model = pb.zoo.mobile_unet((28, 28, 1), classes=2, alpha=0.5, seed=0)
    model.compile(optimizer=pb.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["mean_iou"])
    return model
"""


@pytest.fixture(scope="module")
def page(shared_pyodide_page):
    shared_pyodide_page.run(SETUP)
    return shared_pyodide_page


def test_wasm_steps_match_numpy_with_every_segmentation_kernel_native(page):
    result = page.run(r"""
losses = {}
for name in ("numpy", "wasm"):
    if name == "numpy":
        pb.set_backend("numpy")
    else:
        await pb.set_backend_async("wasm", threads=1)
    model = unet()
    losses[name] = [model.train_on_batch(x[i:i + 16], masks[i:i + 16]) for i in range(0, 48, 16)]
wasm = get_backend()
{"losses": losses, "fallbacks": dict(wasm.fallback_counts), "missing": sorted(wasm.missing_kernels())}
""")
    numpy_losses, wasm_losses = result["losses"]["numpy"], result["losses"]["wasm"]
    assert all(abs(a - b) <= 1e-3 * max(1.0, abs(a)) for a, b in zip(numpy_losses, wasm_losses)), result["losses"]
    for name in ("upsample_nearest2d", "upsample_nearest2d_grad", "confusion_matrix", "conv2d_grad_input"):
        assert name not in result["missing"]
    assert not result["fallbacks"], result["fallbacks"]


def test_trains_to_a_useful_iou_and_survives_a_quantized_json_round_trip(page):
    result = page.run(r"""
await pb.set_backend_async("wasm", threads=1)
model = unet()
before = (await model.evaluate_async(x_test, masks_test, verbose=0))[1]
await model.fit_async(x, masks, epochs=2, batch_size=32, seed=0, verbose=0)
iou = (await model.evaluate_async(x_test, masks_test, verbose=0))[1]
loaded = load_json(encode_model(model, quantize="uint8")[0])
agree = float((loaded.predict(x_test[:50]).argmax(-1) == model.predict(x_test[:50]).argmax(-1)).mean())
{"before": before, "iou": iou, "agree": agree}
""")
    assert result["iou"] > max(result["before"], 0.6), result
    assert result["agree"] > 0.98, result
