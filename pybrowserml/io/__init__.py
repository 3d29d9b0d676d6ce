"""Saving and loading models: the quantized JSON format, TF.js export, browser downloads.

```
pybrowserml.io.save_json(model, "model.json", quantize="uint8")     # a file in CPython, a download in the browser
model = pybrowserml.io.load_json("model.json")                      # path, JSON text or bytes
model.save("model.json"); pybrowserml.load_model("model.json")      # Keras's names: float32 by default
model.save_weights("w.npz"); model.load_weights("w.npz")            # weights only, exact
await pybrowserml.io.save_json_async(model, "mine", store="indexeddb"); await pybrowserml.io.load_json_async("mine")
pybrowserml.io.export_tfjs(model, "tfjs_model/", quantize="uint8")  # model.json + group1-shard1of1.bin
pybrowserml.io.quantization_report(model, quantize="uint8")         # sizes and weight errors, no file
```
The format is documented in docs/json-format.md.
"""

from .download import trigger_download
from .json_format import DEFAULT_MAX_BYTES, FORMAT_NAME, FORMAT_VERSION, ModelFormatError
from .quantize import QUANTIZE_CHOICES
from .saving import (
    SaveResult,
    encode_model,
    load_json,
    load_json_async,
    load_model,
    quantization_report,
    save_json,
    save_json_async,
)
from .tfjs_export import TFJSExportError, export_tfjs, tfjs_artifacts
from .weights_file import load_weights, save_weights

__all__ = [
    "save_json",
    "save_json_async",
    "load_json",
    "load_json_async",
    "load_model",
    "save_weights",
    "load_weights",
    "quantization_report",
    "encode_model",
    "export_tfjs",
    "tfjs_artifacts",
    "trigger_download",
    "ModelFormatError",
    "TFJSExportError",
    "SaveResult",
    "QUANTIZE_CHOICES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "DEFAULT_MAX_BYTES",
]
