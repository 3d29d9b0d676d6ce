"""Decode PNG/JPEG images and resize them to a model's input size -> uint8 (H, W, C) arrays.

In the browser the browser decodes (createImageBitmap) and resizes by drawing the bitmap onto a
canvas of the target size (the canvas is resized, not a tensor), then reads the pixels back with
getImageData: native speed, any format the browser reads. In CPython, Pillow does the same if it
is installed (pip install pillow); without it the functions say so.

Grayscale uses the ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B), like Pillow's "L" mode. Alpha is
dropped (transparent pixels read as their unpremultiplied colour, usually black).
"""

from __future__ import annotations

import io

import numpy as np

from ..browser import is_pyodide
from ._sync import sync_or_awaitable
from .sources import fetch_url, is_js_file, is_url, js_file_list, read_path, source_name


def _check_size(size):
    if size is None:
        return None
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (height, width), got {size!r}") from None
    if height <= 0 or width <= 0:
        raise ValueError(f"size must be positive (height, width), got {size!r}")
    return height, width


def _luma(rgb: np.ndarray) -> np.ndarray:
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.rint(rgb[..., :3].astype(np.float32) @ weights).clip(0, 255).astype(np.uint8)[..., None]


# Runs in the page: decode with the browser, resize on a canvas of the target size, return RGBA bytes.
_JS_DECODE = """
async (blob, height, width) => {
  const bitmap = await createImageBitmap(blob);
  try {
    const h = height > 0 ? height : bitmap.height, w = width > 0 ? width : bitmap.width;
    let canvas;
    if (typeof OffscreenCanvas !== "undefined") {
      canvas = new OffscreenCanvas(w, h);
    } else {
      canvas = document.createElement("canvas");
      canvas.width = w; canvas.height = h;
    }
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bitmap, 0, 0, w, h);
    return { height: h, width: w, rgba: new Uint8Array(ctx.getImageData(0, 0, w, h).data.buffer) };
  } finally {
    bitmap.close();
  }
}
"""
_js_decode = None


async def _blob_of(source):
    import js
    from pyodide.ffi import to_js

    if is_js_file(source):
        return source
    if isinstance(source, (str,)) and is_url(source):
        data = await fetch_url(source)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        data = read_path(source)
    return js.Blob.new(to_js([to_js(memoryview(data))]))


async def _decode_in_browser(source, size, grayscale):
    global _js_decode
    from pyodide.code import run_js

    if _js_decode is None:
        _js_decode = run_js(_JS_DECODE)
    height, width = size or (0, 0)
    try:
        result = await _js_decode(await _blob_of(source), height, width)
    except Exception as e:
        raise ValueError(f"the browser could not decode {source_name(source)} as an image: {e}") from e
    rgba = np.frombuffer(result.rgba.to_bytes(), dtype=np.uint8).reshape(int(result.height), int(result.width), 4)
    return _luma(rgba) if grayscale else rgba[..., :3].copy()


def _decode_with_pillow(data: bytes, size, grayscale):
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            "decoding images in CPython needs Pillow: pip install pillow (in the browser the browser decodes them)"
        ) from None
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as e:
        raise ValueError(f"could not decode the image: {e}") from e
    image = image.convert("RGB")
    if size is not None:
        image = image.resize((size[1], size[0]), Image.BILINEAR)
    rgb = np.asarray(image, dtype=np.uint8)
    return _luma(rgb) if grayscale else rgb.copy()


async def decode_image_async(source, size=(28, 28), grayscale=True) -> np.ndarray:
    """One image (bytes, path, URL or JS File/Blob) -> uint8 (H, W, 1 or 3); size=None keeps its size."""
    size = _check_size(size)
    if is_pyodide():
        return await _decode_in_browser(source, size, grayscale)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, str) and is_url(source):
        data = await fetch_url(source)
    else:
        data = read_path(source)
    return _decode_with_pillow(data, size, grayscale)


async def load_images_async(files_or_urls, size=(28, 28), grayscale=True) -> np.ndarray:
    """Several images (a JS FileList, or a list of bytes/paths/URLs/Files) -> uint8 (N, H, W, C).

    All images are resized to `size` (height, width) so they stack; the result feeds a model trained
    on uint8 images of that size (e.g. (28, 28) grayscale for Fashion-MNIST).
    """
    size = _check_size(size)
    if size is None:
        raise ValueError("load_images needs a size=(height, width): images of different sizes do not stack")
    sources = js_file_list(files_or_urls)
    if not sources:
        raise ValueError("no images were given")
    return np.stack([await decode_image_async(s, size, grayscale) for s in sources])


def decode_image(source, size=(28, 28), grayscale=True):
    """decode_image_async run in CPython; an awaitable in the browser (`await decode_image(...)`)."""
    return sync_or_awaitable(decode_image_async(source, size, grayscale))


def load_images(files_or_urls, size=(28, 28), grayscale=True):
    """load_images_async run in CPython; an awaitable in the browser (`await load_images(...)`)."""
    return sync_or_awaitable(load_images_async(files_or_urls, size, grayscale))
