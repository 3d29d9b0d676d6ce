"""pybrowserml: train tiny CNNs in the browser (Pyodide) or in CPython, with a Keras-style API."""

from . import (callbacks, data, debug, initializers, io, layers, losses, metrics, models, ops, optimizers, schedules,
               storage, training, zoo)
from ._version import __version__
from .backends import available_backends, get_backend, set_backend, set_backend_async
from .io import load_json
from .layers import Input
from .models import Model, Sequential, model_from_config
from .random import set_random_seed
from .tensor import Tensor, Variable, memory, no_grad
