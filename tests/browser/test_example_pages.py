"""The README's quickstart pages (examples/my_pages/) work as `pybrowserml serve examples/my_pages` serves
them: plain Pyodide and PyScript pages train the reference CNN briefly on Fashion-MNIST, offline."""

import re
from pathlib import Path

import pytest

from harness import Browser
from harness.paths import ROUTES
from pybrowserml.cli.serve import routes

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "my_pages"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served_examples():
    import harness

    served = routes(harness, EXAMPLES)  # the URL table of `pybrowserml serve examples/my_pages`
    assert list(served)[: len(ROUTES)] == list(ROUTES) and served["/"] == EXAMPLES.resolve()
    with Browser(isolated=True, routes=served) as browser:  # isolated: the COOP/COEP headers serve sends
        yield browser


@pytest.mark.parametrize("page_name", ["pyodide.html", "pyscript.html"])
def test_quickstart_page_trains_and_shows_the_accuracy(served_examples, page_name):
    page = served_examples.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    try:
        page.goto(served_examples.server.url("/" + page_name))
        page.wait_for_function("document.getElementById('out').textContent.includes('accuracy')", timeout=240_000)
        text = page.text_content("#out")
    finally:
        page.close()
    blocked, served_examples.blocked_requests[:] = list(served_examples.blocked_requests), []
    assert not errors and not blocked, (errors, blocked)
    backend, accuracy = re.fullmatch(r"(\w+): test accuracy (0\.\d+)", text.strip()).groups()
    assert backend == "wasm" and float(accuracy) > 0.2  # 3,000 images, one unseeded epoch: 0.28-0.6 seen; chance is 0.1
