"""The demo page users open: trains in the page and hands over a quantized JSON as a real download."""

import json

import numpy as np

import pybrowserml as pb


def test_demo_page_trains_and_downloads_a_model_that_loads_in_cpython(browser, tmp_path):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(browser.server.url("/web/demo/index.html?epochs=1&train_samples=256&batch_size=32&backend=wasm"))
        with page.expect_download(timeout=300_000) as download_info:
            result = page.evaluate("window.demoDone")
        target = tmp_path / download_info.value.suggested_filename
        download_info.value.save_as(target)
        status = page.text_content("#status")
    finally:
        page.close()
    blocked, browser.blocked_requests[:] = list(browser.blocked_requests), []
    assert not errors and not blocked, (errors, blocked)
    assert result["backend"] == "wasm" and 0.0 <= result["test_accuracy"] <= 1.0
    assert status.startswith("done: test accuracy")
    document = json.loads(target.read_text())
    assert document["format"] == "pybrowserml-model"
    model = pb.load_json(target)
    assert model.count_params() == 49_018
    probs = model.predict(np.zeros((2, 28, 28, 1), "uint8"))
    assert probs.shape == (2, 10) and np.allclose(probs.sum(1), 1, atol=1e-5)
