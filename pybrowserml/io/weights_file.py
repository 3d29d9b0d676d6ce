"""save_weights / load_weights: only the weights (Keras's habit), as an .npz of float32 arrays.

The file holds one array per weight in `model.weights` order plus their names; loading reads it without
unpickling (allow_pickle=False) and checks the count, names and shapes against the model before setting
anything. The weights stay exact (float32); for a small quantized file of the whole model use save_json.
In the browser the path is in Pyodide's (in-memory) file system.
"""

from __future__ import annotations

import io
import os

import numpy as np

_NAMES = "__weight_names__"


def save_weights(model, path) -> str:
    from .saving import _named_weights, _write_atomically

    path = os.fspath(path)
    named = _named_weights(model)
    buffer = io.BytesIO()
    arrays = {f"w{i:04d}": np.asarray(array, dtype="float32") for i, (_, array) in enumerate(named)}
    np.savez(buffer, **arrays, **{_NAMES: np.array([name for name, _ in named])})
    _write_atomically(path, buffer.getvalue())
    return path


def load_weights(model, path) -> None:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_weights: no file {path!r}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = [str(n) for n in archive[_NAMES]]
            arrays = [archive[f"w{i:04d}"] for i in range(len(names))]
    except (ValueError, KeyError, OSError) as e:
        raise ValueError(f"load_weights: {path!r} is not a weights file written by save_weights ({e})") from e
    weights = model.weights
    if len(arrays) != len(weights):
        raise ValueError(
            f"load_weights: {path!r} holds {len(arrays)} weights but model {model.name!r} has {len(weights)}; "
            "build the same architecture first"
        )
    for variable, name, array in zip(weights, names, arrays):
        if tuple(variable.shape) != array.shape:
            raise ValueError(
                f"load_weights: weight {name!r} in {path!r} has shape {array.shape}, but the model's "
                f"{variable.name!r} has shape {tuple(variable.shape)}"
            )
    model.set_weights(arrays)
