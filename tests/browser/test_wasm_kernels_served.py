"""The WASM kernels are served beside the wheel: a page fetches only the module it runs, from where the page
says (globalThis.pybrowserml_assets) or from wasm/ beside the wheel, and a missing module is a clear error."""

import json

from harness import Browser
from harness.paths import REPO, ROUTES, WHEEL_DIR

NAMES = json.loads((REPO / "pybrowserml" / "backends" / "wasm" / "_build" / "modules.json").read_text())


def _wasm_requests(page):
    requests = []
    page.page.on("request", lambda r: r.url.endswith(".wasm") and requests.append(r.url))
    return requests


def test_the_backend_fetches_only_its_one_module_from_beside_the_wheel(pyodide_page):
    requests = _wasm_requests(pyodide_page)
    name = pyodide_page.run(r"""
from pybrowserml.backends.wasm import create_async
backend = await create_async(threads=1)
backend.rt.module_name
""")
    assert name == "kernels_relaxed.wasm"  # this Chromium has relaxed SIMD
    assert requests == [pyodide_page.browser.server.url("/dist/wasm/" + NAMES[name])]


def test_a_page_can_say_where_the_kernels_are_served(check_clean):
    # the kernels also served under /static/kernels/ (a site that keeps them apart from the wheel)
    with Browser(routes={**ROUTES, "/static/kernels/": WHEEL_DIR / "wasm"}) as browser:
        page = browser.new_pyodide_page()
        requests = _wasm_requests(page)
        page.js("() => { globalThis.pybrowserml_assets = '/static/kernels'; }")  # no trailing slash needed
        page.run(r"""
from pybrowserml.backends.wasm import create_async
backend = await create_async(threads=1, relaxed_simd=False)
""")
        assert requests == [browser.server.url("/static/kernels/" + NAMES["kernels.wasm"])]
        check_clean(browser, [page])


def test_kernels_that_are_not_served_get_an_error_naming_the_url_and_what_to_serve(pyodide_page):
    pyodide_page.js("() => { globalThis.pybrowserml_assets = '/dist/not-here/'; }")
    message = pyodide_page.run(r"""
from pybrowserml.backends.wasm import create_async
from pybrowserml.backends.wasm.modules import KernelsUnavailable
try:
    await create_async(threads=1)
    message = "no error"
except KernelsUnavailable as error:
    message = str(error)
message
""")
    url = pyodide_page.browser.server.url("/dist/not-here/" + NAMES["kernels_relaxed.wasm"])
    assert f"fetching {url} answered HTTP 404" in message
    assert "globalThis.pybrowserml_assets" in message and ".build/dist/wasm/" in message
    # the browser logs the 404 it was asked to make; nothing else may be in the console
    assert pyodide_page.console_errors and all("404" in e for e in pyodide_page.console_errors)
    pyodide_page.console_errors.clear()


def test_a_non_string_asset_url_is_refused(pyodide_page):
    message = pyodide_page.run(r"""
import js
from pybrowserml.backends.wasm import create_async
js.eval("globalThis.pybrowserml_assets = 42")
try:
    await create_async(threads=1)
    message = "no error"
except RuntimeError as error:
    message = str(error)
message
""")
    assert "globalThis.pybrowserml_assets must be the URL (a string)" in message and "42" in message


def test_a_development_install_uses_the_modules_in_its_own_package_when_none_is_served(pyodide_page):
    """An installation whose package holds _build/<module> (what scripts/build_wasm compiles in a checkout)
    still starts when the page serves no kernels: the module in the package is compiled instead."""
    result = pyodide_page.run(r"""
import io, logging, os, js
import pybrowserml
from pybrowserml.backends.wasm import create_async, modules

# put the served module into the installed package, as a development install has it
response = await js.fetch(modules.kernels_base()[0] + modules.served_name("kernels.wasm"))
data = (await response.arrayBuffer()).to_bytes()
build = os.path.join(os.path.dirname(pybrowserml.__file__), "backends", "wasm", "_build")
with open(os.path.join(build, "kernels.wasm"), "wb") as f:
    f.write(data)
js.eval("globalThis.pybrowserml_assets = '/dist/not-here/'")
records = io.StringIO()
handler = logging.StreamHandler(records)
logger = logging.getLogger("pybrowserml.backends.wasm")
logger.addHandler(handler); logger.setLevel(logging.INFO)
try:
    backend = await create_async(threads=1, relaxed_simd=False)
finally:
    logger.removeHandler(handler)
import numpy as np
total = backend.download(backend.run("add", backend.upload(np.ones(3, np.float32)), backend.upload(np.ones(3, np.float32))))
[backend.rt.module_name, total.tolist(), records.getvalue()]
""")
    assert result[:2] == ["kernels.wasm", [2.0, 2.0, 2.0]]
    assert "kernels.wasm from the package's own files" in result[2] and "HTTP 404" in result[2]
    assert pyodide_page.console_errors and all("404" in e for e in pyodide_page.console_errors)
    pyodide_page.console_errors.clear()
