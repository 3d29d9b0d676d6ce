"""Layers, one family per file. Keras names and defaults; kernels start Glorot-normal, biases zero."""

from .augmentation import RandomTranslation
from .base import LAYER_CLASSES, Layer, SymbolicTensor
from .conv import Conv2D, DepthwiseConv2D, SeparableConv2D
from .conv_transpose import Conv2DTranspose
from .core import Activation, Concatenate, Dense, Dropout, Flatten, Input, InputLayer, ReLU, ReLU6, Softmax
from .dense_block import DenseBlock, dense_block
from .normalization import BatchNormalization
from .pooling import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D
from .upsampling import UpSampling2D

__all__ = [
    "Activation",
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
    "GlobalAveragePooling2D",
    "Input",
    "InputLayer",
    "LAYER_CLASSES",
    "Layer",
    "MaxPooling2D",
    "RandomTranslation",
    "ReLU",
    "ReLU6",
    "SeparableConv2D",
    "Softmax",
    "SymbolicTensor",
    "UpSampling2D",
    "dense_block",
]
