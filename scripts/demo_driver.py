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
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-samples", type=int, default=60000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--backend", default="auto", help="auto (wasm when available), wasm or numpy")
    parser.add_argument("--quantize", default="uint8", choices=["uint8", "uint16", "float16", "float32"])
    parser.add_argument("--output", type=Path, default=REPO / "demo-output")
    parser.add_argument("--timeout-minutes", type=float, default=60)
    args = parser.parse_args(argv)

    query = urlencode(
        {
            "epochs": args.epochs,
            "train_samples": args.train_samples,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "backend": args.backend,
            "quantize": args.quantize,
        }
    )
    args.output.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with Browser() as browser:
        page = browser.new_page()
        page.on(
            "console",
            lambda message: (
                print(message.text, flush=True)
                if message.text.startswith("[demo]") or message.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda error: print(f"page error: {error}", file=sys.stderr, flush=True))
        print(f"[driver] opening the demo page in headless Chromium ({browser.server.url('/web/demo/')})", flush=True)
        page.goto(browser.server.url(f"/web/demo/index.html?{query}"))
        with page.expect_download(timeout=args.timeout_minutes * 60_000) as download_info:
            result = page.evaluate("window.demoDone")
        download = download_info.value
        target = args.output / download.suggested_filename
        download.save_as(target)
        if browser.blocked_requests:
            raise SystemExit(f"the page tried to reach the network: {browser.blocked_requests}")
    print(
        f"[driver] done in {time.perf_counter() - started:.0f} s: backend {result['backend']}, "
        f"test accuracy {100 * result['test_accuracy']:.2f}%, {result['samples_per_second']:.0f} samples/s"
    )
    print(f"[driver] quantized weights downloaded by the page: {target} ({target.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
