"""load_image_folder: a folder with one sub-folder of images per class -> uint8 images and int32 labels.

```
flowers/               x, y, class_names = load_image_folder("flowers", image_size=(32, 32), color_mode="rgb")
  daisy/  a.png b.jpg  x: (N, 32, 32, 3) uint8, y: (N,) int32, class_names: ["daisy", "rose"]
  rose/   c.jpeg ...   (also as attributes: result.x, result.y, result.class_names)
```
Like Keras's image_dataset_from_directory: classes are the sub-folder names in sorted order (label i is
class_names[i]), files are read in sorted order within each class. Decoding: in the browser the browser
decodes and resizes (createImageBitmap + a canvas of image_size; see images.py), in CPython Pillow does.
In the browser `path` is a folder of Pyodide's file system (e.g. one mounted with mountNativeFS), or
pass the FileList of an `<input type="file" webkitdirectory>`: each file's webkitRelativePath
("flowers/daisy/a.png") names its class folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ._sync import sync_or_awaitable
from .images import _check_size, decode_image_async
from .sources import is_js_file, js_file_list

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")
COLOR_MODES = {"grayscale": True, "rgb": False}


class ImageFolder(NamedTuple):
    x: np.ndarray  # uint8 (N, H, W, C)
    y: np.ndarray  # int32 (N,), indices into class_names
    class_names: list


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES) and not name.startswith(".")


def _from_directory(path) -> list[tuple[str, object]]:
    root = Path(os.fspath(path))
    if not root.is_dir():
        raise FileNotFoundError(f"load_image_folder: {root} is not a folder (expected one sub-folder per class)")
    entries = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        entries += [(class_dir.name, str(f)) for f in sorted(class_dir.iterdir()) if f.is_file() and _is_image(f.name)]
    return entries


def _from_file_list(files) -> list[tuple[str, object]]:
    entries = []
    for file in js_file_list(files):
        parts = str(getattr(file, "webkitRelativePath", "") or "").split("/")
        if len(parts) < 3:
            raise ValueError(
                "load_image_folder: pick a folder (an <input type=file webkitdirectory>) holding one sub-folder per "
                f"class; {getattr(file, 'name', file)!r} is not inside a class sub-folder"
            )
        if _is_image(parts[-1]):
            entries.append((parts[-2], "/".join(parts), file))
    entries.sort(key=lambda e: (e[0], e[1]))
    return [(label, file) for label, _, file in entries]


async def load_image_folder_async(path, image_size=(28, 28), color_mode="grayscale") -> ImageFolder:
    """The images of `path` (a folder, or a picked folder's FileList), resized to image_size=(height, width)."""
    size = _check_size(image_size)
    if size is None:
        raise ValueError("load_image_folder needs image_size=(height, width): images of different sizes do not stack")
    if color_mode not in COLOR_MODES:
        raise ValueError(f"color_mode must be one of {sorted(COLOR_MODES)}, got {color_mode!r}")
    is_list = not isinstance(path, (str, os.PathLike)) and (is_js_file(path) or hasattr(path, "length"))
    entries = _from_file_list(path) if is_list else _from_directory(path)
    if not entries:
        raise ValueError(
            f"load_image_folder: no images ({', '.join(IMAGE_SUFFIXES)}) found in class sub-folders of {path}"
        )
    class_names = sorted({label for label, _ in entries})
    if len(class_names) < 2:
        raise ValueError(
            f"load_image_folder: found only the class {class_names[0]!r}; put each class's images in a sub-folder "
            "of its own (at least two)"
        )
    index = {name: i for i, name in enumerate(class_names)}
    grayscale = COLOR_MODES[color_mode]
    images = []
    for label, source in entries:
        try:
            images.append(await decode_image_async(source, size, grayscale))
        except ValueError as e:
            raise ValueError(f"load_image_folder: {label}/{os.path.basename(str(source))}: {e}") from e
    y = np.array([index[label] for label, _ in entries], dtype=np.int32)
    return ImageFolder(np.stack(images), y, class_names)


def load_image_folder(path, image_size=(28, 28), color_mode="grayscale"):
    """load_image_folder_async run in CPython; an awaitable in the browser (`await load_image_folder(...)`)."""
    return sync_or_awaitable(load_image_folder_async(path, image_size, color_mode))
