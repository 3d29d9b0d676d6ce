"""pybrowserml: train tiny CNNs in the browser (Pyodide) or in CPython, with a Keras-style API."""

__version__ = "0.1.0"

from . import ops
from .backends import available_backends, get_backend, memory, set_backend, set_backend_async
from .tensor import Tensor, Variable, no_grad
