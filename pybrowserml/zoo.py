"""Ready-made models. `dense_block_cnn` is this project's reference network; `mobile_unet` segments images."""

from __future__ import annotations

from . import random as pb_random
from .layers import (
    Concatenate,
    Conv2D,
    Conv2DTranspose,
    Dense,
    GlobalAveragePooling2D,
    Input,
    Layer,
    SeparableConv2D,
    dense_block,
)
from .models import Model


def dense_block_cnn(
    input_shape=(28, 28, 1),
    classes=10,
    filters=(32, 64),
    layers_per_block=4,
    alpha=1.0,
    stem_filters=16,
    activation="relu",
    seed=None,
    kernel_initializer="glorot_normal",
    augmentation=(),
    name="dense_block_cnn",
) -> Model:
    """A small CNN built the way in-browser training needs it.

    A standard 3x3 conv stem, then one DenseNet-style block per entry of `filters`: depthwise-separable
    convs (depthwise 3x3 without bias, pointwise 1x1 with bias and `activation`), the first strided by 2,
    layer k >= 2 fed the concatenation of layers 1..k-1, the block's output the concatenation of all its
    layers. Then global average pooling and a dense softmax head. `alpha` scales every width like
    MobileNet's width multiplier. With the defaults on (28, 28, 1) and 10 classes: 49,018 parameters,
    the same network as a TF.js layers model built the same way.

    `seed` (an int) makes the initial weights reproducible without touching the package-wide generator
    (`pybrowserml.set_random_seed` seeds that one). `kernel_initializer` (all conv and dense kernels):
    Glorot-normal by default like every pybrowserml layer; without batch normalisation Glorot shrinks the
    signal through the depthwise layers (fan_in = 9 * channels, one output each), so "he_normal" makes the
    first epochs train faster.

    `augmentation`: layers applied to the image before the stem, e.g.
    ``[pybrowserml.layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant")]``. They act only in
    training and have no weights, so the network (and its parameter count) stays the same.
    """
    if alpha <= 0:
        raise ValueError(f"dense_block_cnn: alpha must be > 0, got {alpha}")
    if not isinstance(classes, int) or classes < 2:
        raise ValueError(f"dense_block_cnn: classes must be an int >= 2, got {classes!r}")
    if len(tuple(input_shape)) != 3:
        raise ValueError(
            f"dense_block_cnn: input_shape must be (height, width, channels), got {input_shape!r}; "
            "for grayscale images add the channel axis, e.g. (28, 28, 1)"
        )
    if not filters:
        raise ValueError("dense_block_cnn: filters must list at least one block width, e.g. (32, 64)")
    augmentation = list(augmentation or ())
    for layer in augmentation:
        if not isinstance(layer, Layer):
            raise TypeError(f"dense_block_cnn: augmentation must be a list of layers, got {layer!r}")
    with pb_random.seeded(seed):
        return _build_dense_block_cnn(
            input_shape,
            classes,
            filters,
            layers_per_block,
            alpha,
            stem_filters,
            activation,
            kernel_initializer,
            augmentation,
            name,
        )


def _build_dense_block_cnn(
    input_shape,
    classes,
    filters,
    layers_per_block,
    alpha,
    stem_filters,
    activation,
    kernel_initializer,
    augmentation,
    name,
):
    width = lambda f: max(1, int(f * alpha))  # noqa: E731
    inputs = x = Input(tuple(input_shape), name="image")
    for layer in augmentation:
        x = layer(x)
    x = Conv2D(
        width(stem_filters),
        3,
        padding="same",
        activation=activation,
        kernel_initializer=kernel_initializer,
        name="stem",
    )(x)
    for i, block_filters in enumerate(filters, start=1):
        x = dense_block(
            x,
            width(block_filters),
            layers=layers_per_block,
            strides=2,
            activation=activation,
            kernel_initializer=kernel_initializer,
            name=f"block_{i}",
        )
    x = GlobalAveragePooling2D(name="pool")(x)
    outputs = Dense(classes, activation="softmax", kernel_initializer=kernel_initializer, name="classifier")(x)
    return Model(inputs, outputs, name=name)


def mobile_unet(
    input_shape=(28, 28, 1),
    classes=2,
    alpha=1.0,
    filters=(16, 32, 64),
    activation="relu",
    seed=None,
    kernel_initializer="he_normal",
    name="mobile_unet",
) -> Model:
    """A MobileNet encoder in a U-Net: per-pixel class probabilities (batch, height, width, classes).

    Encoder: a 3x3 conv stem of filters[0] at full resolution, then per further entry of `filters` one
    level: a depthwise-separable conv with stride 2 and a second one at that resolution. Decoder: per
    level back up, a 3x3 Conv2DTranspose with stride 2, concatenated with the encoder's output at that
    resolution (the skip connection), then a depthwise-separable conv. Head: a 1x1 conv with softmax.
    `alpha` scales every width like MobileNet's width multiplier. Height and width must be divisible by
    2 ** (len(filters) - 1). Train it with loss="sparse_categorical_crossentropy" on (batch, height,
    width) integer masks and metrics=["mean_iou"].

    The default filters make a small network for 28 x 28 images (36k parameters). filters=(32, 64, 128,
    256) gives MobileNet's widths (571k parameters; sizes divisible by 8), where MobileNet's rule holds
    that the cost falls with alpha^2: 93% of its MACs are in layers whose both widths scale with alpha
    (84% in the default network, whose depthwise convs, stem and head weigh more).
    """
    if alpha <= 0:
        raise ValueError(f"mobile_unet: alpha must be > 0, got {alpha}")
    if not isinstance(classes, int) or classes < 2:
        raise ValueError(f"mobile_unet: classes must be an int >= 2, got {classes!r}")
    if len(tuple(input_shape)) != 3:
        raise ValueError(f"mobile_unet: input_shape must be (height, width, channels), got {input_shape!r}")
    if len(filters) < 2:
        raise ValueError("mobile_unet: filters needs the stem width and at least one level, e.g. (16, 32, 64)")
    step = 2 ** (len(filters) - 1)
    if input_shape[0] % step or input_shape[1] % step:
        raise ValueError(
            f"mobile_unet: height and width must be divisible by {step} for {len(filters) - 1} levels, "
            f"got {tuple(input_shape[:2])}: resize the images or pass fewer filters"
        )
    with pb_random.seeded(seed):
        return _build_mobile_unet(tuple(input_shape), classes, alpha, filters, activation, kernel_initializer, name)


def _build_mobile_unet(input_shape, classes, alpha, filters, activation, kernel_initializer, name):
    width = lambda f: max(1, int(f * alpha))  # noqa: E731
    conv = dict(padding="same", activation=activation, kernel_initializer=kernel_initializer)
    inputs = Input(input_shape, name="image")
    x = Conv2D(width(filters[0]), 3, name="stem", **conv)(inputs)
    skips = [x]
    for level, level_filters in enumerate(filters[1:], start=1):
        x = SeparableConv2D(width(level_filters), 3, strides=2, name=f"down_{level}", **_separable(conv))(x)
        x = SeparableConv2D(width(level_filters), 3, name=f"down_{level}_conv", **_separable(conv))(x)
        skips.append(x)
    skips.pop()  # the deepest level is the bottleneck, not a skip
    for level in range(len(filters) - 1, 0, -1):
        level_filters = width(filters[level - 1])
        x = Conv2DTranspose(level_filters, 3, strides=2, name=f"up_{level}", **conv)(x)
        x = Concatenate(name=f"skip_{level}")([x, skips.pop()])
        x = SeparableConv2D(level_filters, 3, name=f"up_{level}_conv", **_separable(conv))(x)
    outputs = Conv2D(classes, 1, activation="softmax", kernel_initializer=kernel_initializer, name="classes")(x)
    return Model(inputs, outputs, name=name)


def _separable(conv):
    """SeparableConv2D takes no kernel_initializer (its pointwise conv keeps the Glorot default)."""
    return {k: v for k, v in conv.items() if k != "kernel_initializer"}
