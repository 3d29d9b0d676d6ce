"""Test and CLI harness: a local server for the pages and a Playwright-driven headless Chromium.

Used by tests/browser, scripts/demo and scripts/bench. Not part of the package users install.
"""

from .browser import Browser, PyodideError, PyodidePage
from .paths import REPO, wheel_path
from .server import StaticServer

__all__ = ["Browser", "PyodideError", "PyodidePage", "REPO", "StaticServer", "wheel_path"]
