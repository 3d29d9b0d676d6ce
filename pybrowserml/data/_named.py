"""What the named datasets share: caching their parsed arrays, and the (x, y) pairs they return."""

from __future__ import annotations

import warnings

import numpy as np

from . import formats
from .cache import CacheWarning, default_cache


async def cached_arrays(name: str, identity: str, build, use_cache: bool) -> dict:
    """{name: array} for a named dataset: from the cache (stored as npz), else build() and cache it."""
    if not use_cache:
        return await build()
    cache = default_cache()
    data = await cache.get(name, identity)
    if data is not None:
        try:
            return formats.parse_npz(data, what=f"cached {name}", verified=True)
        except formats.DatasetFormatError as e:  # intact bytes (sha256 passed) but not our npz: rebuild
            warnings.warn(f"{e}; rebuilding {name} from its source", CacheWarning, stacklevel=2)
    arrays = await build()
    await cache.put(name, identity, formats.encode_npz(arrays))
    return arrays


def image_pairs(arrays: dict):
    def images(x):
        return x[..., None] if x.ndim == 3 else x

    return (
        (images(arrays["x_train"]), arrays["y_train"].astype(np.int32)),
        (images(arrays["x_test"]), arrays["y_test"].astype(np.int32)),
    )
