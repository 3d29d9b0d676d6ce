"""Layers, one family per file. Keras names and defaults; kernels start Glorot-normal, biases zero."""

from .augmentation import RandomTranslation
from .base import LAYER_CLASSES, Layer, SymbolicTensor
from .conv import Conv2D, DepthwiseConv2D, SeparableConv2D
from .core import Activation, Concatenate, Dense, Dropout, Flatten, Input, InputLayer, ReLU, ReLU6, Softmax
from .dense_block import DenseBlock, dense_block
from .normalization import BatchNormalization
from .pooling import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D

__all__ = [
    "Activation",
    "AveragePooling2D",
    "BatchNormalization",
    "Concatenate",
    "Conv2D",
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
    "dense_block",
]
