"""Rebuilding a model from its config (what io writes into saved JSON files)."""

from __future__ import annotations

from ..layers.base import LAYER_CLASSES, Layer
from ..layers.core import Input
from .functional import LIST_INPUT_LAYERS, Model
from .sequential import Sequential


def model_from_config(config: dict) -> Model:
    """Rebuild a model (fresh weights) from `model.get_config()`; JSON-safe, no code execution.

    The config format (stable: io writes it into saved JSON files):
        Sequential: {"class_name": "Sequential", "config": {"name", "input_shape": [h, w, c] | None,
                     "layers": [{"class_name": "Conv2D", "config": {...layer.get_config()}}, ...]}}
        Functional: {"class_name": "Functional", "config": {"name", "input": {"name", "shape"},
                     "layers": [{"class_name", "config", "inbound": [names of the parent layers]}, ...]
                                 (in topological order), "output": name of the output layer}}
    Layer class names are Keras's (Conv2D, DepthwiseConv2D, SeparableConv2D, Dense, Flatten, Dropout,
    Activation, ReLU, ReLU6, Softmax, Concatenate, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
    BatchNormalization) plus DenseBlock; each layer config holds the layer's constructor arguments.
    """
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ValueError("model config must be a dict with 'class_name' and 'config'")
    body = config["config"]

    def make(entry):
        cls = LAYER_CLASSES.get(entry.get("class_name"))
        if cls is None or cls in (Model, Sequential) or not issubclass(cls, Layer):
            raise ValueError(f"unknown layer class {entry.get('class_name')!r} in model config")
        return cls.from_config(dict(entry["config"]))

    if config["class_name"] == "Sequential":
        model = Sequential(name=body["name"])
        if body.get("input_shape"):
            model.add(Input(tuple(body["input_shape"])))
        for entry in body["layers"]:
            model.add(make(entry))
        return model
    if config["class_name"] == "Functional":
        inputs = Input(tuple(body["input"]["shape"]), name=body["input"]["name"])
        tensors = {body["input"]["name"]: inputs}
        for entry in body["layers"]:
            layer = make(entry)
            parents = [tensors[name] for name in entry["inbound"]]
            tensors[layer.name] = layer(parents if isinstance(layer, LIST_INPUT_LAYERS) else parents[0])
        return Model(inputs, tensors[body["output"]], name=body["name"])
    raise ValueError(f"unknown model class {config['class_name']!r}: expected 'Sequential' or 'Functional'")
