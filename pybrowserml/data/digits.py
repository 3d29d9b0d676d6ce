"""scikit-learn's 8x8 handwritten digits (1,797 images), as uint8 NHWC like the other datasets."""

from __future__ import annotations

import numpy as np

from ..browser import is_pyodide
from ._sync import dual

DIGITS_TRAIN_SAMPLES = 1437  # 80% of sklearn's 1,797 digits, in sklearn's order


async def load_digits_async():
    """sklearn's 8x8 digits: ((x_train (1437, 8, 8, 1) uint8, y_train int32), (x_test (360, ...), y_test)).

    sklearn's pixel values 0..16 are scaled to uint8 0..255 (v * 255 / 16, rounded). The first 1,437
    samples (in sklearn's order) train, the last 360 test. Needs scikit-learn; in Pyodide it is loaded
    from the Pyodide distribution (pyodide.loadPackage) when available.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError:
        if not is_pyodide():
            raise ImportError("load_digits needs scikit-learn: pip install scikit-learn") from None
        sklearn_load_digits = await _sklearn_in_pyodide()
    bunch = sklearn_load_digits()
    x = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    y = bunch.target.astype(np.int32)
    n = DIGITS_TRAIN_SAMPLES
    return (x[:n], y[:n]), (x[n:], y[n:])


async def _sklearn_in_pyodide():
    import pyodide_js

    try:
        await pyodide_js.loadPackage("scikit-learn")
        from sklearn.datasets import load_digits as sklearn_load_digits
    except Exception as e:
        raise ImportError(
            "load_digits needs scikit-learn, which this Pyodide distribution could not load "
            f"({e}); serve Pyodide's scikit-learn wheel with the distribution, or use "
            "load_mnist() / load_fashion_mnist()"
        ) from e
    return sklearn_load_digits


load_digits = dual(load_digits_async)
