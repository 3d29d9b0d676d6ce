"""The browser backends are add-on wheels: a page that installs only the core wheel gets a backend's add-on
when it first creates that backend, and a missing add-on gives an error naming the URL tried and what to do."""

import json

import pytest

from harness.paths import wheel_path

TRAIN = """
import numpy as np
import pybrowserml as pb
rng = np.random.default_rng(0)
x = rng.random((16, 8, 8, 1)).astype("float32")
y = rng.integers(0, 3, 16).astype("int32")
inputs = pb.layers.Input((8, 8, 1))
h = pb.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
h = pb.layers.GlobalAveragePooling2D()(h)
model = pb.Model(inputs, pb.layers.Dense(3, activation="softmax")(h))
model.compile("adam", "sparse_categorical_crossentropy")
history = await model.fit_async(x, y, batch_size=8, epochs=2, verbose=0)
[model.home_backend().name, [float(v) for v in history.history["loss"]]]
"""

INSTALLED = """
import importlib.util
from importlib import metadata
[[n for n in ("wasm", "webgl", "webgpu") if importlib.util.find_spec(f"pybrowserml.backends.{n}")],
 sorted(d.metadata["Name"] for d in metadata.distributions() if d.metadata["Name"].startswith("pybrowserml"))]
"""


@pytest.fixture
def core_only_page(browser, check_clean):
    """A plain page that installs only the core wheel (no add-on): what a user's own page may do."""
    page = browser.new_pyodide_page(addons=())
    yield page
    try:
        check_clean(browser, [page], allow_console_errors=True)  # the missing add-on's 404
    finally:
        page.page.close()


def _requests(page, part):
    seen = []
    page.page.on("request", lambda r: part in r.url and seen.append(r.url.rsplit("/", 1)[-1]))
    return seen


def test_a_core_only_page_installs_the_wasm_add_on_when_it_creates_the_backend_and_trains(core_only_page):
    assert core_only_page.run(INSTALLED) == [[], ["pybrowserml"]]
    fetched = _requests(core_only_page, "/dist/")
    sync_error = core_only_page.run("""
import pybrowserml as pb
try:
    pb.set_backend("wasm")
    message = None
except RuntimeError as error:
    message = str(error)
message
""")
    assert "pybrowserml_backend_wasm-0.1.0-py3-none-any.whl is not installed" in sync_error
    assert "set_backend_async('wasm')" in sync_error
    assert core_only_page.run('(await pb.set_backend_async("wasm")).name') == "wasm"
    assert core_only_page.run(INSTALLED) == [["wasm"], ["pybrowserml", "pybrowserml-backend-wasm"]]
    assert fetched.count("pybrowserml_backend_wasm-0.1.0-py3-none-any.whl") == 1
    name, losses = core_only_page.run(TRAIN)
    assert name == "wasm" and len(losses) == 2 and all(0 < loss < 10 for loss in losses)
    core_only_page.run('await pb.set_backend_async("numpy"); await pb.set_backend_async("wasm", threads=1); None')
    assert fetched.count("pybrowserml_backend_wasm-0.1.0-py3-none-any.whl") == 1  # once per page


def test_auto_installs_only_the_add_ons_it_probes(core_only_page):
    fetched = _requests(core_only_page, "/dist/pybrowserml_backend_")
    report = core_only_page.run("""
import pybrowserml as pb
await pb.set_backend_async("auto")
pb.backends.auto_report()
""")
    assert "WebGPU adapter" in report["skipped"]["webgpu"], report  # no --enable-unsafe-webgpu: not downloaded
    assert report["chosen"] in ("webgl", "wasm"), report
    assert not any("webgpu" in name for name in fetched), fetched
    assert any(report["chosen"] in name for name in fetched), fetched


def test_a_missing_add_on_names_the_url_tried_and_what_to_do(core_only_page):
    message = core_only_page.run("""
import js
import pybrowserml as pb
js.pybrowserml_wheels = "/nowhere/"
try:
    await pb.set_backend_async("webgl")
    message = None
except RuntimeError as error:
    message = str(error)
message
""")
    url = core_only_page.browser.server.url("/nowhere/pybrowserml_backend_webgl-0.1.0-py3-none-any.whl")
    assert f"could not install the webgl backend's add-on from {url}" in message, message
    assert "globalThis.pybrowserml_wheels" in message and "pybrowserml serve" in message, message
    assert "micropip.install([core_wheel_url" in message and "PyScript" in message, message
    assert core_only_page.run("pb.backends.get_backend().name") == "numpy"


def test_a_core_loaded_by_pyodide_load_package_fetches_an_add_on_beside_it_with_micropip_loaded_on_demand(browser):
    # the worker demo's way: the core in loadPyodide's packages (no micropip loaded), another backend later
    page = browser.new_page()
    try:
        page.goto(browser.server.url("/web/pages/blank.html"))
        result = page.evaluate(
            """async (core) => {
                 const { loadPyodide } = await import("/pyodide/pyodide.mjs");
                 const pyodide = await loadPyodide({ indexURL: "/pyodide/", packages: ["numpy", core] });
                 return await pyodide.runPythonAsync(`
import sys, json
import pybrowserml as pb
before = "micropip" in sys.modules
backend = await pb.set_backend_async("webgl")
json.dumps([before, backend.name, "micropip" in sys.modules])
`);
               }""",
            browser.server.url("/dist/" + wheel_path().name),
        )
    finally:
        page.close()
    assert json.loads(result) == [False, "webgl", True]
    assert not browser.blocked_requests
