"""Ready-made models. `dense_block_cnn` is this project's reference network."""

from __future__ import annotations

from . import random as pb_random
from .layers import Conv2D, Dense, GlobalAveragePooling2D, Input, Layer, dense_block
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
