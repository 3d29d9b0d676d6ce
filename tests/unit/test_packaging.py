"""The wheel and the WASM kernels served beside it are all a page needs, and the set-up scripts do not redo
finished work."""

import hashlib
import json
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
    """Every non-Python file a page loads from the wheel, as its path inside the package: each JS module,
    and the table of the served WASM modules' names (the modules themselves are served beside the wheel)."""
    modules = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.mjs")}
    return modules | {"backends/wasm/_build/modules.json"}


def test_built_wheel_is_pure_python_and_carries_the_js_assets_but_no_wasm_and_no_c_sources(tmp_path):
    missing = [name for name in (*WASM_MODULES, "modules.json") if not (WASM_BUILD / name).is_file()]
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
        wasm = [n for n in names if n.endswith(".wasm")]
        assert not wasm, f"WASM modules in the wheel (they are served beside it, scripts/publish_wasm.py): {wasm}"
        shipped = {n.removeprefix("pybrowserml/") for n in names if n.endswith((".mjs", ".json"))}
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


def test_build_serves_each_kernel_module_beside_the_wheel_under_the_name_the_wheel_knows():
    table = json.loads((WASM_BUILD / "modules.json").read_text())
    assert sorted(table) == sorted(WASM_MODULES)
    served = REPO / ".build" / "dist" / "wasm"
    for name, served_name in table.items():
        digest = hashlib.sha256((WASM_BUILD / name).read_bytes()).hexdigest()[:16]
        assert served_name == f"{name.removesuffix('.wasm')}.{digest}.wasm"
        assert (served / served_name).read_bytes() == (WASM_BUILD / name).read_bytes(), served_name
    assert sorted(p.name for p in served.iterdir()) == sorted(table.values())  # no stale modules left


def test_second_setup_and_build_redo_nothing():
    watched = [
        REPO / ".build" / "venv" / "bin" / "python",
        REPO / "node_modules" / ".package-lock.json",
        *sorted((REPO / ".build" / "pyodide").glob("*.whl")),
        *sorted((REPO / ".build" / "dist").glob("*.whl")),
        *sorted(WASM_BUILD.glob("*.wasm")),
        WASM_BUILD / "modules.json",
        *sorted((REPO / ".build" / "dist" / "wasm").glob("*.wasm")),
    ]
    missing = [str(p) for p in watched if not p.exists()]
    if missing or len(watched) < 12:
        pytest.fail(f"run scripts/setup and scripts/build first (missing: {missing})")
    before = {p: p.stat().st_mtime_ns for p in watched}
    setup = subprocess.run([str(REPO / "scripts" / "setup")], capture_output=True, text=True, check=True)
    build = subprocess.run([str(REPO / "scripts" / "build")], capture_output=True, text=True, check=True)
    assert "apt-get install" not in setup.stdout and "npm ci" not in setup.stdout and "creating" not in setup.stdout
    assert "up to date" in build.stdout
    assert {p: p.stat().st_mtime_ns for p in watched} == before
