"""Every kernel case of the conformance suite, grouped by kernel family, and the one comparison helper.

Plain Python that needs only numpy and pybrowserml: test_conformance.py imports it in CPython and sends
its source into Pyodide pages. ``run_family(backend, family)`` runs every case of a family on `backend`
and on the oracle (the numpy backend) and returns one row ``[case_id, kernel, error, scale, native]``
per compared output: ``error`` is the largest absolute difference from the oracle, ``scale`` the largest
magnitude of the oracle's result, ``native`` whether the backend ran the case without falling back to
numpy. A case is a program ``program(backend) -> device result(s)`` run once on each side with the same
host inputs, so chains (a lazy concat read by a kernel, several optimizer steps) compare like single calls.

Sizes are deliberately awkward: odd spatial sizes, channel counts not divisible by 4, strides 2 and 3,
both paddings, windows larger than the image, GEMM dimensions crossing the blocking sizes (KC=256, MC=96,
NC=1024), several im2col chunks, and problems large enough for threaded kernels to split them.
"""

from __future__ import annotations

import numpy as np

from pybrowserml.backends import get_backend
from pybrowserml.backends.kernel_names import FAMILY_OF, KERNELS_BY_FAMILY

FAILED = 1e30  # the error of an output that could not be compared at all (JSON has no inf)
ACTIVATIONS = (None, "relu", "relu6")
OUTPUT_SEPARATOR = " -> "  # between a case id and the name of one of its outputs


def _upload(be, value):
    if isinstance(value, np.ndarray):
        return be.upload(value)
    if isinstance(value, list):
        return [_upload(be, v) for v in value]
    return value


def _download(be, value):
    """Host arrays of a program's result, as {output name: array} ("" when there is one output)."""
    if isinstance(value, dict):
        return {name: np.asarray(be.download(v)) for name, v in value.items()}
    if isinstance(value, (tuple, list)):
        return {f"[{i}]": np.asarray(be.download(v)) for i, v in enumerate(value)}
    return {"": np.asarray(be.download(value))}


def kernel(name, *args, **attrs):
    """The program that runs kernel `name` once on uploaded copies of the host arrays in `args`."""
    return lambda be: be.run(name, *[_upload(be, a) for a in args], **attrs)


class Float64Oracle:
    """The numpy kernels on float64 copies of float32 inputs: the oracle of the numpy backend itself
    (its float32 results against the same kernels computed in double precision)."""

    def __init__(self):
        self.numpy = get_backend("numpy")
        self.kernels = self.numpy.kernels
        self.fallback_counts = self.numpy.fallback_counts

    def upload(self, array):
        array = np.asarray(array)
        return array.astype(np.float64) if array.dtype == np.float32 else array.copy()

    def download(self, array):
        return np.asarray(array)

    def write(self, array, values):
        array[...] = values

    def run(self, name, *args, **attrs):
        return self.numpy.run(name, *args, **attrs)

    @staticmethod
    def result_dtype(dtype):
        return np.dtype(np.float32) if dtype == np.float64 else dtype


def compare(rows, be, oracle, case_id, kernel_name, program):
    """Run `program` on the backend and on the oracle; append one row per output."""
    before = dict(be.fallback_counts)
    try:
        got = _download(be, program(be))
    except Exception as error:  # one broken case must not hide the others' rows
        rows.append(
            [
                f"{case_id} raised {type(error).__name__}: {error}",
                kernel_name,
                FAILED,
                0.0,
                be.fallback_counts == before,
            ]
        )
        return
    native = be.fallback_counts == before
    want = _download(oracle, program(oracle))
    result_dtype = getattr(oracle, "result_dtype", lambda dtype: dtype)
    for output, w in want.items():
        row_id = case_id + (OUTPUT_SEPARATOR + output if output else "")
        g = got.get(output)
        if g is None or g.shape != w.shape or g.dtype != result_dtype(w.dtype):
            what = "missing" if g is None else f"{g.shape} {g.dtype}"
            rows.append(
                [f"{row_id}: got {what}, expected {w.shape} {result_dtype(w.dtype)}", kernel_name, FAILED, 0.0, native]
            )
            continue
        g64, w64 = g.astype(np.float64), w.astype(np.float64)
        error = float(np.max(np.abs(g64 - w64))) if w.size else 0.0
        if not np.isfinite(error) and not np.array_equal(g64, w64, equal_nan=True):
            error = FAILED
        elif not np.isfinite(error):
            error = 0.0  # the same infinities and NaNs in the same places
        scale = float(np.max(np.abs(w64[np.isfinite(w64)]))) if np.isfinite(w64).any() else 0.0
        rows.append([row_id, kernel_name, error, scale, native])


def rand(rng, *shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def normal(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _reference(name, *args, **attrs):
    return get_backend("numpy").run(name, *args, **attrs)


# -- gemm -------------------------------------------------------------------------------------------


def gemm_cases(rng):
    for m, k, n in [(1, 1, 1), (5, 3, 7), (33, 300, 17), (200, 40, 9), (5, 300, 1030), (97, 513, 130), (36, 300, 24)]:
        for ta in (False, True):
            for tb in (False, True):
                a = rand(rng, k, m) if ta else rand(rng, m, k)
                b = rand(rng, n, k) if tb else rand(rng, k, n)
                yield (
                    f"matmul {m}x{k}x{n} ta={ta} tb={tb}",
                    "matmul",
                    kernel("matmul", a, b, transpose_a=ta, transpose_b=tb),
                )
    # large enough for the threaded kernels to split them into row blocks
    for m, k, n in [(300, 200, 100), (6272, 64, 32), (96, 1500, 40)]:
        yield f"big matmul {m}x{k}x{n}", "matmul", kernel("matmul", rand(rng, m, k), rand(rng, k, n))
        yield (
            f"big matmul^T {m}x{k}x{n}",
            "matmul",
            kernel("matmul", rand(rng, k, m), rand(rng, n, k), transpose_a=True, transpose_b=True),
        )
    # A^T B with the long sum of a weight gradient (the reference model's pointwise filters: k = the pixels
    # of a batch), summed in parts by GPU backends; one with m and n not multiples of 4 and a short last part
    for m, k, n in [(96, 6272, 32), (192, 1568, 64), (10, 701, 6)]:
        yield (
            f"weight-gradient matmul^T a {m}x{k}x{n}",
            "matmul",
            kernel("matmul", rand(rng, k, m), rand(rng, k, n), transpose_a=True),
        )
    yield from _weights_read_around_writes(rng)
    for shape, units, has_bias, act in [
        ((32, 50), 10, True, None),
        ((2, 3, 5), 7, True, "relu"),
        ((7, 129), 33, False, "relu6"),
        ((1, 1), 1, True, "relu"),
        ((70, 40), 12, True, "relu6"),  # rows and columns enough for GPU backends' blocked GEMMs
        ((66, 9), 20, True, None),
    ]:
        x, w = rand(rng, *shape), rand(rng, shape[-1], units)
        b = rand(rng, units) if has_bias else None
        yield f"dense {shape}->{units} {act}", "dense", kernel("dense", x, w, b, activation=act)
    yield from grouped_cases(rng)


# Grouped (block-diagonal) dense kernels: (leading shape, input width, groups), groups as ((runs), units).
# Packed students' layers (one run per group, runs of a concat's parts, strided over a wide input), runs
# and widths not multiples of 4 or 8, input columns no group reads, a group with more than 256 features
# (KC: the wasm kernel's copying path), enough rows for threaded tasks, and 4-D inputs (1x1 convs).
GROUPED = [
    ((7,), 9, ((((0, 4),), 3), (((4, 5),), 6))),
    ((33,), 35, ((((0, 8),), 8), (((8, 11),), 11), (((19, 16),), 16))),
    (
        (2, 5, 5),
        105,
        ((((0, 8), (35, 8), (70, 8)), 8), (((8, 11), (43, 11), (78, 11)), 11), (((19, 16), (54, 16), (89, 16)), 16)),
    ),
    ((32, 14, 14), 70, ((((0, 8), (35, 8)), 8), (((8, 11), (43, 11)), 11), (((19, 16), (54, 16)), 16))),
    ((9,), 30, ((((20, 3), (2, 5)), 7), (((10, 2),), 1))),  # runs out of order, gaps (columns 0-1, 7-9, 12-19, 23-29)
    ((5,), 600, ((((0, 300),), 9), (((300, 1), (301, 299)), 13))),  # K = 300 > 256: the copying path
    ((32,), 280, tuple((tuple((p * 70 + o, w) for p in range(4)), 10) for o, w in ((0, 16), (16, 22), (38, 32)))),
    ((4,), 12, tuple((((i, 1),), 2) for i in range(12))),  # twelve one-column groups
]


def grouped_cases(rng):
    for i, (lead, width, groups) in enumerate(GROUPED):
        size = sum(sum(w for _, w in runs) * units for runs, units in groups)
        units = sum(u for _, u in groups)
        x, w, b, dz = rand(rng, *lead, width), rand(rng, size), rand(rng, units), rand(rng, *lead, units)
        for act in (None, "relu", "relu6"):
            yield (
                f"grouped#{i} {lead} {act}",
                "grouped_dense",
                kernel("grouped_dense", x, w, None if act == "relu6" else b, groups=groups, activation=act),
            )
        yield (
            f"grouped#{i} dx",
            "grouped_dense_grad_input",
            kernel("grouped_dense_grad_input", dz, w, groups=groups, input_shape=x.shape),
        )
        yield f"grouped#{i} dw", "grouped_dense_grad_filter", kernel("grouped_dense_grad_filter", x, dz, groups=groups)
    one = ((((0, 3),), 2),)
    yield (
        "grouped no rows dw",
        "grouped_dense_grad_filter",
        kernel("grouped_dense_grad_filter", rand(rng, 0, 3), rand(rng, 0, 2), groups=one),
    )
    yield (
        "grouped no rows fwd",
        "grouped_dense",
        kernel("grouped_dense", rand(rng, 0, 3), rand(rng, 6), None, groups=one),
    )


def _weights_read_around_writes(rng):
    """Weights and filters read by several calls with writes from the host and in-place optimizer updates
    between them (a backend may keep packed copies of them until they are written)."""
    x, w, img, f, cf = (
        rand(rng, 70, 16),
        rand(rng, 16, 12),
        normal(rng, 2, 6, 7, 8),
        normal(rng, 3, 3, 8, 1),
        normal(rng, 3, 3, 8, 8),
    )
    grads = [rand(rng, *v.shape) for v in (w, f, cf)]
    written = [rand(rng, *v.shape) for v in (w, f, cf)]

    def program(be):
        xb, ib = be.upload(x), be.upload(img)
        weights = [be.upload(v) for v in (w, f, cf)]
        steps = {}

        def read(when):
            wb, fb, cb = weights
            steps[f"dense {when}"] = be.run("dense", xb, wb)
            steps[f"dw {when}"] = be.run("depthwise_conv2d", ib, fb, None, strides=(1, 1), padding="same")
            steps[f"conv {when}"] = be.run("conv2d", ib, cb, None, strides=(1, 1), padding="same")

        read("first")
        read("again")
        for v, new_values in zip(weights, written):
            be.write(v, new_values)
        read("after a write")
        moments = [be.upload(np.zeros_like(v)) for v in (w, f, cf) for _ in range(2)]
        for step in (1, 2):
            gradients = [be.upload(v) for v in grads]
            be.run("adam_update", weights, gradients, moments[::2], moments[1::2], step=step)
            read(f"after update {step}")
        return steps

    yield "weights read around writes and in-place updates", "dense", program


# -- conv -------------------------------------------------------------------------------------------


def _conv_triplet(rng, tag, n, h, w, c, kh, kw, o, s, pad, has_bias, act, high=1.0):
    x, f = rand(rng, n, h, w, c, high=high), rand(rng, kh, kw, c, o)
    b = rand(rng, o) if has_bias else None
    geo = dict(strides=s, padding=pad)
    yield tag + " fwd", "conv2d", kernel("conv2d", x, f, b, activation=act, **geo)
    dz = rand(rng, *_reference("conv2d", x, f, None, **geo).shape)
    yield tag + " dx", "conv2d_grad_input", kernel("conv2d_grad_input", dz, f, input_shape=x.shape, **geo)
    yield tag + " dw", "conv2d_grad_filter", kernel("conv2d_grad_filter", x, dz, filter_shape=f.shape, **geo)


def conv_cases(rng):
    for i, (n, h, w, c, kh, kw, o, s, pad, has_bias, act) in enumerate(
        [  # im2col + GEMM
            (2, 7, 9, 3, 3, 3, 5, (1, 1), "same", True, "relu"),
            (3, 8, 8, 4, 3, 3, 8, (2, 2), "same", False, None),
            (2, 9, 7, 5, 3, 3, 6, (2, 2), "valid", True, "relu6"),
            (1, 5, 5, 1, 5, 5, 3, (1, 1), "same", True, None),
            (2, 6, 6, 7, 1, 1, 9, (1, 1), "same", True, "relu"),
            (2, 7, 7, 6, 1, 1, 5, (2, 2), "same", False, None),
            (1, 4, 6, 3, 2, 3, 4, (1, 2), "same", True, "relu"),
            (2, 16, 16, 64, 3, 3, 8, (1, 1), "same", True, "relu"),  # K=576: 3 im2col chunks, 3 K blocks
            (3, 28, 28, 1, 3, 3, 16, (1, 1), "same", True, "relu"),
            (1, 3, 3, 2, 3, 3, 3, (2, 2), "valid", False, None),  # a single output pixel
            (2, 5, 7, 300, 1, 1, 13, (1, 1), "same", True, "relu6"),  # pointwise, K=300: two K blocks, edge tiles
            (3, 6, 6, 8, 1, 1, 16, (1, 1), "same", True, None),  # pointwise, whole tiles: unpacked grad_filter
        ]
    ):
        yield from _conv_triplet(
            rng, f"conv{i}:{n}x{h}x{w}x{c} k{kh}x{kw} o{o} s{s} {pad}", n, h, w, c, kh, kw, o, s, pad, has_bias, act
        )
    # Few input channels (the wasm backend's direct kernels): odd sizes, ow < 4 (no full 4-pixel tile),
    # output channels not divisible by 4 or 8, windows larger than the image, stride 2, and two batches
    # large enough (> 2 MFLOP) for threaded kernels to split them into tasks. Inputs reach 3 (relu6 clips).
    for i, (n, h, w, c, kh, kw, o, s, pad, has_bias, act) in enumerate(
        [
            (2, 7, 9, 1, 3, 3, 5, (1, 1), "same", True, "relu"),
            (3, 8, 11, 2, 3, 3, 16, (2, 2), "same", False, None),
            (2, 9, 7, 3, 5, 5, 6, (2, 2), "valid", True, "relu6"),
            (1, 5, 6, 4, 2, 3, 12, (1, 2), "same", True, None),
            (2, 6, 5, 1, 5, 5, 3, (1, 1), "valid", False, "relu6"),
            (1, 3, 3, 2, 3, 3, 7, (2, 2), "valid", True, "relu"),  # a single output pixel
            (2, 10, 3, 3, 1, 3, 9, (1, 1), "same", True, "relu"),  # 1x3 window, rows of 3 pixels
            (2, 13, 13, 4, 3, 3, 13, (2, 2), "same", False, "relu"),
            (1, 4, 4, 1, 7, 7, 4, (1, 1), "same", True, None),  # the window is larger than the image
            (2, 11, 9, 2, 4, 4, 1, (1, 1), "same", True, "relu6"),  # even window: the extra padding goes after
            (16, 28, 28, 1, 3, 3, 16, (1, 1), "same", True, "relu"),  # the reference stem, split into tasks
            (6, 20, 18, 3, 3, 3, 20, (2, 1), "same", True, "relu6"),
        ]
    ):
        yield from _conv_triplet(
            rng,
            f"direct{i}:{n}x{h}x{w}x{c} k{kh}x{kw} o{o} s{s} {pad} {act}",
            n,
            h,
            w,
            c,
            kh,
            kw,
            o,
            s,
            pad,
            has_bias,
            act,
            high=3.0,
        )
    # large problems: several im2col chunks, whole-image grad_input tasks, per-task partial filter gradients
    for i, (n, h, w, c, k, o, s, pad) in enumerate(
        [
            (8, 28, 28, 16, 3, 32, (1, 1), "same"),
            (32, 14, 14, 64, 1, 32, (1, 1), "same"),
            (5, 15, 13, 24, 3, 40, (2, 2), "same"),
            (3, 20, 20, 8, 5, 12, (1, 1), "valid"),
            (4, 15, 15, 300, 1, 34, (1, 1), "same"),
        ]
    ):  # pointwise, K=300
        yield from _conv_triplet(
            rng, f"big conv{i}:{n}x{h}x{w}x{c} k{k} o{o} s{s} {pad}", n, h, w, c, k, k, o, s, pad, True, "relu"
        )

    # One array fed to one draw twice: a dense result (a GPU backend may keep it packed and read it from
    # there where a kernel allows) as both the input and the output gradient of a filter gradient, whose
    # kernel may read the input from the packed form while the output gradient must be unpacked (3 output
    # channels: webgl's direct filter gradient, whose one draw reads both).
    twice = _dense_result(rng, 8, rows=15)
    yield (
        "dw of one dense result as both x and dz",
        "conv2d_grad_filter",
        lambda be: be.run(
            "conv2d_grad_filter",
            *[be.run("reshape", twice(be), (2, 4, 5, 3))] * 2,
            filter_shape=(3, 3, 3, 3),
            strides=(1, 1),
            padding="same",
        ),
    )

    # Conv2DTranspose runs on these three kernels: its forward is conv2d_grad_input into the upsampled
    # shape, its input gradient conv2d, its filter gradient conv2d_grad_filter with the roles swapped.
    # conv2d_transpose is that forward with the layer's bias and activation (the epilogue per image).
    for i, (n, h, w, c, k, filters, s, pad) in enumerate(
        [
            (2, 4, 5, 8, 3, 6, 2, "same"),
            (2, 3, 3, 5, 2, 7, 2, "valid"),
            (1, 7, 7, 16, 3, 8, 2, "valid"),
            (3, 4, 4, 12, 4, 5, 2, "same"),
            (2, 3, 5, 6, 1, 9, 3, "valid"),  # window smaller than the stride
            (8, 7, 7, 32, 3, 16, 2, "same"),
            (2, 5, 3, 6, 1, 7, 1, "same"),  # 1x1 at stride 1: one GEMM, the epilogue in its tiles
        ]
    ):
        grow = lambda size: size * s + (max(k - s, 0) if pad == "valid" else 0)  # noqa: E731
        out_shape = (n, grow(h), grow(w), filters)
        x, f, dy = rand(rng, n, h, w, c), rand(rng, k, k, filters, c), rand(rng, *out_shape)
        geo = dict(strides=(s, s), padding=pad)
        tag = f"transpose{i}:{n}x{h}x{w}x{c} k{k} f{filters} s{s} {pad}"
        yield tag + " fwd", "conv2d_grad_input", kernel("conv2d_grad_input", x, f, input_shape=out_shape, **geo)
        yield tag + " dx", "conv2d", kernel("conv2d", dy, f, None, **geo)
        yield tag + " dw", "conv2d_grad_filter", kernel("conv2d_grad_filter", dy, x, filter_shape=f.shape, **geo)
        bias, act = (rand(rng, filters) if i % 4 != 3 else None), ACTIVATIONS[i % 3]
        yield (
            f"{tag} fused {act} bias={bias is not None}",
            "conv2d_transpose",
            kernel("conv2d_transpose", x, f, bias, output_shape=out_shape, activation=act, **geo),
        )


# -- depthwise --------------------------------------------------------------------------------------


def _depthwise_triplet(rng, cid, x, wt, b, act, geo):
    yield "fwd " + cid, "depthwise_conv2d", kernel("depthwise_conv2d", x, wt, b, activation=act, **geo)
    dz = normal(rng, *_reference("depthwise_conv2d", x, wt, None, **geo).shape)
    yield (
        "grad_input " + cid,
        "depthwise_conv2d_grad_input",
        kernel("depthwise_conv2d_grad_input", dz, wt, input_shape=x.shape, **geo),
    )
    yield (
        "grad_filter " + cid,
        "depthwise_conv2d_grad_filter",
        kernel("depthwise_conv2d_grad_filter", x, dz, filter_shape=wt.shape, **geo),
    )


def _lazy_concat(parts):
    """The program part that concatenates `parts` lazily (a backend may defer the copy)."""
    return lambda be: be.run("concat", [be.upload(p) for p in parts], axis=-1, lazy=True)


# Lazy concats along channels (mostly not multiples of 4) read by the depthwise kernels, global pooling
# and other consumers: every result must equal the oracle's on the concatenated array.
LAZY_CONCATS = [
    ((3, 5), 6, 1, 1),
    ((4, 4, 7), 7, 2, 1),
    ((2, 1, 6, 3), 5, 1, 1),
    ((8, 8, 8, 8), 14, 2, 1),
    ((1, 2, 3, 4, 5), 6, 1, 1),
    ((3, 2), 5, 1, 2),
    ((32, 32), 14, 1, 1),
]


def _lazy_inputs(rng, case, widths, h):
    parts = [normal(rng, 3, h, h, c) for c in widths]
    return parts, f"lazy#{case} parts {widths} h{h}"


# Dense results a GPU backend may keep packed (webgl: 4k >= 8 columns, unpacked only when read, and read
# from the packed texture by kernels that allow it) or not (10 columns): consumers must see the values.
PACKED_RESULT_WIDTHS = (12, 10)


def _dense_result(rng, n, rows=40):
    """The program part that computes a (rows, n) dense result on the backend: small integers, exact in
    float32 (so that exact kernels such as slice can take it)."""
    x, w = (rng.integers(-4, 5, size).astype(np.float32) for size in ((rows, 16), (16, n)))
    return lambda be: be.run("dense", be.upload(x), be.upload(w))


def depthwise_cases(rng):
    for case in range(40):
        n = int(rng.integers(1, 3))
        h, w = int(rng.integers(1, 10)), int(rng.integers(1, 10))
        c = int(rng.integers(1, 11))  # mostly not a multiple of 4
        m = int(rng.choice([1, 1, 1, 2, 3]))
        kh, kw = int(rng.choice([1, 2, 3, 3, 5])), int(rng.choice([1, 3, 3, 2]))
        strides = (int(rng.choice([1, 2, 3])), int(rng.choice([1, 2])))
        padding = str(rng.choice(["same", "valid"]))
        if padding == "valid" and (h < kh or w < kw):
            padding = "same"
        act = ACTIVATIONS[case % 3]
        x, wt = normal(rng, n, h, w, c), normal(rng, kh, kw, c, m)
        b = normal(rng, c * m) if case % 2 else None
        cid = f"dw#{case} x{x.shape} w{wt.shape} s{strides} {padding} {act} bias={b is not None}"
        yield from _depthwise_triplet(rng, cid, x, wt, b, act, dict(strides=strides, padding=padding))
    # 3x3 with channels a multiple of 4 (the wasm backend's direct path): edge columns, zero rows and
    # interior loops, at widths 1-3, odd sizes, stride 1 / 2 / mixed, both paddings
    for case, (h, w, c, s, padding) in enumerate(
        [
            (1, 1, 4, 2, "same"),
            (2, 3, 8, 2, "same"),
            (3, 3, 4, 2, "valid"),
            (5, 7, 12, 2, "same"),
            (7, 5, 8, 2, "valid"),
            (9, 9, 4, (2, 1), "same"),
            (3, 1, 8, 1, "same"),
            (4, 3, 4, 1, "valid"),
            (6, 11, 8, 1, "same"),
        ]
    ):
        x, wt = normal(rng, 2, h, w, c), normal(rng, 3, 3, c, 1)
        b = normal(rng, c) if case % 2 else None
        geo = dict(strides=s if isinstance(s, tuple) else (s, s), padding=padding)
        cid = f"dw direct x{x.shape} s{s} {padding} bias={b is not None}"
        yield from _depthwise_triplet(rng, cid, x, wt, b, ACTIVATIONS[case % 3], geo)
    # the reference model's shapes (batch trimmed): 3x3, stride 1 and 2, the model's channel counts
    for n, h, c, s in [(2, 14, 16, 1), (2, 28, 16, 2), (2, 7, 96, 1), (1, 7, 192, 1)]:
        x, wt = normal(rng, n, h, h, c), normal(rng, 3, 3, c, 1)
        yield from _depthwise_triplet(
            rng, f"dw model x{x.shape} s{s}", x, wt, normal(rng, c), "relu6", dict(strides=(s, s), padding="same")
        )
    # batches large enough to be split into several tasks (threads), odd sizes so that chunks differ
    for n, h, c, s, padding in [
        (9, 9, 6, 1, "same"),
        (13, 8, 12, 2, "same"),
        (7, 10, 5, 1, "valid"),
        (11, 7, 8, 1, "same"),
        (10, 9, 8, 2, "valid"),
    ]:
        x, wt = normal(rng, n, h, h, c), normal(rng, 3, 3, c, 1)
        yield from _depthwise_triplet(
            rng, f"dw batch x{x.shape} s{s} {padding}", x, wt, None, "relu", dict(strides=(s, s), padding=padding)
        )
    for case, (widths, h, s, m) in enumerate(LAZY_CONCATS):
        parts, cid = _lazy_inputs(rng, case, widths, h)
        c = sum(widths)
        wt, b, dz_seed = normal(rng, 3, 3, c, m), normal(rng, c * m), int(rng.integers(1 << 30))
        geo = dict(strides=(s, s), padding="same")
        lazy = _lazy_concat(parts)
        yield (
            f"{cid} s{s} m{m} fwd",
            "depthwise_conv2d",
            lambda be, lazy=lazy, wt=wt, b=b, geo=geo: be.run(
                "depthwise_conv2d", lazy(be), be.upload(wt), be.upload(b), activation="relu", **geo
            ),
        )
        dz_shape = _reference("depthwise_conv2d", np.concatenate(parts, axis=-1), wt, None, **geo).shape
        dz = normal(np.random.default_rng(dz_seed), *dz_shape)
        yield (
            f"{cid} s{s} m{m} grad_filter",
            "depthwise_conv2d_grad_filter",
            lambda be, lazy=lazy, dz=dz, wt=wt, geo=geo: be.run(
                "depthwise_conv2d_grad_filter", lazy(be), be.upload(dz), filter_shape=wt.shape, **geo
            ),
        )

        def read_after_download(be, lazy=lazy, wt=wt, geo=geo):
            x = lazy(be)
            be.download(x)  # a download may materialise the concat: the kernel must read the same values
            return be.run("depthwise_conv2d", x, be.upload(wt), None, **geo)

        yield f"{cid} s{s} m{m} fwd after a download", "depthwise_conv2d", read_after_download
    # 3x3 with channels NOT a multiple of 4 (1 and the narrow students' 5, 11, 22): the wasm direct
    # path's last channel block overlaps the one before it; odd sizes so that edges and interiors both run
    for case, (c, s) in enumerate([(c, s) for c in (1, 5, 11, 22) for s in (1, 2)]):
        h, w = (7, 9) if case % 2 else (9, 6)
        padding = "valid" if case % 4 == 3 else "same"
        x, wt = normal(rng, 3, h, w, c), normal(rng, 3, 3, c, 1)
        b = normal(rng, c) if case % 2 else None
        cid = f"dw tail x{x.shape} s{s} {padding} bias={b is not None}"
        yield from _depthwise_triplet(rng, cid, x, wt, b, ACTIVATIONS[case % 3], dict(strides=(s, s), padding=padding))
    yield from _dense_block_concat_depthwise_cases(rng)


def _dense_block_concat(rng, width, count, n, h, w):
    """The program part of a dense block's concat: a lazy concat of `count` dense results of `width`
    columns viewed as (n, h, w, width) images (a GPU backend may keep them packed and stack them whole)."""
    parts = [_dense_result(rng, width, rows=n * h * w) for _ in range(count)]
    return lambda be: be.run("concat", [be.run("reshape", d(be), (n, h, w, width)) for d in parts], axis=-1, lazy=True)


# (width, count, n, h, w, filter, stride): 3x3 at stride 1 (webgl: four row neighbours per fragment), at
# stride 2 with 64+ output pixels (one pixel per quarter) and with fewer (one pixel), a 5x5; 12 columns
# are three texels per part, 8 two
DENSE_BLOCK_CONCATS = [
    (8, 3, 2, 9, 7, 3, 1),
    (12, 4, 2, 12, 12, 3, 2),
    (8, 2, 1, 8, 8, 3, 2),
    (12, 2, 1, 6, 5, 5, 1),
]


def _dense_block_concat_depthwise_cases(rng):
    for width, count, n, h, w, k, s in DENSE_BLOCK_CONCATS:
        lazy = _dense_block_concat(rng, width, count, n, h, w)
        c = width * count
        wt, b = normal(rng, k, k, c, 1), normal(rng, c)
        geo = dict(strides=(s, s), padding="same")
        cid = f"dense block concat {count}x{width} ({n}, {h}, {w}) k{k} s{s}"
        yield (
            f"{cid} fwd",
            "depthwise_conv2d",
            lambda be, lazy=lazy, wt=wt, b=b, geo=geo: be.run(
                "depthwise_conv2d", lazy(be), be.upload(wt), be.upload(b), activation="relu6", **geo
            ),
        )
        dz = normal(rng, *_reference("depthwise_conv2d", np.zeros((n, h, w, c), np.float32), wt, None, **geo).shape)

        def forward_and_grad_filter(be, lazy=lazy, wt=wt, dz=dz, geo=geo):
            x = lazy(be)  # read stacked by the forward, then as one array by the filter gradient, then stacked
            y = be.run("depthwise_conv2d", x, be.upload(wt), None, **geo)
            g = be.run("depthwise_conv2d_grad_filter", x, be.upload(dz), filter_shape=wt.shape, **geo)
            return {"y": y, "g": g, "again": be.run("depthwise_conv2d", x, be.upload(wt), None, **geo)}

        yield f"{cid} fwd and grad_filter", "depthwise_conv2d", forward_and_grad_filter
    # a dense block's growing inputs (a GPU backend may append each new part to the last stack) and a
    # branch off an input that was grown already: each concat must keep its own parts
    n, h, w = 2, 6, 5
    d1, d2, d3, d4 = (_dense_result(rng, 8, rows=n * h * w) for _ in range(4))
    wt, wt16 = normal(rng, 3, 3, 24, 1), normal(rng, 3, 3, 16, 1)

    def grown_and_branched(be):
        parts = [be.run("reshape", d(be), (n, h, w, 8)) for d in (d1, d2, d3, d4)]
        x12, x123, x124 = (
            be.run("concat", [parts[i] for i in ids], axis=-1, lazy=True) for ids in ((0, 1), (0, 1, 2), (0, 1, 3))
        )

        def dw(x, f):
            return be.run("depthwise_conv2d", x, be.upload(f), None, strides=(1, 1), padding="same")

        return {
            "12": dw(x12, wt16),
            "123": dw(x123, wt),
            "124": dw(x124, wt),
            "gap123": be.run("global_avg_pool", x123),
        }

    yield "dense block concats grown and branched", "depthwise_conv2d", grown_and_branched


# -- pooling ----------------------------------------------------------------------------------------


def pooling_cases(rng):
    for case in range(30):
        n, h, w, c = int(rng.integers(1, 3)), int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 10))
        pool = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        strides = (int(rng.integers(1, 4)), int(rng.integers(1, 3)))
        padding = str(rng.choice(["same", "valid"]))
        if padding == "valid" and (h < pool[0] or w < pool[1]):
            padding = "same"
        x = normal(rng, n, h, w, c)
        if case % 4 == 0:
            x = np.round(x)  # ties inside windows: the gradient must go to the FIRST maximum
        geo = dict(pool_size=pool, strides=strides, padding=padding)
        cid = f"pool#{case} x{x.shape} {geo}"
        y = _reference("max_pool2d", x, **geo)
        dy = normal(rng, *y.shape)
        yield "max " + cid, "max_pool2d", kernel("max_pool2d", x, **geo)
        yield "max_grad " + cid, "max_pool2d_grad", kernel("max_pool2d_grad", dy, x, y, **geo)
        yield "avg " + cid, "avg_pool2d", kernel("avg_pool2d", x, **geo)
        yield "avg_grad " + cid, "avg_pool2d_grad", kernel("avg_pool2d_grad", dy, input_shape=x.shape, **geo)
        yield "gap " + cid, "global_avg_pool", kernel("global_avg_pool", x)
        yield (
            "gap_grad " + cid,
            "global_avg_pool_grad",
            kernel("global_avg_pool_grad", normal(rng, n, c), input_shape=x.shape),
        )
    # over a dense result a GPU backend may keep packed (12 channels: four per texel)
    for n, h, w in [(2, 3, 3), (3, 1, 5)]:
        d = _dense_result(rng, 12, rows=n * h * w)
        yield (
            f"gap of a dense result ({n}, {h}, {w}, 12)",
            "global_avg_pool",
            lambda be, d=d, shape=(n, h, w, 12): be.run("global_avg_pool", be.run("reshape", d(be), shape)),
        )
    for case, (n, h, w, c, size) in enumerate(
        [
            (1, 1, 1, 1, (2, 2)),
            (2, 5, 3, 7, (2, 2)),
            (3, 4, 6, 4, (3, 2)),
            (1, 7, 7, 9, (1, 3)),
            (4, 14, 14, 16, (2, 2)),
        ]
    ):
        x = normal(rng, n, h, w, c)
        cid = f"upsample#{case} x{x.shape} size={size}"
        dy = normal(rng, n, h * size[0], w * size[1], c)
        yield cid, "upsample_nearest2d", kernel("upsample_nearest2d", x, size=size)
        yield "grad " + cid, "upsample_nearest2d_grad", kernel("upsample_nearest2d_grad", dy, size=size)
    for case, (widths, h, _, _) in enumerate(LAZY_CONCATS):
        parts, cid = _lazy_inputs(rng, case, widths, h)
        yield (
            f"gap {cid}",
            "global_avg_pool",
            lambda be, lazy=_lazy_concat(parts): be.run("global_avg_pool", lazy(be)),
        )
    for width, count, n, h, w, _, _ in DENSE_BLOCK_CONCATS:
        lazy = _dense_block_concat(rng, width, count, n, h, w)

        def gap_and_read(be, lazy=lazy):
            x = lazy(be)
            return {"gap": be.run("global_avg_pool", x), "x": be.run("relu", x)}

        yield f"gap of a dense block concat {count}x{width} ({n}, {h}, {w})", "global_avg_pool", gap_and_read


# -- norm -------------------------------------------------------------------------------------------


def norm_cases(rng):
    for i, shape in enumerate([(2, 5, 3, 7), (4, 6), (3, 4, 4, 16), (1, 1, 1, 5), (64, 33), (8, 7, 7, 20)]):
        c = shape[-1]
        x = (rng.standard_normal(shape) * 3 + 5).astype(np.float32)  # an offset mean: tests a two-pass variance
        gamma, beta = normal(rng, c), normal(rng, c)
        cid = f"bn#{i} x{shape}"
        yield "train " + cid, "batch_norm_train", kernel("batch_norm_train", x, gamma, beta, epsilon=1e-3)
        _, mean, var = _reference("batch_norm_train", x, gamma, beta, epsilon=1e-3)
        yield ("infer " + cid, "batch_norm_infer", kernel("batch_norm_infer", x, gamma, beta, mean, var, epsilon=1e-3))
        dy = normal(rng, *shape)
        yield "grad " + cid, "batch_norm_grad", kernel("batch_norm_grad", dy, x, gamma, mean, var, epsilon=1e-3)


# -- loss -------------------------------------------------------------------------------------------


def loss_cases(rng):
    for i, (n, k) in enumerate([(1, 1), (5, 3), (32, 10), (7, 13), (3, 4)]):
        logits = (rng.standard_normal((n, k)) * (30 if i == 4 else 3)).astype(np.float32)  # i=4: extreme logits
        sparse_labels = rng.integers(0, k, n).astype(np.int32)
        onehot = np.eye(k, dtype=np.float32)[sparse_labels]
        soft = rng.random((n, k)).astype(np.float32)
        soft /= soft.sum(axis=1, keepdims=True)  # soft (label-smoothed) targets go through the one-hot path
        g = np.asarray(rng.random() + 0.5, dtype=np.float32)
        for labels, sparse, tag in [(sparse_labels, True, "sparse"), (onehot, False, "onehot"), (soft, False, "soft")]:
            cid = f"xent#{i} ({n},{k}) {tag}"
            yield cid, "softmax_xent", kernel("softmax_xent", logits, labels, sparse=sparse)
            probs = _reference("softmax_xent", logits, labels, sparse=sparse)[1]
            yield "grad " + cid, "softmax_xent_grad", kernel("softmax_xent_grad", probs, labels, g, sparse=sparse)
            if tag != "soft":
                yield "count " + cid, "count_correct", kernel("count_correct", logits, labels, sparse=sparse)
        for shape in [(n, k), (2, 3, k)]:
            a = (rng.standard_normal(shape) * 4).astype(np.float32)
            yield f"softmax {shape}", "softmax", kernel("softmax", a, axis=-1)
            yield f"log_softmax {shape}", "log_softmax", kernel("log_softmax", a, axis=-1)
    for i, shape in enumerate([(1, 1), (6, 2), (2, 7, 5, 3), (3, 16, 16, 11)]):
        logits = normal(rng, *shape)
        if i == 1:
            logits[:, 1] = logits[:, 0]  # ties: the first maximum is the prediction
        labels = rng.integers(0, shape[-1], shape[:-1]).astype(np.int32)
        yield f"confusion#{i} {shape}", "confusion_matrix", kernel("confusion_matrix", logits, labels)
    # Rows of two (a segmentation head's per-pixel classes; wasm runs them four rows at a time), a row count
    # that leaves a scalar tail, extreme logits (exp underflows to 0), and rows of 4..9 (vector + scalar tail).
    for shape, spread in [((4, 9, 7, 2), 4.0), ((3, 2), 60.0), ((5, 3, 2), 200.0), ((7, 9), 4.0), ((6, 4), 40.0)]:
        a = (rng.standard_normal(shape) * spread).astype(np.float32)
        yield f"softmax {shape} x{spread:g}", "softmax", kernel("softmax", a, axis=-1)
    a = normal(rng, 3, 4, 5)
    yield "softmax (3, 4, 5) axis=0", "softmax", kernel("softmax", a, axis=0)
    yield "log_softmax (3, 4, 5) axis=1", "log_softmax", kernel("log_softmax", a, axis=1)
    logits = normal(rng, 4, 3)
    yield (
        "softmax_xent float sparse labels",
        "softmax_xent",
        kernel("softmax_xent", logits, np.array([0, 2, 1, 1], np.float32), sparse=True),
    )


# -- optim ------------------------------------------------------------------------------------------


OPTIMIZER_SHAPES = [(3, 3, 5, 1), (7,), (13, 6), (1,), (4, 4, 3, 9)]


def _updates(name, groups, group_names, steps):
    """The program that uploads the parameter groups, runs the in-place update once per step's attrs and
    returns every updated array, named by group and index."""

    def program(be):
        device = [[be.upload(a) for a in group] for group in groups]
        for attrs in steps:
            be.run(name, *device, **attrs)
        return {
            f"{g}{j}{a.shape}": d
            for g, group, dgroup in zip(group_names, groups, device)
            for j, (a, d) in enumerate(zip(group, dgroup))
        }

    return program


def optim_cases(rng):
    def fresh():
        return [normal(rng, *s) for s in OPTIMIZER_SHAPES]

    for i, settings in enumerate(
        [
            dict(),
            dict(weight_decay=0.01),
            dict(weight_decay=0.02, decoupled=False),
            dict(lr=0.01, beta1=0.8, beta2=0.99, epsilon=1e-5),
        ]
    ):
        groups = [fresh(), fresh(), fresh(), [np.abs(v) for v in fresh()]]
        steps = [dict(step=step, **settings) for step in (1, 2, 7)]  # bias correction changes with the step
        yield f"adam#{i} {settings}", "adam_update", _updates("adam_update", groups, "pgmv", steps)
    for n in PACKED_RESULT_WIDTHS:
        p, m, v, gradient = normal(rng, 40, n), normal(rng, 40, n), np.abs(normal(rng, 40, n)), _dense_result(rng, n)

        def adam_of_a_dense_gradient(be, p=p, m=m, v=v, gradient=gradient):
            device = [be.upload(p), be.upload(m), be.upload(v)]
            be.run("adam_update", [device[0]], [gradient(be)], [device[1]], [device[2]], step=3)
            return dict(zip("pmv", device))

        yield f"adam of a dense gradient n{n}", "adam_update", adam_of_a_dense_gradient
    for i, settings in enumerate(
        [
            dict(),
            dict(momentum=0.9),
            dict(momentum=0.9, nesterov=True, weight_decay=0.01),
            dict(lr=0.1, weight_decay=0.05),
        ]
    ):
        groups = [fresh(), fresh(), fresh()]
        yield f"sgd#{i} {settings}", "sgd_update", _updates("sgd_update", groups, ["p", "g", "vel"], [settings] * 3)


# -- shape ------------------------------------------------------------------------------------------


def shape_cases(rng):
    base = (2, 3, 5)
    for axis in (-1, 0, 1, 2):
        parts = []
        for width in (3, 1, 6, 4, 2):  # 5 inputs: the pointer-list path; the first 2: the strided path
            shape = list(base)
            shape[axis] = width
            parts.append(normal(rng, *shape))
        yield f"concat 2 axis={axis}", "concat", kernel("concat", parts[:2], axis=axis)
        yield f"concat 5 axis={axis}", "concat", kernel("concat", parts, axis=axis)
        a = parts[2]
        for start, stop in [(0, 2), (1, 6), (2, 3), (-3, None), (4, 100)]:
            yield (
                f"slice {a.shape} axis={axis} [{start}:{stop}]",
                "slice",
                kernel("slice", a, axis=axis, start=start, stop=stop),
            )
        for lazy in (True, False):  # along another axis than the last, or not asked: the copy is made at once
            yield (f"concat 2 axis={axis} lazy={lazy}", "concat", kernel("concat", [a, a], axis=axis, lazy=lazy))
    ints = rng.integers(-9, 9, (4, 6, 7)).astype(np.int32)
    yield "concat int32", "concat", kernel("concat", [ints, ints[..., :2]], axis=-1)
    # more parts than one GPU dispatch binds (7 sources): the next dispatch fills the remaining columns
    many = [normal(rng, 3, 4, w) for w in (1, 2, 3, 1, 4, 2, 5, 3, 1)]
    yield "concat 9 parts axis=-1", "concat", kernel("concat", many, axis=-1)
    a = normal(rng, 4, 3, 5, 2)
    for shape in [(4, -1), (-1,), (60, 2), (2, 2, 3, 10), 120]:
        yield f"reshape {a.shape} -> {shape}", "reshape", kernel("reshape", a, shape=shape)
    g = rand(rng, 4, 5, 6)
    for shape in [(20, 6), (-1,), (2, -1, 3), (4, 5, 6, 1)]:
        yield f"reshape {g.shape} -> {shape}", "reshape", kernel("reshape", g, shape=shape)
    for shape in [(1, 1), (3, 17), (33, 20), (64, 10)]:
        a = normal(rng, *shape)
        yield f"transpose {shape}", "transpose", kernel("transpose", a)
        yield f"transpose {shape} axes=(1,0)", "transpose", kernel("transpose", a, axes=(1, 0))
    yield "transpose (3, 4, 5) axes=(2,0,1)", "transpose", kernel("transpose", normal(rng, 3, 4, 5), axes=(2, 0, 1))
    for src, shape in [((5,), (3, 5)), ((1, 4), (6, 4)), ((3, 1), (3, 7)), ((), (2, 3)), ((2, 1, 3), (2, 4, 3))]:
        yield f"broadcast_to {src} -> {shape}", "broadcast_to", kernel("broadcast_to", normal(rng, *src), shape=shape)
    x = (rng.standard_normal((3, 7)) * 5).astype(np.float32)
    yield "cast float32 -> int32", "cast", kernel("cast", x, dtype="int32")
    yield "cast int32 -> float32", "cast", kernel("cast", ints, dtype="float32")
    pixels = rng.integers(0, 256, (3, 5, 7, 1)).astype(np.uint8)
    yield "from_uint8 (3, 5, 7, 1)", "from_uint8", kernel("from_uint8", pixels)
    yield "from_uint8 (3, 5, 7, 1) scale=1/127.5", "from_uint8", kernel("from_uint8", pixels, scale=1 / 127.5)
    yield from _add_parts_cases(rng)
    yield from _blocked_concat_cases(rng)
    for n in PACKED_RESULT_WIDTHS:
        d1, d2 = _dense_result(rng, n), _dense_result(rng, n)
        yield (
            f"add_parts of dense results n{n}",
            "add_parts",
            lambda be, d1=d1, d2=d2, n=n: be.run("add_parts", [d1(be), d2(be), d1(be)], [None, None, None]),
        )
        yield (
            f"add_parts of dense result slices n{n}",
            "add_parts",
            lambda be, d1=d1, d2=d2, n=n: be.run("add_parts", [d1(be), d2(be)], [(1, 1, n - 1), (1, 2, n)]),
        )
        yield (
            f"slice of a dense result n{n}",
            "slice",
            lambda be, d1=d1, n=n: be.run("slice", d1(be), axis=1, start=1, stop=n - 2),
        )
    # slices on multiples of 4 columns and more parts than one draw takes (a GPU backend may add packed
    # forms four values at a time, the running sum packed too)
    d1, d2 = _dense_result(rng, 16), _dense_result(rng, 16)
    yield (
        "add_parts of dense result slices on 4-column bounds",
        "add_parts",
        lambda be: be.run("add_parts", [d1(be), d2(be)], [(1, 4, 12), (1, 8, 16)]),
    )
    yield (
        "add_parts of six dense results",
        "add_parts",
        lambda be: be.run("add_parts", [d1(be), d2(be)] * 3, [None, (0, 0, 40)] * 3),
    )
    for case, (widths, h, _, _) in enumerate(LAZY_CONCATS):
        parts, cid = _lazy_inputs(rng, case, widths, h)
        c, lazy = sum(widths), _lazy_concat(parts)
        yield f"download {cid}", "concat", lazy
        yield (
            f"slice {cid}",
            "slice",
            lambda be, lazy=lazy, c=c: be.run("slice", lazy(be), axis=3, start=1, stop=c - 1),
        )
        yield f"reshape {cid}", "reshape", lambda be, lazy=lazy: be.run("reshape", lazy(be), (3, -1))


def _blocked_concat_cases(rng):
    """Concats of dense results of 64+ rows (a GPU backend may compute them in 4x4 blocks, the rows in
    four quarters, put in row order by one more step): 67 rows leave the last quarter one row short;
    parts read before or after the concat, repeated, more than four."""
    b12, b8, b16 = (_dense_result(rng, n, rows=67) for n in (12, 8, 16))
    tall = [_dense_result(rng, 8, rows=67) for _ in range(5)]

    def concat(*parts):
        return lambda be: be.run("concat", [p(be) for p in parts], axis=-1)

    yield "concat of two blocked dense results", "concat", concat(b12, b8)
    yield "concat of four blocked dense results", "concat", concat(b8, b12, b16, b8)
    yield "concat of five blocked dense results", "concat", concat(*tall)

    def read_before_and_after(be):
        first, second = b12(be), b8(be)
        before = be.run("add", first, first)  # read as R32F before the concat
        joined = be.run("concat", [first, second, second], axis=-1)
        return {"before": before, "concat": joined, "after": be.run("relu", second)}

    yield "concat of blocked dense results read before and after", "concat", read_before_and_after


def _add_parts_cases(rng):
    """The sums behind autograd's gradient accumulation: whole parts and slices of parts, small odd shapes
    and shapes large enough to be split over threads (over 65,536 floats)."""
    for shape in [(3, 5), (2, 3, 3, 7), (1, 1, 1, 1), (32, 14, 14, 32), (4, 33, 29, 13)]:
        dy, y = normal(rng, *shape), normal(rng, *shape)
        yield f"add_parts {shape} x3", "add_parts", kernel("add_parts", [dy, y, dy], [None, None, None])
        # more parts than one C call of the wasm backend takes (4): the running sum leads the next call
        yield f"add_parts {shape} x8", "add_parts", kernel("add_parts", [dy, y] * 4, [None] * 8)
    # (2, 5, 6, 33): slices 11 and 22 channels wide, a dense block's gradient at alpha 0.35
    for shape, axis in [((4, 5, 6, 11), 3), ((2, 5, 6, 33), 3), ((32, 7, 7, 256), 3), ((5, 9, 4), 1), ((6, 10), 0)]:
        g = normal(rng, *shape)
        size = shape[axis]
        for start, stop in [(0, size // 3), (size // 3, size), (1, 2)]:
            part = list(shape)
            part[axis] = stop - start
            whole, g2 = normal(rng, *part), normal(rng, *shape)
            # a slice alone, a whole array and two slices of different gradients, in mixed orders
            for arrays, slices in [
                ([g], [(axis, start, stop)]),
                ([whole, g, g2], [None, (axis, start, stop), (axis, start, stop)]),
                ([g, whole], [(axis - len(shape), start, stop), None]),
            ]:
                yield (
                    f"add_parts {shape} axis={axis} [{start}:{stop}] {len(arrays)} parts",
                    "add_parts",
                    kernel("add_parts", arrays, slices),
                )
        parts = [normal(rng, *(shape[:axis] + (w,) + shape[axis + 1 :])) for w in (3, 5)]
        yield f"concat large {shape} axis={axis}", "concat", kernel("concat", parts, axis=axis)


# -- elementwise ------------------------------------------------------------------------------------


def elementwise_cases(rng):
    pairs = [
        ((37,), (37,)),
        ((2, 3, 5), ()),
        ((1,), (4, 6)),
        ((2, 3, 5), (5,)),
        ((2, 3, 5), (1, 5)),
        ((5,), (4, 5)),
        ((4, 1, 3), (4, 1, 3)),
        ((3, 1), (1, 4)),
    ]
    for name in ("add", "sub", "mul", "div", "maximum"):
        for sa, sb in pairs:
            a = rand(rng, *sa)
            b = rand(rng, *sb, low=0.5, high=2.0) if name == "div" else rand(rng, *sb)
            yield f"{name} {sa} {sb}", name, kernel(name, a, b)
    x = rand(rng, 3, 7, 5, low=-8, high=8)
    positive = rand(rng, 3, 7, 5, low=0.01, high=8)
    yield "scale", "scale", kernel("scale", x, alpha=-1.5, beta=0.25)
    for name in ("relu", "relu6", "where_positive", "neg", "abs", "square", "sigmoid", "tanh", "exp"):
        yield name, name, kernel(name, x)
    for n in PACKED_RESULT_WIDTHS:
        d1, d2 = _dense_result(rng, n), _dense_result(rng, n)
        yield f"add of dense results n{n}", "add", lambda be, d1=d1, d2=d2: be.run("add", d1(be), d2(be))
        yield f"relu of a dense result n{n}", "relu", lambda be, d1=d1: be.run("relu", d1(be))
    for name in ("log", "sqrt"):
        yield name, name, kernel(name, positive)
    yield "pow_scalar 3", "pow_scalar", kernel("pow_scalar", x, 3)
    yield "pow_scalar 0.5", "pow_scalar", kernel("pow_scalar", positive, 0.5)
    yield "clip -1 2.5", "clip", kernel("clip", x, -1.0, 2.5)
    dy = rand(rng, 3, 7, 5)
    outputs = {
        "relu": np.maximum(x, 0),
        "relu6": np.clip(x, 0, 6),
        "sigmoid": (1 / (1 + np.exp(-x))).astype(np.float32),
        "tanh": np.tanh(x),
    }
    for act, y in outputs.items():
        yield f"activation_grad {act}", "activation_grad", kernel("activation_grad", dy, y, activation=act)
    big = rand(rng, 4, 9, 11, 6)
    for name in ("sum", "mean", "max"):
        for axis, keep in [(None, False), (None, True), ((0, 1, 2), False), ((0, 1, 2), True), (-1, False)]:
            yield f"{name} axis={axis} keepdims={keep}", name, kernel(name, big, axis=axis, keepdims=keep)
    yield "sum 2-d axis=0", "sum", kernel("sum", rand(rng, 300, 3), axis=0)
    for axis in (-1, 0, 1):
        yield f"argmax axis={axis}", "argmax", kernel("argmax", np.round(big * 4), axis=axis)  # ties: the first
    g = rand(rng, 4, 5, 6)
    for shape in [(6,), (1, 1, 6), (), (1,), (5, 6), (5, 1)]:
        yield f"sum_to_shape {shape}", "sum_to_shape", kernel("sum_to_shape", g, shape=shape)
    for shape in [(4, 5, 6, 7), (3, 13), (1000, 3), (5,)]:
        yield f"bias_grad {shape}", "bias_grad", kernel("bias_grad", rand(rng, *shape))
    # column sums of dense results a GPU backend may keep packed (40 rows: one part; 400: partial sums)
    for n in PACKED_RESULT_WIDTHS:
        for rows in (40, 400):
            d = _dense_result(rng, n, rows)
            yield f"bias_grad of a dense result {rows}x{n}", "bias_grad", lambda be, d=d: be.run("bias_grad", d(be))
            yield f"sum axis=0 of a dense result {rows}x{n}", "sum", lambda be, d=d: be.run("sum", d(be), axis=0)
    # autograd's backward kernels on small odd shapes and shapes large enough to be split over threads
    for shape in [(3, 5), (2, 3, 3, 7), (1, 1, 1, 1), (32, 14, 14, 32), (4, 33, 29, 13)]:
        dy = normal(rng, *shape)
        y = (rng.standard_normal(shape) * 4 + 2).astype(np.float32)  # some above 6 for relu6
        for act in ("relu", "relu6", "sigmoid", "tanh", None):
            yield (
                f"activation_bias_grad {shape} {act}",
                "activation_bias_grad",
                kernel("activation_bias_grad", dy, y, activation=act),
            )
            yield f"activation_grad {shape} {act}", "activation_grad", kernel("activation_grad", dy, y, activation=act)
        for a, b in [(dy, y), (dy, y[0]), (dy, np.full((), 2.5, np.float32))]:
            yield f"add {a.shape} + {b.shape}", "add", kernel("add", a, b)
    # the same on dense results a GPU backend may keep packed (12 columns) or not (10), in every pairing
    for act in ("relu", "relu6", "tanh"):
        for n_dy, n_y in [(12, 12), (10, 12), (12, 10)]:
            dy_part, y_part = _dense_result(rng, n_dy, 1200 // n_dy), _dense_result(rng, n_y, 1200 // n_y)
            yield (
                f"activation_bias_grad of dense results ({n_dy}, {n_y} columns) {act}",
                "activation_bias_grad",
                lambda be, dy_part=dy_part, y_part=y_part, act=act: be.run(
                    "activation_bias_grad",
                    be.run("reshape", dy_part(be), (-1, 12)),
                    be.run("reshape", y_part(be), (-1, 12)),
                    activation=act,
                ),
            )
    for case, (widths, h, _, _) in enumerate(LAZY_CONCATS):
        parts, cid = _lazy_inputs(rng, case, widths, h)
        other = normal(rng, 3, h, h, sum(widths))
        yield (
            f"add {cid}",
            "add",
            lambda be, lazy=_lazy_concat(parts), other=other: be.run("add", lazy(be), be.upload(other)),
        )


# -- remap ------------------------------------------------------------------------------------------


def remap_cases(rng):
    from pybrowserml.layers.augmentation import source_indices

    for (n, h, w, c), mode in [
        ((3, 7, 5, 1), "constant"),
        ((2, 28, 28, 1), "reflect"),
        ((4, 6, 9, 5), "nearest"),
        ((2, 8, 8, 3), "wrap"),
        ((1, 4, 4, 2), "constant"),
    ]:
        x = normal(rng, n, h, w, c)
        rows_map = source_indices(rng.integers(-h - 2, h + 3, n), h, mode)
        cols_map = source_indices(rng.integers(-w - 2, w + 3, n), w, mode)
        cid = f"{(n, h, w, c)} {mode}"
        yield f"remap_pixels {cid}", "remap_pixels", kernel("remap_pixels", x, rows_map, cols_map, fill_value=-0.5)
        dy = normal(rng, n, h, w, c)
        yield (
            f"remap_pixels_grad {cid}",
            "remap_pixels_grad",
            kernel("remap_pixels_grad", dy, rows_map, cols_map, input_shape=x.shape),
        )


CASES_BY_FAMILY = {
    "gemm": gemm_cases,
    "conv": conv_cases,
    "depthwise": depthwise_cases,
    "pooling": pooling_cases,
    "norm": norm_cases,
    "loss": loss_cases,
    "optim": optim_cases,
    "shape": shape_cases,
    "elementwise": elementwise_cases,
    "remap": remap_cases,
}
assert set(CASES_BY_FAMILY) == set(KERNELS_BY_FAMILY), "one case generator per kernel family"


def family_cases(family, seed=0):
    """(case_id, kernel, program) of every case of `family`; the same inputs for the same seed."""
    rng = np.random.default_rng([seed, list(CASES_BY_FAMILY).index(family)])
    for case_id, kernel_name, program in CASES_BY_FAMILY[family](rng):
        if FAMILY_OF.get(kernel_name) != family:
            raise ValueError(f"case {case_id!r} checks kernel {kernel_name!r}, which is not in family {family!r}")
        yield case_id, kernel_name, program


def run_family(backend, family, oracle=None, seed=0):
    """Rows [case_id, kernel, error, scale, native] of every case of `family` on `backend`."""
    oracle = get_backend("numpy") if oracle is None else oracle
    rows = []
    for case_id, kernel_name, program in family_cases(family, seed):
        compare(rows, backend, oracle, case_id, kernel_name, program)
    return rows
