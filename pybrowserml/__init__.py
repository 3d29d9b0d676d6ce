"""pybrowserml: train tiny CNNs in the browser (Pyodide) or in CPython, with a Keras-style API."""

__version__ = "0.1.0"
