"""`pybrowserml train`: train the reference CNN and write its quantized JSON.

By default the training runs in a real page in headless Chromium (the offline Pyodide and the wheel,
the dataset fetched from the local server once and then read from IndexedDB in a persistent profile),
exactly the way a user's page trains; `--headed` shows the window; `--python` trains here in CPython on
the numpy backend instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from asyncio import run as run_coroutine  # (not `asyncio.run`: reads as a kernel call to the name scan)
from pathlib import Path

from .common import CLIError, check_built, check_chromium, import_harness, require_checkout
from .progress import Renderer
from .train_job import BACKENDS, DATASETS, EVENT_PREFIX, check_settings

# The page's origin (and so its IndexedDB, where the dataset is cached) depends on the port: a fixed one
# lets the next run find the dataset again. If it is taken, any free port works, without the cache.
TRAIN_PORT = 8731

# The browser runs the job from the installed CLI wheel, so the page and CPython run the same code.
_PAGE_JOB = """
import json
from pybrowserml.cli.train_job import run_async
await run_async(json.loads({settings!r}))
"""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "train", help="train the reference CNN (headless Chromium by default)", description=__doc__
    )
    parser.add_argument(
        "--dataset", default="fashion-mnist", help=f"one of {', '.join(DATASETS)} (default fashion-mnist)"
    )
    parser.add_argument(
        "--backend",
        default=None,
        help=f"one of {', '.join(BACKENDS)}; default wasm in the browser (the fastest on a CPU; auto tries "
        "webgpu, webgl, wasm, numpy in that order), numpy with --python",
    )
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-3, help="Adam's learning rate (default 3e-3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quantize", default="uint8", choices=["uint8", "uint16", "float16", "float32"])
    parser.add_argument("--train-samples", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--test-samples", type=int, default=None, help="evaluate on the first N test images only")
    parser.add_argument(
        "--output", "-o", type=Path, default=Path("model.json"), help="where the JSON goes (model.json)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--headed", action="store_true", help="show the browser window (needs a display)")
    where.add_argument("--python", action="store_true", help="train in this CPython on the numpy backend")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="browser profile directory, where IndexedDB keeps the dataset (default .build/cli-profile in the checkout)",
    )
    parser.add_argument(
        "--progress-every",
        type=float,
        default=None,
        help="seconds between progress lines within an epoch (default 0.25 on a terminal, 2 when piped)",
    )
    parser.add_argument("--timeout-minutes", type=float, default=120)
    parser.set_defaults(handler=run)
    return parser


def settings_from(args) -> dict:
    backend = args.backend or ("numpy" if args.python else "wasm")
    if args.python and backend not in ("numpy", "auto"):
        raise CLIError(
            f"--python trains in CPython, where only the numpy backend exists; drop --backend {backend} "
            "or drop --python to train in the browser"
        )
    output = args.output
    if output.exists() and output.is_dir():
        raise CLIError(f"--output {output} is a directory; give a file name such as {output / 'model.json'}")
    settings = dict(
        dataset=args.dataset,
        backend=backend,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        quantize=args.quantize,
        train_samples=args.train_samples,
        test_samples=args.test_samples,
        output=str(output) if args.python else output.name,
    )
    try:
        return check_settings(settings)
    except ValueError as error:
        raise CLIError(str(error)) from error


def run(args) -> int:
    settings = settings_from(args)
    renderer = Renderer()
    settings["progress_every"] = renderer.progress_every if args.progress_every is None else args.progress_every
    started = time.perf_counter()
    if args.python:
        output = _train_in_python(settings, renderer)
    else:
        output = _train_in_browser(settings, renderer, args)
    renderer.print_summary(output)
    renderer.line(f"  total time     {time.perf_counter() - started:.1f} s")
    return 0


def _train_in_python(settings, renderer) -> Path:
    from .train_job import run_async

    if settings["dataset"] == "digits":
        try:
            import sklearn  # noqa: F401
        except ImportError as error:
            raise CLIError("--dataset digits needs scikit-learn in this Python: pip install scikit-learn") from error
    renderer.line(f"training in CPython ({sys.executable}) on the numpy backend")
    Path(settings["output"]).parent.mkdir(parents=True, exist_ok=True)
    try:
        run_coroutine(run_async(settings, renderer))
    except (OSError, ValueError) as error:  # a missing dataset, a bad setting: say it on one line
        raise CLIError(str(error)) from error
    return Path(settings["output"])


def _train_in_browser(settings, renderer, args) -> Path:
    if settings["dataset"] == "digits":
        raise CLIError(
            "--dataset digits needs scikit-learn, which the offline Pyodide distribution does not include: "
            "train it in CPython with --python, or pick fashion-mnist or mnist"
        )
    checkout = require_checkout("train in a browser")
    harness = import_harness(checkout)
    check_chromium(harness)
    stale = check_built(harness)
    if stale:
        print(stale, file=sys.stderr, flush=True)
    if args.headed and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise CLIError("--headed needs a display (DISPLAY is not set); drop --headed to train in headless Chromium")
    profile = args.profile or checkout / ".build" / "cli-profile"
    profile.mkdir(parents=True, exist_ok=True)
    output = args.output
    output.parent.mkdir(parents=True, exist_ok=True)

    def on_console(message):
        text = message.text
        if text.startswith(EVENT_PREFIX):
            renderer(json.loads(text[len(EVENT_PREFIX) :]))
        elif message.type == "error":
            renderer.line(f"browser console error: {text}")

    renderer.line(
        f"starting {'' if args.headed else 'headless '}Chromium, Pyodide and pybrowserml ({harness.wheel_path().name})"
    )
    options = dict(
        isolated=True,  # COOP/COEP: SharedArrayBuffer, so the wasm kernels use every core
        user_data_dir=profile,
        webgpu=settings["backend"] == "webgpu",
        headless=not args.headed,
    )
    stack = contextlib.ExitStack()
    try:
        try:
            browser = stack.enter_context(harness.Browser(port=TRAIN_PORT, **options))
        except OSError:  # the port is taken (another run?): any port, the dataset is fetched again
            renderer.line(f"port {TRAIN_PORT} is busy: serving on another one, so the IndexedDB cache is not reused")
            browser = stack.enter_context(harness.Browser(**options))
    except Exception as error:
        raise CLIError(f"the browser failed to start: {_first_line(error)}") from error
    try:
        with stack:
            # the add-on wheel of the chosen backend goes with the core (all of them for "auto", which may
            # pick any; none for numpy, which is in the core)
            chosen = settings["backend"]
            addons = None if chosen == "auto" else [] if chosen == "numpy" else [chosen]
            page = browser.new_pyodide_page(addons=addons, cli=True)  # the job is the CLI wheel's
            page.page.on("console", on_console)
            renderer.line(browser_line(page.page.evaluate("navigator.userAgent")))
            code = _PAGE_JOB.format(settings=json.dumps(settings))
            with page.page.expect_download(timeout=args.timeout_minutes * 60_000) as download_info:
                run_in_page = page.run  # Python in the page; returns when training and the download are done
                run_in_page(code)
            download_info.value.save_as(output)
            if browser.blocked_requests:
                raise CLIError(f"the page tried to reach the network (blocked): {browser.blocked_requests}")
    except harness.PyodideError as error:
        lines = [line for line in str(error).strip().splitlines() if line.strip()]
        raise CLIError(f"training failed in the page: {lines[-1] if lines else error}") from error
    except CLIError:
        raise
    except Exception as error:  # Playwright: the page crashed, a timeout
        message = _first_line(error)
        if "ProcessSingleton" in str(error) or "profile" in str(error).lower():
            message += f" (is another `pybrowserml train` using the profile {profile}? pass --profile DIR)"
        raise CLIError(f"the browser failed: {message}") from error
    return output


def browser_line(user_agent: str) -> str:
    """What the page itself says it runs in: Chromium names its headless mode in the user agent
    (HeadlessChrome/156.0.0.0), so this tells a window that really opened from one that did not."""
    match = re.search(r"\b(HeadlessChrome|Chrome)/([\d.]+)", user_agent)
    if match is None:
        return f"browser: {user_agent}"
    product, version = match.groups()
    mode = "headless" if product == "HeadlessChrome" else "headed window"
    return f"browser: Chromium {version} ({mode})"


def _first_line(error) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
