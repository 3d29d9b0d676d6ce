"""The numpy backend: reference kernels (the oracle every backend is tested against) and the fallback."""

from __future__ import annotations

from .backend import NUMPY, NumpyBackend


def create() -> NumpyBackend:
    """The registry's constructor: numpy is always ready, and there is one instance."""
    return NUMPY


__all__ = ["NUMPY", "NumpyBackend", "create"]
