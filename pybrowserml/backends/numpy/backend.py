"""The numpy reference backend: the oracle for every other backend and the per-op fallback.

Device arrays are plain numpy arrays. Kernels (``kernels/``, one module per family) follow
docs/architecture.md (NHWC, HWIO filters, TensorFlow padding) and are written for clarity first and
speed second.
"""

from __future__ import annotations

import numpy as np

from ..base import Backend
from .kernels import KERNELS

# dtypes kept as uploaded; other dtypes are converted (see NumpyBackend.upload)
_KEPT_DTYPES = (np.float32, np.float64, np.int32, np.uint8)


class NumpyBackend(Backend):
    name = "numpy"

    def __init__(self):
        super().__init__()
        self.kernels = dict(KERNELS)

    def upload(self, array):
        """A C-contiguous copy of `array`: float32, float64, int32 and uint8 are kept (uint8 batches are
        converted on the device by from_uint8); other ints and bools become int32, other floats float32."""
        array = np.asarray(array)
        if array.dtype not in _KEPT_DTYPES:
            array = array.astype(np.int32 if array.dtype.kind in "iub" else np.float32)
        return np.array(array, copy=True, order="C")

    def download(self, array):
        return np.array(array, copy=True)

    def zeros(self, shape, dtype="float32"):
        return np.zeros(shape, dtype=dtype)

    def write(self, array, values):
        values = np.asarray(values)
        if values.shape != array.shape:
            raise ValueError(f"cannot write an array of shape {values.shape} into one of shape {array.shape}")
        array[...] = values

    def shape(self, array):
        return array.shape


NUMPY = NumpyBackend()
