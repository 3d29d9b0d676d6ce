"""The Layer base class and the symbolic tensors of the functional API.

A layer is called either on real data (a Tensor or an array: it computes) or on a SymbolicTensor
(from `Input`: it records a node of the graph and its output shape, nothing is computed). Layers
build their weights lazily from the first input shape they see, like Keras.
"""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np

from .. import initializers
from .. import random as pb_random
from ..tensor import Tensor, Variable

_name_counts: dict[str, int] = defaultdict(int)
LAYER_CLASSES: dict[str, type] = {}


def _snake(name: str) -> str:
    """Keras's default layer names: Conv2D -> conv2d, DepthwiseConv2D -> depthwise_conv2d, ReLU -> re_lu."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base: str) -> str:
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def shape_str(shape) -> str:
    return "(" + ", ".join("batch" if d is None else str(d) for d in shape) + ")"


class SymbolicTensor:
    """A placeholder flowing through the functional API: a shape (batch first, None) and its producer."""

    def __init__(self, shape, layer=None, parents=()):
        self.shape = tuple(shape)
        self.layer = layer
        self.parents = tuple(parents)

    def __repr__(self):
        producer = self.layer.name if self.layer is not None else "?"
        return f"<SymbolicTensor shape={shape_str(self.shape)} from {producer!r}>"


class Layer:
    """Base class: subclasses implement build(input_shape), call(x, training) and compute_output_shape."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        LAYER_CLASSES[cls.__name__] = cls

    def __init__(self, name: str | None = None, trainable: bool = True, input_shape=None):
        self.name = name or unique_name(_snake(type(self).__name__))
        # Keras's `Dense(10, input_shape=(784,))` as the first layer of a Sequential: its Input shape.
        if isinstance(input_shape, int):
            input_shape = (input_shape,)
        if input_shape is not None and (
            not input_shape or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in input_shape)
        ):
            raise ValueError(
                f"layer {self.name!r}: input_shape must be a tuple of positive ints without the batch axis, "
                f"got {input_shape!r}"
            )
        self.declared_input_shape = tuple(input_shape) if input_shape is not None else None
        self.trainable = trainable
        self.built = False
        self.input_shape = None  # without the batch axis, set by build
        self._weights: list[Variable] = []
        self._layers: list[Layer] = []  # sub-layers of composite layers

    # -- weights -------------------------------------------------------------------------------------
    def add_weight(self, name, shape, initializer="zeros", trainable=True, seed=None) -> Variable:
        rng = pb_random.spawn(seed) if seed is not None else pb_random.generator()
        values = np.asarray(initializers.get(initializer)(tuple(shape), rng), dtype="float32")
        variable = Variable(values, name=f"{self.name}/{name}", trainable=trainable)
        self._weights.append(variable)
        return variable

    @property
    def weights(self) -> list[Variable]:
        return self._weights + [w for layer in self._layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        return [w for w in self._weights if w.trainable] + [
            w for layer in self._layers for w in layer.trainable_weights
        ]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    def count_params(self) -> int:
        return int(sum(np.prod(w.shape) for w in self.weights))

    def get_weights(self) -> list[np.ndarray]:
        return [w.numpy() for w in self.weights]

    def set_weights(self, values) -> None:
        weights = self.weights
        if len(values) != len(weights):
            raise ValueError(f"layer {self.name!r} has {len(weights)} weights, got {len(values)} arrays")
        for w, v in zip(weights, values):
            w.assign(v)

    # -- building and calling ----------------------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create weights for inputs of `input_shape` (without the batch axis)."""

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, x, training=False):
        raise NotImplementedError

    def _ensure_built(self, input_shape):
        if not self.built:
            self.check_input_shape(input_shape, building=True)
            self.build(input_shape)
            self.input_shape = input_shape
            self.built = True
        else:
            self.check_input_shape(input_shape)

    def check_input_shape(self, input_shape, building=False):
        """Raise a clear error when an input cannot go through this layer."""
        if not building and self.input_shape is not None and tuple(input_shape) != tuple(self.input_shape):
            raise ValueError(
                f"layer {self.name!r} ({type(self).__name__}) was built for inputs of shape "
                f"{shape_str((None, *self.input_shape))} but got {shape_str((None, *input_shape))}"
            )

    def _expect_rank(self, input_shape, rank, what):
        if len(input_shape) != rank:
            raise ValueError(
                f"layer {self.name!r} ({type(self).__name__}) expects {what} of rank {rank + 1} "
                f"(batch included), got shape {shape_str((None, *input_shape))}"
            )

    def __call__(self, inputs, training=False):
        if _is_symbolic(inputs):
            shapes = [t.shape[1:] for t in inputs] if isinstance(inputs, (list, tuple)) else inputs.shape[1:]
            self._ensure_built(shapes)
            out = self.compute_output_shape(shapes)
            parents = inputs if isinstance(inputs, (list, tuple)) else [inputs]
            return SymbolicTensor((None, *out), layer=self, parents=parents)
        if isinstance(inputs, (list, tuple)):
            inputs = [i if isinstance(i, Tensor) else Tensor(np.asarray(i, "float32")) for i in inputs]
            self._ensure_built([i.shape[1:] for i in inputs])
        else:
            if not isinstance(inputs, Tensor):
                inputs = Tensor(np.asarray(inputs, "float32"))
            self._ensure_built(inputs.shape[1:])
        return self.call(inputs, training=training)

    # -- serialisation ---------------------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}>"


def _is_symbolic(inputs) -> bool:
    if isinstance(inputs, (list, tuple)):
        return any(isinstance(i, SymbolicTensor) for i in inputs)
    return isinstance(inputs, SymbolicTensor)


def get_activation_name(activation):
    """Keras activation names we support; fused into conv/dense kernels when relu or relu6."""
    allowed = (None, "linear", "relu", "relu6", "sigmoid", "tanh", "softmax")
    if activation not in allowed:
        raise ValueError(f"unknown activation {activation!r}: use one of {allowed}")
    return None if activation == "linear" else activation


FUSED_ACTIVATIONS = (None, "relu", "relu6")
