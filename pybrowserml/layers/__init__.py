"""Layers, one family per file. Keras names and defaults; kernels start Glorot-normal, biases zero."""

from .augmentation import RandomTranslation
from .base import LAYER_CLASSES, Layer, SymbolicTensor
from .conv import Conv2D, DepthwiseConv2D, SeparableConv2D
from .conv_transpose import Conv2DTranspose
from .core import (
    Activation,
    Concatenate,
    Dense,
    Dropout,
    Flatten,
    Input,
    InputLayer,
    LeakyReLU,
    ReLU,
    ReLU6,
    Softmax,
)
from .dense_block import DenseBlock, dense_block
from .normalization import BatchNormalization
from .pooling import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D
from .reshaping import Rescaling, Reshape
from .upsampling import UpSampling2D

# Keras's short names: the same classes (a saved config names the long one).
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalAvgPool2D = GlobalAveragePooling2D

__all__ = [
    "Activation",
    "AvgPool2D",
    "AveragePooling2D",
    "BatchNormalization",
    "Concatenate",
    "Conv2D",
    "Conv2DTranspose",
    "Dense",
    "DenseBlock",
    "DepthwiseConv2D",
    "Dropout",
    "Flatten",
    "GlobalAvgPool2D",
    "GlobalAveragePooling2D",
    "Input",
    "InputLayer",
    "LAYER_CLASSES",
    "Layer",
    "LeakyReLU",
    "MaxPool2D",
    "MaxPooling2D",
    "RandomTranslation",
    "ReLU",
    "ReLU6",
    "Rescaling",
    "Reshape",
    "SeparableConv2D",
    "Softmax",
    "SymbolicTensor",
    "UpSampling2D",
    "dense_block",
]
