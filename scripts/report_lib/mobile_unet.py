"""Table (b): MobileUNet for several width multipliers (alpha) against input sizes, trained in Chromium.

    python -m scripts.report_lib.mobile_unet            # alpha 1, 0.75, 0.5, 0.25 x sizes 32, 64, 96
    python -m scripts.report_lib.mobile_unet --filters 16 32 64   # the small network instead
    python -m scripts.report_lib.mobile_unet --quick    # a smaller run (2 alphas x 2 sizes, fewer samples)

Each row trains `pybrowserml.zoo.mobile_unet` (by default at MobileNet-like widths, STUDY_FILTERS) on the
wasm backend in the harness's headless Chromium (single-threaded page) on MNIST foreground masks
(pybrowserml.data.mnist_masks), the digits padded to 32 x 32 and scaled up by nearest neighbour to the
row's size, and reports test mean IoU, parameters, wasm inference ms per image
(batch 32, the fastest of five passes) and training samples/s (the last epoch). Then the scaling check:
inference ms divided by alpha^2 x pixels, relative to the median of the rows (1.00 = exactly
proportional), also relative to a least-squares fit of the constant (log ms against log alpha^2 x pixels,
slope fixed at 1: the geometric mean), and the two factors apart: per alpha, ms growth against pixel growth from the smallest
size; per size, ms(alpha) / ms(1) against alpha^2.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

ALPHAS = (1.0, 0.75, 0.5, 0.25)
SIZES = (32, 64, 96)
# The network the alpha^2 law is about: MobileNet's widths (a first layer of 32, doubling per stride 2) in
# a U-Net of three levels; 93% of its MACs are in layers whose both widths scale with alpha.
STUDY_FILTERS = (32, 64, 128, 256)
# zoo.mobile_unet's default, a tiny network (36k parameters; 84% of its MACs in such layers): the contrast.
SMALL_FILTERS = (16, 32, 64)
PAGE_SOURCE = (Path(__file__).parent / "page_unet.py").read_text()
SCALING_TOLERANCE = 0.25

_INSTALL = """
import sys, types
_module = types.ModuleType("page_unet")
exec(compile(_SOURCE, "page_unet.py", "exec"), _module.__dict__)
sys.modules["page_unet"] = _module
del _SOURCE, _module
"""


def _rows_in_page(page, alphas, sizes, settings):
    page.run(f"_SOURCE = {PAGE_SOURCE!r}\n" + _INSTALL)
    page.run('import pybrowserml as pb\nawait pb.set_backend_async("wasm")\npb.get_backend().name')
    rows = []
    for size in sizes:
        for alpha in alphas:
            row = page.run(f"import page_unet\nawait page_unet.unet_row({alpha!r}, {size!r}, **{settings!r})")
            print(format_row(row), file=sys.stderr, flush=True)
            rows.append(row)
    return rows


def mobile_unet_table(
    alphas=ALPHAS,
    sizes=SIZES,
    filters=STUDY_FILTERS,
    train_samples=1000,
    test_samples=300,
    epochs=1,
    infer_images=256,
    batch_size=32,
    seed=0,
    quick=False,
    page=None,
):
    """Rows {alpha, size, filters, iou, params, macs, infer_ms, train_samples_per_s, scaling} of
    zoo.mobile_unet(filters=filters) trained in headless Chromium on wasm; `page` a harness PyodidePage to
    reuse, else one is opened. quick: alphas (1, 0.5), sizes (32, 64), 400 samples, 1 epoch."""
    if quick:
        alphas, sizes = (1.0, 0.5), (32, 64)
        train_samples, test_samples, epochs, infer_images = 400, 200, 1, 64
    for size in sizes:
        if size % 32:
            raise ValueError(f"sizes must be multiples of 32 (MNIST digits padded to 32 x 32), got {size}")
    settings = dict(
        filters=list(filters),
        train_samples=train_samples,
        test_samples=test_samples,
        epochs=epochs,
        infer_images=infer_images,
        batch_size=batch_size,
        seed=seed,
    )
    if page is not None:
        rows = _rows_in_page(page, alphas, sizes, settings)
    else:
        from harness import Browser

        with Browser() as browser:
            rows = _rows_in_page(browser.new_pyodide_page(), alphas, sizes, settings)
    return add_scaling(rows)


def _per_unit(rows):
    return [row["infer_ms"] / (row["alpha"] ** 2 * row["size"] ** 2) for row in rows]


def add_scaling(rows):
    """Each row's inference ms per (alpha^2 x pixels), relative to the median over the rows."""
    for row, value in zip(rows, _relative(_per_unit(rows))):
        row["scaling"] = value
    return rows


def fitted_scaling(rows):
    """The same ratios against the least-squares fit of log ms = log k + log(alpha^2 x pixels) over the
    rows: k is the geometric mean of ms / (alpha^2 x pixels), the constant that minimises the squared
    log ratios (a median instead ignores how far the outliers lie)."""
    per_unit = _per_unit(rows)
    k = math.exp(statistics.fmean(math.log(v) for v in per_unit))
    return [v / k for v in per_unit]


def format_row(row) -> str:
    macs = f" {row['macs'] / 1e6:>6.2f} |" if "macs" in row else ""
    return (
        f"| {row['alpha']:>5} | {row['size']:>3}x{row['size']:<3} | {row['iou']:.3f} | {row['params']:>7,} |{macs}"
        f" {row['infer_ms']:>8.2f} | {row['train_samples_per_s']:>8.1f} |"
        + (f" {row['scaling']:>5.2f} |" if "scaling" in row else "")
    )


def _spread(label, ratios, reference="the median") -> str:
    inside = sum(abs(r - 1) <= SCALING_TOLERANCE for r in ratios)
    return (
        f"{label}: ratios to {reference} from {min(ratios):.2f} to {max(ratios):.2f}; "
        f"{inside} of {len(ratios)} rows within {SCALING_TOLERANCE:.0%}"
    )


def format_table(rows) -> str:
    with_macs = all("macs" in row for row in rows)
    lines = [
        "| alpha | size    | IoU   | params  |"
        + (" MMACs  |" if with_macs else "")
        + " infer ms | train/s  | ms / (alpha^2 px), rel. median |",
        "|------:|:--------|------:|--------:|" + ("-------:|" if with_macs else "") + "---------:|---------:|------:|",
    ]
    lines += [format_row(row) for row in rows]
    lines.append(
        "ratio = (infer ms / (alpha^2 x pixels)) / the same over the table (median, or k of a least-squares fit);"
        f" the target: every row within {SCALING_TOLERANCE:.0%} of 1"
    )
    lines.append(_spread("inference ms vs alpha^2 x pixels", [row["scaling"] for row in rows]))
    lines.append(_spread("inference ms vs k x alpha^2 x pixels, k fitted", fitted_scaling(rows), "the fit"))
    if with_macs:
        # The network's own arithmetic does not scale as alpha^2 (the stem, the depthwise convs and the
        # head grow with alpha or not at all): how far the MACs are from alpha^2 x pixels, and how far
        # the time is from the MACs (the kernels' efficiency at small widths and the per-call costs).
        lines.append(
            _spread(
                "MACs vs alpha^2 x pixels", _relative([r["macs"] / (r["alpha"] ** 2 * r["size"] ** 2) for r in rows])
            )
        )
        lines.append(_spread("inference ms vs MACs", _relative([r["infer_ms"] / r["macs"] for r in rows])))
    lines += factor_lines(rows)
    return "\n".join(lines)


def _relative(values):
    median = statistics.median(values)
    return [v / median for v in values]


def factor_lines(rows) -> list[str]:
    """The two factors of alpha^2 x pixels apart, as measured/expected ratios (1.00 = as predicted)."""
    ms = {(row["alpha"], row["size"]): row["infer_ms"] for row in rows}
    alphas = sorted({a for a, _ in ms}, reverse=True)
    sizes = sorted({s for _, s in ms})
    lines = []
    for alpha in alphas:
        base = sizes[0]
        ratios = [
            (ms[alpha, size] / ms[alpha, base]) / (size**2 / base**2) for size in sizes[1:] if (alpha, size) in ms
        ]
        if (alpha, base) in ms and ratios:
            lines.append(f"alpha {alpha}: ms growth / pixel growth from {base}x{base}: " + _ratios(ratios))
    for size in sizes:
        top = alphas[0]
        ratios = [(ms[a, size] / ms[top, size]) / (a**2 / top**2) for a in alphas[1:] if (a, size) in ms]
        if (top, size) in ms and ratios:
            lines.append(f"size {size}x{size}: ms(alpha) / ms({top}) over alpha^2 ratio: " + _ratios(ratios))
    return lines


def _ratios(values) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 alphas x 2 sizes, 400 samples, 1 epoch")
    parser.add_argument("--alphas", type=float, nargs="+", default=list(ALPHAS))
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--filters", type=int, nargs="+", default=list(STUDY_FILTERS), help="zoo.mobile_unet's")
    parser.add_argument("--train-samples", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args(argv)
    rows = mobile_unet_table(
        args.alphas, args.sizes, args.filters, train_samples=args.train_samples, epochs=args.epochs, quick=args.quick
    )
    print(format_table(rows))


if __name__ == "__main__":
    main()
