"""Ready-made models. `dense_block_cnn` is this project's reference network."""

from __future__ import annotations

from .layers import Conv2D, Dense, GlobalAveragePooling2D, Input, dense_block
from .models import Model


def dense_block_cnn(input_shape=(28, 28, 1), classes=10, filters=(32, 64), layers_per_block=4, alpha=1.0,
                    stem_filters=16, activation="relu", name="dense_block_cnn") -> Model:
    """A small CNN built the way in-browser training needs it.

    A standard 3x3 conv stem, then one DenseNet-style block per entry of `filters`: depthwise-separable
    convs (depthwise 3x3 without bias, pointwise 1x1 with bias and `activation`), the first strided by 2,
    layer k >= 2 fed the concatenation of layers 1..k-1, the block's output the concatenation of all its
    layers. Then global average pooling and a dense softmax head. `alpha` scales every width like
    MobileNet's width multiplier. With the defaults on (28, 28, 1) and 10 classes: 49,018 parameters,
    the same network as a TF.js layers model built the same way.
    """
    if alpha <= 0:
        raise ValueError(f"dense_block_cnn: alpha must be > 0, got {alpha}")
    if classes < 2:
        raise ValueError(f"dense_block_cnn: classes must be >= 2, got {classes}")
    width = lambda f: max(1, int(f * alpha))  # noqa: E731
    inputs = Input(tuple(input_shape), name="image")
    x = Conv2D(width(stem_filters), 3, padding="same", activation=activation, name="stem")(inputs)
    for i, block_filters in enumerate(filters, start=1):
        x = dense_block(x, width(block_filters), layers=layers_per_block, strides=2, activation=activation,
                        name=f"block_{i}")
    x = GlobalAveragePooling2D(name="pool")(x)
    outputs = Dense(classes, activation="softmax", name="classifier")(x)
    return Model(inputs, outputs, name=name)
