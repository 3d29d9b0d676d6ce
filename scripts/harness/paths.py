"""Where the harness finds what scripts/setup and scripts/build produced."""

from __future__ import annotations

import json
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


def built_wheels() -> dict[str, Path]:
    """The wheels scripts/build produced, as latest.json names them: "core", "cli" (the command line's), then
    each browser backend's add-on by backend name; a clear error when one is missing."""
    latest = WHEEL_DIR / "latest.json"
    if not latest.is_file():
        raise FileNotFoundError(f"no {latest}: run scripts/build (or scripts/test) first")
    names = json.loads(latest.read_text())
    if "cli" not in names:
        raise FileNotFoundError(f"{latest} is from an earlier build layout (no cli wheel): run scripts/build")
    wheels = {
        "core": WHEEL_DIR / names["wheel"],
        "cli": WHEEL_DIR / names["cli"],
        **{b: WHEEL_DIR / n for b, n in names.get("addons", {}).items()},
    }
    missing = [path.name for path in wheels.values() if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"{missing} named in {latest} but not in {WHEEL_DIR}: run scripts/build")
    return wheels


def addon_wheels() -> dict[str, Path]:
    """The browser backends' add-on wheels scripts/build produced, by backend name (from latest.json)."""
    return {name: path for name, path in built_wheels().items() if name not in ("core", "cli")}


def check_built() -> None:
    """Fail early, saying which step to run, when the offline Pyodide or the wheel is missing."""
    if not (PYODIDE_DIST / "pyodide.mjs").exists() or not (PYODIDE_DIST / "pyodide-lock.json").exists():
        raise FileNotFoundError(f"no offline Pyodide distribution in {PYODIDE_DIST}: run scripts/setup first")
    wheel_path()
    addon_wheels()
