"""The main job: train the reference model in headless Chromium on Fashion-MNIST, through the same
demo page a user opens (web/demo/index.html), and save the quantized JSON the page downloads.

Progress lines the page prints are echoed here as they come.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import REPO, Browser  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion_mnist", choices=["fashion_mnist", "mnist"])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-samples", type=int, default=60000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--backend", default="auto", help="auto, wasm, webgpu or numpy")
    parser.add_argument("--output", type=Path, default=REPO / "demo-output")
    parser.add_argument("--timeout-minutes", type=float, default=60)
    args = parser.parse_args(argv)

    query = urlencode(
        {
            "autostart": 1,
            "dataset": args.dataset,
            "epochs": args.epochs,
            "train_samples": args.train_samples,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "backend": args.backend,
        }
    )
    args.output.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with Browser() as browser:
        page = browser.new_page()
        page.on(
            "console", lambda m: m.type == "error" and print(f"console error: {m.text}", file=sys.stderr, flush=True)
        )
        page.on("pageerror", lambda error: print(f"page error: {error}", file=sys.stderr, flush=True))
        print(f"[driver] opening the demo page in headless Chromium ({browser.server.url('/web/demo/')})", flush=True)
        page.goto(browser.server.url(f"/web/demo/index.html?{query}"))
        deadline = time.monotonic() + args.timeout_minutes * 60
        shown = None
        while True:  # echo what the page shows until it has results (or an error)
            state = page.evaluate(
                "() => window.demoState && {status: demoState.status, progress: "
                "document.querySelector('#progress-text').textContent, done: !!demoState.results, "
                "errors: demoState.errors}"
            )
            if state:
                line = f"[demo] {state['status']} {state['progress']}".rstrip()
                if line != shown:
                    print(line, flush=True)
                    shown = line
                if state["errors"]:
                    raise SystemExit(f"the demo failed: {state['errors'][0]}")
                if state["done"]:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"the demo did not finish within {args.timeout_minutes} minutes")
            page.wait_for_timeout(1000)
        results = page.evaluate("() => ({accuracy: demoState.results.accuracy, backend: demoState.backend})")
        with page.expect_download() as download_info:
            page.click("#download")
        download = download_info.value
        target = args.output / download.suggested_filename
        download.save_as(target)
        if browser.blocked_requests:
            raise SystemExit(f"the page tried to reach the network: {browser.blocked_requests}")
    print(
        f"[driver] done in {time.perf_counter() - started:.0f} s: backend {results['backend']['active']}, "
        f"test accuracy {100 * results['accuracy']:.2f}%"
    )
    print(f"[driver] quantized weights downloaded by the page: {target} ({target.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
