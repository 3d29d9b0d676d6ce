"""Random cases comparing the WASM kernels of backends/wasm/kernels_misc.py with the numpy oracle.

This file is sent as source text to a Pyodide page (tests/browser/test_wasm_kernels_misc.py) and
run there: ``run_cases(backend)`` returns one ``[case_id, error, scale]`` row per compared output,
where ``error`` is the largest absolute difference from numpy and ``scale`` the largest magnitude of
the numpy result. It only needs numpy and pybrowserml, so it is plain Python (not a test module).
"""

import numpy as np

from pybrowserml.backends.numpy_backend import NUMPY

ACTIVATIONS = (None, "relu", "relu6")
FAILED = 1e30  # the error of a row that did not even produce a comparable result (JSON has no inf)


def _compare(rows, case_id, got, want):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        rows.append([case_id + f" shape {got.shape} != {want.shape}", FAILED, 0.0])
        return
    error = float(np.max(np.abs(got - want))) if want.size else 0.0
    if np.isnan(got).any() != np.isnan(want).any():
        error = FAILED
    rows.append([case_id, error, float(np.max(np.abs(want))) if want.size else 0.0])


def _run_both(be, name, arrays, attrs):
    """The numpy result and the backend's result (downloaded) of kernel `name`."""
    want = NUMPY.kernels[name](*arrays, **attrs)
    device = [[be.upload(a) if isinstance(a, np.ndarray) else a for a in x] if isinstance(x, list)
              else (None if x is None else be.upload(x)) for x in arrays]
    got = be.run(name, *device, **attrs)
    if isinstance(got, tuple):
        got = tuple(be.download(g) for g in got)
    else:
        got = be.download(got)
    return got, want


def _check(be, rows, case_id, name, arrays, **attrs):
    got, want = _run_both(be, name, arrays, attrs)
    if isinstance(want, tuple):
        for i, (g, w) in enumerate(zip(got, want)):
            _compare(rows, f"{case_id}[{i}]", g, w)
    else:
        _compare(rows, case_id, got, want)


def depthwise_cases(be, rows, rng, count=40):
    for case in range(count):
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
        x = rng.standard_normal((n, h, w, c)).astype(np.float32)
        wt = rng.standard_normal((kh, kw, c, m)).astype(np.float32)
        b = rng.standard_normal((c * m,)).astype(np.float32) if case % 2 else None
        geo = dict(strides=strides, padding=padding)
        cid = f"dw#{case} x{x.shape} w{wt.shape} s{strides} {padding} {act} bias={b is not None}"
        _check(be, rows, "fwd " + cid, "depthwise_conv2d", [x, wt, b], activation=act, **geo)
        y = NUMPY.kernels["depthwise_conv2d"](x, wt, None, **geo)
        dz = rng.standard_normal(y.shape).astype(np.float32)
        _check(be, rows, "grad_input " + cid, "depthwise_conv2d_grad_input", [dz, wt], input_shape=x.shape, **geo)
        _check(be, rows, "grad_filter " + cid, "depthwise_conv2d_grad_filter", [x, dz], filter_shape=wt.shape, **geo)
    # depthwise3x3.c's direct path (3x3, channels a multiple of 4): its edge columns, zero rows and
    # interior loops, at widths 1-3, odd sizes, stride 1 / 2 / mixed, both paddings
    for case, (h, w, c, s, padding) in enumerate([(1, 1, 4, 2, "same"), (2, 3, 8, 2, "same"), (3, 3, 4, 2, "valid"),
                                                   (5, 7, 12, 2, "same"), (7, 5, 8, 2, "valid"), (9, 9, 4, (2, 1), "same"),
                                                   (3, 1, 8, 1, "same"), (4, 3, 4, 1, "valid"), (6, 11, 8, 1, "same")]):
        x = rng.standard_normal((2, h, w, c)).astype(np.float32)
        wt = rng.standard_normal((3, 3, c, 1)).astype(np.float32)
        b = rng.standard_normal(c).astype(np.float32) if case % 2 else None
        geo = dict(strides=s if isinstance(s, tuple) else (s, s), padding=padding)
        cid = f"dw direct x{x.shape} s{s} {padding} bias={b is not None}"
        _check(be, rows, "fwd " + cid, "depthwise_conv2d", [x, wt, b], activation=ACTIVATIONS[case % 3], **geo)
        dz = rng.standard_normal(NUMPY.kernels["depthwise_conv2d"](x, wt, None, **geo).shape).astype(np.float32)
        _check(be, rows, "grad_input " + cid, "depthwise_conv2d_grad_input", [dz, wt], input_shape=x.shape, **geo)
        _check(be, rows, "grad_filter " + cid, "depthwise_conv2d_grad_filter", [x, dz], filter_shape=wt.shape, **geo)
    # the reference model's shapes (batch trimmed): 3x3, stride 1 and 2, channel counts of the model
    for (n, h, c, s) in [(2, 14, 16, 1), (2, 28, 16, 2), (2, 7, 96, 1), (1, 7, 192, 1)]:
        x = rng.standard_normal((n, h, h, c)).astype(np.float32)
        wt = rng.standard_normal((3, 3, c, 1)).astype(np.float32)
        geo = dict(strides=(s, s), padding="same")
        cid = f"dw model x{x.shape} s{s}"
        _check(be, rows, "fwd " + cid, "depthwise_conv2d", [x, wt, rng.standard_normal(c).astype(np.float32)],
               activation="relu6", **geo)
        dz = rng.standard_normal(NUMPY.kernels["depthwise_conv2d"](x, wt, None, **geo).shape).astype(np.float32)
        _check(be, rows, "grad_input " + cid, "depthwise_conv2d_grad_input", [dz, wt], input_shape=x.shape, **geo)
        _check(be, rows, "grad_filter " + cid, "depthwise_conv2d_grad_filter", [x, dz], filter_shape=wt.shape, **geo)


def depthwise_batch_rows(be, seed=5):
    """Batches large enough to be split into several tasks (threads), odd sizes so chunks differ."""
    rows, rng = [], np.random.default_rng(seed)
    for (n, h, c, s, padding) in [(9, 9, 6, 1, "same"), (13, 8, 12, 2, "same"), (7, 10, 5, 1, "valid"),
                                  (11, 7, 8, 1, "same"), (10, 9, 8, 2, "valid")]:
        x = rng.standard_normal((n, h, h, c)).astype(np.float32)
        wt = rng.standard_normal((3, 3, c, 1)).astype(np.float32)
        geo = dict(strides=(s, s), padding=padding)
        cid = f"dw batch x{x.shape} s{s} {padding}"
        _check(be, rows, "fwd " + cid, "depthwise_conv2d", [x, wt, None], activation="relu", **geo)
        dz = rng.standard_normal(NUMPY.kernels["depthwise_conv2d"](x, wt, None, **geo).shape).astype(np.float32)
        _check(be, rows, "grad_input " + cid, "depthwise_conv2d_grad_input", [dz, wt], input_shape=x.shape, **geo)
        _check(be, rows, "grad_filter " + cid, "depthwise_conv2d_grad_filter", [x, dz], filter_shape=wt.shape, **geo)
    return rows


def pooling_cases(be, rows, rng, count=30):
    for case in range(count):
        n, h, w, c = int(rng.integers(1, 3)), int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 10))
        pool = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        strides = (int(rng.integers(1, 4)), int(rng.integers(1, 3)))
        padding = str(rng.choice(["same", "valid"]))
        if padding == "valid" and (h < pool[0] or w < pool[1]):
            padding = "same"
        x = rng.standard_normal((n, h, w, c)).astype(np.float32)
        if case % 4 == 0:
            x = np.round(x)  # ties inside windows: the gradient must go to the FIRST maximum
        geo = dict(pool_size=pool, strides=strides, padding=padding)
        cid = f"pool#{case} x{x.shape} {geo}"
        _check(be, rows, "max " + cid, "max_pool2d", [x], **geo)
        y = NUMPY.kernels["max_pool2d"](x, **geo)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        _check(be, rows, "max_grad " + cid, "max_pool2d_grad", [dy, x, y], **geo)
        _check(be, rows, "avg " + cid, "avg_pool2d", [x], **geo)
        _check(be, rows, "avg_grad " + cid, "avg_pool2d_grad", [dy], input_shape=x.shape, **geo)
        _check(be, rows, "gap " + cid, "global_avg_pool", [x])
        _check(be, rows, "gap_grad " + cid, "global_avg_pool_grad",
               [rng.standard_normal((n, c)).astype(np.float32)], input_shape=x.shape)


def norm_cases(be, rows, rng):
    shapes = [(2, 5, 3, 7), (4, 6), (3, 4, 4, 16), (1, 1, 1, 5), (64, 33), (8, 7, 7, 20)]
    for i, shape in enumerate(shapes):
        c = shape[-1]
        x = (rng.standard_normal(shape) * 3 + 5).astype(np.float32)  # an offset mean: tests the two-pass variance
        gamma, beta = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
        cid = f"bn#{i} x{shape}"
        _check(be, rows, "train " + cid, "batch_norm_train", [x, gamma, beta], epsilon=1e-3)
        _, mean, var = NUMPY.kernels["batch_norm_train"](x, gamma, beta, epsilon=1e-3)
        _check(be, rows, "infer " + cid, "batch_norm_infer", [x, gamma, beta, mean, var], epsilon=1e-3)
        dy = rng.standard_normal(shape).astype(np.float32)
        _check(be, rows, "grad " + cid, "batch_norm_grad", [dy, x, gamma, mean, var], epsilon=1e-3)


def loss_cases(be, rows, rng):
    for i, (n, k) in enumerate([(1, 1), (5, 3), (32, 10), (7, 13), (3, 4)]):
        logits = (rng.standard_normal((n, k)) * (30 if i == 4 else 3)).astype(np.float32)  # i=4: extreme logits
        sparse_labels = rng.integers(0, k, n).astype(np.int32)
        onehot = np.eye(k, dtype=np.float32)[sparse_labels]
        soft = rng.random((n, k)).astype(np.float32)
        soft /= soft.sum(axis=1, keepdims=True)  # soft (label-smoothed) targets go through the one-hot path
        g = np.asarray(rng.random() + 0.5, dtype=np.float32)
        for labels, sparse, tag in [(sparse_labels, True, "sparse"), (onehot, False, "onehot"), (soft, False, "soft")]:
            cid = f"xent#{i} ({n},{k}) {tag}"
            _check(be, rows, cid, "softmax_xent", [logits, labels], sparse=sparse)
            probs = NUMPY.kernels["softmax_xent"](logits, labels, sparse=sparse)[1]
            _check(be, rows, "grad " + cid, "softmax_xent_grad", [probs, labels, g], sparse=sparse)
            if tag != "soft":
                _check(be, rows, "count " + cid, "count_correct", [logits, labels], sparse=sparse)
        for shape in [(n, k), (2, 3, k)]:
            a = (rng.standard_normal(shape) * 4).astype(np.float32)
            _check(be, rows, f"softmax {shape}", "softmax", [a], axis=-1)
            _check(be, rows, f"log_softmax {shape}", "log_softmax", [a], axis=-1)


def optimizer_cases(be, rows, rng):
    shapes = [(3, 3, 5, 1), (7,), (13, 6), (1,), (4, 4, 3, 9)]

    def fresh():
        return [rng.standard_normal(s).astype(np.float32) for s in shapes]

    adam_settings = [dict(), dict(weight_decay=0.01), dict(weight_decay=0.02, decoupled=False),
                     dict(lr=0.01, beta1=0.8, beta2=0.99, epsilon=1e-5)]
    for i, settings in enumerate(adam_settings):
        params, grads = fresh(), fresh()
        ms, vs = fresh(), [np.abs(v) for v in fresh()]
        host = [[a.copy() for a in group] for group in (params, grads, ms, vs)]
        device = [[be.upload(a) for a in group] for group in (params, grads, ms, vs)]
        for step in (1, 2, 7):  # bias correction changes with the step
            NUMPY.kernels["adam_update"](*host, step=step, **settings)
            be.run("adam_update", *device, step=step, **settings)
        for group, (h, d) in zip(("p", "g", "m", "v"), zip(host, device)):
            for j, (a, b) in enumerate(zip(h, d)):
                _compare(rows, f"adam#{i} {settings} {group}{j}{a.shape}", be.download(b), a)
    sgd_settings = [dict(), dict(momentum=0.9), dict(momentum=0.9, nesterov=True, weight_decay=0.01),
                    dict(lr=0.1, weight_decay=0.05)]
    for i, settings in enumerate(sgd_settings):
        host = [fresh(), fresh(), fresh()]
        device = [[be.upload(a) for a in group] for group in host]
        for _ in range(3):
            NUMPY.kernels["sgd_update"](*host, **settings)
            be.run("sgd_update", *device, **settings)
        for group, (h, d) in zip(("p", "g", "vel"), zip(host, device)):
            for j, (a, b) in enumerate(zip(h, d)):
                _compare(rows, f"sgd#{i} {settings} {group}{j}{a.shape}", be.download(b), a)


def shape_cases(be, rows, rng):
    base = (2, 3, 5)
    for axis in (-1, 0, 1, 2):
        parts = []
        for width in (3, 1, 6, 4, 2):  # 5 inputs: the pointer-list path; the first 2: the strided path
            shape = list(base)
            shape[axis] = width
            parts.append(rng.standard_normal(shape).astype(np.float32))
        _check(be, rows, f"concat 2 axis={axis}", "concat", [parts[:2]], axis=axis)
        _check(be, rows, f"concat 5 axis={axis}", "concat", [parts], axis=axis)
        a = parts[2]
        for start, stop in [(0, 2), (1, 6), (2, 3), (-3, None), (4, 100)]:
            _check(be, rows, f"slice {a.shape} axis={axis} [{start}:{stop}]", "slice", [a], axis=axis, start=start, stop=stop)
    ints = rng.integers(-9, 9, (4, 6, 7)).astype(np.int32)
    _check(be, rows, "concat int32", "concat", [[ints, ints[..., :2]]], axis=-1)
    a = rng.standard_normal((4, 3, 5, 2)).astype(np.float32)
    for shape in [(4, -1), (-1,), (60, 2), (2, 2, 3, 10), 120]:
        _check(be, rows, f"reshape {a.shape} -> {shape}", "reshape", [a], shape=shape)
    for shape in [(1, 1), (3, 17), (33, 20), (64, 10)]:
        a = rng.standard_normal(shape).astype(np.float32)
        _check(be, rows, f"transpose {shape}", "transpose", [a])
        _check(be, rows, f"transpose {shape} axes=(1,0)", "transpose", [a], axes=(1, 0))


def backprop_cases(be, rows, rng):
    """The kernels behind autograd's accumulation and the fused bias + activation backward, on small odd
    shapes and on shapes large enough to be split over the threads (over 65,536 floats)."""
    for shape in [(3, 5), (2, 3, 3, 7), (1, 1, 1, 1), (32, 14, 14, 32), (4, 33, 29, 13)]:
        dy = rng.standard_normal(shape).astype(np.float32)
        y = (rng.standard_normal(shape) * 4 + 2).astype(np.float32)  # some above 6 for relu6
        for act in ("relu", "relu6", "sigmoid", "tanh", None):
            _check(be, rows, f"activation_bias_grad {shape} {act}", "activation_bias_grad", [dy, y], activation=act)
            _check(be, rows, f"activation_grad {shape} {act}", "activation_grad", [dy, y], activation=act)
        _check(be, rows, f"add_parts {shape} x3", "add_parts", [[dy, y, dy], [None, None, None]])
        # more parts than one C call takes (4): the running sum leads the next call
        _check(be, rows, f"add_parts {shape} x8", "add_parts", [[dy, y] * 4, [None] * 8])
        for a, b in [(dy, y), (dy, y[0]), (dy, np.full((), 2.5, np.float32))]:
            _check(be, rows, f"add {a.shape} + {b.shape}", "add", [a, b])
    for shape, axis in [((4, 5, 6, 11), 3), ((32, 7, 7, 256), 3), ((5, 9, 4), 1), ((6, 10), 0)]:
        g = rng.standard_normal(shape).astype(np.float32)
        size = shape[axis]
        for start, stop in [(0, size // 3), (size // 3, size), (1, 2)]:
            part = list(shape)
            part[axis] = stop - start
            whole = rng.standard_normal(part).astype(np.float32)
            g2 = rng.standard_normal(shape).astype(np.float32)
            # a slice alone, a whole array and two slices of different gradients, in mixed orders
            for arrays, slices in [([g], [(axis, start, stop)]),
                                   ([whole, g, g2], [None, (axis, start, stop), (axis, start, stop)]),
                                   ([g, whole], [(axis - len(shape), start, stop), None])]:
                _check(be, rows, f"add_parts {shape} axis={axis} [{start}:{stop}] {len(arrays)} parts", "add_parts",
                       [arrays, slices])
        parts = [rng.standard_normal(shape[:axis] + (w,) + shape[axis + 1:]).astype(np.float32) for w in (3, 5)]
        _check(be, rows, f"concat large {shape}", "concat", [parts], axis=axis)
    from pybrowserml.layers.augmentation import source_indices

    for (n, h, w, c), mode in [((3, 7, 5, 1), "constant"), ((2, 28, 28, 1), "reflect"), ((4, 6, 9, 5), "nearest"),
                               ((2, 8, 8, 3), "wrap"), ((1, 4, 4, 2), "constant")]:
        x = rng.standard_normal((n, h, w, c)).astype(np.float32)
        shift_rows = rng.integers(-h - 2, h + 3, n)
        shift_cols = rng.integers(-w - 2, w + 3, n)
        rows_map, cols_map = source_indices(shift_rows, h, mode), source_indices(shift_cols, w, mode)
        _check(be, rows, f"remap_pixels {(n, h, w, c)} {mode}", "remap_pixels", [x, rows_map, cols_map],
               fill_value=-0.5)


def fallback_cases(be, rows, rng):
    """Cases the C kernels do not cover: the backend must still return numpy's answer."""
    a = rng.standard_normal((3, 4, 5)).astype(np.float32)
    _check(be, rows, "fallback softmax axis=0", "softmax", [a], axis=0)
    _check(be, rows, "fallback transpose 3-D", "transpose", [a], axes=(2, 0, 1))
    logits = rng.standard_normal((4, 3)).astype(np.float32)
    _check(be, rows, "fallback float sparse labels", "softmax_xent", [logits, np.array([0, 2, 1, 1], np.float32)],
           sparse=True)


def lazy_concat_cases(be, rows, rng):
    """concat(lazy=True) returns a ConcatArray: the depthwise kernels and global average pooling read
    its parts in place; anything else (here: add, slice, download, reshape) materialises it once. Every
    result must equal numpy on the concatenated array. Channel counts are mostly not multiples of 4."""
    from pybrowserml.backends.wasm.runtime import ConcatArray

    for case, (widths, h, s, m) in enumerate([((3, 5), 6, 1, 1), ((4, 4, 7), 7, 2, 1), ((2, 1, 6, 3), 5, 1, 1),
                                              ((8, 8, 8, 8), 14, 2, 1), ((1, 2, 3, 4, 5), 6, 1, 1),
                                              ((3, 2), 5, 1, 2), ((32, 32), 14, 1, 1)]):
        n = 3
        parts = [rng.standard_normal((n, h, h, c)).astype(np.float32) for c in widths]
        x = np.concatenate(parts, axis=-1)
        c = x.shape[-1]

        def lazy():
            got = be.run("concat", [be.upload(p) for p in parts], axis=-1, lazy=True)
            if not isinstance(got, ConcatArray) or got.materialized:
                rows.append([f"lazy#{case}: concat(lazy=True) gave {got!r}", FAILED, 0.0])
            return got

        wt = rng.standard_normal((3, 3, c, m)).astype(np.float32)
        b = rng.standard_normal((c * m,)).astype(np.float32)
        geo = dict(strides=(s, s), padding="same")
        cid = f"lazy#{case} parts {widths} h{h} s{s} m{m}"
        got = be.download(be.run("depthwise_conv2d", lazy(), be.upload(wt), be.upload(b), activation="relu", **geo))
        _compare(rows, "dw fwd " + cid, got, NUMPY.kernels["depthwise_conv2d"](x, wt, b, activation="relu", **geo))
        y = NUMPY.kernels["depthwise_conv2d"](x, wt, None, **geo)
        dz = rng.standard_normal(y.shape).astype(np.float32)
        got = be.download(be.run("depthwise_conv2d_grad_filter", lazy(), be.upload(dz), filter_shape=wt.shape, **geo))
        _compare(rows, "dw grad_filter " + cid, got,
                 NUMPY.kernels["depthwise_conv2d_grad_filter"](x, dz, filter_shape=wt.shape, **geo))
        _compare(rows, "gap " + cid, be.download(be.run("global_avg_pool", lazy())), NUMPY.kernels["global_avg_pool"](x))
        # other consumers see the concatenated array
        other = rng.standard_normal(x.shape).astype(np.float32)
        _compare(rows, "add " + cid, be.download(be.run("add", lazy(), be.upload(other))), x + other)
        _compare(rows, "slice " + cid, be.download(be.run("slice", lazy(), axis=3, start=1, stop=c - 1)), x[..., 1:c - 1])
        _compare(rows, "reshape " + cid, be.download(be.run("reshape", lazy(), (n, -1))), x.reshape(n, -1))
        both = lazy()
        _compare(rows, "download " + cid, be.download(both), x)
        _compare(rows, "dw fwd after materialising " + cid,
                 be.download(be.run("depthwise_conv2d", both, be.upload(wt), None, **geo)), y)
    # ops.concat asks for laziness unless an input is a Variable (optimizers update those in place)
    from pybrowserml import Tensor, Variable, ops

    host = [rng.standard_normal((2, 3, 3, c)).astype(np.float32) for c in (3, 5)]
    for inputs, want_lazy in [([Tensor(h, backend=be) for h in host], True),
                              ([Variable(host[0], backend=be), Tensor(host[1], backend=be)], False)]:
        y = ops.concat(inputs, axis=-1)
        if isinstance(y.data, ConcatArray) != want_lazy:
            rows.append([f"ops.concat of {[type(t).__name__ for t in inputs]}: lazy={not want_lazy}", FAILED, 0.0])
        _compare(rows, f"ops.concat {[type(t).__name__ for t in inputs]}", y.numpy(), np.concatenate(host, axis=-1))
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    for attrs, what in [(dict(axis=1, lazy=True), "another axis"), (dict(axis=-1), "lazy not asked")]:
        got = be.run("concat", [be.upload(a), be.upload(a)], **attrs)
        if isinstance(got, ConcatArray):
            rows.append([f"concat with {what} must copy at once, got {got!r}", FAILED, 0.0])
        _compare(rows, f"concat {what}", be.download(got), np.concatenate([a, a], axis=attrs["axis"]))


SUITES = {
    "depthwise": depthwise_cases,
    "pooling": pooling_cases,
    "norm": norm_cases,
    "loss": loss_cases,
    "optimizer": optimizer_cases,
    "shape": shape_cases,
    "backprop": backprop_cases,
    "lazy_concat": lazy_concat_cases,
}


def run_cases(be, suites=tuple(SUITES), seed=0):
    """Rows [case_id, error, scale] for the given suites; fallback counts must stay empty."""
    rows = []
    for name in suites:
        before = dict(be.fallback_counts)
        SUITES[name](be, rows, np.random.default_rng(seed))
        if be.fallback_counts != before:
            rows.append([f"{name}: unexpected numpy fallbacks {be.fallback_counts}", FAILED, 0.0])
    return rows


def error_messages(be):
    """The ValueErrors bad input gets (as text), keyed by what was wrong."""
    messages = {}
    up = be.upload

    def capture(key, name, *args, **attrs):
        try:
            be.run(name, *args, **attrs)
            messages[key] = None
        except ValueError as error:
            messages[key] = str(error)

    x = up(np.zeros((1, 4, 4, 3), np.float32))
    capture("channels", "depthwise_conv2d", x, up(np.zeros((3, 3, 5, 1), np.float32)))
    capture("label_range", "softmax_xent", up(np.zeros((2, 3), np.float32)), up(np.array([0, 3], np.int32)), sparse=True)
    capture("label_shape", "softmax_xent", up(np.zeros((2, 3), np.float32)), up(np.zeros((2, 3), np.int32)), sparse=True)
    capture("concat_shapes", "concat", [x, up(np.zeros((1, 5, 4, 3), np.float32))], axis=-1)
    capture("padding", "max_pool2d", x, pool_size=(2, 2), strides=(2, 2), padding="full")
    capture("reshape", "reshape", x, shape=(5, -1))
    capture("strides", "depthwise_conv2d", x, up(np.zeros((3, 3, 3, 1), np.float32)), strides=(0, 1))
    capture("parts_shapes", "add_parts", [x, up(np.zeros((1, 4, 4, 2), np.float32))], [None, None])
    capture("parts_slice", "add_parts", [x, x], [None, (3, 1, 5)])
    return messages


def training_losses(be, steps=4, seed=2):
    """Losses and final weights of a few Adam steps of a small net built from the ops whose kernels
    live in kernels_misc (depthwise conv, batch norm, max/avg pooling, concat, global pooling,
    softmax cross-entropy, Adam), run through autograd on backend `be`."""
    from pybrowserml import ops
    from pybrowserml.tensor import Tensor, Variable

    rng = np.random.default_rng(seed)
    x_host = rng.standard_normal((6, 10, 10, 3)).astype(np.float32)
    y_host = rng.integers(0, 4, 6).astype(np.int32)
    shapes = {"dw": (3, 3, 3, 2), "dw_b": (6,), "gamma": (6,), "beta": (6,), "head": (12, 4), "head_b": (4,)}
    params = {k: Variable((rng.standard_normal(s) * 0.5).astype(np.float32), name=k, backend=be)
              for k, s in shapes.items()}
    moving = [Variable(np.zeros(6, np.float32), trainable=False, backend=be),
              Variable(np.ones(6, np.float32), trainable=False, backend=be)]
    ms = [be.zeros(p.shape) for p in params.values()]
    vs = [be.zeros(p.shape) for p in params.values()]
    x, y = Tensor(x_host, backend=be), Tensor(y_host, backend=be)
    losses = []
    for step in range(1, steps + 1):
        h = ops.depthwise_conv2d(x, params["dw"], params["dw_b"], strides=1, padding="same", activation="relu6")
        h = ops.batch_norm(h, params["gamma"], params["beta"], *moving, training=True)
        h = ops.max_pool2d(h, 2)
        h = ops.concat([h, ops.avg_pool2d(h, 3, strides=1, padding="same")], axis=-1)
        logits = ops.dense(ops.global_avg_pool(h), params["head"], params["head_b"])
        loss = ops.softmax_xent(logits, y, sparse=True)
        loss.backward()
        plist = list(params.values())
        be.run("adam_update", [p.data for p in plist], [p.grad for p in plist], ms, vs, lr=0.05, step=step)
        for p in plist:
            p.grad = None
        losses.append(float(loss.item()))
    return losses, {k: be.download(p.data).tolist() for k, p in params.items()}
