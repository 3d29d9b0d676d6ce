"""Puts the compiled WASM kernels beside the wheel instead of inside it (called by scripts/build).

A page fetches only the one module it needs (e.g. kernels_relaxed.wasm, ~170 KB) and compiles it while it
downloads (WebAssembly.compileStreaming), so the wheel carries no .wasm. Each module is served under a name
with its content hash, `DIST/wasm/kernels_relaxed.<hash>.wasm`: a page whose wheel and kernels come from
different builds gets a clear 404 instead of a module whose exports do not match its Python, and a server
may cache the files for ever. The wheel carries the table of those names, `backends/wasm/_build/modules.json`
(read by backends/wasm/modules.py).

Usage: publish_wasm.py publish|clean BUILD_DIR DIST_DIR. `publish` writes the table only when it changes (so the wheel is not rebuilt
for nothing) and removes served modules that no current build names.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

MODULES = ("kernels.wasm", "kernels_relaxed.wasm", "kernels_threads.wasm", "kernels_threads_relaxed.wasm")
TABLE = "modules.json"
SERVED_FOLDER = "wasm"


def served_name(module: Path) -> str:
    digest = hashlib.sha256(module.read_bytes()).hexdigest()[:16]
    return f"{module.stem}.{digest}.wasm"


def publish(build_dir: Path, dist_dir: Path) -> dict:
    missing = [name for name in MODULES if not (build_dir / name).is_file()]
    if missing:
        raise SystemExit(f"publish_wasm: {missing} missing from {build_dir}: run scripts/build_wasm")
    table = {name: served_name(build_dir / name) for name in MODULES}
    served = dist_dir / SERVED_FOLDER
    served.mkdir(parents=True, exist_ok=True)
    for name, target in table.items():
        if not (served / target).is_file():  # the hash is in the name: an existing file is the same bytes
            staging = served / (target + ".tmp")
            shutil.copyfile(build_dir / name, staging)
            staging.rename(served / target)
    text = json.dumps(table, indent=1, sort_keys=True) + "\n"
    table_path = build_dir / TABLE
    if not table_path.is_file() or table_path.read_text() != text:
        table_path.write_text(text)
    return table


def remove_stale(dist_dir: Path, table: dict) -> None:
    """After the wheel that names `table` is in place: drop the modules only older wheels named."""
    current = set(table.values())
    for path in (dist_dir / SERVED_FOLDER).glob("*.wasm"):
        if path.name not in current:
            path.unlink()


def main(argv) -> int:
    if len(argv) != 3 or argv[0] not in ("publish", "clean"):
        raise SystemExit("usage: publish_wasm.py publish|clean BUILD_DIR DIST_DIR")
    build_dir, dist_dir = Path(argv[1]), Path(argv[2])
    if argv[0] == "publish":
        publish(build_dir, dist_dir)
    else:
        remove_stale(dist_dir, json.loads((build_dir / TABLE).read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
