"""Sparse storage of a weight in the JSON format: a bitmap of the non-zero entries plus only their values.

A weight entry may carry `"sparse": {"kind": "bitmap", "mask": <base64>, "nonzero": n}`: the mask is
the weight's C-order entries, one bit each (1 = stored, little bit order, padded to whole bytes), and
"data" then holds the n encoded values of the set bits, in order, in the weight's encoding (affine
parameters computed over the whole weight, so 0.0 is still exact). Entries not stored are exactly 0.
A weight is stored this way only when it is smaller: for 8-bit values once more than 1/8 of it is zero.
"""

from __future__ import annotations

import base64

import numpy as np


def bitmap_bytes(count: int) -> int:
    return (count + 7) // 8


def sparsify(array: np.ndarray, raw: bytes, value_bytes: int):
    """-> (raw bytes of the non-zero values, sparse field) or None when the dense form is not larger."""
    mask = np.asarray(array).ravel() != 0
    nonzero = int(mask.sum())
    if bitmap_bytes(mask.size) + nonzero * value_bytes >= mask.size * value_bytes:
        return None
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(mask.size, value_bytes)
    bitmap = np.packbits(mask, bitorder="little")
    return rows[mask].tobytes(), {
        "kind": "bitmap",
        "mask": base64.b64encode(bitmap.tobytes()).decode("ascii"),
        "nonzero": nonzero,
    }


def mask_of(sparse: dict, count: int) -> np.ndarray:
    """The boolean mask of a (validated) sparse field, `count` entries."""
    bitmap = np.frombuffer(base64.b64decode(sparse["mask"]), dtype=np.uint8)
    return np.unpackbits(bitmap, count=count, bitorder="little").astype(bool)


def densify(raw: bytes, mask: np.ndarray, value_bytes: int) -> bytes:
    """The dense raw bytes (zeros where the mask is clear) of a sparse weight's stored values."""
    rows = np.zeros((mask.size, value_bytes), dtype=np.uint8)
    rows[mask] = np.frombuffer(raw, dtype=np.uint8).reshape(-1, value_bytes)
    return rows.tobytes()
