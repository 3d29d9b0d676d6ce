"""`pybrowserml bench [ARGS...]`: run the checkout's scripts/bench (arguments pass through)."""

from __future__ import annotations

import argparse
import subprocess

from .common import CLIError, require_checkout


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "bench",
        help="run the benchmark (scripts/bench; arguments pass through)",
        description=__doc__,
        add_help=False,  # --help is scripts/bench's
    )
    parser.add_argument("bench_args", nargs=argparse.REMAINDER, help="arguments for scripts/bench (see its --help)")
    parser.set_defaults(handler=run)
    return parser


def run(args) -> int:
    checkout = require_checkout("bench")
    script = checkout / "scripts" / "bench"
    if not script.is_file():
        raise CLIError(f"{script} is missing from the checkout")
    passed = list(args.bench_args)
    if passed[:1] == ["--"]:
        passed = passed[1:]
    return subprocess.call([str(script), *passed], cwd=checkout)
