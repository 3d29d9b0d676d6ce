"""The benchmark behind scripts/bench: pybrowserml (native numpy, numpy in Pyodide, wasm 1 thread and threaded)
against TensorFlow.js 4.22 (cpu, webgl, wasm) on the reference network, printed as one table and written as
JSON. Not a test: it asserts nothing about speed, it measures."""
