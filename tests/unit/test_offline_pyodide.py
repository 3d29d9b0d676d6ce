"""The offline Pyodide distribution takes only wheels whose sha256 matches the official lockfile."""

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _assembler():
    spec = importlib.util.spec_from_file_location("assemble_pyodide", REPO / "scripts" / "assemble_pyodide.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_assembled_distribution_matches_the_official_lockfile():
    assembler = _assembler()
    lock = json.loads((assembler.DIST / "pyodide-lock.json").read_text())
    assert lock["info"]["version"] == "0.27.7"
    for name in assembler.PACKAGES:
        entry = lock["packages"][name]
        assert assembler.sha256(assembler.DIST / entry["file_name"]) == entry["sha256"]
    # Every dependency of what we ship is shipped too: a missing one makes micropip go to PyPI.
    for name in assembler.PACKAGES:
        assert set(lock["packages"][name]["depends"]) <= set(assembler.PACKAGES)


def test_a_wheel_whose_hash_differs_from_the_lockfile_is_refused(tmp_path, capsys):
    assembler = _assembler()
    assembler.DIST = tmp_path
    lock = json.loads((REPO / ".build" / "pyodide" / "pyodide-lock.json").read_text())
    lock["packages"]["numpy"]["sha256"] = "0" * 64  # as if the bundled wheel were not the official build
    (tmp_path / "pyodide-lock.json").write_text(json.dumps(lock))
    with pytest.raises(SystemExit) as exit_info:
        assembler.install_wheels()
    assert exit_info.value.code == 1
    message = capsys.readouterr().err
    assert "refusing numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl" in message and "pyodide-lock.json" in message
    assert not (tmp_path / lock["packages"]["numpy"]["file_name"]).exists()
