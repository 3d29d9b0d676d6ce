"""set_backend_async("auto"): the first backend that really works, the reasons for the others, and the
chosen backend's per-op fallbacks in auto_report()."""

import asyncio
import sys
import types

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import backends
from pybrowserml.backends import auto
from pybrowserml.backends.numpy.backend import NumpyBackend


@pytest.fixture(autouse=True)
def registry(monkeypatch):
    """Test backends are registered for one test only."""
    monkeypatch.setattr(backends, "_MODULES", dict(backends._MODULES))
    monkeypatch.setattr(backends, "_created", dict(backends._created))
    monkeypatch.setattr(backends, "_current", backends._current)
    monkeypatch.setattr(auto, "_last_report", None)

    def register(name, backend_class, float32_renderable=None):
        module = types.ModuleType(f"_test_backend_{name}")

        async def create_async():
            return backend_class()

        module.create_async = create_async
        module.create = backend_class
        if float32_renderable is not None:

            async def renderable():
                return float32_renderable

            module.float32_renderable = renderable
        monkeypatch.setitem(sys.modules, module.__name__, module)
        backends._MODULES[name] = module.__name__

    return register


class WrongRelu(NumpyBackend):
    name = "wrong"

    def __init__(self):
        super().__init__()
        self.kernels["relu"] = lambda a: np.abs(a)


class NoMatmul(NumpyBackend):
    """Computes right, but its matmul runs on numpy through the per-op fallback."""

    name = "partial"

    def __init__(self):
        super().__init__()
        del self.kernels["matmul"]


def test_auto_in_cpython_is_numpy_and_says_why_not_the_others():
    backend = asyncio.run(backends.set_backend_async("auto"))
    assert backend is backends.get_backend("numpy") is backends.get_backend()
    report = pb.backends.auto_report()
    assert report["chosen"] == "numpy" and report["forced"] is False
    assert list(report["skipped"]) == ["webgpu", "webgl", "wasm"]
    assert "inside a browser page" in report["skipped"]["webgpu"]
    assert "inside Pyodide" in report["skipped"]["wasm"]
    assert report["fallbacks"] == {} and report["missing_kernels"] == []


def test_auto_report_is_none_before_an_auto_choice():
    assert backends.auto_report() is None


def test_a_backend_that_computes_wrong_is_skipped(registry):
    registry("wrong", WrongRelu)
    backend, skipped = asyncio.run(auto.drive(auto.choose(("wrong", "numpy"))))
    assert backend.name == "numpy"
    assert "check computation" in skipped["wrong"] and "off by" in skipped["wrong"]


def test_a_failing_start_is_skipped_with_its_error(registry):
    class Broken(NumpyBackend):
        def __init__(self):
            raise OSError("no adapter")

    registry("broken", Broken)
    _, skipped = asyncio.run(auto.drive(auto.choose(("broken", "numpy"))))
    assert skipped == {"broken": "OSError: no adapter"}


def test_float32_unrenderable_is_refused_unless_forced(registry):
    class Dim(NumpyBackend):
        name = "dim"

    registry("dim", Dim, float32_renderable=False)
    backend, skipped = asyncio.run(auto.drive(auto.choose(("dim", "numpy"))))
    assert backend.name == "numpy" and "cannot render to float32" in skipped["dim"] and "force=True" in skipped["dim"]
    with pytest.warns(UserWarning, match="using the dim backend although its device cannot render to float32"):
        backend, skipped = asyncio.run(auto.drive(auto.choose(("dim", "numpy"), force=True)))
    assert backend.name == "dim" and skipped == {}


def test_the_chosen_backends_fallbacks_show_in_the_report(registry, monkeypatch):
    registry("partial", NoMatmul)
    monkeypatch.setattr(auto, "AUTO_ORDER", ("partial", "numpy"))
    backend = asyncio.run(backends.set_backend_async("auto"))
    assert backend.name == "partial"
    report = backends.auto_report()
    assert report["missing_kernels"] == ["matmul"]
    assert report["fallbacks"] == {"matmul": 1}  # the check computation's matmul ran on numpy
    backend.run("matmul", np.ones((2, 2), np.float32), np.ones((2, 2), np.float32))
    assert backends.auto_report()["fallbacks"] == {"matmul": 2}


def test_auto_takes_only_force():
    with pytest.raises(TypeError, match="takes only force="):
        asyncio.run(backends.set_backend_async("auto", threads=2))


def test_fallback_order_continues_after_the_lost_backend():
    assert auto.fallback_order("webgpu") == ("webgl", "wasm", "numpy")
    assert auto.fallback_order("webgl") == ("wasm", "numpy")
    assert auto.fallback_order("elsewhere") == auto.AUTO_ORDER
