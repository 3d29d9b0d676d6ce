"""Segmentation: Conv2DTranspose, UpSampling2D, the per-pixel loss, mean IoU, mobile_unet, MNIST masks."""

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import layers as L
from pybrowserml import metrics, zoo
from pybrowserml.backends import get_backend
from pybrowserml.data import load_mnist_segmentation, mnist_masks
from pybrowserml.debug import gradient_check
from pybrowserml.io import load_json, save_json

rng = np.random.default_rng(0)


def images(n=2, h=4, w=5, c=3):
    # Away from 0 so ReLU kinks do not meet finite differences.
    return rng.uniform(0.2, 1.0, (n, h, w, c)) * rng.choice([-1, 1], (n, h, w, c))


@pytest.fixture(autouse=True)
def numpy_backend():
    pb.set_backend("numpy")


GRADIENT_CASES = {
    "transpose_same_s2_relu": (lambda: L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"), images()),
    "transpose_valid_s2": (lambda: L.Conv2DTranspose(3, (2, 3), strides=2, padding="valid"), images()),
    "transpose_valid_s1_tanh": (lambda: L.Conv2DTranspose(2, 3, padding="valid", activation="tanh"), images()),
    "transpose_k1_s3_no_bias": (lambda: L.Conv2DTranspose(5, 1, strides=3, use_bias=False), images()),
    "transpose_softmax": (lambda: L.Conv2DTranspose(3, 2, strides=2, activation="softmax"), images()),
    "upsampling_2x2": (lambda: L.UpSampling2D(2), images()),
    "upsampling_3x1": (lambda: L.UpSampling2D((3, 1)), images()),
}


@pytest.mark.parametrize("case", sorted(GRADIENT_CASES))
def test_gradient_matches_finite_differences(case):
    make, x = GRADIENT_CASES[case]
    pb.set_random_seed(1)
    result = gradient_check(make(), x)
    assert result.passed, str(result)


@pytest.mark.parametrize(
    "kwargs,shape",
    [
        (dict(filters=4, kernel_size=3, strides=2, padding="same"), (8, 10, 4)),
        (dict(filters=4, kernel_size=3, strides=2, padding="valid"), (9, 11, 4)),
        (dict(filters=2, kernel_size=1, strides=3, padding="valid"), (12, 15, 2)),
        (dict(filters=2, kernel_size=(2, 4), strides=1, padding="valid"), (5, 8, 2)),
    ],
)
def test_conv_transpose_output_shape_follows_keras(kwargs, shape):
    layer = L.Conv2DTranspose(**kwargs)
    assert layer(pb.Tensor(images(h=4, w=5))).shape == (2, *shape)
    assert layer.compute_output_shape((4, 5, 3)) == shape
    assert layer.kernel.shape == (*layer.kernel_size, kwargs["filters"], 3)


def test_conv_transpose_is_the_adjoint_of_conv2d():
    """<conv2d(a), b> == <a, conv2d_transpose(b)> for the same filter: the defining property."""
    w = rng.standard_normal((3, 3, 4, 6))
    a, b = rng.standard_normal((2, 8, 10, 4)), rng.standard_normal((2, 4, 5, 6))
    forward = pb.ops.conv2d(pb.Tensor(a, dtype="float64"), pb.Tensor(w, dtype="float64"), strides=2).numpy()
    back = pb.ops.conv2d_transpose(pb.Tensor(b, dtype="float64"), pb.Tensor(w, dtype="float64"), strides=2).numpy()
    assert np.isclose((forward * b).sum(), (a * back).sum())


def test_upsampling_repeats_pixels():
    x = np.arange(6, dtype=np.float32).reshape(1, 2, 3, 1)
    y = L.UpSampling2D((2, 3))(pb.Tensor(x)).numpy()
    assert y.shape == (1, 4, 9, 1)
    assert (y[0, :, :, 0] == np.repeat(np.repeat(x[0, :, :, 0], 2, 0), 3, 1)).all()


def test_bad_layer_arguments_say_what_to_do():
    with pytest.raises(ValueError, match="interpolation 'bilinear' is not supported"):
        L.UpSampling2D(2, interpolation="bilinear")
    with pytest.raises(ValueError, match="filters must be a positive int"):
        L.Conv2DTranspose(0, 3)
    with pytest.raises(ValueError, match="expects images"):
        L.Conv2DTranspose(2, 3)(pb.Tensor(rng.standard_normal((2, 5))))


def test_per_pixel_loss_equals_the_mean_over_pixels():
    logits = rng.standard_normal((2, 3, 4, 5))
    labels = rng.integers(0, 5, (2, 3, 4))
    loss = pb.losses.SparseCategoricalCrossentropy(from_logits=True)
    got = float(loss(labels, pb.Tensor(logits)).numpy())
    shifted = logits - logits.max(-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    expected = -np.take_along_axis(log_p, labels[..., None], -1).mean()
    assert np.isclose(got, expected, rtol=1e-5)
    check = gradient_check(lambda p: loss(labels, p), logits)
    assert check.passed, str(check)


def test_mean_iou_matches_its_definition():
    truth = np.array([[0, 0, 1, 1], [2, 2, 0, 1]])
    predicted = np.array([[0, 1, 1, 1], [2, 0, 0, 1]])
    logits = np.eye(4)[predicted].astype(np.float32)  # class 3 never occurs: not averaged
    metric = metrics.MeanIoU()
    metric.update_state(pb.Tensor(truth.astype(np.int32)), pb.Tensor(logits))
    iou = [2 / 4, 3 / 4, 1 / 2]  # class 0: 2 hits of 4 in either; class 1: 3 of 4; class 2: 1 of 2
    assert np.isclose(metric.result(), np.mean(iou))
    assert isinstance(metrics.get("mean_iou"), metrics.MeanIoU)
    with pytest.raises(ValueError, match="outside"):
        get_backend().run("confusion_matrix", logits, np.full((2, 4), 7, np.int32))


def test_mnist_masks_label_the_strokes():
    x = np.zeros((2, 28, 28, 1), np.uint8)
    x[0, 5, 6], x[1, 7, 8], x[1, 1, 1] = 200, 128, 127
    y = np.array([3, 9], np.int32)
    masks = mnist_masks(x, y)
    assert masks.dtype == np.int32 and masks.shape == (2, 28, 28)
    assert masks[0, 5, 6] == 4 and masks[1, 7, 8] == 10 and masks[1, 1, 1] == 0
    assert masks.sum() == 14
    assert mnist_masks(x, y, classes="foreground").sum() == 2
    with pytest.raises(ValueError, match="classes must be one of"):
        mnist_masks(x, y, classes="edges")


def test_mnist_segmentation_loader_scales_images_and_masks_together():
    (x, m), (xt, mt) = load_mnist_segmentation(classes="foreground", size=56)
    assert x.shape == (7996, 56, 56, 1) and m.shape == (7996, 56, 56) and xt.shape[0] == mt.shape[0] == 2004
    assert set(np.unique(m)) == {0, 1}
    assert ((x[..., 0] >= 128) == (m == 1)).all()
    (x_digit, m_digit), _ = load_mnist_segmentation(size=28)
    assert m_digit.max() == 10 and x_digit.shape == (7996, 28, 28, 1)
    with pytest.raises(ValueError, match="multiple of 28"):
        load_mnist_segmentation(size=30)


def test_mobile_unet_shapes_widths_and_errors():
    model = zoo.mobile_unet((32, 32, 1), classes=3, alpha=1.0, seed=0)
    assert model.output_shape == (32, 32, 3)
    small = zoo.mobile_unet((32, 32, 1), classes=3, alpha=0.5, seed=0)
    assert small.count_params() < model.count_params() / 2.5
    assert any(isinstance(layer, L.Conv2DTranspose) for layer in model.layers)
    assert sum(isinstance(layer, L.Concatenate) for layer in model.layers) == 2
    with pytest.raises(ValueError, match="divisible by 4"):
        zoo.mobile_unet((30, 30, 1))
    with pytest.raises(ValueError, match="classes must be an int >= 2"):
        zoo.mobile_unet(classes=1)


def test_mobile_unet_at_mobilenet_widths_has_macs_near_alpha_squared():
    """The alpha^2 law of MobileNet is about its widths: with filters (32, 64, 128, 256) the MACs at
    alpha 0.25 are 1.20x alpha^2 of alpha 1's; the small default network's 1.47x (its depthwise convs,
    stem and head, which shrink with alpha only once, weigh more)."""
    from pybrowserml.compression import count_macs

    def macs_over_alpha_squared(filters):
        full, quarter = (
            count_macs(zoo.mobile_unet((32, 32, 1), classes=2, alpha=a, filters=filters, seed=0)) for a in (1, 0.25)
        )
        return quarter / full / 0.25**2

    wide = zoo.mobile_unet((32, 32, 1), classes=2, filters=(32, 64, 128, 256), seed=0)
    assert wide.count_params() == 570_914 and wide.output_shape == (32, 32, 2)
    narrow = zoo.mobile_unet((32, 32, 1), classes=2, alpha=0.25, filters=(32, 64, 128, 256), seed=0)
    assert [layer.filters for layer in narrow.layers if isinstance(layer, L.Conv2DTranspose)] == [32, 16, 8]
    assert round(macs_over_alpha_squared((32, 64, 128, 256)), 2) == 1.20
    assert round(macs_over_alpha_squared((16, 32, 64)), 2) == 1.47
    with pytest.raises(ValueError, match="divisible by 8"):
        zoo.mobile_unet((28, 28, 1), filters=(32, 64, 128, 256))


def test_mobile_unet_gradient_matches_finite_differences():
    pb.set_random_seed(0)
    model = zoo.mobile_unet((8, 8, 1), classes=3, alpha=0.25, filters=(8, 8, 8), seed=1)
    loss = pb.losses.SparseCategoricalCrossentropy()
    labels = rng.integers(0, 3, (2, 8, 8))
    check = gradient_check(lambda x: loss(labels, model(x)), rng.uniform(0.1, 1, (2, 8, 8, 1)), max_checks=40)
    assert check.passed, str(check)


def test_mobile_unet_learns_mnist_masks_and_survives_a_quantized_round_trip(tmp_path):
    (x, m), (xt, mt) = load_mnist_segmentation(classes="foreground")
    model = zoo.mobile_unet((28, 28, 1), classes=2, alpha=0.25, seed=0)
    model.compile(optimizer=pb.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["mean_iou"])
    before = model.evaluate(xt[:300], mt[:300], verbose=0)[1]
    model.fit(x[:1500], m[:1500], epochs=1, batch_size=32, verbose=0)
    loss, iou = model.evaluate(xt[:300], mt[:300], verbose=0)
    assert iou > max(before, 0.6), (before, iou)
    save_json(model, tmp_path / "unet.json", quantize="uint8")
    loaded = load_json(tmp_path / "unet.json")
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in model.layers]
    agree = (loaded.predict(xt[:50]).argmax(-1) == model.predict(xt[:50]).argmax(-1)).mean()
    assert agree > 0.98
    assert loaded.evaluate(xt[:300], mt[:300], verbose=0)[1] > iou - 0.02
