"""Models: the functional Model, Sequential, and rebuilding either from its config."""

from __future__ import annotations

from .config import model_from_config
from .functional import Model
from .sequential import Sequential

__all__ = ["Model", "Sequential", "model_from_config"]
