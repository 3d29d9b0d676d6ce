"""Case code for the WASM GEMM-family kernels, shared by test_wasm_kernels_gemm.py (single-threaded
page) and test_wasm_threads.py (crossOriginIsolated page, threaded kernels). The strings run inside
a Pyodide page; ``setup(create)`` picks how the backend under test is created."""

TOLERANCE = 1e-4  # max |wasm - numpy| / (1 + max |numpy|): float32 sums in a different order

SETUP_TEMPLATE = r"""
import numpy as np
from pybrowserml.backends import set_backend_async
from pybrowserml.backends.wasm import create_async
from pybrowserml.backends.numpy_backend import KERNELS as REFERENCE

wasm = {create}
rng = np.random.default_rng(1234)

def rand(*shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)

def compare(case_id, name, args, attrs=None):
    # run kernel `name` on numpy and on wasm with the same inputs; one result row per case
    attrs = attrs or {}
    ref = np.asarray(REFERENCE[name](*args, **attrs))
    device_args = [wasm.upload(a) if isinstance(a, np.ndarray) else a for a in args]
    before = wasm.fallback_counts.get(name, 0)
    got = wasm.download(wasm.run(name, *device_args, **attrs))
    fell_back = wasm.fallback_counts.get(name, 0) != before
    same_shape = tuple(got.shape) == tuple(ref.shape)
    err = float(np.max(np.abs(got - ref)) / (1.0 + np.max(np.abs(ref)))) if ref.size and same_shape else 0.0
    return {"id": case_id, "err": err, "shape": same_shape, "dtype": str(got.dtype) == str(ref.dtype),
            "fallback": fell_back}
"""


def setup(create='await set_backend_async("wasm")'):
    """The page code that defines rand() and compare() for a backend made by `create`."""
    return SETUP_TEMPLATE.replace("{create}", create)


def check(rows, expect_fallback=()):
    assert rows, "no cases ran"
    for row in rows:
        assert row["shape"] and row["dtype"], f"{row['id']}: wrong shape or dtype"
        assert row["err"] <= TOLERANCE, f"{row['id']}: error {row['err']:.2e} > {TOLERANCE}"
        assert row["fallback"] == (row["id"] in expect_fallback), (
            f"{row['id']}: {'fell back to numpy' if row['fallback'] else 'unexpectedly ran on wasm'}")


CONV_CASES = r"""
cases = [  # n, h, w, c, kh, kw, o, strides, padding, bias, activation
    (2, 7, 9, 3, 3, 3, 5, (1, 1), "same", True, "relu"),
    (3, 8, 8, 4, 3, 3, 8, (2, 2), "same", False, None),
    (2, 9, 7, 5, 3, 3, 6, (2, 2), "valid", True, "relu6"),
    (1, 5, 5, 1, 5, 5, 3, (1, 1), "same", True, None),
    (2, 6, 6, 7, 1, 1, 9, (1, 1), "same", True, "relu"),
    (2, 7, 7, 6, 1, 1, 5, (2, 2), "same", False, None),
    (1, 4, 6, 3, 2, 3, 4, (1, 2), "same", True, "relu"),
    (2, 16, 16, 64, 3, 3, 8, (1, 1), "same", True, "relu"),   # K=576: 3 im2col chunks, 3 K blocks
    (3, 28, 28, 1, 3, 3, 16, (1, 1), "same", True, "relu"),
    (1, 3, 3, 2, 3, 3, 3, (2, 2), "valid", False, None),       # a single output pixel
    (2, 5, 7, 300, 1, 1, 13, (1, 1), "same", True, "relu6"),   # pointwise, K=300: two K blocks, edge tiles
    (3, 6, 6, 8, 1, 1, 16, (1, 1), "same", True, None),       # pointwise, whole tiles: unpacked grad_filter
]
rows = []
for i, (n, h, w, c, kh, kw, o, s, pad, has_bias, act) in enumerate(cases):
    tag = f"conv{i}:{n}x{h}x{w}x{c} k{kh}x{kw} o{o} s{s} {pad}"
    x, f = rand(n, h, w, c), rand(kh, kw, c, o)
    b = rand(o) if has_bias else None
    rows.append(compare(tag + " fwd", "conv2d", [x, f, b], dict(strides=s, padding=pad, activation=act)))
    y = REFERENCE["conv2d"](x, f, None, strides=s, padding=pad)
    dz = rand(*y.shape)
    rows.append(compare(tag + " dx", "conv2d_grad_input", [dz, f],
                        dict(input_shape=x.shape, strides=s, padding=pad)))
    rows.append(compare(tag + " dw", "conv2d_grad_filter", [x, dz],
                        dict(filter_shape=f.shape, strides=s, padding=pad)))
rows
"""


# Few input channels: conv2d and conv2d_grad_filter take the direct kernels (conv_direct.c);
# grad_input stays on im2col + GEMM and is checked on the same shapes. Odd sizes, ow < 4 (no full
# 4-pixel tile), output channels not divisible by 4 or 8, windows larger than the image, stride 2,
# and two batches large enough (> 2 MFLOP) for the threaded build to split them into tasks.
DIRECT_CASES = r"""
from pybrowserml.backends.wasm.kernels.conv import uses_direct_conv
cases = [  # n, h, w, c, kh, kw, o, strides, padding, bias, activation
    (2, 7, 9, 1, 3, 3, 5, (1, 1), "same", True, "relu"),
    (3, 8, 11, 2, 3, 3, 16, (2, 2), "same", False, None),
    (2, 9, 7, 3, 5, 5, 6, (2, 2), "valid", True, "relu6"),
    (1, 5, 6, 4, 2, 3, 12, (1, 2), "same", True, None),
    (2, 6, 5, 1, 5, 5, 3, (1, 1), "valid", False, "relu6"),
    (1, 3, 3, 2, 3, 3, 7, (2, 2), "valid", True, "relu"),      # a single output pixel
    (2, 10, 3, 3, 1, 3, 9, (1, 1), "same", True, "relu"),      # 1x3 window, rows of 3 pixels
    (2, 13, 13, 4, 3, 3, 13, (2, 2), "same", False, "relu"),
    (1, 4, 4, 1, 7, 7, 4, (1, 1), "same", True, None),         # the window is larger than the image
    (2, 11, 9, 2, 4, 4, 1, (1, 1), "same", True, "relu6"),     # even window: the extra padding goes after
    (16, 28, 28, 1, 3, 3, 16, (1, 1), "same", True, "relu"),   # the reference stem, split into tasks
    (6, 20, 18, 3, 3, 3, 20, (2, 1), "same", True, "relu6"),
]
rows = []
for i, (n, h, w, c, kh, kw, o, s, pad, has_bias, act) in enumerate(cases):
    assert uses_direct_conv(c, kh, kw), (c, kh, kw)
    tag = f"direct{i}:{n}x{h}x{w}x{c} k{kh}x{kw} o{o} s{s} {pad} {act}"
    x, f = rand(n, h, w, c, high=3.0), rand(kh, kw, c, o)   # outputs above 6 too (relu6)
    b = rand(o) if has_bias else None
    rows.append(compare(tag + " fwd", "conv2d", [x, f, b], dict(strides=s, padding=pad, activation=act)))
    y = REFERENCE["conv2d"](x, f, None, strides=s, padding=pad)
    dz = rand(*y.shape)
    rows.append(compare(tag + " dx", "conv2d_grad_input", [dz, f], dict(input_shape=x.shape, strides=s, padding=pad)))
    rows.append(compare(tag + " dw", "conv2d_grad_filter", [x, dz], dict(filter_shape=f.shape, strides=s, padding=pad)))
rows
"""


GEMM_CASES = r"""
rows = []
for m, k, n in [(1, 1, 1), (5, 3, 7), (33, 300, 17), (200, 40, 9), (5, 300, 1030), (97, 513, 130), (36, 300, 24)]:
    for ta in (False, True):
        for tb in (False, True):
            a = rand(k, m) if ta else rand(m, k)
            b = rand(n, k) if tb else rand(k, n)
            rows.append(compare(f"matmul {m}x{k}x{n} ta={ta} tb={tb}", "matmul", [a, b],
                                dict(transpose_a=ta, transpose_b=tb)))
for shape, units, has_bias, act in [((32, 50), 10, True, None), ((2, 3, 5), 7, True, "relu"),
                                    ((7, 129), 33, False, "relu6"), ((1, 1), 1, True, "relu")]:
    x, w = rand(*shape), rand(shape[-1], units)
    b = rand(units) if has_bias else None
    rows.append(compare(f"dense {shape}->{units} {act}", "dense", [x, w, b], dict(activation=act)))
for shape in [(4, 5, 6, 7), (3, 13), (1000, 3), (5,)]:
    rows.append(compare(f"bias_grad {shape}", "bias_grad", [rand(*shape)]))
rows
"""


ELEMENTWISE_CASES = r"""
rows = []
pairs = [((37,), (37,)), ((2, 3, 5), ()), ((1,), (4, 6)), ((2, 3, 5), (5,)), ((2, 3, 5), (1, 5)),
         ((5,), (4, 5)), ((4, 1, 3), (4, 1, 3)), ((3, 1), (1, 4))]
for name in ("add", "sub", "mul", "div"):
    for sa, sb in pairs:
        a = rand(*sa)
        b = rand(*sb, low=0.5, high=2.0) if name == "div" else rand(*sb)
        rows.append(compare(f"{name} {sa} {sb}", name, [a, b]))
x = rand(3, 7, 5, low=-8, high=8)
rows.append(compare("scale", "scale", [x], dict(alpha=-1.5, beta=0.25)))
rows.append(compare("relu", "relu", [x]))
rows.append(compare("relu6", "relu6", [x]))
rows.append(compare("where_positive", "where_positive", [x]))
dy = rand(3, 7, 5)
outputs = {"relu": np.maximum(x, 0), "relu6": np.clip(x, 0, 6),
           "sigmoid": (1 / (1 + np.exp(-x))).astype(np.float32), "tanh": np.tanh(x)}
for act, y in outputs.items():
    rows.append(compare(f"activation_grad {act}", "activation_grad", [dy, y], dict(activation=act)))
big = rand(4, 9, 11, 6)
for name in ("sum", "mean"):
    for axis, keep in [(None, False), (None, True), ((0, 1, 2), False), ((0, 1, 2), True), (-1, False)]:
        rows.append(compare(f"{name} axis={axis} keepdims={keep}", name, [big], dict(axis=axis, keepdims=keep)))
rows.append(compare("sum 2-d axis=0", "sum", [rand(300, 3)], dict(axis=0)))
g = rand(4, 5, 6)
for shape in [(6,), (1, 1, 6), (), (1,), (5, 6), (5, 1)]:
    rows.append(compare(f"sum_to_shape {shape}", "sum_to_shape", [g], dict(shape=shape)))
for shape in [(20, 6), (-1,), (2, -1, 3), (4, 5, 6, 1)]:
    rows.append(compare(f"reshape {shape}", "reshape", [g], dict(shape=shape)))
rows
"""

# Broadcasts the C loops do not cover: they must still be right, via numpy.
ELEMENTWISE_FALLBACKS = {
    "add (3, 1) (1, 4)", "sub (3, 1) (1, 4)", "mul (3, 1) (1, 4)", "div (3, 1) (1, 4)",
    "sum axis=-1 keepdims=False", "mean axis=-1 keepdims=False", "sum_to_shape (5, 1)",
}

# Larger problems, so that the threaded kernels really split them (im2col chunks, whole-image
# grad_input tasks, per-thread partial filter gradients, row blocks of big GEMMs).
BIG_CASES = r"""
rows = []
for i, (n, h, w, c, k, o, s, pad) in enumerate([(8, 28, 28, 16, 3, 32, (1, 1), "same"),
                                                 (32, 14, 14, 64, 1, 32, (1, 1), "same"),
                                                 (5, 15, 13, 24, 3, 40, (2, 2), "same"),
                                                 (3, 20, 20, 8, 5, 12, (1, 1), "valid"),
                                                 (4, 15, 15, 300, 1, 34, (1, 1), "same")]):   # pointwise, K=300
    tag = f"big conv{i}:{n}x{h}x{w}x{c} k{k} o{o} s{s} {pad}"
    x, f, b = rand(n, h, w, c), rand(k, k, c, o), rand(o)
    rows.append(compare(tag + " fwd", "conv2d", [x, f, b], dict(strides=s, padding=pad, activation="relu")))
    dz = rand(*REFERENCE["conv2d"](x, f, None, strides=s, padding=pad).shape)
    rows.append(compare(tag + " dx", "conv2d_grad_input", [dz, f], dict(input_shape=x.shape, strides=s, padding=pad)))
    rows.append(compare(tag + " dw", "conv2d_grad_filter", [x, dz], dict(filter_shape=f.shape, strides=s, padding=pad)))
# grad_filter's partial sums are added in a fixed order: repeated runs agree to the bit
for n, h, c, k, o in [(32, 14, 16, 1, 32), (4, 15, 24, 3, 40)]:
    x, dz = wasm.upload(rand(n, h, h, c)), wasm.upload(rand(n, h, h, o))
    runs = [wasm.download(wasm.run("conv2d_grad_filter", x, dz, filter_shape=(k, k, c, o))) for _ in range(4)]
    same = all(np.array_equal(runs[0], r) for r in runs[1:])
    rows.append({"id": f"grad_filter k{k} c{c} repeatable", "err": 0.0 if same else 1.0, "shape": True, "dtype": True,
                 "fallback": False})
for m, k, n in [(300, 200, 100), (6272, 64, 32), (96, 1500, 40)]:
    a, bm = rand(m, k), rand(k, n)
    rows.append(compare(f"big matmul {m}x{k}x{n}", "matmul", [a, bm]))
    rows.append(compare(f"big matmul^T {m}x{k}x{n}", "matmul", [rand(k, m), rand(n, k)],
                        dict(transpose_a=True, transpose_b=True)))
rows
"""
