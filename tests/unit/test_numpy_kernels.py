"""The numpy backend is the oracle for every other backend, so it is checked against plain loops
(forward) and against finite differences in float64 (backward)."""

import itertools

import numpy as np
import pytest

from pybrowserml.backends.numpy import NUMPY
from pybrowserml.backends.numpy.kernels import KERNELS as K
from pybrowserml.geometry import output_size_and_pads

SHAPES = [
    # (N, H, W, C, KH, KW, O, strides, padding)
    (2, 5, 5, 3, 3, 3, 4, (1, 1), "same"),
    (1, 7, 6, 2, 3, 3, 3, (2, 2), "same"),
    (2, 8, 8, 5, 3, 3, 2, (2, 2), "same"),
    (1, 6, 7, 3, 3, 2, 2, (2, 1), "valid"),
    (3, 4, 4, 6, 1, 1, 5, (1, 1), "same"),
    (1, 9, 9, 1, 3, 3, 7, (1, 1), "valid"),
]


def loop_conv2d(x, w, strides, padding, depthwise=False):
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    oh, pt, _ = output_size_and_pads(h, kh, strides[0], padding)
    ow, pl, _ = output_size_and_pads(wd, kw, strides[1], padding)
    out_c = c * o if depthwise else o
    y = np.zeros((n, oh, ow, out_c))
    for b, i, j in itertools.product(range(n), range(oh), range(ow)):
        for di, dj in itertools.product(range(kh), range(kw)):
            r, s = i * strides[0] + di - pt, j * strides[1] + dj - pl
            if 0 <= r < h and 0 <= s < wd:
                if depthwise:
                    y[b, i, j] += (x[b, r, s][:, None] * w[di, dj]).reshape(-1)
                else:
                    y[b, i, j] += x[b, r, s] @ w[di, dj]
    return y


def loop_pool(x, pool, strides, padding, reduce):
    n, h, wd, c = x.shape
    oh, pt, _ = output_size_and_pads(h, pool[0], strides[0], padding)
    ow, pl, _ = output_size_and_pads(wd, pool[1], strides[1], padding)
    y = np.zeros((n, oh, ow, c))
    for b, i, j in itertools.product(range(n), range(oh), range(ow)):
        rows = [r for r in range(i * strides[0] - pt, i * strides[0] - pt + pool[0]) if 0 <= r < h]
        cols = [s for s in range(j * strides[1] - pl, j * strides[1] - pl + pool[1]) if 0 <= s < wd]
        window = x[b][np.ix_(rows, cols)].reshape(-1, c)
        y[b, i, j] = reduce(window, axis=0)
    return y


def numeric_grad(f, x, eps=1e-6):
    """d(sum(f(x) * probe))/dx by central differences, where f is linear in probe (fixed by the caller)."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        orig = x[idx]
        x[idx] = orig + eps
        up = f()
        x[idx] = orig - eps
        down = f()
        x[idx] = orig
        g[idx] = (up - down) / (2 * eps)
    return g


@pytest.mark.parametrize("shape", SHAPES)
def test_conv2d_matches_loop_reference(shape):
    n, h, w, c, kh, kw, o, strides, padding = shape
    rng = np.random.default_rng(1)
    x, f = rng.standard_normal((n, h, w, c)), rng.standard_normal((kh, kw, c, o))
    expected = loop_conv2d(x, f, strides, padding)
    np.testing.assert_allclose(K["conv2d"](x, f, None, strides=strides, padding=padding), expected, atol=1e-10)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("multiplier", [1, 2])
def test_depthwise_conv2d_matches_loop_reference(shape, multiplier):
    n, h, w, c, kh, kw, _, strides, padding = shape
    rng = np.random.default_rng(2)
    x, f = rng.standard_normal((n, h, w, c)), rng.standard_normal((kh, kw, c, multiplier))
    expected = loop_conv2d(x, f, strides, padding, depthwise=True)
    got = K["depthwise_conv2d"](x, f, None, strides=strides, padding=padding)
    np.testing.assert_allclose(got, expected, atol=1e-10)


@pytest.mark.parametrize("kind", ["conv2d", "depthwise_conv2d"])
@pytest.mark.parametrize("shape", SHAPES[:4])
def test_conv_gradients_match_finite_differences(kind, shape):
    n, h, w, c, kh, kw, o, strides, padding = shape
    o = 2 if kind == "depthwise_conv2d" else o
    rng = np.random.default_rng(3)
    x, f = rng.standard_normal((n, h, w, c)), rng.standard_normal((kh, kw, c, o))
    dz = rng.standard_normal(K[kind](x, f, None, strides=strides, padding=padding).shape)

    def objective():
        return float((K[kind](x, f, None, strides=strides, padding=padding) * dz).sum())

    dx = K[kind + "_grad_input"](dz, f, input_shape=x.shape, strides=strides, padding=padding)
    df = K[kind + "_grad_filter"](x, dz, filter_shape=f.shape, strides=strides, padding=padding)
    np.testing.assert_allclose(dx, numeric_grad(objective, x), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(df, numeric_grad(objective, f), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "pool,strides,padding",
    [((2, 2), (2, 2), "valid"), ((3, 3), (2, 2), "same"), ((2, 3), (1, 2), "same"), ((3, 3), (1, 1), "valid")],
)
def test_pooling_matches_loop_reference_and_finite_differences(pool, strides, padding):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 7, 6, 3))
    np.testing.assert_allclose(
        K["max_pool2d"](x, pool_size=pool, strides=strides, padding=padding),
        loop_pool(x, pool, strides, padding, np.max),
    )
    np.testing.assert_allclose(
        K["avg_pool2d"](x, pool_size=pool, strides=strides, padding=padding),
        loop_pool(x, pool, strides, padding, np.mean),
        atol=1e-12,
    )
    for kind in ("max_pool2d", "avg_pool2d"):
        y = K[kind](x, pool_size=pool, strides=strides, padding=padding)
        dy = rng.standard_normal(y.shape)

        def objective():
            return float((K[kind](x, pool_size=pool, strides=strides, padding=padding) * dy).sum())

        if kind == "max_pool2d":
            dx = K["max_pool2d_grad"](dy, x, y, pool_size=pool, strides=strides, padding=padding)
        else:
            dx = K["avg_pool2d_grad"](dy, input_shape=x.shape, pool_size=pool, strides=strides, padding=padding)
        np.testing.assert_allclose(dx, numeric_grad(objective, x), rtol=1e-5, atol=1e-7)


def test_batch_norm_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    x, gamma, beta = rng.standard_normal((3, 4, 2, 5)), rng.standard_normal(5), rng.standard_normal(5)
    dy = rng.standard_normal(x.shape)

    def objective():
        return float((K["batch_norm_train"](x, gamma, beta, epsilon=1e-3)[0] * dy).sum())

    _, mean, var = K["batch_norm_train"](x, gamma, beta, epsilon=1e-3)
    dx, dgamma, dbeta = K["batch_norm_grad"](dy, x, gamma, mean, var, epsilon=1e-3)
    np.testing.assert_allclose(dx, numeric_grad(objective, x), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dgamma, numeric_grad(objective, gamma), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dbeta, numeric_grad(objective, beta), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("sparse", [True, False])
def test_softmax_xent_is_stable_and_its_gradient_is_right(sparse):
    rng = np.random.default_rng(6)
    logits = rng.standard_normal((4, 6)) * 3
    labels = np.array([0, 5, 2, 2])
    target = labels if sparse else np.eye(6)[labels]
    loss, probs = K["softmax_xent"](logits, target, sparse=sparse)
    expected = -np.mean(np.log(np.exp(logits) / np.exp(logits).sum(1, keepdims=True))[np.arange(4), labels])
    assert np.isclose(loss, expected)
    dlogits = K["softmax_xent_grad"](probs, target, np.asarray(1.0), sparse=sparse)
    np.testing.assert_allclose(
        dlogits,
        numeric_grad(lambda: float(K["softmax_xent"](logits, target, sparse=sparse)[0]), logits),
        rtol=1e-5,
        atol=1e-8,
    )
    huge, _ = K["softmax_xent"](np.array([[1e4, 0.0], [0.0, -1e4]], dtype=np.float32), np.array([1, 1]))
    assert np.isfinite(huge) and np.isclose(huge, (1e4 + 1e4) / 2, rtol=1e-5)


def test_adam_matches_the_keras_formula():
    p, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    m, v = np.zeros(2), np.zeros(2)
    expected = p.copy()
    em, ev = np.zeros(2), np.zeros(2)
    for step in (1, 2, 3):
        em = 0.9 * em + 0.1 * g
        ev = 0.999 * ev + 0.001 * g * g
        alpha = 0.01 * np.sqrt(1 - 0.999**step) / (1 - 0.9**step)  # keras.optimizers.Adam.update_step
        expected -= alpha * em / (np.sqrt(ev) + 1e-7)
        K["adam_update"]([p], [g], [m], [v], lr=0.01, step=step)
    np.testing.assert_allclose(p, expected, rtol=1e-9)


def test_valid_padding_with_a_window_larger_than_the_input_is_a_clear_error():
    with pytest.raises(ValueError, match="larger than the input"):
        K["conv2d"](np.zeros((1, 2, 2, 1)), np.zeros((3, 3, 1, 1)), None, strides=(1, 1), padding="valid")


def test_add_parts_sums_whole_arrays_and_slices_without_writing_them():
    rng = np.random.default_rng(0)
    g = rng.standard_normal((2, 3, 7))
    whole = rng.standard_normal((2, 3, 2))
    before = (g.copy(), whole.copy())
    got = K["add_parts"]([whole, g, g], [None, (2, 1, 3), (-1, 5, 7)])
    np.testing.assert_allclose(got, whole + g[..., 1:3] + g[..., 5:7])
    np.testing.assert_array_equal(g, before[0])
    np.testing.assert_array_equal(whole, before[1])
    single = K["add_parts"]([whole], [None])
    assert single is not whole and np.array_equal(single, whole)
    with pytest.raises(ValueError, match="all parts must have the same shape"):
        K["add_parts"]([whole, g], [None, None])
    with pytest.raises(ValueError, match="slice 6:8 of axis 2 does not fit shape"):
        K["add_parts"]([g], [(2, 6, 8)])
    with pytest.raises(ValueError, match="one slice entry"):
        K["add_parts"]([g, g], [None])


def test_from_uint8_scales_pixels_to_float32_like_the_host_conversion():
    pixels = np.array([[0, 1, 128, 255]], dtype=np.uint8)
    got = K["from_uint8"](pixels)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, pixels.astype(np.float32) * np.float32(1 / 255))
    np.testing.assert_array_equal(K["from_uint8"](pixels, scale=2.0), [[0, 2, 256, 510]])
    with pytest.raises(TypeError, match="from_uint8 converts uint8 arrays, got int32"):
        K["from_uint8"](pixels.astype(np.int32))


@pytest.mark.parametrize(
    "given, stored",
    [
        ("uint8", "uint8"),
        ("int8", "int32"),
        ("int64", "int32"),
        ("bool", "int32"),
        ("float16", "float32"),
        ("float32", "float32"),
        ("float64", "float64"),
        ("int32", "int32"),
    ],
)
def test_upload_keeps_uint8_and_normalises_other_dtypes(given, stored):
    host = np.ones((2, 3), dtype=given)
    device = NUMPY.upload(host)
    assert device.dtype == np.dtype(stored) and device.flags.c_contiguous and device is not host
