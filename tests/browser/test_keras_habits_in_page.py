"""Keras habits in the browser: load_image_folder decodes with the browser (a folder in Pyodide's file system
and a folder picked in an <input type=file webkitdirectory>), and available_backends() lists what runs in
this page."""

import pytest
from PIL import Image

from harness import Browser

FOLDER_IN_FS = """
import os, numpy as np, pybrowserml as pb
from pyodide.code import run_js
png = await run_js('''(async () => {
  const canvas = new OffscreenCanvas(10, 10);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "rgb(200,200,200)"; ctx.fillRect(0, 0, 10, 10);
  return new Uint8Array(await (await canvas.convertToBlob({ type: "image/png" })).arrayBuffer());
})()''')
data = png.to_bytes()
for label, count in (("shirts", 2), ("boots", 3)):
    os.makedirs(f"/tmp/clothes/{label}", exist_ok=True)
    for i in range(count):
        open(f"/tmp/clothes/{label}/{i}.png", "wb").write(data)
x, y, class_names = await pb.data.load_image_folder("/tmp/clothes", image_size=(4, 4))
[list(x.shape), str(x.dtype), y.tolist(), class_names, int(x.min()), int(x.max())]
"""


def test_load_image_folder_from_pyodides_file_system(pyodide_page):
    shape, dtype, labels, class_names, lo, hi = pyodide_page.run(FOLDER_IN_FS)
    assert shape == [5, 4, 4, 1] and dtype == "uint8"
    assert class_names == ["boots", "shirts"] and labels == [0, 0, 0, 1, 1]
    assert lo == hi == 200  # BT.601 luma of a flat grey is the grey


def test_load_image_folder_from_a_picked_folder(pyodide_page, tmp_path):
    for label, value in (("cats", 30), ("dogs", 220)):
        (tmp_path / "pets" / label).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (7, 5), (value, value, value)).save(tmp_path / "pets" / label / f"{i}.png")
    pyodide_page.js(
        "() => { const input = document.createElement('input'); input.type = 'file';"
        " input.webkitdirectory = true; input.id = 'folder'; document.body.append(input); }"
    )
    pyodide_page.page.set_input_files("#folder", str(tmp_path / "pets"))
    shape, labels, class_names, means = pyodide_page.run(
        """
import js, pybrowserml as pb
files = js.document.getElementById("folder").files
x, y, class_names = await pb.data.load_image_folder(files, image_size=(5, 7), color_mode="rgb")
[list(x.shape), y.tolist(), class_names, [int(v) for v in x.mean(axis=(1, 2, 3))]]
"""
    )
    assert shape == [4, 5, 7, 3] and labels == [0, 0, 1, 1] and class_names == ["cats", "dogs"]
    assert means == [30, 30, 220, 220]


AVAILABLE = """
import pybrowserml as pb
[pb.available_backends(), await pb.backends.available_backends_async(), pb.backends.registered_backends()]
"""


def test_available_backends_without_webgpu_lists_the_cpu_and_webgl_ones(pyodide_page):
    sync, asynchronous, registered = pyodide_page.run(AVAILABLE)
    assert "webgpu" in registered and "webgpu" not in sync and "webgpu" not in asynchronous  # no adapter here
    expected = [name for name in registered if name in ("numpy", "wasm", "webgl")]
    assert sync == asynchronous == expected


@pytest.fixture
def webgpu_page(check_clean):
    with Browser(webgpu=True) as browser:
        page = browser.new_pyodide_page()
        yield page
        check_clean(browser, [page])


def test_available_backends_async_finds_the_webgpu_adapter(webgpu_page):
    sync, asynchronous, registered = webgpu_page.run(AVAILABLE)
    assert "webgpu" not in sync  # an adapter has not been asked for yet: the synchronous list cannot know
    assert "webgpu" in asynchronous and set(asynchronous) <= set(registered)
    assert "webgpu" in webgpu_page.run("pb.available_backends()")  # known from now on
