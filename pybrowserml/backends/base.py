"""The one narrow interface every backend implements, and the per-op fallback to numpy.

A backend owns device arrays (numpy arrays, WASM handles, GPU buffers) and one table of kernels
(``kernels``: name -> callable). Everything above this file calls ``backend.run(name, ...)`` and never
touches device data directly. A kernel missing from a backend's table runs on the numpy reference
kernels instead, with its data moved once each way, counted and logged, so results never change.
"""

from __future__ import annotations

import logging

import numpy as np

from .kernel_names import INPLACE_KERNELS, KERNEL_NAMES

log = logging.getLogger("pybrowserml.backends")


class DeviceLostError(RuntimeError):
    """The device behind a backend is gone (a lost WebGL context, a destroyed or lost WebGPU device):
    its arrays are unreadable and every later kernel call fails. Raised by the backend's kernels and
    downloads; the trainer catches it to continue on the next backend."""

    def __init__(self, backend_name: str, reason: str):
        super().__init__(f"the {backend_name} device was lost ({reason})")
        self.backend_name = backend_name
        self.reason = reason


class Backend:
    """Base class: subclasses fill ``kernels`` and implement the five memory methods."""

    name = "base"

    def __init__(self):
        self.kernels: dict = {}
        self.fallback_counts: dict[str, int] = {}

    # -- memory: the only ways data crosses into or out of the device --------------------------
    def upload(self, array: np.ndarray):
        raise NotImplementedError

    def download(self, array) -> np.ndarray:
        raise NotImplementedError

    def download_async(self, array):
        """The host copy of `array`, as a value or an awaitable (a GPU backend can only read back
        asynchronously and overrides this); by default the synchronous download."""
        return self.download(array)

    def zeros(self, shape, dtype="float32"):
        raise NotImplementedError

    def write(self, array, values: np.ndarray) -> None:
        raise NotImplementedError

    def shape(self, array) -> tuple:
        raise NotImplementedError

    def memory(self) -> dict:
        """Live device arrays and bytes, like tf.memory()."""
        return {"backend": self.name, "arrays": 0, "bytes": 0}

    # -- compute ---------------------------------------------------------------------------------
    def has(self, kernel_name: str) -> bool:
        return kernel_name in self.kernels

    def missing_kernels(self) -> list[str]:
        """The kernels of the vocabulary this backend lacks: each runs on numpy instead, per op."""
        return sorted(KERNEL_NAMES - self.kernels.keys())

    def run(self, kernel_name: str, *args, **attrs):
        kernel = self.kernels.get(kernel_name)
        if kernel is not None:
            return kernel(*args, **attrs)
        return self._fallback(kernel_name, args, attrs)

    def _fallback(self, kernel_name, args, attrs):
        from .numpy import NUMPY

        if self is NUMPY:
            raise KeyError(f"no kernel named {kernel_name!r} in the numpy reference backend")
        reference = NUMPY.kernels.get(kernel_name)
        if reference is None:
            raise KeyError(f"no kernel named {kernel_name!r} in backend {self.name!r} nor in numpy")
        count = self.fallback_counts.get(kernel_name, 0)
        if count == 0:
            log.debug("backend %s has no kernel %r: running it on numpy", self.name, kernel_name)
        self.fallback_counts[kernel_name] = count + 1

        host_args = [self._to_host(a) for a in args]
        result = reference(*host_args, **attrs)
        if kernel_name in INPLACE_KERNELS:
            # numpy updated the host copies; the device arrays are the ones the caller holds.
            for device_list, host_list in zip(args, host_args):
                if isinstance(device_list, (list, tuple)):
                    for device, host in zip(device_list, host_list):
                        self.write(device, host)
            return None
        return self._to_device(result)

    def _to_host(self, value):
        if isinstance(value, (list, tuple)):
            return [self._to_host(v) for v in value]
        if value is None or isinstance(value, (int, float, str, np.ndarray)):
            return value
        return self.download(value)

    def _to_device(self, value):
        if isinstance(value, tuple):
            return tuple(self._to_device(v) for v in value)
        if isinstance(value, list):
            return [self._to_device(v) for v in value]
        if isinstance(value, np.ndarray) or np.isscalar(value):
            return self.upload(np.asarray(value))
        return value

    def __repr__(self):
        return f"<Backend {self.name}: {len(self.kernels)} kernels>"
