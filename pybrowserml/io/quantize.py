"""Weight encodings of the JSON model format: affine uint8/uint16, float16, float32.

Affine quantization stores q (unsigned ints) with x ~= (q - zero_point) * scale. The range is always
widened to include 0 and zero_point is an integer, so 0.0 is represented exactly (a zero-padded or
pruned weight stays exactly zero, and ReLU's dead units stay dead after loading).

Scales and zero points are per tensor (axis None) or per output channel (one pair per index along
`axis`): the last axis of conv (HWIO) and dense (in, out) kernels; for depthwise kernels
(kh, kw, in, multiplier) the input-channel axis 2, which is the output channel when multiplier == 1
(and with multiplier > 1 the channel group c*multiplier..c*multiplier+multiplier-1). Rank < 2 tensors
(biases, batch-norm vectors) are quantized per tensor: they are tiny and one scale fits them well.

Every encoded array is little-endian, C (row-major) order; scales are stored as base64 of bfloat16
(little-endian uint16: the high half of the float32), zero points as base64 of uint8/uint16.
"""

from __future__ import annotations

import base64

import numpy as np

AFFINE_BITS = {"uint8": 8, "uint16": 16}
QUANTIZE_CHOICES = ("uint8", "uint16", "float16", "float32")
_STORAGE = {8: np.dtype("<u1"), 16: np.dtype("<u2")}


def check_quantize(quantize) -> str:
    """None means float32; anything else must be one of QUANTIZE_CHOICES."""
    if quantize is None:
        return "float32"
    if quantize not in QUANTIZE_CHOICES:
        raise ValueError(
            f"quantize={quantize!r} is not supported: choose one of {', '.join(QUANTIZE_CHOICES)} (or None for float32)"
        )
    return quantize


def channel_axis(name: str, shape) -> int | None:
    """The per-channel quantization axis for a weight (see the module docstring), None for per tensor."""
    if len(shape) < 2:
        return None
    if name.endswith("depthwise_kernel") and len(shape) == 4:
        return 2
    return len(shape) - 1


def round_up_to_bfloat16(values) -> np.ndarray:
    """The smallest bfloat16 values (float32 with the low 16 bits zero) >= positive `values`."""
    bits = np.asarray(values, dtype="float32").view("uint32").astype("uint64")
    bits = np.where(bits & 0xFFFF, (bits + 0x10000) & 0xFFFF0000, bits)
    return bits.astype("uint32").view("float32")


def affine_params(lo, hi, bits: int):
    """scale and integer zero_point arrays so that [min(lo,0), max(hi,0)] maps onto [0, 2**bits - 1].

    Scales are bfloat16 values (stored in 2 bytes, float32's exponent range): rounded UP, so the range
    still fits; the step grows by at most 2**-7 (0.8%).
    """
    qmax = (1 << bits) - 1
    lo = np.minimum(np.asarray(lo, dtype="float64"), 0.0)
    hi = np.maximum(np.asarray(hi, dtype="float64"), 0.0)
    span = hi - lo
    # An all-zero channel gets scale 1: any scale represents it exactly, and 1 avoids dividing by zero.
    scale = np.where(span > 0, span / qmax, 1.0)
    scale = np.maximum(scale, np.finfo("float32").tiny)  # a subnormal range still gets a usable step
    scale32 = scale.astype("float32")
    scale32 = np.where(scale32 < scale, np.nextafter(scale32, np.float32(np.inf)), scale32)  # never below
    scale = round_up_to_bfloat16(scale32)
    zero_point = np.clip(np.round(-lo / scale.astype("float64")), 0, qmax).astype("int64")
    return scale, zero_point


def _per_axis(array: np.ndarray, axis: int | None):
    """Move `axis` last and flatten the rest: (rows, channels), or (size, 1) for per tensor."""
    if axis is None:
        return array.reshape(-1, 1)
    return np.moveaxis(array, axis, -1).reshape(-1, array.shape[axis])


def quantize_affine(array, bits: int, axis: int | None):
    """-> (q array of the storage dtype, same shape as array; scale list; zero_point list)."""
    if bits not in _STORAGE:
        raise ValueError(f"affine quantization supports 8 or 16 bits, got {bits}")
    array = np.asarray(array, dtype="float32")
    if not np.all(np.isfinite(array)):
        raise ValueError(
            "cannot quantize a weight with NaN or infinite values: the model diverged; "
            "save from an earlier checkpoint or with quantize='float32' to inspect it"
        )
    flat = _per_axis(array, axis)
    if flat.size == 0:
        lo = hi = np.zeros(flat.shape[1])
    else:
        lo, hi = flat.min(axis=0), flat.max(axis=0)
    scale, zero_point = affine_params(lo, hi, bits)
    q = np.clip(np.round(flat / scale.astype("float64")) + zero_point, 0, (1 << bits) - 1).astype(_STORAGE[bits])
    if axis is None:
        q = q.reshape(array.shape)
    else:
        moved_shape = np.moveaxis(array, axis, -1).shape
        q = np.moveaxis(q.reshape(moved_shape), -1, axis)
    return np.ascontiguousarray(q), [float(s) for s in scale], [int(z) for z in zero_point]


def dequantize_affine(q, scale, zero_point, axis: int | None) -> np.ndarray:
    """x = (q - zero_point) * scale, broadcast along `axis` (None: scalars)."""
    q = np.asarray(q)
    scale = np.asarray(scale, dtype="float32")
    zero_point = np.asarray(zero_point, dtype="float32")
    if axis is not None:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    else:
        scale, zero_point = scale.reshape(()), zero_point.reshape(())
    return ((q.astype("float32") - zero_point) * scale).astype("float32")


def encode(array, quantize: str, name: str = "", per_channel: bool = True):
    """One weight -> (raw little-endian bytes, encoding dict of the JSON format)."""
    quantize = check_quantize(quantize)
    array = np.asarray(array, dtype="float32")
    if quantize == "float32":
        return array.astype("<f4").tobytes(), {"kind": "float32"}
    if quantize == "float16":
        if np.any(np.abs(array[np.isfinite(array)]) > np.finfo(np.float16).max):
            raise ValueError(
                f"weight {name!r} has values beyond float16's range (65504): use quantize='uint8', "
                "'uint16' or 'float32'"
            )
        return array.astype("<f2").tobytes(), {"kind": "float16"}
    bits = AFFINE_BITS[quantize]
    axis = channel_axis(name, array.shape) if per_channel else None
    q, scale, zero_point = quantize_affine(array, bits, axis)
    # Scales (bfloat16: the high half of a float32) and zero points are base64 of little-endian uint16 /
    # uint<bits> arrays: as decimal JSON lists they would cost ~29 characters per channel, ~4 here.
    return q.tobytes(), {
        "kind": "affine",
        "bits": bits,
        "axis": axis,
        "scale": _b64((np.asarray(scale, dtype="<f4").view("<u4") >> 16).astype("<u2")),
        "zero_point": _b64(np.asarray(zero_point, dtype=_STORAGE[bits])),
    }


def _b64(array) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def affine_parameters(encoding: dict):
    """(scale float32 array, zero_point int array) of an affine encoding (lengths already validated)."""
    bfloat16 = np.frombuffer(base64.b64decode(encoding["scale"]), dtype="<u2")
    scale = (bfloat16.astype("uint32") << 16).view("float32")
    zero_point = np.frombuffer(base64.b64decode(encoding["zero_point"]), dtype=_STORAGE[encoding["bits"]])
    return scale, zero_point


def encoded_size(shape, encoding: dict) -> int:
    """Number of raw bytes an encoded weight of `shape` must have."""
    count = int(np.prod(shape, dtype="int64")) if len(shape) else 1
    kind = encoding["kind"]
    if kind == "float32":
        return 4 * count
    if kind == "float16":
        return 2 * count
    return count * encoding["bits"] // 8


def decode(raw: bytes, shape, encoding: dict) -> np.ndarray:
    """Raw bytes + encoding -> float32 array of `shape` (the encoding must already be validated)."""
    shape = tuple(shape)
    kind = encoding["kind"]
    if kind == "float32":
        return np.frombuffer(raw, dtype="<f4").astype("float32").reshape(shape)
    if kind == "float16":
        return np.frombuffer(raw, dtype="<f2").astype("float32").reshape(shape)
    q = np.frombuffer(raw, dtype=_STORAGE[encoding["bits"]]).reshape(shape)
    scale, zero_point = affine_parameters(encoding)
    return dequantize_affine(q, scale, zero_point, encoding["axis"])
