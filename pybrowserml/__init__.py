"""pybrowserml: train tiny CNNs in the browser (Pyodide) or in CPython, with a Keras-style API."""

import importlib

# What a first training step needs is imported now; the rest (saving/loading, compression, the debug checks,
# dataset loaders, the zoo) on first use, through __getattr__ below: `import pybrowserml` is on every page's
# cold start (in Pyodide each module is compiled from source at import), and most programs never touch them.
from . import (
    callbacks,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    schedules,
    storage,
    training,
)
from ._version import __version__
from .backends import available_backends, get_backend, set_backend, set_backend_async
from .input_scaling import UnscaledInputWarning
from .layers import Input
from .models import Model, Sequential, model_from_config
from .random import set_random_seed
from .tensor import Tensor, Variable, memory, no_grad

# name -> (module, attribute or None for the module itself), imported on first access
_LAZY = {
    "compression": ("compression", None),
    "data": ("data", None),
    "debug": ("debug", None),
    "io": ("io", None),
    "zoo": ("zoo", None),
    "load_json": ("io", "load_json"),
    "load_model": ("io", "load_model"),
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'pybrowserml' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(f".{module_name}", __name__)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # later accesses skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


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
