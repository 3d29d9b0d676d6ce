"""The versioned JSON model format (documented in docs/json-format.md): build, serialise, validate, decode.

Reading is safe by construction: `json.loads` only (no eval, no pickle), NaN/Infinity literals refused,
the size checked before parsing, every field's type checked, every weight's byte length checked against
its shape and encoding, and the checksums verified. Anything wrong raises ModelFormatError saying what.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

import numpy as np

from . import quantize as q
from . import sparse as sp

FORMAT_NAME = "pybrowserml-model"
FORMAT_VERSION = 1
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
_REQUIRED = {"format": str, "version": int, "architecture": dict, "weights": list, "sha256": str}
_WEIGHT_REQUIRED = {"name": str, "shape": list, "dtype": str, "encoding": dict, "data": str}


class ModelFormatError(ValueError):
    """A model file that cannot be loaded: truncated, corrupt, too large, another format or version."""


def canonical_bytes(document: dict) -> bytes:
    """The bytes the top-level checksum covers: the document without "sha256", keys sorted, compact."""
    body = {k: v for k, v in document.items() if k != "sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def build_document(
    architecture: dict,
    named_weights,
    quantize="uint8",
    per_channel=True,
    training_config=None,
    metadata=None,
    sparse=True,
    input_scaling=None,
) -> dict:
    """named_weights: [(name, float32 ndarray)] in model.weights order -> the JSON document (a dict).

    sparse: store a weight with many exact zeros (a pruned one) as a bitmap plus its non-zero values
    when that is smaller (see io/sparse.py)."""
    quantize = q.check_quantize(quantize)
    entries = []
    for name, array in named_weights:
        array = np.asarray(array, dtype="float32")
        raw, encoding = q.encode(array, quantize, name=name, per_channel=per_channel)
        entry = {"name": name, "shape": [int(d) for d in array.shape], "dtype": "float32", "encoding": encoding}
        stored = sp.sparsify(array, raw, q.encoded_size((), encoding)) if sparse and array.size else None
        if stored is not None:
            raw, entry["sparse"] = stored
        entry["data"] = base64.b64encode(raw).decode("ascii")
        entries.append(entry)
    document = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "architecture": architecture, "weights": entries}
    if training_config is not None:
        document["training_config"] = training_config
    if metadata is not None:
        document["metadata"] = metadata
    if input_scaling is not None:
        document["input_scaling"] = input_scaling
    document["sha256"] = hashlib.sha256(canonical_bytes(document)).hexdigest()
    return document


def dumps(document: dict) -> bytes:
    """The file's bytes (UTF-8 JSON, one line: weights dominate, indentation would only add bytes)."""
    return json.dumps(document, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _refuse_constant(name):
    raise ModelFormatError(f"the model file contains {name}, which is not valid JSON; the file is corrupt")


def parse(data, max_bytes: int = DEFAULT_MAX_BYTES) -> dict:
    """bytes or str -> validated document (weights still encoded). Raises ModelFormatError."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"a model file is bytes or str, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise ModelFormatError(
            f"the model file is {len(data):,} bytes, over the limit of {max_bytes:,} bytes; "
            "if you trust it, pass a larger max_bytes"
        )
    if not len(data):
        raise ModelFormatError("the model file is empty")
    try:
        document = json.loads(bytes(data).decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as e:
        raise ModelFormatError(f"the model file is not UTF-8 text (byte {e.start}): not a JSON model file") from e
    except RecursionError as e:
        raise ModelFormatError("the model file nests JSON too deeply to be a model file") from e
    except json.JSONDecodeError as e:
        truncated = not bytes(data).rstrip().endswith(b"}")
        hint = " (the file looks truncated: it does not end with '}')" if truncated else ""
        raise ModelFormatError(f"the model file is not valid JSON{hint}: {e.msg} at character {e.pos}") from e
    validate(document)
    return document


def _check_type(where, key, value, kind):
    # bool is an int in Python; a JSON true where a number belongs is still wrong.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ModelFormatError(f"{where}: {key!r} must be {kind.__name__}, got {type(value).__name__}")


def validate(document) -> None:
    """Check a parsed document completely (structure, sizes, checksums); raise ModelFormatError."""
    if not isinstance(document, dict):
        raise ModelFormatError(f"a model file holds a JSON object, got {type(document).__name__}")
    if document.get("format") != FORMAT_NAME:
        raise ModelFormatError(
            f"not a pybrowserml model file: format is {document.get('format')!r}, expected {FORMAT_NAME!r}"
        )
    for key, kind in _REQUIRED.items():
        if key not in document:
            raise ModelFormatError(f"the model file has no {key!r} field")
        _check_type("model file", key, document[key], kind)
    if document["version"] != FORMAT_VERSION:
        newer = document["version"] > FORMAT_VERSION
        raise ModelFormatError(
            f"model file version {document['version']} is not supported (this pybrowserml "
            f"reads version {FORMAT_VERSION}){'; upgrade pybrowserml' if newer else ''}"
        )
    for i, entry in enumerate(document["weights"]):
        _validate_weight(i, entry)
    if "input_scaling" in document:
        _validate_input_scaling(document["input_scaling"])
    expected = hashlib.sha256(canonical_bytes(document)).hexdigest()
    if expected != document["sha256"]:
        raise ModelFormatError(
            "the model file's checksum does not match its content: it was modified or corrupted after saving"
        )


def _validate_input_scaling(scaling):
    """{"integer_scale": what integer inputs are multiplied by, "trained_on": "integers" | "floats" | null}."""
    if not isinstance(scaling, dict):
        raise ModelFormatError(f"'input_scaling' must be an object, got {type(scaling).__name__}")
    scale = scaling.get("integer_scale")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < float("inf"):
        raise ModelFormatError(f"input_scaling.integer_scale must be a positive number, got {scale!r}")
    if scaling.get("trained_on") not in (None, "integers", "floats"):
        raise ModelFormatError(
            f"input_scaling.trained_on must be 'integers', 'floats' or null, got {scaling.get('trained_on')!r}"
        )


def _validate_weight(i, entry):
    where = f"weight #{i}"
    if not isinstance(entry, dict):
        raise ModelFormatError(f"{where} must be an object, got {type(entry).__name__}")
    for key, kind in _WEIGHT_REQUIRED.items():
        if key not in entry:
            raise ModelFormatError(f"{where} has no {key!r} field")
        _check_type(where, key, entry[key], kind)
    where = f"weight #{i} ({entry['name']!r})"
    shape = entry["shape"]
    if len(shape) > 8 or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**31 for d in shape):
        raise ModelFormatError(f"{where}: shape {shape} is not a list of non-negative ints")
    if entry["dtype"] != "float32":
        raise ModelFormatError(f"{where}: dtype {entry['dtype']!r} is not supported (float32 only)")
    _validate_encoding(where, shape, entry["encoding"])
    if "sparse" in entry:
        _validate_sparse(where, shape, entry)
    else:
        _check_base64(where, "data", entry["data"], q.encoded_size(shape, entry["encoding"]))


def _validate_sparse(where, shape, entry):
    sparse, count = entry["sparse"], int(np.prod(shape, dtype="int64")) if len(shape) else 1
    if not isinstance(sparse, dict) or sparse.get("kind") != "bitmap":
        raise ModelFormatError(f"{where}: 'sparse' must be an object of kind 'bitmap'")
    nonzero = sparse.get("nonzero")
    if not isinstance(nonzero, int) or isinstance(nonzero, bool) or not 0 <= nonzero <= count:
        raise ModelFormatError(f"{where}: sparse 'nonzero' must be an int in [0, {count}], got {nonzero!r}")
    _check_base64(where, "sparse.mask", sparse.get("mask"), sp.bitmap_bytes(count))
    if int(sp.mask_of(sparse, count).sum()) != nonzero:
        raise ModelFormatError(f"{where}: the sparse mask does not have 'nonzero' ({nonzero}) bits set")
    _check_base64(where, "data", entry["data"], nonzero * q.encoded_size((), entry["encoding"]))


def _check_base64(where, key, text, expected_bytes):
    """The base64 length follows exactly from the byte count: check it before decoding anything."""
    if not isinstance(text, str):
        raise ModelFormatError(f"{where}: {key!r} must be a base64 string, got {type(text).__name__}")
    if len(text) != 4 * ((expected_bytes + 2) // 3):
        raise ModelFormatError(
            f"{where}: {key!r} has {len(text)} base64 characters, expected "
            f"{4 * ((expected_bytes + 2) // 3)} ({expected_bytes} bytes); the file is truncated "
            "or corrupt"
        )
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ModelFormatError(f"{where}: {key!r} is not valid base64 ({e})") from e
    if len(raw) != expected_bytes:
        raise ModelFormatError(f"{where}: {key!r} holds {len(raw)} bytes, expected {expected_bytes}")


def _validate_encoding(where, shape, encoding):
    kind = encoding.get("kind")
    if kind in ("float32", "float16"):
        return
    if kind != "affine":
        raise ModelFormatError(f"{where}: encoding kind {kind!r} is unknown (affine, float16 or float32)")
    bits, axis = encoding.get("bits"), encoding.get("axis", "missing")
    if bits not in (8, 16) or isinstance(bits, bool):
        raise ModelFormatError(f"{where}: affine encoding bits must be 8 or 16, got {bits!r}")
    if axis is not None and (not isinstance(axis, int) or isinstance(axis, bool) or not 0 <= axis < len(shape)):
        raise ModelFormatError(f"{where}: affine axis must be null or an axis of shape {shape}, got {axis!r}")
    channels = 1 if axis is None else shape[axis]
    _check_base64(where, "encoding.scale", encoding.get("scale"), 2 * channels)
    _check_base64(where, "encoding.zero_point", encoding.get("zero_point"), bits // 8 * channels)
    scale, _ = q.affine_parameters(encoding)
    if not np.all(np.isfinite(scale) & (scale > 0)):
        raise ModelFormatError(f"{where}: affine scales must be positive finite numbers")


def decode_weights(document: dict) -> list[tuple[str, np.ndarray]]:
    """[(name, float32 array)] of a validated document, dequantized."""
    out = []
    for entry in document["weights"]:
        raw = base64.b64decode(entry["data"])
        if "sparse" in entry:
            count = int(np.prod(entry["shape"], dtype="int64")) if entry["shape"] else 1
            mask = sp.mask_of(entry["sparse"], count)
            raw = sp.densify(raw, mask, q.encoded_size((), entry["encoding"]))
            values = q.decode(raw, entry["shape"], entry["encoding"])
            values.reshape(-1)[~mask] = 0.0
            out.append((entry["name"], values))
            continue
        out.append((entry["name"], q.decode(raw, entry["shape"], entry["encoding"])))
    return out
