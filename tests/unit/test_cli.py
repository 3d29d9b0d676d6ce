"""The `pybrowserml` command in CPython: train --python, inspect, serve, and the errors and exit codes a
user meets. (Training in headless Chromium: tests/browser/test_cli_browser.py.)"""

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml.cli import main

REPO = Path(__file__).resolve().parents[2]
TRAIN_DIGITS = ["train", "--python", "--dataset", "digits", "--train-samples", "64", "--test-samples", "40"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short CPython training run on the digits, its output captured as a pipe would get it."""
    output = tmp_path_factory.mktemp("cli") / "sub" / "digits.json"
    run = subprocess.run(
        [sys.executable, "-m", "pybrowserml", *TRAIN_DIGITS, "--batch-size", "8", "--progress-every", "0"]
        + ["--output", str(output)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return run, output


def test_train_python_writes_a_quantized_json_that_loads_and_predicts(trained):
    run, output = trained
    assert run.returncode == 0, run.stderr
    model = pb.load_json(output)
    (x, _), (x_test, y_test) = pb.data.load_digits()
    probabilities = model.predict(x_test[:40], verbose=0)
    assert probabilities.shape == (40, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == y_test[:40]))
    # The summary's accuracy was measured before quantization: within a few images of the loaded model's.
    line = next(line for line in run.stdout.splitlines() if "test accuracy" in line)
    reported = float(line.split("test accuracy")[1].split("%")[0]) / 100
    assert abs(reported - accuracy) <= 3 / 40, (reported, accuracy)


def test_train_summary_names_accuracy_speed_output_and_sizes(trained):
    run, output = trained
    text = run.stdout
    assert "backend: numpy" in text and "dataset: digits, 1,437 train / 360 test images 8x8x1" in text
    for label in ("test accuracy", "samples/s", "model JSON", "uint8 JSON", "% of float32 JSON"):
        assert label in text, label
    assert str(output) in text
    json_bytes = int(text.split("sizes")[1].split(" bytes")[0].replace(",", "").strip())
    assert json_bytes == output.stat().st_size


def test_piped_progress_comes_as_whole_lines_during_the_epoch(trained):
    run, _ = trained
    lines = run.stdout.splitlines()
    steps = [line for line in lines if line.startswith("epoch 1/1 step ")]
    done = next(i for i, line in enumerate(lines) if line.startswith("epoch 1/1 done"))
    assert len(steps) >= 5 and all(lines.index(s) < done for s in steps)  # 8 batches, every one but the last
    assert "\r" not in run.stdout and "\033" not in run.stdout  # no terminal rewrites in a pipe


def test_inspect_describes_architecture_sizes_quantization_and_checksum(trained, capsys):
    _, output = trained
    assert main(["inspect", str(output)]) == 0
    text = capsys.readouterr().out
    document = json.loads(output.read_bytes())
    assert document["sha256"] in text and "(verified)" in text
    assert "stem (Conv2D)" in text and "classifier (Dense)" in text and "49,018" in text
    assert "uint8, per channel" in text and "sparsity        none" in text
    assert main(["inspect", "--json", str(output)]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["params"] == 49018 and described["float32_weight_bytes"] == 4 * 49018
    assert described["stored_weight_bytes"] < described["float32_weight_bytes"] / 3
    assert described["file_bytes"] == output.stat().st_size


def test_inspect_reports_the_sparsity_of_a_pruned_model(tmp_path, capsys):
    pb.set_random_seed(0)
    model = pb.Sequential([pb.layers.Input((16,)), pb.layers.Dense(64), pb.layers.Dense(4)])
    weights = model.get_weights()
    weights[0][:, :48] = 0.0  # 75% of the first kernel pruned
    weights[2][:] = 1.0  # the second kernel dense
    model.set_weights(weights)
    model.save_json(tmp_path / "pruned.json")
    assert main(["inspect", "--json", str(tmp_path / "pruned.json")]) == 0
    described = json.loads(capsys.readouterr().out)
    rows = {w["shape"][0] if len(w["shape"]) == 2 else "bias": w for w in described["weights"]}
    assert rows[16]["sparsity"] == pytest.approx(0.75) and "sparsity" not in rows[64]
    assert described["sparse_weights"] == 3  # the pruned kernel and the two zero biases


@pytest.mark.parametrize(
    "content, message",
    [
        (b'{"a": 1}', "not a pybrowserml model file"),
        (b"not json at all", "not valid JSON"),
        (b'{"format": "pybrowserml-model", "version": 1', "truncated"),
    ],
)
def test_inspect_refuses_a_file_that_is_not_a_model_json(tmp_path, capsys, content, message):
    path = tmp_path / "thing.json"
    path.write_bytes(content)
    assert main(["inspect", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pybrowserml inspect: error:") and "is not a loadable pybrowserml model JSON" in err
    assert message in err


def test_inspect_of_a_missing_file_says_so(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nope.json")]) == 1
    assert "no file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--dataset", "cifar10"], "unknown dataset 'cifar10': choose one of fashion-mnist, mnist, digits"),
        (["train", "--python", "--backend", "wasm"], "only the numpy backend exists; drop --backend wasm"),
        (["train", "--python", "--backend", "tpu"], "only the numpy backend exists"),
        (["train", "--backend", "tpu"], "unknown backend 'tpu'"),
        (["train", "--python", "--epochs", "0"], "epochs must be an int >= 1"),
        (["train", "--dataset", "digits"], "offline Pyodide distribution does not include"),
        (["serve", "/nonexistent/folder"], "is not a folder"),
    ],
)
def test_bad_arguments_fail_with_a_clear_message_and_exit_code_1(argv, message, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err, err
    assert len(err.strip().splitlines()) == 1  # one line, no traceback


def test_train_output_that_is_a_directory_is_refused(tmp_path, capsys):
    assert main([*TRAIN_DIGITS, "--output", str(tmp_path)]) == 1
    assert "is a directory" in capsys.readouterr().err


def test_a_missing_dataset_is_a_one_line_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PYBROWSERML_FASHION_MNIST", str(tmp_path / "missing"))
    assert main(["train", "--python", "--output", str(tmp_path / "m.json")]) == 1
    err = capsys.readouterr().err
    assert "Fashion-MNIST directory" in err and "apt-get install dataset-fashion-mnist" in err


def test_usage_errors_exit_with_2():
    for argv in ([], ["frobnicate"], ["train", "--epochs", "many"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2


def test_browser_verbs_without_a_checkout_say_what_they_need(monkeypatch, capsys):
    from pybrowserml.cli import common

    monkeypatch.setattr(common, "find_checkout", lambda: None)
    for argv in (["train"], ["serve"], ["bench"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "needs a source checkout of pybrowserml" in err and "PYBROWSERML_CHECKOUT" in err
    assert main(["train"]) == 1
    assert "--python" in capsys.readouterr().err


def test_console_script_and_module_entry_point():
    import tomllib

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"pybrowserml": "pybrowserml.cli:main"}
    run = subprocess.run([sys.executable, "-m", "pybrowserml", "--help"], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0
    for verb in ("train", "serve", "bench", "inspect"):
        assert verb in run.stdout


def test_serve_serves_the_demos_and_a_folder_of_pages_cross_origin_isolated(tmp_path):
    if not (REPO / ".build" / "dist" / "latest.json").is_file():
        pytest.fail("no wheel in .build/dist: run scripts/build first (scripts/test does)")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "index.html").write_text("<!doctype html><title>my page</title>")
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "pybrowserml", "serve", str(tmp_path / "mine"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        first = server.stdout.readline()
        assert first.startswith("serving on http://127.0.0.1:"), first + server.stderr.read()
        origin = first.split()[2].rstrip("/")
        with urllib.request.urlopen(origin + "/index.html") as response:
            assert b"my page" in response.read()
            assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
            assert response.headers["Cross-Origin-Embedder-Policy"] == "require-corp"
        with urllib.request.urlopen(origin + "/dist/latest.json") as response:
            latest = json.loads(response.read())
        assert sorted(latest["addons"]) == ["wasm", "webgl", "webgpu"]
        wheels = [f"/dist/{name}" for name in (latest["wheel"], *latest["addons"].values())]
        for path in (*wheels, "/pyodide/pyodide.mjs", "/web/pages/boot.mjs", "/web/demo/index.html"):
            with urllib.request.urlopen(origin + path) as response:
                assert response.status == 200, path
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_bench_passes_its_arguments_to_scripts_bench():
    # --help is answered by scripts/bench's own parser (after its setup and build steps, which skip
    # finished work): the arguments reached it.
    run = subprocess.run(
        [sys.executable, "-m", "pybrowserml", "bench", "--help"], capture_output=True, text=True, cwd=REPO
    )
    assert run.returncode == 0, run.stderr
    assert "--quick" in run.stdout and "--gpu-only" in run.stdout


def test_a_missing_browser_says_to_run_setup(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "pybrowserml", "train", "--output", str(tmp_path / "m.json")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYBROWSERML_CHROMIUM": str(tmp_path / "no-chromium")},
    )
    assert run.returncode == 1
    assert "Chromium is not installed at" in run.stderr and "run scripts/setup" in run.stderr
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize(
    "user_agent, line",
    [
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
            "browser: Chromium 156.0.0.0 (headless)",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
            "browser: Chromium 156.0.0.0 (headed window)",
        ),
        ("SomethingElse/1.0", "browser: SomethingElse/1.0"),
    ],
)
def test_the_browser_line_tells_headless_from_a_window_by_the_pages_user_agent(user_agent, line):
    from pybrowserml.cli.train import browser_line

    assert browser_line(user_agent) == line
