"""Fashion-MNIST (70,000 28x28 grayscale clothing images, 10 classes) from its four IDX files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..browser import is_pyodide
from . import formats
from ._named import cached_arrays, image_pairs
from ._sync import dual
from .sources import DatasetSourceError, absolute_url, fetch_url, is_url, join_url, read_path

FASHION_MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist package
FASHION_MNIST_URL = "/datasets/fashion-mnist/"  # relative to the page in the browser
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def _local_idx(directory: Path, stem: str) -> np.ndarray:
    for name in (stem + ".gz", stem):
        if (directory / name).is_file():
            return formats.parse_idx(read_path(directory / name), what=str(directory / name))
    raise DatasetSourceError(f"{directory} has no {stem}.gz (nor {stem})")


async def load_fashion_mnist_async(path=None, cache: bool = True, progress=None):
    """Fashion-MNIST: ((x_train (60000, 28, 28, 1) uint8, y_train int32), (x_test (10000, ...), y_test)).

    path: a directory or a URL prefix holding the four IDX files ({train,t10k}-{images-idx3,labels-idx1}
    -ubyte.gz). Default: in CPython $PYBROWSERML_FASHION_MNIST or /usr/share/datasets/fashion-mnist
    (apt-get install dataset-fashion-mnist); in the browser the URL "/datasets/fashion-mnist/" relative
    to the page, cached in IndexedDB. Class names: FASHION_MNIST_CLASSES.
    progress: called as `progress(files_done, files_total)` after each file is fetched (not when the
    arrays come from the cache), e.g. for a page's progress bar.
    """
    if path is None:
        path = FASHION_MNIST_URL if is_pyodide() else os.environ.get("PYBROWSERML_FASHION_MNIST", FASHION_MNIST_DIR)
    path = os.fspath(path)
    if not is_url(path):
        directory = Path(path)
        if not directory.is_dir():
            raise DatasetSourceError(
                f"Fashion-MNIST directory {directory} does not exist: install the Debian package "
                "dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or pass path= a directory or "
                "URL holding train-images-idx3-ubyte.gz and the three other IDX files"
            )
        return image_pairs({k: _local_idx(directory, stem) for k, stem in FASHION_MNIST_FILES.items()})

    base = absolute_url(path if path.endswith("/") else path + "/")

    async def build():
        arrays = {}
        for k, stem in FASHION_MNIST_FILES.items():
            arrays[k] = formats.parse_idx(await fetch_url(join_url(base, stem + ".gz")), what=stem + ".gz")
            if progress is not None:
                progress(len(arrays), len(FASHION_MNIST_FILES))
        return arrays

    return image_pairs(await cached_arrays("fashion_mnist", base, build, cache))


load_fashion_mnist = dual(load_fashion_mnist_async)
