"""What a PACKED joint step would cost on wasm: the students run as one network of their summed widths.

    python -m scripts.report_lib.estimate_packed                       # students alpha 0.25, 0.35, 0.5
    python -m scripts.report_lib.estimate_packed --widths 0.25 0.5

Packed execution puts the students side by side along the channels. Every per-channel op then runs once on
the concatenated channels instead of once per student, with the same arithmetic: the depthwise convs, the
bias / activation (and their gradients), pooling, the dense blocks' concats and gradient sums, Adam. The
stem conv reads the same image for every student, so it is one conv with the summed filters. Only the
pointwise (1x1) convs must stay per student: block-diagonal, i.e. one grouped GEMM per layer.

Nothing here trains a packed network. It times (wasm, one thread, random images, the distillation step of
profile_joint) each student and a dense_block_cnn whose stem and block widths are the students' sums, with
every kernel call wrapped by a timer, and estimates

    packed step = wide network's step - its pointwise kernels + the students' own pointwise kernels

(the wide network's 1x1 convs mix all students' channels, ~3x the MACs of the block-diagonal ones). The
grouped GEMM is counted as the students' separate calls, so one call's fixed cost per layer and student
beyond the first is still in; the distillation loss and the dense head are the wide network's (one instead
of one per student, a few small kernels). The ratio printed is (teacher + packed) / (teacher + largest).
"""

from __future__ import annotations

import argparse

from .profile_joint import PAGE as PROFILE_PAGE

# profile_joint's page (the wasm backend, its phases and their timing) and, on top, the estimate.
PAGE = (
    PROFILE_PAGE
    + r"""
STEM, FILTERS = 16, (32, 64)  # dense_block_cnn's defaults


def _width(f, alpha):
    return max(1, int(f * alpha))  # as dense_block_cnn scales them


def _is_pointwise(name, args, attrs):
    if name in ("conv2d", "conv2d_grad_input"):
        return tuple(args[1].shape[:2]) == (1, 1)
    if name == "conv2d_grad_filter":
        return tuple(attrs.get("filter_shape", args[2] if len(args) > 2 else ()))[:2] == (1, 1)
    return False


def estimate(widths, batch, rounds, calls):
    wide = pb.zoo.dense_block_cnn(
        stem_filters=sum(_width(STEM, a) for a in widths),
        filters=tuple(sum(_width(f, a) for a in widths) for f in FILTERS),
        seed=9,
        kernel_initializer="he_normal",
    )
    phases = _phases(widths, batch, extra={"summed widths": wide})
    best = _fastest(phases, rounds, calls)
    pointwise = {name: 0.0 for name in phases}
    for _ in range(rounds):
        for name, run in phases.items():
            spent = [0.0]

            def timed(kernel, fn):
                def call(*args, **attrs):
                    start = time.perf_counter()
                    result = fn(*args, **attrs)
                    if _is_pointwise(kernel, args, attrs):
                        spent[0] += time.perf_counter() - start
                    return result
                return call

            backend.kernels.update({k: timed(k, f) for k, f in _original.items()})
            try:
                for _ in range(calls):
                    run()
            finally:
                backend.kernels.update(_original)
            pointwise[name] += 1000 * spent[0] / (calls * rounds)
    return {"ms": {k: 1000 * v for k, v in best.items()}, "pointwise_ms": pointwise}
"""
)


def packed_estimate(result) -> dict:
    """The packed step and the joint / largest-alone ratios today and packed, from estimate()'s result."""
    ms, pointwise = result["ms"], result["pointwise_ms"]
    students = [k for k in ms if k.startswith("student")]
    teacher, largest = ms["teacher forward"], max(ms[k] for k in students)
    packed = ms["summed widths"] - pointwise["summed widths"] + sum(pointwise[k] for k in students)
    return {
        "packed_ms": packed,
        "today": (teacher + sum(ms[k] for k in students)) / (teacher + largest),
        "packed": (teacher + packed) / (teacher + largest),
    }


def format_estimate(result) -> str:
    ms, pointwise = result["ms"], result["pointwise_ms"]
    lines = [f"{'phase (ms per call)':<24}{'total':>9}{'pointwise':>11}", "-" * 44]
    for name in ms:
        lines.append(f"{name:<24}{ms[name]:>9.2f}{pointwise[name]:>11.2f}")
    e = packed_estimate(result)
    students = [k for k in ms if k.startswith("student")]
    lines += [
        f"packed step = {ms['summed widths']:.2f} - {pointwise['summed widths']:.2f} + "
        f"{sum(pointwise[k] for k in students):.2f} = {e['packed_ms']:.2f} ms "
        f"(the students apart: {sum(ms[k] for k in students):.2f} ms)",
        f"joint / largest alone: today {e['today']:.2f}x, packed (estimate) {e['packed']:.2f}x",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=float, nargs="+", default=[0.25, 0.35, 0.5])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=5, help="calls of each phase per round")
    args = parser.parse_args(argv)
    from harness import Browser

    with Browser() as browser:
        page = browser.new_pyodide_page()
        page.run(PAGE)
        print(format_estimate(page.run(f"estimate({args.widths!r}, {args.batch}, {args.rounds}, {args.calls})")))


if __name__ == "__main__":
    main()
