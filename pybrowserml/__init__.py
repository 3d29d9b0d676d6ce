"""pybrowserml: train tiny CNNs in the browser (Pyodide) or in CPython, with a Keras-style API."""

from . import (
    callbacks,
    compression,
    data,
    debug,
    initializers,
    io,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    schedules,
    storage,
    training,
    zoo,
)
from ._version import __version__
from .backends import available_backends, get_backend, set_backend, set_backend_async
from .input_scaling import UnscaledInputWarning
from .io import load_json, load_model
from .layers import Input
from .models import Model, Sequential, model_from_config
from .random import set_random_seed
from .tensor import Tensor, Variable, memory, no_grad

__all__ = [
    "__version__",
    # backends and tensors
    "available_backends",
    "get_backend",
    "set_backend",
    "set_backend_async",
    "memory",
    "Tensor",
    "Variable",
    "no_grad",
    "set_random_seed",
    # models
    "Input",
    "Model",
    "Sequential",
    "model_from_config",
    "load_json",
    "load_model",
    "UnscaledInputWarning",
    # modules
    "callbacks",
    "compression",
    "data",
    "debug",
    "initializers",
    "io",
    "layers",
    "losses",
    "metrics",
    "models",
    "ops",
    "optimizers",
    "schedules",
    "storage",
    "training",
    "zoo",
]
