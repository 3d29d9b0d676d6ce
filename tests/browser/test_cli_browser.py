"""`pybrowserml train` in Chromium: a short run on Fashion-MNIST in a real page writes a quantized JSON that
loads in CPython and predicts, with progress lines during the epoch even through a pipe; `--headed` opens a
real window (on a virtual X display, xvfb-run, which scripts/setup installs)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pybrowserml as pb

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser


def train(tmp_path, output, *options, wrapper=(), env=None):
    return subprocess.run(
        [*wrapper, sys.executable, "-m", "pybrowserml", "train", "--dataset", "fashion-mnist", "--backend", "wasm"]
        + ["--batch-size", "32", "--progress-every", "0", *options]
        + ["--output", str(output), "--profile", str(tmp_path / "profile")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600,
    )


def test_short_train_in_headless_chromium_writes_a_json_that_loads_and_predicts(tmp_path):
    output = tmp_path / "out" / "fmnist.json"
    run = train(tmp_path, output, "--train-samples", "512", "--test-samples", "256")
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert any(
        line.startswith("dataset: fashion-mnist") and line.endswith("fetched, now cached in IndexedDB")
        for line in lines
    )
    assert any(line.startswith("backend: wasm") for line in lines), run.stdout
    assert any(line.startswith("browser: Chromium ") and line.endswith("(headless)") for line in lines), run.stdout
    steps = [line for line in lines if line.startswith("epoch 1/1 step ")]
    assert len(steps) >= 8, run.stdout  # 16 batches: a line for each but the last, as they happen
    assert "console error" not in run.stdout and "\r" not in run.stdout

    model = pb.load_json(output)  # the page's real download, saved where --output said
    assert model.count_params() == 49018
    _, (x_test, y_test) = pb.data.load_fashion_mnist()
    probabilities = model.predict(x_test[:256], verbose=0)
    assert probabilities.shape == (256, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == y_test[:256]))
    line = next(line for line in lines if "test accuracy" in line)
    reported = float(line.split("test accuracy")[1].split("%")[0]) / 100
    # Measured in the page on float weights; here on the uint8 JSON: within a few images of each other.
    assert abs(reported - accuracy) <= 4 / 256, (reported, accuracy)

    # The next run in the same profile reads the dataset from IndexedDB.
    again = train(tmp_path, tmp_path / "again.json", "--train-samples", "64", "--test-samples", "64")
    assert again.returncode == 0, again.stdout + again.stderr
    assert any(line.endswith("already cached in IndexedDB") for line in again.stdout.splitlines()), again.stdout


def test_headed_train_opens_a_real_window_on_a_virtual_display(tmp_path):
    xvfb_run = shutil.which("xvfb-run")
    assert xvfb_run, "xvfb-run is missing: run scripts/setup (it installs Debian's xvfb)"
    env = {name: value for name, value in os.environ.items() if name not in ("DISPLAY", "WAYLAND_DISPLAY")}
    output = tmp_path / "headed.json"
    run = train(
        tmp_path,
        output,
        "--headed",
        "--train-samples",
        "64",
        "--test-samples",
        "64",
        wrapper=(xvfb_run, "--auto-servernum", "--server-args=-screen 0 1280x1024x24"),
        env=env,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert any(line.startswith("starting Chromium") for line in lines), run.stdout
    # The page's own user agent: headless Chromium calls itself HeadlessChrome, a window says Chrome.
    assert any(line.startswith("browser: Chromium ") and line.endswith("(headed window)") for line in lines), run.stdout
    assert pb.load_json(output).count_params() == 49018


def test_headed_without_a_display_says_so():
    env = {name: value for name, value in os.environ.items() if name not in ("DISPLAY", "WAYLAND_DISPLAY")}
    run = subprocess.run(
        [sys.executable, "-m", "pybrowserml", "train", "--headed", "--train-samples", "64"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "--headed needs a display" in run.stderr, run.stderr
