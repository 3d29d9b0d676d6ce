"""Convolution and pooling geometry: TensorFlow's padding rule, in one place.

Layers use it to compute output shapes; every backend uses it to size its outputs and pads, so a
layer's declared shape and a kernel's result can never disagree.
"""

from __future__ import annotations

from typing import NamedTuple

PADDINGS = ("same", "valid")


class WindowGeometry(NamedTuple):
    """Output size and padding of a 2-D sliding window over an NHWC input."""

    out_h: int
    out_w: int
    pads_h: tuple[int, int]  # (top, bottom)
    pads_w: tuple[int, int]  # (left, right)

    @property
    def pad_top(self) -> int:
        return self.pads_h[0]

    @property
    def pad_left(self) -> int:
        return self.pads_w[0]


def output_size_and_pads(size: int, k: int, s: int, padding: str) -> tuple[int, int, int]:
    """TensorFlow's rule along one axis: (output size, padding before, padding after)."""
    if padding == "same":
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        return out, total // 2, total - total // 2
    if padding == "valid":
        out = (size - k) // s + 1
        if out < 1:
            raise ValueError(
                f"window {k} is larger than the input ({size}) with padding='valid': "
                "use padding='same' or a larger input"
            )
        return out, 0, 0
    raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")


def window_geometry(input_shape, kh: int, kw: int, strides, padding: str) -> WindowGeometry:
    """The geometry of a (kh, kw) window moved by `strides` over an NHWC `input_shape`."""
    _, h, w, _ = input_shape
    sh, sw = strides
    oh, pt, pb = output_size_and_pads(h, kh, sh, padding)
    ow, pl, pr = output_size_and_pads(w, kw, sw, padding)
    return WindowGeometry(oh, ow, (pt, pb), (pl, pr))


def pair(value, what: str, owner: str | None = None) -> tuple[int, int]:
    """(a, b) from an int or a pair of positive ints, as Keras accepts for kernel sizes and strides."""
    result = (value, value) if _is_int(value) else tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(result) != 2 or not all(_is_int(v) and v >= 1 for v in result):
        where = f"layer {owner!r}: " if owner else ""
        raise ValueError(f"{where}{what} must be a positive int or a pair of them, got {value!r}")
    return int(result[0]), int(result[1])


def _is_int(value) -> bool:
    # numpy integers count (shapes often come from arrays); bools and floats do not
    return hasattr(value, "__index__") and not isinstance(value, bool)


def check_padding(padding, owner: str | None = None) -> str:
    """'same' or 'valid' (any case); anything else is refused with the choices."""
    normal = str(padding).lower()
    if normal not in PADDINGS:
        where = f"layer {owner!r}: " if owner else ""
        raise ValueError(f"{where}padding must be 'same' or 'valid', got {padding!r}")
    return normal


__all__ = ["PADDINGS", "WindowGeometry", "output_size_and_pads", "window_geometry", "pair", "check_padding"]
