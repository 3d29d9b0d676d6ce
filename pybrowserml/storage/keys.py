"""Validation of store namespaces and keys, shared by every store so they accept exactly the same names."""

from __future__ import annotations

import re

_NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_KEY_LENGTH = 200


def check_namespace(namespace) -> str:
    if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
        raise ValueError(
            f"store namespace {namespace!r} is not valid: use 1-64 characters among letters, digits, "
            "'.', '_' and '-', starting with a letter or digit (e.g. 'datasets')"
        )
    return namespace


def check_key(key) -> str:
    if not isinstance(key, str) or not key:
        raise TypeError(f"store keys are non-empty str, got {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(
            f"store key is {len(key)} characters long; the limit is {MAX_KEY_LENGTH} "
            "(hash long names, e.g. with hashlib.sha256)"
        )
    if "\x00" in key:
        raise ValueError(f"store key {key!r} contains a NUL character")
    return key


def check_value(value) -> bytes | bytearray | memoryview:
    """Accept any C-contiguous buffer (bytes, bytearray, memoryview, a numpy array) as flat bytes,
    without copying; anything else is a caller's mistake."""
    if isinstance(value, (bytes, bytearray)):
        return value
    try:
        view = memoryview(value)
    except TypeError:
        raise TypeError(
            f"store values are bytes-like (bytes, bytearray, memoryview, a numpy array), got "
            f"{type(value).__name__}; serialise other objects first (e.g. numpy.save into "
            "io.BytesIO)"
        ) from None
    if not view.c_contiguous:
        raise ValueError("store values must be contiguous buffers: pass numpy.ascontiguousarray(value)")
    return view.cast("B") if (view.format != "B" or view.ndim != 1) else view
