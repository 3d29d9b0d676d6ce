"""Where MobileUNet's wasm inference time goes: milliseconds per batch by kernel, per alpha and size.

    python -m scripts.report_lib.profile_unet                   # alpha 1, 0.5, 0.25 at 28x28 and 56x56
    python -m scripts.report_lib.profile_unet --alphas 1 0.25 --sizes 56
    python -m scripts.report_lib.profile_unet --filters 32 64 128 256 --sizes 32 64   # another network
    python -m scripts.report_lib.profile_unet --by-shape ...     # each conv layer apart

Every entry of the wasm backend's kernel table is wrapped by a timer in the page (wasm calls are
synchronous, so the wall time of a call is the kernel's time plus its ~1 us of FFI), then `predict` runs
on batches of 32 untrained-model images; "download" is reading the probabilities back, "python" the rest
of a batch's time (layers, ops, handle bookkeeping, predict's loop and its numpy concatenation). conv2d is split by path: "direct" (few input channels, conv_direct.c),
"1x1" (one GEMM over the NHWC input) and "im2col" (the rest). Times are the fastest of `repeats` passes
per kernel key, so the machine's other load inflates them as little as possible.
"""

from __future__ import annotations

import argparse

PAGE = r"""
import time
import numpy as np
import pybrowserml as pb
from pybrowserml.backends.wasm.kernels.conv import uses_direct_conv

await pb.set_backend_async("wasm", threads=1)
backend = pb.get_backend()
TIMES = {}
_original = dict(backend.kernels)

BY_SHAPE = False

def _key(name, args, attrs):
    if BY_SHAPE and name in ("conv2d", "conv2d_transpose", "conv2d_grad_input", "depthwise_conv2d"):
        return f"{name} {'x'.join(map(str, args[0].shape[1:]))} w{'x'.join(map(str, args[1].shape))}"
    if name == "conv2d":
        kh, kw, c, _ = args[1].shape
        path = "direct" if uses_direct_conv(c, kh, kw) else "1x1" if (kh, kw) == (1, 1) else "im2col"
        return f"conv2d {path}" + (" (head)" if args[1].shape[-1] == HEAD_CLASSES else "")
    if name == "conv2d_grad_input":
        return "conv2d_grad_input (transpose fwd)"
    return name

def _timed(name, fn):
    def run(*args, **attrs):
        start = time.perf_counter()
        result = fn(*args, **attrs)
        key = _key(name, args, attrs)
        TIMES[key] = TIMES.get(key, 0.0) + time.perf_counter() - start
        CALLS[key] = CALLS.get(key, 0) + 1
        return result
    return run

CALLS = {}
HEAD_CLASSES = 2
_download = backend.download

def profile(alpha, size, batches, repeats, filters):
    model = pb.zoo.mobile_unet((size, size, 1), classes=2, alpha=alpha, filters=filters, seed=0)
    images = np.random.default_rng(0).integers(0, 256, (32 * batches, size, size, 1), dtype=np.uint8)
    model.predict(images[:32], batch_size=32, verbose=0)  # warm-up
    best, best_total = {}, float("inf")
    calls = {}
    for _ in range(repeats):
        TIMES.clear(); CALLS.clear()
        backend.kernels.update({k: _timed(k, f) for k, f in _original.items()})
        backend.download = _timed("download (read back)", _download)
        start = time.perf_counter()
        model.predict(images, batch_size=32, verbose=0)
        total = time.perf_counter() - start
        backend.kernels.update(_original)
        del backend.download
        best_total = min(best_total, total)
        for k, v in TIMES.items():
            best[k] = min(best.get(k, float("inf")), v)
        calls = dict(CALLS)
    per_batch = {k: 1000 * v / batches for k, v in best.items()}
    per_batch["python (rest)"] = max(0.0, 1000 * best_total / batches - sum(per_batch.values()))
    return {"alpha": alpha, "size": size, "total_ms": 1000 * best_total / batches, "ms": per_batch,
            "calls": {k: v // batches for k, v in calls.items()}}
"""


def profile_rows(page, alphas, sizes, batches=4, repeats=9, filters=(16, 32, 64), by_shape=False):
    """by_shape: every conv, transposed conv and depthwise call apart, keyed by input and filter shape."""
    page.run(PAGE + f"\nBY_SHAPE = {bool(by_shape)}")
    return [
        page.run(f"profile({alpha!r}, {size!r}, {batches}, {repeats}, {tuple(filters)!r})")
        for size in sizes
        for alpha in alphas
    ]


def format_profile(rows) -> str:
    keys = sorted({k for r in rows for k in r["ms"]}, key=lambda k: -max(r["ms"].get(k, 0) for r in rows))
    width = max(34, *(len(k) + 2 for k in keys))
    head = f"{'ms per batch of 32':<{width}}" + "".join(
        f"{'a' + str(r['alpha']) + ' ' + str(r['size']):>12}" for r in rows
    )
    lines = [head, "-" * len(head)]
    for key in keys:
        cells = "".join(f"{r['ms'].get(key, 0):>8.2f} x{r['calls'].get(key, 0):<3}" for r in rows)
        lines.append(f"{key:<{width}}{cells}")
    lines.append(f"{'total':<{width}}" + "".join(f"{r['total_ms']:>12.2f}" for r in rows))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alphas", type=float, nargs="+", default=[1.0, 0.5, 0.25])
    parser.add_argument("--sizes", type=int, nargs="+", default=[28, 56])
    parser.add_argument("--filters", type=int, nargs="+", default=[16, 32, 64], help="zoo.mobile_unet's filters")
    parser.add_argument("--batches", type=int, default=4, help="batches of 32 per timed pass")
    parser.add_argument("--by-shape", action="store_true", help="each conv layer apart (input, filter shape)")
    args = parser.parse_args(argv)
    from harness import Browser

    with Browser() as browser:
        page = browser.new_pyodide_page()
        rows = profile_rows(page, args.alphas, args.sizes, args.batches, filters=args.filters, by_shape=args.by_shape)
        print(format_profile(rows))


if __name__ == "__main__":
    main()
