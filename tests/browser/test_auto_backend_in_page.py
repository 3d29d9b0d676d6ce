"""set_backend_async("auto") in headless Chromium: without --enable-unsafe-webgpu WebGPU is skipped with
its reason and the next backend that works is chosen; with the flag WebGPU is chosen."""

import pytest

from harness import Browser

CHOOSE = """
import pybrowserml as pb
backend = await pb.backends.set_backend_async("auto")
report = pb.backends.auto_report()
report["available"] = pb.backends.registered_backends()
report["current"] = pb.backends.get_backend().name
report
"""

TRAIN = """
import numpy as np
rng = np.random.default_rng(0)
x = (rng.random((32, 12, 12, 1)) * 255).astype("uint8")
y = rng.integers(0, 3, 32).astype("int32")
pb.set_random_seed(3)
inputs = pb.layers.Input((12, 12, 1))
h = pb.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
h = pb.layers.GlobalAveragePooling2D()(h)
model = pb.Model(inputs, pb.layers.Dense(3, activation="softmax")(h))
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
history = await model.fit_async(x, y, batch_size=8, epochs=1, verbose=0)
[model.home_backend().name, len(history.history["loss"]), pb.backends.auto_report()["fallbacks"],
 pb.memory()[model.home_backend().name]["fallbacks"]]
"""


def test_without_webgpu_auto_skips_it_with_its_reason(pyodide_page):
    report = pyodide_page.run(CHOOSE)
    assert "WebGPU" in report["skipped"]["webgpu"], report
    expected = "webgl" if "webgl" in report["available"] else "wasm"
    assert report["chosen"] == report["current"] == expected, report
    assert list(report["skipped"]) == ["webgpu"] if expected == "webgl" else ["webgpu", "webgl"], report
    name, epochs, fallbacks, memory_fallbacks = pyodide_page.run(TRAIN)
    assert name == expected and epochs == 1
    assert fallbacks == memory_fallbacks  # the per-op numpy fallbacks are visible to "auto" users


@pytest.fixture
def webgpu_page(check_clean):
    with Browser(webgpu=True) as browser:
        page = browser.new_pyodide_page()
        yield page
        check_clean(browser, [page])


def test_with_webgpu_auto_chooses_it(webgpu_page):
    report = webgpu_page.run(CHOOSE)
    assert report["chosen"] == report["current"] == "webgpu", report
    assert report["skipped"] == {} and report["forced"] is False
    assert isinstance(report["fallbacks"], dict) and isinstance(report["missing_kernels"], list)
