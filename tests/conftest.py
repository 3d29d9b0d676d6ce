"""Fixtures shared by the suites that drive headless Chromium (tests/browser, tests/conformance)."""

import sys
from pathlib import Path

import pytest

# The browser harness lives in scripts/ (it serves the CLI too); make it importable as `harness`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from harness import Browser  # noqa: E402


def _check_clean(browser: Browser, pages, allow_console_errors=False):
    """Fail the test if a page reached beyond the local server, raised an uncaught error or logged a
    console error (a 404 for a missing wheel shows up that way)."""
    problems = [f"blocked non-local request: {url}" for url in browser.blocked_requests]
    for page in pages:
        problems += page.page_errors and [f"page error: {e}" for e in page.page_errors] or []
        if not allow_console_errors:
            problems += [f"console error: {e}" for e in page.console_errors]
    browser.blocked_requests.clear()
    if problems:
        pytest.fail("the page misbehaved:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def check_clean():
    """_check_clean(browser, pages, allow_console_errors=False), for fixtures that own their browser."""
    return _check_clean


@pytest.fixture(scope="session")
def browser():
    with Browser() as b:
        yield b
