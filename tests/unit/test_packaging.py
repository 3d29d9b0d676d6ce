"""The wheel is all a page needs, and the set-up scripts do not redo finished work."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


PACKAGE = REPO / "pybrowserml"
WASM_BUILD = PACKAGE / "backends" / "wasm" / "_build"
WASM_MODULES = ("kernels.wasm", "kernels_threads.wasm", "kernels_relaxed.wasm", "kernels_threads_relaxed.wasm")


def _page_assets():
    """Every file a page loads from the wheel, as its path inside the package: each JS module, and the
    four compiled WASM modules."""
    modules = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.mjs")}
    return modules | {(WASM_BUILD / name).relative_to(PACKAGE).as_posix() for name in WASM_MODULES}


def test_built_wheel_is_pure_python_and_carries_the_js_and_wasm_assets_but_no_c_sources(tmp_path):
    missing = [name for name in WASM_MODULES if not (WASM_BUILD / name).is_file()]
    if missing:
        pytest.fail(f"{missing} missing from {WASM_BUILD}: run scripts/build before the tests (scripts/test does)")
    assert {"backends/wasm/js/runtime.mjs", "storage/js/idb_store.mjs"} <= _page_assets()
    # Build from a copy: setuptools leaves build/ and *.egg-info beside the sources it builds.
    source = tmp_path / "source"
    shutil.copytree(PACKAGE, source / "pybrowserml", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("pybrowserml-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped = {n.removeprefix("pybrowserml/") for n in names if n.endswith((".mjs", ".wasm"))}
        assert shipped == _page_assets(), f"missing: {_page_assets() - shipped}, unexpected: {shipped - _page_assets()}"
        for name in shipped:  # byte for byte what the repository holds and scripts/build compiled
            assert archive.read(f"pybrowserml/{name}") == (PACKAGE / name).read_bytes(), name
        sources = [n for n in names if n.endswith((".c", ".h"))]
        assert not sources, f"C sources in the wheel: {sources}"
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
        assert "Requires-Dist: numpy" in metadata
        assert "License-Expression: MIT" in metadata and "License-File: LICENSE" in metadata
        license_file = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
        assert archive.read(license_file) == (REPO / "LICENSE").read_bytes()
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
        assert "pybrowserml = pybrowserml.cli:main" in entry_points  # the `pybrowserml` command


def test_second_setup_and_build_redo_nothing():
    watched = [
        REPO / ".build" / "venv" / "bin" / "python",
        REPO / "node_modules" / ".package-lock.json",
        *sorted((REPO / ".build" / "pyodide").glob("*.whl")),
        *sorted((REPO / ".build" / "dist").glob("*.whl")),
        *sorted(WASM_BUILD.glob("*.wasm")),
    ]
    missing = [str(p) for p in watched if not p.exists()]
    if missing or len(watched) < 7:
        pytest.fail(f"run scripts/setup and scripts/build first (missing: {missing})")
    before = {p: p.stat().st_mtime_ns for p in watched}
    setup = subprocess.run([str(REPO / "scripts" / "setup")], capture_output=True, text=True, check=True)
    build = subprocess.run([str(REPO / "scripts" / "build")], capture_output=True, text=True, check=True)
    assert "apt-get install" not in setup.stdout and "npm ci" not in setup.stdout and "creating" not in setup.stdout
    assert "up to date" in build.stdout
    assert {p: p.stat().st_mtime_ns for p in watched} == before
