"""Fixtures for tests that run pybrowserml in headless Chromium through Playwright.

Every test here fails if the page tried to reach anything but the local server, raised an
uncaught error, or logged a console error (check_clean in tests/conftest.py).
"""

from __future__ import annotations

import pytest

from harness import Browser
from harness.browser import temporary_profile


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def pyodide_page(browser, request, check_clean):
    """A fresh page with Pyodide booted offline and pybrowserml installed from the built wheel."""
    page = browser.new_pyodide_page()
    yield page
    allow = request.node.get_closest_marker("console_errors_expected") is not None
    try:
        check_clean(browser, [page], allow_console_errors=allow)
    finally:
        page.page.close()


@pytest.fixture(scope="module")
def shared_pyodide_page(browser, check_clean):
    """One page for a whole module (kernel suites that run many cases in the same page)."""
    page = browser.new_pyodide_page()
    yield page
    try:
        check_clean(browser, [page])
    finally:
        page.page.close()


@pytest.fixture
def persistent_browser(check_clean):
    """A browser on a persistent profile of its own: IndexedDB survives page reloads."""
    with Browser(user_data_dir=temporary_profile()) as b:
        yield b
        check_clean(b, b.pages)


@pytest.fixture
def persistent_pyodide_page(persistent_browser):
    return persistent_browser.new_pyodide_page()


@pytest.fixture
def isolated_browser(check_clean):
    """A browser whose pages are cross-origin isolated (SharedArrayBuffer, WASM threads)."""
    with Browser(isolated=True) as b:
        yield b
        check_clean(b, b.pages)
