"""`pybrowserml inspect model.json`: what a saved model holds, without running it.

Architecture (layers, output shapes, parameters), sizes (the file, float32 weights, stored weights),
the quantization scheme, sparse (pruned) weights, the input scaling and the checksum. The whole file is
validated first (checksums included); a file that is not a pybrowserml model JSON says so.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

from .common import CLIError


def add_parser(subparsers):
    parser = subparsers.add_parser("inspect", help="describe a saved model JSON", description=__doc__)
    parser.add_argument("model", type=Path, help="a model JSON written by save_json / pybrowserml train")
    parser.add_argument("--json", action="store_true", help="print the description as JSON")
    parser.set_defaults(handler=run)
    return parser


def _encoding_name(encoding: dict) -> str:
    if encoding.get("kind") == "affine":
        axis = encoding.get("axis")
        return f"uint{encoding['bits']} affine " + ("per tensor" if axis is None else "per channel")
    return str(encoding.get("kind"))


def describe(path: Path) -> dict:
    from ..io import ModelFormatError, json_format
    from ..io.saving import model_from_document

    if not path.is_file():
        raise CLIError(f"no file {path}")
    data = path.read_bytes()
    try:
        document = json_format.parse(data)
        model = model_from_document(document, compile=False)
    except ModelFormatError as error:
        raise CLIError(f"{path} is not a loadable pybrowserml model JSON: {error}") from error
    weights = []
    for entry in document["weights"]:
        count = math.prod(entry["shape"])
        stored = len(base64.b64decode(entry["data"]))
        row = {
            "name": entry["name"],
            "shape": entry["shape"],
            "encoding": _encoding_name(entry["encoding"]),
            "float32_bytes": 4 * count,
            "stored_bytes": stored,
        }
        if "sparse" in entry:
            row["sparse_nonzero"] = entry["sparse"]["nonzero"]
            row["sparsity"] = 1.0 - entry["sparse"]["nonzero"] / count if count else 0.0
        weights.append(row)
    layers = [
        {
            "name": layer.name,
            "type": type(layer).__name__,
            "output_shape": [None, *shape],
            "params": layer.count_params(),
        }
        for layer, shape in model._layer_output_shapes()
    ]
    total = sum(math.prod(w["shape"]) for w in weights)
    metadata = document.get("metadata") or {}
    zeros = sum(math.prod(w["shape"]) - w["sparse_nonzero"] for w in weights if "sparse_nonzero" in w)
    return {
        "file": str(path),
        "file_bytes": len(data),
        "format": f"{document['format']} v{document['version']}",
        "model": model.name,
        "input_shape": [None, *model.input_shape],
        "layers": layers,
        "params": total,
        "float32_weight_bytes": 4 * total,
        "stored_weight_bytes": sum(w["stored_bytes"] for w in weights),
        "quantize": metadata.get("quantize"),
        "per_channel": metadata.get("per_channel"),
        "encodings": sorted({w["encoding"] for w in weights}),
        "sparse_weights": sum("sparse_nonzero" in w for w in weights),
        "sparsity": zeros / total if total else 0.0,
        "input_scaling": document.get("input_scaling"),
        "pybrowserml_version": metadata.get("pybrowserml_version"),
        "compiled_with": (document.get("training_config") or {}).get("optimizer", {}).get("class_name"),
        "sha256": document["sha256"],
        "weights": weights,
    }


def _kib(n):
    return f"{n:,} bytes ({n / 1024:.1f} KiB)"


def render(d: dict) -> str:
    width = max([len(f"{layer['name']} ({layer['type']})") for layer in d["layers"]] + [20]) + 2
    lines = [
        f"{d['file']}: {d['format']}, model {d['model']!r}, input {tuple(d['input_shape'])}",
        "",
        f"{'Layer (type)':<{width}}{'Output Shape':<22}{'Param #':>10}",
        "-" * (width + 32),
    ]
    for layer in d["layers"]:
        shape = "(" + ", ".join("None" if s is None else str(s) for s in layer["output_shape"]) + ")"
        lines.append(f"{layer['name'] + ' (' + layer['type'] + ')':<{width}}{shape:<22}{layer['params']:>10,}")
    lines += ["-" * (width + 32), ""]
    scheme = d["quantize"] or "?"
    if d["quantize"] in ("uint8", "uint16"):
        scheme += ", per channel" if d["per_channel"] else ", per tensor"
    lines += [
        f"parameters      {d['params']:,} in {len(d['weights'])} weights",
        f"file            {_kib(d['file_bytes'])}",
        f"weights         {_kib(d['stored_weight_bytes'])} stored vs {_kib(d['float32_weight_bytes'])} as float32 "
        f"({100 * d['stored_weight_bytes'] / max(d['float32_weight_bytes'], 1):.1f}%)",
        f"quantization    {scheme}; encodings: {', '.join(d['encodings'])}",
        (
            f"sparsity        {100 * d['sparsity']:.1f}% zeros overall; {d['sparse_weights']} weight(s) stored sparse"
            if d["sparse_weights"]
            else "sparsity        none (every weight stored dense)"
        ),
    ]
    scaling = d.get("input_scaling")
    if scaling:
        scale = scaling["integer_scale"]
        rule = "integer inputs x 1/255" if abs(scale - 1 / 255) < 1e-12 else f"integer inputs x {scale:g}"
        trained = {"integers": "trained on integer pixels", "floats": "trained on floats"}.get(
            scaling.get("trained_on")
        )
        lines.append(f"input scaling   {rule}, floats as given" + (f" ({trained})" if trained else ""))
    if d["compiled_with"]:
        lines.append(f"training config {d['compiled_with']} (the model loads compiled)")
    lines += [f"saved by        pybrowserml {d['pybrowserml_version']}", f"sha256          {d['sha256']} (verified)"]
    return "\n".join(lines)


def run(args) -> int:
    description = describe(args.model)
    print(json.dumps(description, indent=2) if args.json else render(description), flush=True)
    return 0
