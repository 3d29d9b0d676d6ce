"""Fixtures for tests that run pybrowserml in headless Chromium through Playwright.

Every test here fails if the page tried to reach anything but the local server, raised an
uncaught error, or logged a console error (a 404 for a missing wheel shows up that way).
"""

from __future__ import annotations

import pytest

from harness import Browser
from harness.browser import temporary_profile


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


def _check_clean(browser: Browser, pages, allow_console_errors=False):
    problems = [f"blocked non-local request: {url}" for url in browser.blocked_requests]
    for page in pages:
        problems += page.page_errors and [f"page error: {e}" for e in page.page_errors] or []
        if not allow_console_errors:
            problems += [f"console error: {e}" for e in page.console_errors]
    browser.blocked_requests.clear()
    if problems:
        pytest.fail("the page misbehaved:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def browser():
    with Browser() as b:
        yield b


@pytest.fixture
def pyodide_page(browser, request):
    """A fresh page with Pyodide booted offline and pybrowserml installed from the built wheel."""
    page = browser.new_pyodide_page()
    yield page
    allow = request.node.get_closest_marker("console_errors_expected") is not None
    try:
        _check_clean(browser, [page], allow_console_errors=allow)
    finally:
        page.page.close()


@pytest.fixture(scope="module")
def shared_pyodide_page(browser):
    """One page for a whole module (kernel suites that run many cases in the same page)."""
    page = browser.new_pyodide_page()
    yield page
    try:
        _check_clean(browser, [page])
    finally:
        page.page.close()


@pytest.fixture
def persistent_browser():
    """A browser on a persistent profile of its own: IndexedDB survives page reloads."""
    with Browser(user_data_dir=temporary_profile()) as b:
        yield b
        _check_clean(b, b.pages)


@pytest.fixture
def persistent_pyodide_page(persistent_browser):
    return persistent_browser.new_pyodide_page()


@pytest.fixture
def isolated_browser():
    """A browser whose pages are cross-origin isolated (SharedArrayBuffer, WASM threads)."""
    with Browser(isolated=True) as b:
        yield b
        _check_clean(b, b.pages)
