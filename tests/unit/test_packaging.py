"""The core wheel, the browser backends' add-on wheels and the WASM kernels served beside them are all a page needs
(the command line is a wheel of its own, for CPython), and the set-up scripts do not redo finished work."""

import hashlib
import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import slim_sources  # scripts/ (tests/conftest.py puts it on the path)
from split_wheels import ADDON_BACKENDS, ADDONS_TABLE

from harness.paths import built_wheels

REPO = Path(__file__).resolve().parents[2]


PACKAGE = REPO / "pybrowserml"
WASM_BUILD = PACKAGE / "backends" / "wasm" / "_build"
DIST = REPO / ".build" / "dist"
WASM_MODULES = ("kernels.wasm", "kernels_threads.wasm", "kernels_relaxed.wasm", "kernels_threads_relaxed.wasm")


def _page_assets():
    """Every non-Python file a page loads from the wheel, as its path inside the package: each JS module,
    and the table of the served WASM modules' names (the modules themselves are served beside the wheel)."""
    modules = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.mjs")}
    return modules | {"backends/wasm/_build/modules.json"}


def test_the_core_and_each_backend_add_on_are_pure_python_wheels_that_together_carry_every_js_asset():
    missing = [name for name in (*WASM_MODULES, "modules.json") if not (WASM_BUILD / name).is_file()]
    if missing:
        pytest.fail(f"{missing} missing from {WASM_BUILD}: run scripts/build before the tests (scripts/test does)")
    assert {"backends/wasm/js/runtime.mjs", "storage/js/idb_store.mjs"} <= _page_assets()
    wheels = built_wheels()
    assert sorted(wheels) == ["cli", "core", *ADDON_BACKENDS]
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    shipped = {}
    for part, wheel in wheels.items():
        assert wheel.name.endswith(f"-{version}-py3-none-any.whl")
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
            files = {n.removeprefix("pybrowserml/") for n in names if n.startswith("pybrowserml/")}
            folders = {f"backends/{name}/" for name in ADDON_BACKENDS}
            if part == "core":  # everything but the browser backends' and the CLI's folders, and the add-ons' table
                assert not [n for n in files if n.startswith((*folders, "cli/"))]
                table = json.loads(archive.read("pybrowserml/" + ADDONS_TABLE))
                assert table == {name: wheels[name].name for name in ADDON_BACKENDS}
                assert "Requires-Dist: numpy" in _metadata(archive)
                assert not [n for n in names if n.endswith("entry_points.txt")]  # the command is the CLI wheel's
                assert "pybrowserml/__init__.py" in names and "pybrowserml/backends/numpy/__init__.py" in names
            elif part == "cli":  # the command line's folder and the `pybrowserml` command
                assert files and all(n.startswith("cli/") for n in files)
                entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
                assert "pybrowserml = pybrowserml.cli:main" in entry_points
                metadata = _metadata(archive)
                assert "Name: pybrowserml-cli" in metadata and f"Requires-Dist: pybrowserml=={version}" in metadata
            else:  # exactly its backend's folder, installed where the registry imports it from
                assert files and all(n.startswith(f"backends/{part}/") for n in files), part
                assert "pybrowserml/__init__.py" not in names and "pybrowserml/backends/__init__.py" not in names
                metadata = _metadata(archive)
                assert f"Name: pybrowserml-backend-{part}" in metadata
                assert f"Requires-Dist: pybrowserml=={version}" in metadata
            assert not [n for n in names if n.endswith(".wasm")], f"WASM modules in {wheel.name} (served beside it)"
            assert not [n for n in names if n.endswith((".c", ".h"))], f"C sources in {wheel.name}"
            metadata = _metadata(archive)
            assert "License-Expression: MIT" in metadata and "License-File: LICENSE" in metadata
            assert "## " not in metadata, "the README is in the METADATA (the long description is a short text)"
            license_file = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
            assert archive.read(license_file) == (REPO / "LICENSE").read_bytes()
            for name in files:
                if name.endswith((".mjs", ".json")) and name != ADDONS_TABLE:
                    assert name not in shipped, f"{name} in two wheels"
                    shipped[name] = archive.read(f"pybrowserml/{name}").decode()
    assert set(shipped) == _page_assets(), (
        f"missing: {_page_assets() - set(shipped)}, unexpected: {set(shipped) - _page_assets()}"
    )
    for name, text in shipped.items():  # what the repository holds (and scripts/build compiled), comment lines cut
        source = (PACKAGE / name).read_text()
        assert text == (slim_sources.slim_js(source) if name.endswith(".mjs") else source), name


def test_every_registered_browser_backend_is_an_add_on():
    from pybrowserml.backends import registered_backends

    assert sorted(registered_backends()) == sorted(("numpy", *ADDON_BACKENDS))
    assert all((PACKAGE / "backends" / name / "__init__.py").is_file() for name in ADDON_BACKENDS)


def _metadata(archive) -> str:
    return archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()


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


def _pip_install(target, *wheels):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            *map(str, wheels),
        ],
        check=True,
        capture_output=True,
    )


def test_the_core_wheel_alone_gives_cpython_the_numpy_backend_and_clear_errors_and_the_cli_wheel_the_command(tmp_path):
    wheels = built_wheels()
    target = tmp_path / "site"
    _pip_install(target, wheels["core"])
    assert not (target / "pybrowserml" / "backends" / "wasm").exists()
    assert not (target / "pybrowserml" / "cli").exists() and not (target / "bin").exists()
    script = """
import asyncio, json, sys
import pybrowserml as pb
out = {"file": pb.__file__, "available": pb.available_backends(), "registered": pb.backends.registered_backends()}
for name in ("wasm", "webgl"):
    try:
        pb.set_backend(name)
    except RuntimeError as error:
        out[name] = str(error)
try:
    asyncio.run(pb.set_backend_async("webgpu"))
except RuntimeError as error:
    out["webgpu"] = str(error)
out["current"] = pb.get_backend().name
print(json.dumps(out))
"""
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["file"].startswith(str(target))  # the installed core, not the checkout
    assert out["available"] == ["numpy"] and out["registered"] == ["numpy", "wasm", "webgpu", "webgl"]
    for name in ("wasm", "webgl", "webgpu"):
        assert f"the {name} backend runs inside Pyodide" in out[name], out
        assert f"pybrowserml-backend-{name}, which is not installed here" in out[name], out
    assert out["current"] == "numpy"
    help_command = [sys.executable, "-m", "pybrowserml", "--help"]
    without = subprocess.run(help_command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert without.returncode == 1 and "the command line is not installed here" in without.stderr, without.stderr
    assert "pybrowserml_cli-" in without.stderr and "Traceback" not in without.stderr
    with_cli = tmp_path / "site-with-cli"  # pip --target does not add to a package folder already there
    _pip_install(with_cli, wheels["core"], wheels["cli"])
    env["PYTHONPATH"] = str(with_cli)
    for command in (help_command, [str(with_cli / "bin" / "pybrowserml"), "--help"]):
        cli = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
        assert cli.returncode == 0 and "serve" in cli.stdout, cli.stderr
