"""save_json / load_json: a model (architecture + weights) to and from the JSON format, anywhere.

Where it goes:
- CPython: `save_json(model, "model.json")` writes the file (atomically: temp file + rename).
- Browser (Pyodide): `save_json(model, "model.json")` offers the file as a download (Blob + link click).
- IndexedDB (browser; a directory store in CPython): `await save_json_async(model, "name", store="indexeddb")`
  keeps it under that name in `pybrowserml.storage.open_store("models")`; `await load_json_async("name")`
  reads it back. IndexedDB is asynchronous, so these are coroutines; the sync functions refuse `store`.

Loading never returns a half-built model: the whole file is validated and decoded before the model is
rebuilt, and the weights are checked against the rebuilt architecture before they are set.
"""

from __future__ import annotations

import os

import numpy as np

from .. import losses, optimizers, schedules
from .._version import __version__
from ..input_scaling import restore_scaling, scaling_config
from ..models import model_from_config
from . import json_format as fmt
from . import quantize as q
from .json_format import DEFAULT_MAX_BYTES, ModelFormatError

MODELS_NAMESPACE = "models"
_STORES = (None, "download", "file", "indexeddb")


class SaveResult(dict):
    """What save_json returns: {"path" | "download" | "key", "bytes", "quantize", "per_channel",
    "float32_json_bytes", "ratio", "max_abs_error", "mean_abs_error"}; printable."""

    def __str__(self):
        where = self.get("path") or self.get("download") or self.get("key")
        return (
            f"saved {where}: {self['bytes']:,} bytes ({self['quantize']}"
            f"{', per channel' if self['per_channel'] and self['quantize'] in q.AFFINE_BITS else ''}), "
            f"{100 * self['ratio']:.1f}% of float32 JSON ({self['float32_json_bytes']:,} bytes); "
            f"max |error| {self['max_abs_error']:.3g}, mean |error| {self['mean_abs_error']:.3g}"
        )


def _named_weights(model):
    weights = model.weights
    if not weights:
        raise ValueError(
            f"model {getattr(model, 'name', model)!r} has no weights yet: build it (start it "
            "with Input(shape) or call it on data) before saving"
        )
    return [(w.name, w.numpy()) for w in weights]


def _training_config(model):
    optimizer, loss = getattr(model, "optimizer", None), getattr(model, "loss", None)
    if optimizer is None or loss is None or not hasattr(loss, "get_config"):
        return None
    return {
        "optimizer": {"class_name": type(optimizer).__name__, "config": optimizer.get_config()},
        "loss": loss.get_config(),
        "metrics": list(getattr(model, "metrics_names", [])),
    }


def _errors(named_weights, document):
    decoded = fmt.decode_weights(document)
    total, count, worst = 0.0, 0, 0.0
    for (_, original), (_, restored) in zip(named_weights, decoded):
        diff = np.abs(original.astype("float64") - restored)
        if diff.size:
            worst = max(worst, float(diff.max()))
            total += float(diff.sum())
            count += diff.size
    return worst, (total / count if count else 0.0)


def encode_model(model, quantize="uint8", per_channel=True, include_optimizer=True, sparse=True):
    """-> (file bytes, report dict). The report compares with the same model saved as dense float32 JSON.
    `sparse`: weights with many exact zeros (pruned) are stored as a bitmap plus their non-zero values."""
    quantize = q.check_quantize(quantize)
    named = _named_weights(model)
    metadata = {"pybrowserml_version": __version__, "quantize": quantize, "per_channel": bool(per_channel)}
    training = _training_config(model) if include_optimizer else None
    scaling = scaling_config(model)
    document = fmt.build_document(
        model.get_config(), named, quantize, per_channel, training, metadata, sparse, input_scaling=scaling
    )
    data = fmt.dumps(document)
    if quantize == "float32" and not any("sparse" in entry for entry in document["weights"]):
        reference = len(data)
    else:
        reference = len(
            fmt.dumps(
                fmt.build_document(
                    model.get_config(),
                    named,
                    "float32",
                    per_channel,
                    training,
                    {**metadata, "quantize": "float32"},
                    sparse=False,
                    input_scaling=scaling,
                )
            )
        )
    worst, mean = _errors(named, document)
    report = {
        "bytes": len(data),
        "quantize": quantize,
        "per_channel": bool(per_channel),
        "float32_json_bytes": reference,
        "ratio": len(data) / reference,
        "max_abs_error": worst,
        "mean_abs_error": mean,
    }
    return data, report


def quantization_report(model, quantize="uint8", per_channel=True) -> dict:
    """Sizes and weight errors of saving `model` with `quantize`, without saving (summary() shows it).

    {"quantized_json_bytes", "float32_json_bytes", "ratio", "max_abs_error", "mean_abs_error", "quantize",
    "per_channel"}
    """
    _, report = encode_model(model, quantize, per_channel)
    report["quantized_json_bytes"] = report.pop("bytes")
    return report


def _check_store(store):
    if store not in _STORES:
        raise ValueError(
            f"store={store!r} is not supported: use None (a file in CPython, a download in the "
            "browser), 'file', 'download' or 'indexeddb'"
        )


def save_json(model, path_or_name, quantize="uint8", per_channel=True, include_optimizer=True, store=None, sparse=True):
    """Save `model` as (quantized) JSON; returns a SaveResult (sizes and weight errors).

    store None: a file in CPython, a browser download in Pyodide; "file": a file (Pyodide: its in-memory
    file system); "download": a browser download. For IndexedDB use `await save_json_async(...)`.
    """
    _check_store(store)
    if store == "indexeddb":
        raise ValueError(
            "saving to IndexedDB is asynchronous: use `await pybrowserml.io.save_json_async(model, "
            f"{path_or_name!r}, store='indexeddb')`"
        )
    path_or_name = os.fspath(path_or_name)
    if not path_or_name:
        raise ValueError("save_json needs a file path or a download name, got ''")
    data, report = encode_model(model, quantize, per_channel, include_optimizer, sparse)
    from ..browser import is_pyodide

    if store == "download" or (store is None and is_pyodide()):
        from .download import trigger_download

        name = os.path.basename(path_or_name)
        trigger_download(data, name)
        return SaveResult(report, download=name)
    _write_atomically(path_or_name, data)
    return SaveResult(report, path=path_or_name)


async def save_json_async(
    model, path_or_name, quantize="uint8", per_channel=True, include_optimizer=True, store="indexeddb", sparse=True
):
    """save_json that can also keep the file in IndexedDB (store="indexeddb", the default here) under the
    key `path_or_name` of the "models" store; other stores behave like save_json."""
    _check_store(store)
    if store != "indexeddb":
        return save_json(model, path_or_name, quantize, per_channel, include_optimizer, store, sparse)
    from ..storage import open_store

    data, report = encode_model(model, quantize, per_channel, include_optimizer, sparse)
    await open_store(MODELS_NAMESPACE).put(str(path_or_name), data)
    return SaveResult(report, key=str(path_or_name))


def _write_atomically(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(f"save_json: {path!r} is a directory; give a file name like 'model.json'")
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _read_source(source, max_bytes):
    """bytes / JSON text / a path -> bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str):
        raise TypeError(f"load_json takes a path, JSON text or bytes, got {type(source).__name__}")
    if source.lstrip().startswith("{"):
        return source.encode("utf-8")
    if not os.path.exists(source):
        raise FileNotFoundError(
            f"load_json: no file {source!r}; for a model kept in IndexedDB use "
            f"`await pybrowserml.io.load_json_async({source!r})`"
        )
    size = os.path.getsize(source)
    if size > max_bytes:
        raise ModelFormatError(
            f"{source!r} is {size:,} bytes, over the limit of {max_bytes:,} bytes; "
            "if you trust it, "
            "pass a larger max_bytes"
        )
    with open(source, "rb") as f:
        return f.read()


def load_json(source, max_bytes=DEFAULT_MAX_BYTES, compile=True):
    """Rebuild a model from the JSON format: `source` is a path, the JSON text, or its bytes.

    Raises ModelFormatError (a ValueError) for a truncated, corrupt, oversized or mismatched file.
    With `compile=True` a model saved compiled comes back compiled (same optimizer config and loss).
    """
    document = fmt.parse(_read_source(source, max_bytes), max_bytes=max_bytes)
    return model_from_document(document, compile=compile)


def load_model(path, compile=True, max_bytes=DEFAULT_MAX_BYTES):
    """Keras's load_model for a file written by model.save (or save_json): the model, compiled as saved."""
    return load_json(path, max_bytes=max_bytes, compile=compile)


async def load_json_async(key_or_source, max_bytes=DEFAULT_MAX_BYTES, compile=True, store="indexeddb"):
    """load_json for a model kept with save_json_async(..., store="indexeddb") under `key_or_source`."""
    if store != "indexeddb":
        return load_json(key_or_source, max_bytes, compile)
    from ..storage import open_store

    data = await open_store(MODELS_NAMESPACE).get(str(key_or_source))
    if data is None:
        raise FileNotFoundError(
            f"no model named {key_or_source!r} in the {MODELS_NAMESPACE!r} store; saved ones "
            f"are: {await open_store(MODELS_NAMESPACE).keys()}"
        )
    return load_json(data, max_bytes, compile)


def model_from_document(document, compile=True):
    """A validated document -> a model with its weights set (all checks happen before set_weights)."""
    decoded = fmt.decode_weights(document)
    try:
        model = model_from_config(document["architecture"])
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, MemoryError, OverflowError) as e:
        # MemoryError: an architecture asking for absurd layer sizes fails here, before any weight is checked.
        raise ModelFormatError(f"the model file's architecture cannot be rebuilt: {type(e).__name__}: {e}") from e
    weights = model.weights
    if len(weights) != len(decoded):
        raise ModelFormatError(f"the architecture has {len(weights)} weights but the file holds {len(decoded)}")
    for variable, (name, array) in zip(weights, decoded):
        if variable.name != name or tuple(variable.shape) != array.shape:
            raise ModelFormatError(
                f"weight {name!r} of shape {array.shape} does not match the architecture's "
                f"{variable.name!r} of shape {tuple(variable.shape)}"
            )
    try:
        restore_scaling(model, document.get("input_scaling"))
    except ValueError as e:
        raise ModelFormatError(f"the model file's input scaling does not fit its architecture: {e}") from e
    model.set_weights([array for _, array in decoded])
    if compile and document.get("training_config"):
        _compile_from(model, document["training_config"])
    return model


def _compile_from(model, training):
    """Compile as saved when the optimizer, its learning rate (float or built-in schedule) and the loss
    are plain configs; anything else (a custom loss or schedule) leaves the model uncompiled."""
    try:
        opt = dict(training["optimizer"]["config"])
        opt.pop("name", None)
        cls = getattr(optimizers, training["optimizer"]["class_name"])
        if not (isinstance(cls, type) and issubclass(cls, optimizers.Optimizer)):
            return
        lr = opt.get("learning_rate")
        if isinstance(lr, dict):
            lr = dict(lr)
            schedule = getattr(schedules, lr.pop("class_name", ""), None)
            if not (isinstance(schedule, type) and issubclass(schedule, schedules.LearningRateSchedule)):
                return
            opt["learning_rate"] = schedule(**lr)
        loss_config = dict(training["loss"])
        loss = losses.get(loss_config.pop("name"))
        if "from_logits" in loss_config:
            loss = type(loss)(from_logits=bool(loss_config["from_logits"]))
        model.compile(optimizer=cls(**opt), loss=loss, metrics=list(training.get("metrics") or []) or None)
    except (KeyError, TypeError, ValueError, AttributeError):
        return  # an unusual training config never blocks loading the model itself
