"""scripts/slim_sources.py: the wheel's sources are the repository's without comments, line for line, with
the docstrings help() reads; the built wheel is what users download, within its size target."""

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import slim_sources  # scripts/ (tests/conftest.py puts it on the path)

from bench_lib.cold_start import PHASES, format_cold_start

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "pybrowserml"
WHEEL_GUARD_BYTES = 320_000


def built_wheel() -> Path:
    wheels = sorted((REPO / ".build" / "dist").glob("pybrowserml-*.whl"))
    if len(wheels) != 1:
        pytest.fail(f"expected one wheel in .build/dist, found {wheels}: run scripts/build (scripts/test does)")
    return wheels[0]


def test_python_loses_comments_but_keeps_strings_docstrings_and_every_line():
    source = (
        '"""Module doc # not a comment."""\n'
        "# a whole-line comment\n"
        "x = '#not' + f\"{1}#\"  # trailing\n"
        "def f():\n"
        '    """Doc of f."""\n'
        "    # inside\n"
        "    return x  # why\n"
    )
    slimmed = slim_sources.slim_python(source)
    assert slimmed == (
        '"""Module doc # not a comment."""\n\nx = \'#not\' + f"{1}#"\ndef f():\n    """Doc of f."""\n\n    return x\n'
    )
    assert ast.dump(ast.parse(slimmed)) == ast.dump(ast.parse(source))


def test_shaders_lose_comments_but_keep_block_headers_and_lines():
    source = "// about\n//# kernel k 1 a -\nfloat f() { return 1.0; } // why\n"
    assert slim_sources.slim_shader(source) == "\n//# kernel k 1 a -\nfloat f() { return 1.0; }\n"
    with pytest.raises(ValueError, match="/\\* \\*/ comment"):
        slim_sources.slim_shader("/* nested /* */ */\n")


def test_js_loses_only_whole_line_comments():
    source = "// about\nconst url = 'http://x'; // kept: may be in a string\n  //# header\n"
    assert slim_sources.slim_js(source) == "\nconst url = 'http://x'; // kept: may be in a string\n  //# header\n"


def test_a_target_that_exists_is_refused(tmp_path):
    run = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "slim_sources.py"), str(PACKAGE), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1 and "exists already" in run.stderr


def test_built_wheel_sources_are_the_repositorys_line_for_line_with_comments_cut():
    with zipfile.ZipFile(built_wheel()) as archive:
        shipped = {n.removeprefix("pybrowserml/"): archive.read(n).decode() for n in archive.namelist()}
    python = [name for name in shipped if name.endswith(".py")]
    assert len(python) == len(list(PACKAGE.rglob("*.py")))
    for name in python + [n for n in shipped if n.endswith((".mjs", ".wgsl", ".glsl"))]:
        source = (PACKAGE / name).read_text()
        wheel_lines, source_lines = shipped[name].splitlines(), source.splitlines()
        # a traceback's line number and text from the installed wheel are the repository's
        assert len(wheel_lines) == len(source_lines), name
        for number, (ours, theirs) in enumerate(zip(wheel_lines, source_lines), 1):
            cut = theirs[len(ours) :].strip()
            assert theirs.startswith(ours) and (not cut or cut.startswith(("#", "//"))), (name, number)
        if name.endswith(".py"):
            assert ast.dump(ast.parse(shipped[name])) == ast.dump(ast.parse(source)), name
    assert len(shipped["backends/webgl/js/runtime.mjs"]) < len((PACKAGE / "backends/webgl/js/runtime.mjs").read_text())


def test_built_wheel_does_not_grow_back():
    # The 200 KB target is reported (met or not) by scripts/bench --cold-start; this guard catches a
    # regression such as WASM modules or uncut comments back in the wheel (it was 334,690 bytes with them).
    size = built_wheel().stat().st_size
    assert size <= WHEEL_GUARD_BYTES, f"the wheel is {size} bytes, over the {WHEEL_GUARD_BYTES} it had shrunk to"


def test_cold_start_report_gives_the_wheel_size_and_both_targets():
    phases = {name: 10 for name, _ in PHASES}
    runs = [{"first_step_ms": ms, "dataset_cached": i > 0, "phases": phases} for i, ms in enumerate((5200, 3900, 4100))]
    wheel = {"wheel": "pybrowserml-0.1.0-py3-none-any.whl", "bytes": 204_800, "wasm_modules": 0}
    text = format_cold_start({"runs": runs, "wheel": {**wheel, "wasm_compressed_bytes": 0, "fetched_wasm": {}}})
    lines = text.splitlines()
    assert "wheel pybrowserml-0.1.0-py3-none-any.whl: 200 KB (no wasm inside)" in lines[-3]
    assert lines[-2] == "  wheel: 200 KB (204800 bytes; target <= 200 KB: met)"
    assert lines[-1] == "  page open -> first training step, median of 3 runs: 4.10 s (target <= 4 s: NOT met)"
