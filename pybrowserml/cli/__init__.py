"""The `pybrowserml` command: one module per verb (train, serve, bench, inspect).

Each verb module has `add_parser(subparsers)` and `run(args) -> int` (the exit code). A CLIError
anywhere becomes one clear line on stderr and exit code 1; argparse's own usage errors exit with 2.
"""

from __future__ import annotations

import argparse
import sys

from .._version import __version__
from . import bench, inspect_model, serve, train
from .common import CLIError

VERBS = (train, serve, bench, inspect_model)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pybrowserml",
        description="Train small CNNs in a browser (headless Chromium + Pyodide) or in CPython, serve pages "
        "that use pybrowserml, benchmark it, and inspect saved models.",
    )
    parser.add_argument("--version", action="version", version=f"pybrowserml {__version__}")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        verb.add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # only bench takes arguments of its own (scripts/bench's); anywhere else they are mistakes
        if args.verb != "bench":
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.bench_args = [*args.bench_args, *extra]
    try:
        return int(args.handler(args) or 0)
    except CLIError as error:
        print(f"pybrowserml {args.verb}: error: {error}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print(f"pybrowserml {args.verb}: interrupted", file=sys.stderr, flush=True)
        return 130


__all__ = ["CLIError", "build_parser", "main"]
