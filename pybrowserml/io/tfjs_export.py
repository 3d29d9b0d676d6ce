"""Export to the TensorFlow.js layers format: model.json (topology + weights manifest) + one .bin shard.

`tf.loadLayersModel` reads the result. The topology is the Keras config TF.js expects (Sequential or
Functional, snake_case keys); weights are matched by name (`<layer name>/<weight name>`). TF.js
quantization is per tensor only: a uint8/uint16 weight is stored as q with x = q * scale + min, which is
our affine encoding with min = -zero_point * scale (so 0.0 stays (almost) exactly 0).

CPython writes `directory/model.json` and `directory/group1-shard1of1.bin`. In the browser the two files
are downloaded as `<name>.json` and `<name>.weights.bin` (what tf.io.browserDownloads produces, so
`tf.io.browserFiles([json, bin])` loads them back).
"""

from __future__ import annotations

import json
import os

import numpy as np

from .._version import __version__
from ..input_scaling import raw_pixel_scale
from ..layers import conv, core, normalization, pooling, reshaping
from ..layers.augmentation import RandomTranslation
from ..layers.dense_block import DenseBlock
from ..models import Sequential
from . import quantize as q

TFJS_QUANTIZE = (None, "float32", "float16", "uint8", "uint16")
SHARD_NAME = "group1-shard1of1.bin"


class TFJSExportError(ValueError):
    """The model uses something the TF.js layers format cannot express."""


def _activation(name):
    return "linear" if name is None else name


def _layer_config(layer):
    """(TF.js class_name, config) of one pybrowserml layer; the weights keep their pybrowserml names."""
    cls = type(layer).__name__
    base = {"name": layer.name, "trainable": bool(layer.trainable), "dtype": "float32"}
    if isinstance(layer, conv.DepthwiseConv2D):
        return "DepthwiseConv2D", {
            **base,
            "kernel_size": list(layer.kernel_size),
            "strides": list(layer.strides),
            "padding": layer.padding,
            "data_format": "channels_last",
            "dilation_rate": [1, 1],
            "depth_multiplier": layer.depth_multiplier,
            "activation": _activation(layer.activation),
            "use_bias": bool(layer.use_bias),
        }
    if isinstance(layer, conv.Conv2D):
        return "Conv2D", {
            **base,
            "filters": layer.filters,
            "kernel_size": list(layer.kernel_size),
            "strides": list(layer.strides),
            "padding": layer.padding,
            "data_format": "channels_last",
            "dilation_rate": [1, 1],
            "activation": _activation(layer.activation),
            "use_bias": bool(layer.use_bias),
        }
    if isinstance(layer, conv.SeparableConv2D):
        d = layer.depthwise
        return "SeparableConv2D", {
            **base,
            "filters": layer.filters,
            "kernel_size": list(d.kernel_size),
            "strides": list(d.strides),
            "padding": d.padding,
            "data_format": "channels_last",
            "dilation_rate": [1, 1],
            "depth_multiplier": d.depth_multiplier,
            "activation": _activation(layer.activation),
            "use_bias": bool(layer.pointwise.use_bias),
        }
    if isinstance(layer, core.Dense):
        return "Dense", {
            **base,
            "units": layer.units,
            "activation": _activation(layer.activation),
            "use_bias": bool(layer.use_bias),
        }
    if isinstance(layer, core.Activation):
        return "Activation", {**base, "activation": _activation(layer.activation)}
    if isinstance(layer, core.ReLU):  # ReLU6 too: TF.js has no ReLU6 layer, ReLU(max_value=6) is the same
        return "ReLU", {**base, "max_value": None if layer.max_value is None else float(layer.max_value)}
    if isinstance(layer, core.LeakyReLU):
        return "LeakyReLU", {**base, "alpha": layer.negative_slope}
    if isinstance(layer, reshaping.Rescaling):
        return "Rescaling", {**base, "scale": layer.scale, "offset": layer.offset}
    if isinstance(layer, reshaping.Reshape):
        return "Reshape", {**base, "target_shape": list(layer.target_shape)}
    if isinstance(layer, core.Softmax):
        return "Softmax", {**base, "axis": layer.axis}
    if isinstance(layer, core.Concatenate):
        return "Concatenate", {**base, "axis": layer.axis}
    if isinstance(layer, core.Flatten):
        return "Flatten", {**base, "data_format": "channels_last"}
    if isinstance(layer, core.Dropout):
        return "Dropout", {**base, "rate": layer.rate}
    if isinstance(layer, pooling.GlobalAveragePooling2D):
        return "GlobalAveragePooling2D", {**base, "data_format": "channels_last"}
    if isinstance(layer, (pooling.MaxPooling2D, pooling.AveragePooling2D)):
        return cls, {
            **base,
            "pool_size": list(layer.pool_size),
            "strides": list(layer.strides),
            "padding": layer.padding,
            "data_format": "channels_last",
        }
    if isinstance(layer, normalization.BatchNormalization):
        # pybrowserml always creates gamma and beta (fixed when scale/center is False): export them as
        # trainable-or-not weights of a center=scale=True layer, which computes the same thing.
        return "BatchNormalization", {
            **base,
            "axis": -1,
            "momentum": layer.momentum,
            "epsilon": layer.epsilon,
            "center": True,
            "scale": True,
        }
    raise TFJSExportError(f"layer {layer.name!r} ({cls}) has no TF.js layers equivalent")


def _tfjs_weight_names(layer):
    """pybrowserml weight name -> TF.js weight name, where they differ (SeparableConv2D's sub-layers)."""
    if isinstance(layer, conv.SeparableConv2D):
        names = {
            layer.depthwise.kernel.name: f"{layer.name}/depthwise_kernel",
            layer.pointwise.kernel.name: f"{layer.name}/pointwise_kernel",
        }
        if layer.pointwise.bias is not None:
            names[layer.pointwise.bias.name] = f"{layer.name}/bias"
        return names
    return {}


def _concat_config(name):
    return {"name": name, "trainable": True, "dtype": "float32", "axis": -1}


def _expand_dense_block(block, parents, nodes):
    """A single-layer DenseBlock as the standard layers it is made of (what dense_block(x) builds)."""
    outputs = []
    for k, (depthwise, pointwise) in enumerate(block.pairs):
        if k == 0:
            source = parents[0]
        elif k == 1:
            source = outputs[0]
        else:
            source = f"{block.name}/layer_{k + 1}/inputs"
            nodes.append(("Concatenate", _concat_config(source), list(outputs)))
        for layer, inbound in ((depthwise, source), (pointwise, depthwise.name)):
            class_name, config = _layer_config(layer)
            nodes.append((class_name, config, [inbound]))
        outputs.append(pointwise.name)
    if len(outputs) == 1:
        return outputs[0]
    name = f"{block.name}/output"
    nodes.append(("Concatenate", _concat_config(name), outputs))
    return name


def _training_only(layer):
    """Augmentation layers are the identity at inference, and TF.js 4.22 has none: they are left out."""
    return isinstance(layer, RandomTranslation)


def _scaling_config(model, input_scale):
    return {
        "name": f"{model.name}_input_scaling",
        "trainable": False,
        "dtype": "float32",
        "scale": input_scale,
        "offset": 0.0,
    }


def _graph(model, input_scale=None):
    """-> (input layer name, [(class_name, config, [inbound layer names])] in order, output layer name)."""
    nodes = []

    def add(layer, parents):
        if _training_only(layer):
            return parents[0]
        if isinstance(layer, DenseBlock):
            return _expand_dense_block(layer, parents, nodes)
        class_name, config = _layer_config(layer)
        nodes.append((class_name, config, parents))
        return layer.name

    def source(input_name):
        if input_scale is None:
            return input_name
        config = _scaling_config(model, input_scale)
        nodes.append(("Rescaling", config, [input_name]))
        return config["name"]

    if isinstance(model, Sequential):
        input_name = f"{model.name}_input"
        last = source(input_name)
        for layer in model.layers:
            last = add(layer, [last])
        return input_name, nodes, last
    input_name = model._input.layer.name
    produced = {id(model._input): source(input_name)}
    for node in model._nodes:
        produced[id(node)] = add(node.layer, [produced[id(parent)] for parent in node.parents])
    return input_name, nodes, produced[id(model._output)]


def _input_scale(model, input_scale):
    if input_scale == "auto":
        return raw_pixel_scale(model)
    if input_scale is None:
        return None
    if isinstance(input_scale, bool) or not isinstance(input_scale, (int, float)) or not input_scale > 0:
        raise ValueError(f"export_tfjs: input_scale must be 'auto', None or a positive number, got {input_scale!r}")
    return float(input_scale)


def model_topology(model, input_scale="auto") -> tuple[dict, dict]:
    """-> (Keras-style modelTopology, {pybrowserml weight name: TF.js weight name}).

    input_scale: "auto" puts a Rescaling(1/255) layer first when the model was trained on integer pixels
    (pybrowserml scales those by 1/255 before the first layer; TF.js feeds what it is given), so TF.js on
    raw 0-255 pixels (tf.browser.fromPixels) predicts what pybrowserml predicts on the same uint8 pixels;
    None never adds it; a number adds Rescaling(that number).

    A Sequential model stays Sequential; a functional one, or a Sequential holding a DenseBlock (whose
    concatenations a TF.js Sequential cannot express), becomes a Functional topology.
    """
    if model.input_shape is None:
        raise TFJSExportError(f"model {model.name!r} has no input shape: start it with Input(shape)")
    renames = {}
    for layer in model.layers:
        for sub in [layer, *layer._layers]:
            renames.update(_tfjs_weight_names(sub))
    batch_shape = [None, *model.input_shape]
    input_scale = _input_scale(model, input_scale)
    if isinstance(model, Sequential) and not any(isinstance(layer, DenseBlock) for layer in model.layers):
        layers = []
        if input_scale is not None:
            layers.append({"class_name": "Rescaling", "config": _scaling_config(model, input_scale)})
        for layer in model.layers:
            if not _training_only(layer):
                class_name, config = _layer_config(layer)
                layers.append({"class_name": class_name, "config": config})
        layers[0]["config"]["batch_input_shape"] = batch_shape
        body = {"name": model.name, "layers": layers}
        class_name = "Sequential"
    else:
        input_name, nodes, output_name = _graph(model, input_scale)
        layers = [
            {
                "class_name": "InputLayer",
                "name": input_name,
                "inbound_nodes": [],
                "config": {"batch_input_shape": batch_shape, "dtype": "float32", "sparse": False, "name": input_name},
            }
        ]
        for node_class, config, inbound in nodes:
            layers.append(
                {
                    "class_name": node_class,
                    "config": config,
                    "name": config["name"],
                    "inbound_nodes": [[[name, 0, 0, {}] for name in inbound]],
                }
            )
        body = {
            "name": model.name,
            "layers": layers,
            "input_layers": [[input_name, 0, 0]],
            "output_layers": [[output_name, 0, 0]],
        }
        class_name = "Functional"
    topology = {
        "class_name": class_name,
        "config": body,
        "keras_version": f"pybrowserml {__version__}",
        "backend": "tensor_flow.js",
    }
    return topology, renames


def _encode_weight(array, quantize):
    """-> (bytes, manifest extras) in TF.js's own encodings."""
    if quantize in (None, "float32"):
        return array.astype("<f4").tobytes(), {}
    if quantize == "float16":
        raw, _ = q.encode(array, "float16")
        return raw, {"quantization": {"dtype": "float16", "original_dtype": "float32"}}
    values, scale, zero_point = q.quantize_affine(array, q.AFFINE_BITS[quantize], axis=None)
    scale32 = np.float32(scale[0])
    minimum = float(np.float32(-zero_point[0]) * scale32)
    return values.tobytes(), {
        "quantization": {"dtype": quantize, "scale": float(scale32), "min": minimum, "original_dtype": "float32"}
    }


def tfjs_artifacts(model, quantize="uint8", weights_path=SHARD_NAME, input_scale="auto") -> tuple[dict, bytes]:
    """-> (model.json as a dict, the weights shard bytes); nothing is written. input_scale: see model_topology."""
    if quantize not in TFJS_QUANTIZE:
        raise ValueError(
            f"export_tfjs: quantize={quantize!r} is not supported by TF.js: use one of "
            f"{', '.join(str(c) for c in TFJS_QUANTIZE)} (TF.js quantizes per tensor)"
        )
    topology, renames = model_topology(model, input_scale)
    specs, chunks = [], []
    for variable in model.weights:
        raw, extra = _encode_weight(np.asarray(variable.numpy(), dtype="float32"), quantize)
        specs.append(
            {
                "name": renames.get(variable.name, variable.name),
                "shape": [int(d) for d in variable.shape],
                "dtype": "float32",
                **extra,
            }
        )
        chunks.append(raw)
    model_json = {
        "format": "layers-model",
        "generatedBy": f"pybrowserml {__version__}",
        "convertedBy": None,
        "modelTopology": topology,
        "weightsManifest": [{"paths": [weights_path], "weights": specs}],
    }
    return model_json, b"".join(chunks)


def export_tfjs(model, directory_or_name, quantize="uint8", input_scale="auto") -> dict:
    """Write the TF.js layers format: a directory with model.json + group1-shard1of1.bin (CPython), or
    two browser downloads <name>.json + <name>.weights.bin (Pyodide). Returns {"files", "bytes"}.

    A model trained on integer pixels gets a leading Rescaling(1/255) layer (input_scale="auto"), so the
    TF.js model takes raw 0-255 pixels like pybrowserml does; see model_topology."""
    from ..browser import is_pyodide

    target = os.fspath(directory_or_name)
    if not target:
        raise ValueError("export_tfjs needs a directory (CPython) or a download name (browser), got ''")
    if is_pyodide():
        from .download import trigger_download

        name = os.path.basename(target.rstrip("/")).removesuffix(".json") or "model"
        weights_name = f"{name}.weights.bin"
        model_json, shard = tfjs_artifacts(model, quantize, weights_path=f"./{weights_name}", input_scale=input_scale)
        text = json.dumps(model_json).encode("utf-8")
        trigger_download(text, f"{name}.json")
        trigger_download(shard, weights_name, "application/octet-stream")
        return {"files": [f"{name}.json", weights_name], "bytes": len(text) + len(shard)}
    if os.path.isfile(target):
        raise FileExistsError(
            f"export_tfjs: {target!r} is a file; give a directory to hold model.json and the weights shard"
        )
    model_json, shard = tfjs_artifacts(
        model, quantize, input_scale=input_scale
    )  # first: an unexportable model leaves nothing behind
    os.makedirs(target, exist_ok=True)
    text = json.dumps(model_json).encode("utf-8")
    files = []
    for file_name, data in ((SHARD_NAME, shard), ("model.json", text)):  # model.json last: it points at the shard
        path = os.path.join(target, file_name)
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
        files.append(path)
    return {"files": files, "bytes": len(text) + len(shard)}
