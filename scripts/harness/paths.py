"""Where the harness finds what scripts/setup and scripts/build produced."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / ".build"
PYODIDE_DIST = BUILD / "pyodide"
WHEEL_DIR = BUILD / "dist"
NODE_MODULES = REPO / "node_modules"
FASHION_MNIST = Path(os.environ.get("PYBROWSERML_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
CHROMIUM = os.environ.get("PYBROWSERML_CHROMIUM", "/usr/bin/chromium")

# URL prefix -> directory served under it. Everything a page loads comes from here, never a CDN.
ROUTES = {
    "/pyodide/": PYODIDE_DIST,
    "/dist/": WHEEL_DIR,
    "/web/": REPO / "web",
    "/bench/": REPO / "scripts" / "bench_lib",  # the benchmark's page modules (tfjs_bench.mjs and its imports)
    "/node_modules/": NODE_MODULES,
    "/datasets/fashion-mnist/": FASHION_MNIST,
}


def wheel_path() -> Path:
    """The wheel scripts/build produced; a clear error when it has not run."""
    wheels = sorted(WHEEL_DIR.glob("pybrowserml-*-py3-none-any.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        raise FileNotFoundError(f"no pybrowserml wheel in {WHEEL_DIR}: run scripts/build (or scripts/test) first")
    return wheels[-1]


def check_built() -> None:
    """Fail early, saying which step to run, when the offline Pyodide or the wheel is missing."""
    if not (PYODIDE_DIST / "pyodide.mjs").exists() or not (PYODIDE_DIST / "pyodide-lock.json").exists():
        raise FileNotFoundError(f"no offline Pyodide distribution in {PYODIDE_DIST}: run scripts/setup first")
    wheel_path()
