"""A lost GPU device in the middle of fit_async, in headless Chromium: WebGPU's device.destroy() and
WebGL's WEBGL_lose_context. Training goes on on the next backend of the auto order from the current
step, with a warning, and ends where a numpy run of the same seed ends (up to float differences)."""

import pytest

from harness import Browser

FIT_AND_LOSE = """
import warnings
import numpy as np
import pybrowserml as pb
from pybrowserml.callbacks import LambdaCallback

rng = np.random.default_rng(0)
x = rng.random((64, 12, 12, 1)).astype("float32")
y = rng.integers(0, 3, 64).astype("int32")

def make_model():
    pb.set_random_seed(3)
    inputs = pb.layers.Input((12, 12, 1))
    h = pb.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    h = pb.layers.GlobalAveragePooling2D()(h)
    model = pb.Model(inputs, pb.layers.Dense(3, activation="softmax")(h))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

FIT = dict(batch_size=8, epochs=3, verbose=0, seed=5)   # 8 batches per epoch
pb.set_backend("numpy")
expected = make_model()
expected_history = (await expected.fit_async(x, y, **FIT)).history

gpu = await pb.backends.set_backend_async(NAME)
model = make_model()
assert model.home_backend() is gpu

def lose_device(step, logs):
    if model.fit_state.epoch == 1 and step == 3:
        LOSE

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    history = (await model.fit_async(x, y, callbacks=[LambdaCallback(on_train_batch_end=lose_device)], **FIT)).history
messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
worst = max(float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), expected.get_weights()))
{"backend": model.home_backend().name, "current": pb.backends.get_backend().name, "messages": messages,
 "epochs": len(history["loss"]), "loss": history["loss"], "expected_loss": expected_history["loss"],
 "worst": worst}
"""

CASES = {
    "webgpu": (True, "gpu.rt.js.device.destroy()"),
    "webgl": (False, "gpu.rt.js.gl.getExtension('WEBGL_lose_context').loseContext()"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_fit_continues_after_the_device_is_lost(name, check_clean):
    webgpu, lose = CASES[name]
    with Browser(webgpu=webgpu) as browser:
        page = browser.new_pyodide_page()
        result = page.run(FIT_AND_LOSE.replace("NAME", repr(name)).replace("LOSE", lose))
        check_clean(browser, [page], allow_console_errors=True)  # the browser logs the lost device
    assert result["backend"] == result["current"] != name, result
    assert any(f"the {name} device was lost" in m and "training continues on the" in m for m in result["messages"])
    assert result["epochs"] == 3, result
    assert result["worst"] <= 1e-3, result
    assert max(abs(a - b) for a, b in zip(result["loss"], result["expected_loss"])) <= 1e-3, result
