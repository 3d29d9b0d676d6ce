"""Sequential: a plain stack of layers, each called on the previous one's output."""

from __future__ import annotations

from ..layers.base import Layer, SymbolicTensor, unique_name
from ..layers.core import InputLayer
from .functional import Model


class Sequential(Model):
    """A plain stack of layers: `Sequential([Input((28, 28, 1)), Conv2D(16, 3), ...])`."""

    def __init__(self, layers=None, name=None, **kwargs):
        super().__init__(name=name or unique_name("sequential"), **kwargs)
        self._stack: list[Layer] = []
        self.input_shape = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, SymbolicTensor) and isinstance(layer.layer, InputLayer):
            if self._stack or self.input_shape is not None:
                raise ValueError("Sequential: Input(...) can only come first")
            self.input_shape = tuple(layer.shape[1:])
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add takes a layer, got {layer!r}")
        declared = layer.declared_input_shape
        if declared is not None:
            if self._stack:
                raise ValueError(
                    f"Sequential: input_shape= belongs on the first layer only, not on {layer.name!r} (layer "
                    f"{len(self._stack) + 1})"
                )
            if self.input_shape is not None and tuple(self.input_shape) != declared:
                raise ValueError(f"Sequential: Input{self.input_shape} and input_shape={declared} disagree")
            self.input_shape = declared
        self._stack.append(layer)
        self._layers = list(self._stack)
        if self.input_shape is not None:
            self.build(self.input_shape)

    @property
    def layers(self):
        return list(self._stack)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._stack:
            layer._ensure_built(shape)
            shape = layer.compute_output_shape(shape)
        self.input_shape = tuple(input_shape)
        self.built = True

    @property
    def output_shape(self):
        if self.input_shape is None:
            raise ValueError(f"model {self.name!r} has no input shape yet: start it with Input(shape)")
        shape = self.input_shape
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return tuple(shape)

    def _output_layer(self):
        return self._stack[-1]

    def _layer_output_shapes(self):
        shape, rows = self.input_shape, []
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
            rows.append((layer, shape))
        return rows

    def call(self, x, training=False, logits=False):
        if not self._stack:
            raise ValueError(f"model {self.name!r} has no layers")
        if self.input_shape is None:
            self.build(x.shape[1:])
        for layer in self._stack[:-1]:
            x = layer(x, training=training)
        last = self._stack[-1]
        return last.logits(x, training=training) if logits else last(x, training=training)

    def ends_in_softmax(self) -> bool:
        check = getattr(self._stack[-1], "ends_in_softmax", None) if self._stack else None
        return bool(check and check())

    def get_config(self) -> dict:
        return {
            "class_name": "Sequential",
            "config": {
                "name": self.name,
                "input_shape": list(self.input_shape) if self.input_shape else None,
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()} for layer in self._stack],
            },
        }
