"""The functional Model: a graph of layers called on `Input(...)` tensors, with Keras's methods.

The graph side lives here (call, layers, get_layer, summary, get_config); compile, fit, evaluate and
predict come from the Trainer mixin (pybrowserml.training).
"""

from __future__ import annotations

import numpy as np

from ..backends import get_backend
from ..input_scaling import check_input_scaling, integer_scale
from ..layers.base import Layer, SymbolicTensor, shape_str, unique_name
from ..layers.core import Concatenate, InputLayer
from ..tensor import Tensor
from ..training import Trainer, input_tensor

LIST_INPUT_LAYERS = (Concatenate,)  # layers called on a list of tensors


class Model(Trainer, Layer):
    """A functional model: `Model(inputs, outputs)` over layers called on `Input(...)` tensors."""

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        super().__init__(name=name or unique_name("functional"), **kwargs)
        self._init_trainer()
        self._nodes: list[SymbolicTensor] = []
        if inputs is not None or outputs is not None:
            self._init_graph(inputs, outputs)

    # -- the graph ---------------------------------------------------------------------------------------
    def _init_graph(self, inputs, outputs):
        if isinstance(inputs, (list, tuple)) or isinstance(outputs, (list, tuple)):
            if len(inputs) != 1 or len(outputs) != 1:
                raise NotImplementedError("models with several inputs or outputs are not supported yet")
            inputs, outputs = inputs[0], outputs[0]
        if not isinstance(inputs, SymbolicTensor) or not isinstance(inputs.layer, InputLayer):
            raise TypeError("Model(inputs, outputs): inputs must come from pybrowserml.layers.Input(shape)")
        if not isinstance(outputs, SymbolicTensor):
            raise TypeError("Model(inputs, outputs): outputs must be the result of calling layers on the inputs")
        order, seen = [], set()

        def visit(t):
            if id(t) in seen:
                return
            seen.add(id(t))
            for parent in t.parents:
                visit(parent)
            order.append(t)

        visit(outputs)
        if inputs not in order:
            raise ValueError("Model(inputs, outputs): outputs do not depend on these inputs")
        layers = [t.layer for t in order]
        if len({id(layer) for layer in layers}) != len(layers):
            raise NotImplementedError("a layer used twice in one model (weight sharing) is not supported")
        self._input = inputs
        self._nodes = [t for t in order if t is not inputs]
        self._output = outputs
        self._layers = [t.layer for t in self._nodes]
        self.input_shape = tuple(inputs.shape[1:])
        self.built = True

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @property
    def output_shape(self):
        return tuple(self._output.shape[1:])

    def get_layer(self, name):
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r} in model {self.name!r}")

    def _output_layer(self):
        return self._output.layer

    def ends_in_softmax(self) -> bool:
        check = getattr(self._output_layer(), "ends_in_softmax", None)
        return bool(check and check())

    def call(self, x, training=False, logits=False):
        values = {id(self._input): x}
        for node in self._nodes:
            args = [values[id(p)] for p in node.parents]
            arg = args if isinstance(node.layer, LIST_INPUT_LAYERS) else args[0]
            if logits and node is self._output:
                values[id(node)] = node.layer.logits(arg, training=training)
            else:
                values[id(node)] = node.layer(arg, training=training)
        return values[id(self._output)]

    def __call__(self, inputs, training=False):
        if isinstance(inputs, SymbolicTensor):
            raise NotImplementedError("calling a model on symbolic inputs (nesting models) is not supported yet")
        if not isinstance(inputs, Tensor):
            inputs = np.asarray(inputs)
            check_input_scaling(inputs, self, f"model {self.name!r}")
            inputs = input_tensor(inputs, self.home_backend(), integer_scale(self))
        return self.call(inputs, training=training)

    def home_backend(self):
        """Where this model's weights live (the current backend if it has none yet): batches go there, even
        if another backend became current since the model was built (a batch on another backend would hand
        its kernels foreign pointers)."""
        for layer in _walk(self.layers):
            if layer._weights:
                return layer._weights[0].backend
        return get_backend()

    def random_layers(self) -> list[Layer]:
        """Layers drawing from their own generator in training (Dropout, RandomTranslation)."""
        return [layer for layer in _walk(self.layers) if isinstance(getattr(layer, "rng", None), np.random.Generator)]

    # -- weights, summary, config ---------------------------------------------------------------------------------
    def summary(self, print_fn=print) -> str:
        """Prints a table of layers, output shapes and parameter counts, the totals and the weight bytes."""
        from ..io import quantization_report  # io sits above models (it rebuilds models from configs)

        rows = [
            (f"{layer.name} ({type(layer).__name__})", shape_str((None, *shape)), layer.count_params())
            for layer, shape in self._layer_output_shapes()
        ]
        width = max([len(r[0]) for r in rows] + [20]) + 2
        lines = [
            f'Model: "{self.name}"',
            f"{'Layer (type)':<{width}}{'Output Shape':<22}{'Param #':>10}",
            "-" * (width + 32),
        ]
        lines += [f"{name:<{width}}{shape:<22}{count:>10,}" for name, shape, count in rows]
        total = self.count_params()
        trainable = int(sum(np.prod(w.shape) for w in self.trainable_weights))
        lines += [
            "-" * (width + 32),
            f"Total params: {total:,} ({_bytes(4 * total)} as float32)",
            f"Trainable params: {trainable:,}",
            f"Non-trainable params: {total - trainable:,}",
        ]
        report = quantization_report(self, quantize="uint8")
        lines.append(
            f"Quantized uint8 JSON: {_bytes(report['quantized_json_bytes'])} vs "
            f"{_bytes(report['float32_json_bytes'])} as float32 JSON; max |error| "
            f"{report['max_abs_error']:.2e}, mean |error| {report['mean_abs_error']:.2e}"
        )
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    def _layer_output_shapes(self):
        return [(node.layer, node.shape[1:]) for node in self._nodes]

    def save_json(self, path_or_name, quantize="uint8", **kwargs):
        """Save architecture + weights as (quantized) JSON: a file in CPython, a download in the browser."""
        from ..io import save_json  # io sits above models (it rebuilds models from configs)

        return save_json(self, path_or_name, quantize=quantize, **kwargs)

    def save(self, path, quantize="float32", **kwargs):
        """Keras's model.save: architecture, weights and training config in one JSON file, float32 (exact)
        by default; `pybrowserml.load_model(path)` reads it back. save_json is the same with uint8 by default."""
        from ..io import save_json

        return save_json(self, path, quantize=quantize, store=kwargs.pop("store", "file"), **kwargs)

    def save_weights(self, path):
        """Only the weights (exact float32, an .npz); load_weights(path) puts them into the same architecture."""
        from ..io import save_weights

        return save_weights(self, path)

    def load_weights(self, path):
        from ..io import load_weights

        load_weights(self, path)

    def get_config(self) -> dict:
        layers = []
        for node in self._nodes:
            layers.append(
                {
                    "class_name": type(node.layer).__name__,
                    "config": node.layer.get_config(),
                    "inbound": [p.layer.name for p in node.parents],
                }
            )
        return {
            "class_name": "Functional",
            "config": {
                "name": self.name,
                "input": {"name": self._input.layer.name, "shape": list(self.input_shape)},
                "layers": layers,
                "output": self._output.layer.name,
            },
        }


def _walk(layers):
    for layer in layers:
        yield layer
        yield from _walk(layer._layers)


def _bytes(n):
    return f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.2f} MiB"
