"""The wheel is all a page needs, and the set-up scripts do not redo finished work."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _expected_assets():
    names = {p.name for p in (REPO / "web" / "bridge").glob("*.mjs")}
    if list((REPO / "web" / "kernels" / "wasm").glob("*.c")):
        names |= {"kernels.wasm", "kernels_threads.wasm", "kernels_relaxed.wasm", "kernels_threads_relaxed.wasm"}
    return names


def test_built_wheel_is_pure_python_and_carries_the_js_and_wasm_assets(tmp_path):
    if not (REPO / "pybrowserml" / "_assets").is_dir():
        pytest.fail("pybrowserml/_assets is missing: run scripts/build before the tests (scripts/test does)")
    # Build from a copy: setuptools leaves build/ and *.egg-info beside the sources it builds.
    source = tmp_path / "source"
    shutil.copytree(REPO / "pybrowserml", source / "pybrowserml", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("pybrowserml-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped = {Path(n).name for n in names if n.startswith("pybrowserml/_assets/")}
        assert _expected_assets() <= shipped, f"missing from the wheel: {_expected_assets() - shipped}"
        for name in _expected_assets():
            source = REPO / "web" / "bridge" / name
            if source.exists():  # bridges ship byte for byte
                assert archive.read(f"pybrowserml/_assets/{name}") == source.read_bytes()
        for name in shipped:
            if name.endswith(".wasm"):
                assert archive.read(f"pybrowserml/_assets/{name}")[:4] == b"\0asm", name
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
        assert "Requires-Dist: numpy" in metadata


def test_second_setup_and_build_redo_nothing():
    watched = [REPO / ".build" / "venv" / "bin" / "python", REPO / "node_modules" / ".package-lock.json",
               *sorted((REPO / ".build" / "pyodide").glob("*.whl")), *sorted((REPO / ".build" / "dist").glob("*.whl")),
               *sorted((REPO / "pybrowserml" / "_assets").glob("*"))]
    missing = [str(p) for p in watched if not p.exists()]
    if missing or len(watched) < 6:
        pytest.fail(f"run scripts/setup and scripts/build first (missing: {missing})")
    before = {p: p.stat().st_mtime_ns for p in watched}
    setup = subprocess.run([str(REPO / "scripts" / "setup")], capture_output=True, text=True, check=True)
    build = subprocess.run([str(REPO / "scripts" / "build")], capture_output=True, text=True, check=True)
    assert "apt-get install" not in setup.stdout and "npm ci" not in setup.stdout and "creating" not in setup.stdout
    assert "up to date" in build.stdout
    assert {p: p.stat().st_mtime_ns for p in watched} == before
