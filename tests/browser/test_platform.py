"""The ground every browser feature stands on: offline Pyodide, the wheel, the package's own JS."""

import pytest

from harness import PyodideError


def test_pyodide_boots_offline_and_imports_the_installed_wheel(pyodide_page):
    info = pyodide_page.run("""
import sys, pybrowserml, pyodide, micropip
{"platform": sys.platform, "pyodide": pyodide.__version__, "version": pybrowserml.__version__,
 "installed_from": [d for d in micropip.list()], "file": pybrowserml.__file__}
""")
    assert info["platform"] == "emscripten"
    assert info["pyodide"] == "0.27.7"
    assert info["version"] == "0.1.0"
    assert "pybrowserml" in info["installed_from"]
    assert "site-packages" in info["file"]
    requests = pyodide_page.js("performance.getEntriesByType('resource').map(e => e.name)")
    assert any(url.endswith("/dist/pybrowserml-0.1.0-py3-none-any.whl") for url in requests)
    assert all(url.startswith("http://127.0.0.1:") for url in requests)


def test_round_trip_into_the_packages_own_js_module(pyodide_page):
    result = pyodide_page.run("""
from pybrowserml.browser.assets import import_module
echo = await import_module("browser/js/echo.mjs")
reply = echo.echo("ping from python").to_py()
[echo.bridgeName, reply["value"], reply["from"]]
""")
    assert result == ["pybrowserml echo bridge", "ping from python", "javascript"]
    # The module came from the wheel through a Blob URL, not from the server.
    requests = pyodide_page.js("performance.getEntriesByType('resource').map(e => e.name)")
    assert not any("echo.mjs" in url for url in requests)


def test_numpy_backend_computes_in_the_page(pyodide_page):
    value = pyodide_page.run("""
import numpy as np, pybrowserml as pb
x = pb.Tensor(np.arange(6, dtype="float32").reshape(2, 3), requires_grad=True)
y = pb.ops.sum(x * x)
y.backward()
[float(y.item()), x.grad.tolist()]
""")
    assert value == [55.0, [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]]


def test_python_errors_come_back_with_the_page_traceback(pyodide_page):
    with pytest.raises(PyodideError, match="ZeroDivisionError"):
        pyodide_page.run("1 / 0")


def test_a_request_outside_localhost_is_blocked_and_reported(browser):
    page = browser.new_page()
    try:
        page.goto(browser.server.url("/web/pages/blank.html"))
        page.evaluate("fetch('https://cdn.jsdelivr.net/pyodide/v0.27.7/full/pyodide.js').catch(() => null)")
        page.wait_for_timeout(200)
        assert any("cdn.jsdelivr.net" in url for url in browser.blocked_requests)
    finally:
        browser.blocked_requests.clear()
        page.close()


def test_isolated_server_makes_the_page_cross_origin_isolated(isolated_browser):
    page = isolated_browser.new_pyodide_page()
    assert page.js("crossOriginIsolated") is True
    reply = page.run("""
from pybrowserml.browser.assets import import_module
(await import_module("browser/js/echo.mjs")).echo(1).to_py()["crossOriginIsolated"]
""")
    assert reply is True
