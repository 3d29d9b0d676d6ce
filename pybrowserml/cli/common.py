"""What several verbs share: the error type and finding the source checkout the browser verbs need.

The browser verbs (train without --python, serve, bench) drive headless Chromium and serve the offline
Pyodide distribution and the wheel; those live in a checkout of pybrowserml (scripts/harness,
.build/pyodide from scripts/setup, .build/dist from scripts/build), not in the installed wheel.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


class CLIError(Exception):
    """A failure the user can fix: printed as one line, exit code 1."""


def find_checkout() -> Path | None:
    """The checkout this package runs from ($PYBROWSERML_CHECKOUT first), or None for an installed wheel."""
    candidates = []
    if os.environ.get("PYBROWSERML_CHECKOUT"):
        candidates.append(Path(os.environ["PYBROWSERML_CHECKOUT"]))
    candidates.append(Path(__file__).resolve().parents[2])
    for candidate in candidates:
        if (candidate / "scripts" / "harness" / "__init__.py").is_file() and (candidate / "pyproject.toml").is_file():
            return candidate.resolve()
    return None


def require_checkout(what: str) -> Path:
    checkout = find_checkout()
    if checkout is None:
        raise CLIError(
            f"{what} needs a source checkout of pybrowserml (its scripts/harness, the offline Pyodide that "
            "scripts/setup assembles and the wheel scripts/build makes), and this pybrowserml is an installed "
            "wheel without one: run the command from a checkout, or set PYBROWSERML_CHECKOUT=/path/to/checkout"
            + (" (or train here in CPython with --python)" if what.startswith("train") else "")
        )
    return checkout


def import_harness(checkout: Path):
    """The checkout's scripts/harness package (browser + static server), with clear errors."""
    scripts = str(checkout / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    try:
        import harness
    except ImportError as error:
        raise CLIError(
            f"cannot import the browser harness from {scripts} ({error}): run scripts/setup in {checkout} "
            "(it installs Playwright and Chromium)"
        ) from error
    return harness


def check_built(harness) -> str | None:
    """Refuse when setup/build have not run; a warning (returned) when the wheel is older than the sources,
    since the page would run the old code."""
    try:
        harness.paths.check_built()
    except FileNotFoundError as error:
        raise CLIError(str(error)) from error
    wheel = harness.wheel_path()
    package = Path(__file__).resolve().parents[1]
    if package.parent != Path(harness.REPO).resolve():
        return None  # an installed pybrowserml driving a checkout: its wheel is the checkout's business
    newest = max((p.stat().st_mtime for p in package.rglob("*") if p.suffix in (".py", ".mjs", ".wgsl")), default=0)
    if newest > wheel.stat().st_mtime:
        return f"warning: {wheel.name} is older than the sources in {package}; run scripts/build to test your changes"
    return None


def check_chromium(harness) -> None:
    chromium = Path(harness.paths.CHROMIUM)
    if not chromium.exists():
        raise CLIError(
            f"Chromium is not installed at {chromium}: run scripts/setup (it installs Debian's chromium), "
            "or point PYBROWSERML_CHROMIUM at a Chromium binary"
        )
    try:
        import playwright  # noqa: F401
    except ImportError as error:
        raise CLIError("Playwright for Python is missing: run scripts/setup (it installs it in .build/venv)") from error
