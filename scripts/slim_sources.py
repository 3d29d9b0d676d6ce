"""The package as the wheel ships it: the sources without their comments (called by scripts/build).

Comments are for readers of the repository; a page downloads them for nothing (they were ~12 KB of the
wheel's Python and ~9 KB of its shaders, compressed). Only comments go: docstrings stay (help() and the
API docs read them), and every line stays where it was, so a traceback or a shader compile error names
the same line number as the repository's file, and that line holds the same code.

- Python: every comment token (tokenize), then the line's trailing blanks. The result must parse to the
  same AST as the source (checked for each file: a difference fails the build).
- WGSL and GLSL: // comments (shaders hold no strings; a /* */ comment fails the build), newlines kept; "//#" block headers stay.
- JS modules: only lines that are a // comment as a whole; a // inside a line may be in a string or a
  regular expression, which only a JS parser can tell.

Usage: slim_sources.py SOURCE_PACKAGE_DIR TARGET_PACKAGE_DIR (TARGET must not exist).
"""

from __future__ import annotations

import ast
import io
import re
import shutil
import sys
import tokenize
from pathlib import Path

# "//#" lines are not comments: they head the kernel and common blocks of a shader family file (the GPU
# runtimes split the files at them).
_LINE_COMMENT = re.compile(r"[ \t]*//(?!#)[^\n]*")
_WHOLE_LINE_COMMENT = re.compile(r"^[ \t]*//(?!#)[^\n]*$", re.M)


def slim_python(source: str) -> str:
    lines = source.splitlines(keepends=True)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            row, column = token.start
            line = lines[row - 1]
            lines[row - 1] = line[:column].rstrip() + ("\n" if line.endswith("\n") else "")
    return "".join(lines)


def slim_shader(source: str) -> str:
    if "/*" in source:  # WGSL's block comments nest, which a regular expression cannot follow
        raise ValueError("a /* */ comment in a shader: write // comments (slim_sources removes only those)")
    return _LINE_COMMENT.sub("", source)


def slim_js(source: str) -> str:
    return _WHOLE_LINE_COMMENT.sub("", source)


SLIMMERS = {".py": slim_python, ".wgsl": slim_shader, ".glsl": slim_shader, ".mjs": slim_js}


def check_python(path: Path, source: str, slimmed: str) -> None:
    if ast.dump(ast.parse(slimmed)) != ast.dump(ast.parse(source)):
        raise SystemExit(f"slim_sources: {path}: removing comments changed the code")


def slim_tree(source_dir: Path, target_dir: Path) -> None:
    shutil.copytree(source_dir, target_dir, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for path in sorted(target_dir.rglob("*")):
        slimmer = SLIMMERS.get(path.suffix)
        if slimmer is None or not path.is_file():
            continue
        source = path.read_text(encoding="utf-8")
        try:
            slimmed = slimmer(source)
        except ValueError as error:
            raise SystemExit(f"slim_sources: {path.relative_to(target_dir)}: {error}") from error
        if slimmed.count("\n") != source.count("\n"):
            raise SystemExit(f"slim_sources: {path.relative_to(target_dir)}: the line count changed")
        if path.suffix == ".py":
            check_python(path.relative_to(target_dir), source, slimmed)
        path.write_text(slimmed, encoding="utf-8")


def main(argv) -> int:
    if len(argv) != 2:
        raise SystemExit("usage: slim_sources.py SOURCE_PACKAGE_DIR TARGET_PACKAGE_DIR")
    source_dir, target_dir = Path(argv[0]), Path(argv[1])
    if not source_dir.is_dir():
        raise SystemExit(f"slim_sources: {source_dir} is not a folder")
    if target_dir.exists():
        raise SystemExit(f"slim_sources: {target_dir} exists already")
    slim_tree(source_dir, target_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
