"""scripts/slim_sources.py: the wheel's sources are the repository's without comments, line for line, with
the docstrings help() reads; the built wheels are what users download, the core within its size target."""

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import slim_sources  # scripts/ (tests/conftest.py puts it on the path)

from bench_lib.cold_start import PHASES, format_cold_start
from harness.paths import built_wheels

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "pybrowserml"
# A guard on the core wheel (what a page that trains on numpy downloads of pybrowserml) and one on each
# browser backend's add-on wheel (35-50 KB each; the guard catches uncut comments or a .wasm inside). The
# core's target is 200 KiB (bench_lib/cold_start.py reports it); the command line is its own wheel, which
# pages do not download, so it is not counted.
CORE_WHEEL_TARGET_BYTES = 200 * 1024
ADDON_GUARD_BYTES = 56_000


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
    shipped = {}
    for wheel in built_wheels().values():
        with zipfile.ZipFile(wheel) as archive:
            shipped |= {n.removeprefix("pybrowserml/"): archive.read(n).decode() for n in archive.namelist()}
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


def test_the_core_wheel_is_within_its_target_and_no_add_on_grows_back():
    wheels = built_wheels()
    core, addons = wheels.pop("core"), [wheels[name] for name in wheels if name != "cli"]
    size = core.stat().st_size
    assert size <= CORE_WHEEL_TARGET_BYTES, (
        f"the core wheel {core.name} is {size} bytes, over {CORE_WHEEL_TARGET_BYTES}"
    )
    assert len(addons) == 3
    for addon in addons:
        size = addon.stat().st_size
        assert size <= ADDON_GUARD_BYTES, f"the add-on {addon.name} is {size} bytes, over its {ADDON_GUARD_BYTES} guard"


def test_cold_start_report_gives_the_wheel_sizes_the_bytes_downloaded_and_both_targets():
    phases = {name: 10 for name, _ in PHASES}
    runs = [{"first_step_ms": ms, "dataset_cached": i > 0, "phases": phases} for i, ms in enumerate((5200, 3900, 4100))]
    wheel = {"wheel": "pybrowserml-0.1.0-py3-none-any.whl", "bytes": 204_800, "wasm_modules": 0}
    sizes = {"addons": {"wasm": 34_816, "webgl": 40_960}, "fetched_addons": {"a.whl": 34_816}}
    fetched = {"fetched_wasm": {"k.wasm": 174_080}, "wasm_compressed_bytes": 0}
    text = format_cold_start({"runs": runs, "wheel": {**wheel, **sizes, **fetched}})
    lines = text.splitlines()
    assert lines[-5] == (
        "core wheel pybrowserml-0.1.0-py3-none-any.whl: 200 KB (no wasm inside); WASM fetched from beside it: k.wasm 170 KB"
    )
    assert lines[-4] == "add-on wheels: wasm 34 KB, webgl 40 KB"
    assert lines[-3] == "a page downloads 404 KB of pybrowserml (413696 bytes): the core, a.whl, k.wasm"
    assert lines[-2] == "  core wheel: 200 KB (204800 bytes; target <= 200 KB: met)"
    assert lines[-1] == "  page open -> first training step, median of 3 runs: 4.10 s (target <= 4 s: NOT met)"
