"""Datasets: Fashion-MNIST, MNIST (also as segmentation masks), sklearn digits, IDX/npz files from paths, URLs or picked files,
folders of images (one sub-folder per class).

Images are uint8 (N, H, W, C) in [0, 255] and labels int32 (N,); pixels are scaled to float per batch.
In CPython `load_x()` returns the data; in the browser `await load_x()` (fetching and IndexedDB are
asynchronous there). Fetched datasets are cached (DatasetCache: IndexedDB / a directory).
"""

import importlib

from .cache import CacheWarning, DatasetCache, default_cache
from .formats import DatasetFormatError, encode_idx, encode_npz, parse_idx, parse_npz
from .loaders import (
    FASHION_MNIST_CLASSES,
    from_arrays,
    load_digits,
    load_digits_async,
    load_fashion_mnist,
    load_fashion_mnist_async,
    load_from_file,
    load_from_file_async,
    load_from_files,
    load_from_files_async,
    load_from_url,
    load_from_url_async,
    load_idx,
    load_idx_async,
    load_mnist,
    load_mnist_async,
    load_npz,
    load_npz_async,
    read_bytes,
    read_bytes_async,
)
from .sources import DatasetSourceError

# Image decoding, image folders and the segmentation masks are imported on first use (__getattr__): the
# named datasets (what most pages load) do not need them, and each module costs import time on a cold start.
_LAZY = {
    "ImageFolder": "image_folder",
    "load_image_folder": "image_folder",
    "load_image_folder_async": "image_folder",
    "decode_image": "images",
    "decode_image_async": "images",
    "load_images": "images",
    "load_images_async": "images",
    "SEGMENTATION_CLASSES": "segmentation",
    "load_mnist_segmentation": "segmentation",
    "load_mnist_segmentation_async": "segmentation",
    "mnist_masks": "segmentation",
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'pybrowserml.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value  # later accesses skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "CacheWarning",
    "DatasetCache",
    "default_cache",
    "DatasetFormatError",
    "DatasetSourceError",
    "encode_idx",
    "encode_npz",
    "parse_idx",
    "parse_npz",
    "decode_image",
    "decode_image_async",
    "load_images",
    "load_images_async",
    "ImageFolder",
    "load_image_folder",
    "load_image_folder_async",
    "FASHION_MNIST_CLASSES",
    "from_arrays",
    "load_digits",
    "load_digits_async",
    "load_fashion_mnist",
    "load_fashion_mnist_async",
    "load_from_file",
    "load_from_file_async",
    "load_from_files",
    "load_from_files_async",
    "load_from_url",
    "load_from_url_async",
    "load_idx",
    "load_idx_async",
    "load_mnist",
    "load_mnist_async",
    "load_mnist_segmentation",
    "load_mnist_segmentation_async",
    "mnist_masks",
    "SEGMENTATION_CLASSES",
    "load_npz",
    "load_npz_async",
    "read_bytes",
    "read_bytes_async",
]
