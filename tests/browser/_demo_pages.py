"""What the two demo tests share: open a demo page, use it as a user would (train, pause, continue, draw,
predict, download, reload and resume) and check what the page shows at each step.

The pages keep what they draw in `window.demoState` (web/demo/ui.mjs); the tests read it, click the
page's own buttons and draw with the mouse: nothing is called behind the page's back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

import pybrowserml as pb

REPO = Path(__file__).resolve().parents[2]
# The README's screenshots are taken by these tests. A test run writes them under .build/ so it leaves the
# checkout clean; PYBROWSERML_UPDATE_SCREENSHOTS=1 writes them over docs/screenshots/ to refresh the README.
SCREENSHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("PYBROWSERML_UPDATE_SCREENSHOTS") == "1"
    else REPO / ".build" / "screenshots"
)
# Quick, yet long enough to pause mid-epoch and for the screenshots to show learning (this network starts
# slowly: ~45% after these 96 batches of 32); a backup every 4 batches.
QUICK = dict(dataset="fashion_mnist", backend="wasm", epochs=1, train_samples=3072, test_samples=256, backup_every=4)
TIMEOUT = 120_000


class DemoPage:
    """A Playwright page on a demo, with the console and page errors it logs (for check_clean)."""

    def __init__(self, browser, path, **settings):
        self.browser = browser
        self.page = browser.new_page()
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.url = browser.server.url(f"{path}?{urlencode(dict(QUICK, **settings))}")
        self.page.goto(self.url)
        self.wait_ready()

    def state(self, expression="demoState"):
        return self.page.evaluate(f"() => JSON.parse(JSON.stringify({expression}))")

    def wait(self, condition, timeout=TIMEOUT):
        """Wait until the JS condition over demoState holds; fail early with the page's error if it shows one."""
        try:
            self.page.wait_for_function(
                f"() => window.demoState && (demoState.errors.length > 0 || ({condition}))", timeout=timeout
            )
        except Exception as timeout_error:
            seen = self.page.evaluate(
                "() => window.demoState && {status: demoState.status, state: demoState.state, "
                "events: demoState.events.slice(-12)}"
            )
            raise AssertionError(f"the demo never reached {condition}; it shows {seen}") from timeout_error
        errors = self.state("demoState.errors")
        assert not errors, f"the demo showed an error: {errors}"

    def wait_ready(self):
        self.wait("demoState.events.includes('resumable') && !document.querySelector('#train').disabled")

    def click(self, button):
        self.page.click(f"#{button}")

    def last_step(self):
        batches = self.state("demoState.batches")
        return (batches[-1]["epoch"], batches[-1]["step"]) if batches else None

    def chart_pixels(self, chart):
        """Pixels of the chart's canvas that are not transparent/white, and the length of its data series."""
        return self.page.evaluate(
            """(name) => {
                 const plot = demoState.charts[name];
                 const canvas = plot.root.querySelector("canvas");
                 const rgba = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
                 let ink = 0;
                 for (let i = 0; i < rgba.length; i += 4)
                   if (rgba[i + 3] > 0 && (rgba[i] < 250 || rgba[i + 1] < 250 || rgba[i + 2] < 250)) ink++;
                 return { ink, points: plot.data[1].length };
               }""",
            chart,
        )

    def draw_stroke(self):
        """Draw a thick vertical bar with the mouse (a 'trouser' or a '1'), as a user would."""
        self.page.locator("#draw").scroll_into_view_if_needed()
        box = self.page.locator("#draw").bounding_box()
        x = box["x"] + box["width"] / 2
        self.page.mouse.move(x, box["y"] + box["height"] * 0.15)
        self.page.mouse.down()
        for i in range(1, 21):
            self.page.mouse.move(x, box["y"] + box["height"] * (0.15 + 0.7 * i / 20))
        self.page.mouse.up()

    def close(self):
        self.page.close()


def train_pause_continue(demo: DemoPage):
    """Click Train, pause mid-epoch, check that nothing moves while paused, continue to the end."""
    demo.click("train")
    demo.wait("demoState.batches.length >= 2 && demoState.state === 'running'")
    demo.click("pause")
    demo.wait("demoState.state === 'paused'")
    paused_at = demo.last_step()
    demo.page.wait_for_timeout(1000)  # a paused fit runs no batch: the page hears nothing new
    assert demo.state("demoState.state") == "paused" and demo.last_step() == paused_at
    assert demo.page.is_disabled("#pause") and demo.page.is_enabled("#continue")
    demo.click("continue")
    demo.wait("demoState.results !== null")
    assert demo.state("demoState.state") == "finished"
    assert demo.last_step() > paused_at, "training did not go on after Continue"
    # A first visit: the page showed the download file by file (Fashion-MNIST: 4 files), then the data.
    log = demo.state("demoState.datasetLog")
    assert [(e["state"], e.get("done")) for e in log] == [("downloading", None)] + [
        ("downloading", i) for i in range(1, 5)
    ] + [("ready", None)], log
    return paused_at


def check_results(demo: DemoPage):
    state = demo.state()
    results = state["results"]
    assert len(results["grid"]["pixels"]) == 16 and len(results["grid"]["predicted"]) == 16
    confusion = np.array(results["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == QUICK["test_samples"]
    assert abs(np.trace(confusion) / confusion.sum() - results["accuracy"]) < 1e-9
    assert results["sizes"]["params"] == 49_018 and results["sizes"]["uint8"] < results["sizes"]["float32"] / 2
    assert demo.page.locator("#grid canvas").count() == 16
    assert demo.page.locator("#confusion td").count() == 100
    assert state["status"].startswith("done: test accuracy")
    for chart in ("loss", "accuracy"):
        drawn = demo.chart_pixels(chart)
        assert drawn["points"] == len(state["batches"]) > 0 and drawn["ink"] > 200, (chart, drawn)


def draw_and_predict(demo: DemoPage):
    demo.draw_stroke()  # the page predicts when the stroke ends
    demo.wait("demoState.prediction !== null", timeout=30_000)
    prediction = demo.state("demoState.prediction")
    drawing = demo.state("demoState.lastDrawing")
    assert 0 <= prediction["label"] < 10 and abs(sum(prediction["probs"]) - 1) < 1e-4
    assert len(drawing) == 784 and max(drawing) > 200 and min(drawing) == 0  # the bar, scaled to 28x28
    assert demo.page.text_content("#prediction").startswith("prediction: ")
    return prediction, np.array(drawing, dtype=np.uint8).reshape(1, 28, 28, 1)


def download_and_load_in_cpython(demo: DemoPage, tmp_path, prediction, drawing):
    with demo.page.expect_download(timeout=TIMEOUT) as info:
        demo.click("download")
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.name == "fashion-mnist-dense-block-cnn-uint8.json"
    assert json.loads(target.read_text())["format"] == "pybrowserml-model"
    model = pb.load_json(target)
    assert model.count_params() == 49_018
    probs = model.predict(drawing, verbose=0)[0]
    # The page predicted with its float32 weights, CPython with the uint8 download: close, same answer.
    np.testing.assert_allclose(probs, prediction["probs"], atol=0.05)


def screenshot(demo: DemoPage, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    demo.page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
    assert (SCREENSHOTS / name).stat().st_size > 10_000, f"the screenshot {name} is (nearly) empty"


def reload_and_resume(demo: DemoPage):
    """Start a run, pause it once a backup is in IndexedDB, reload the page: it offers the saved run and
    continues it from the backup (not from the start); the dataset comes from the IndexedDB cache."""
    every = QUICK["backup_every"]
    demo.page.fill("#epochs", "2")  # long enough to be paused mid-run, even with fast threaded kernels
    demo.click("train")
    demo.wait(f"demoState.batches.length > 0 && demoState.batches.at(-1).step >= {2 * every}")
    demo.click("pause")
    demo.wait("demoState.state === 'paused'")
    demo.page.reload()
    demo.wait_ready()
    saved = demo.state("demoState.resumable")
    assert saved["train_samples"] == QUICK["train_samples"] and saved["epochs"] == 2
    assert demo.page.is_enabled("#resume-saved")
    demo.click("resume-saved")
    demo.wait("demoState.results !== null")
    state = demo.state()
    resumed_from = state["firstStep"]
    steps = QUICK["train_samples"] // 32
    assert resumed_from["epoch"] * steps + resumed_from["step"] >= 2 * every and resumed_from["step"] % every == 0
    assert state["dataset"]["was_cached"] is True
    assert state["state"] == "finished" and state["resumable"] is None  # a finished run drops its backup


def train_and_stop(demo: DemoPage):
    """Stop ends the run after the current batch: the page shows the results of what was trained, and the
    run's backup stays, so "Resume saved run" can finish it later."""
    demo.page.evaluate("() => { demoState.results = null; }")
    demo.click("train")
    demo.wait("demoState.batches.length >= 2 && demoState.state === 'running'")
    demo.click("stop")
    demo.wait("demoState.results !== null")
    state = demo.state()
    assert state["state"] == "stopped" and state["history"]["stopped"] is True
    assert state["batches"][-1]["step"] < QUICK["train_samples"] // 32 - 1  # ended before the epoch's end
    assert state["resumable"] is not None and demo.page.is_enabled("#resume-saved")
