"""The parts of the WebGL backend that CPython can check: its refusal outside Pyodide, the split of
long sums into partial sums, and the rule that picks the GEMM for pointwise convolutions (the shaders
themselves are tested in tests/conformance and tests/browser)."""

import pytest

import pybrowserml
from pybrowserml.backends.webgl import create, create_async, float32_renderable
from pybrowserml.backends.webgl.kernels import FAMILIES
from pybrowserml.backends.webgl.kernels.conv import pointwise, split
from pybrowserml.backends.webgl.runtime import MAX_EXACT_INT, _host


def test_webgl_backend_explains_that_it_needs_a_browser():
    with pytest.raises(RuntimeError, match="browser page"):
        create()
    # Stepped by hand rather than with asyncio.run (a session that drives Playwright has a loop running).
    with pytest.raises(RuntimeError, match="numpy backend"):
        create_async().send(None)
    with pytest.raises(RuntimeError, match="browser page"):
        float32_renderable().send(None)
    with pytest.raises(RuntimeError, match="browser page"):
        pybrowserml.set_backend("webgl")
    assert pybrowserml.get_backend().name == "numpy"
    assert "webgl" in pybrowserml.backends.registered_backends()


def test_every_family_of_the_vocabulary_is_registered():
    from pybrowserml.backends.kernel_names import KERNELS_BY_FAMILY

    assert sorted(FAMILIES) == sorted(KERNELS_BY_FAMILY)


@pytest.mark.parametrize("pixels, size", [(1, 1), (100, 7), (6272, 144), (1568, 12288), (25088, 16), (63, 5)])
def test_filter_gradient_split_covers_every_pixel_once(pixels, size):
    parts, chunk = split(pixels, size)
    assert parts >= 1 and chunk >= 1
    assert (parts - 1) * chunk < pixels <= parts * chunk  # no empty part, none missing


def test_pointwise_means_a_1x1_window_at_stride_1():
    assert pointwise((1, 1, 8, 4), (1, 1))
    assert not pointwise((1, 1, 8, 4), (2, 2))
    assert not pointwise((3, 3, 8, 4), (1, 1))


def test_int32_uploads_beyond_exact_floats_are_refused_with_the_reason():
    import numpy as np

    assert _host(np.array([MAX_EXACT_INT, -MAX_EXACT_INT])).dtype == np.int32
    with pytest.raises(ValueError, match=r"2\*\*24"):
        _host(np.array([MAX_EXACT_INT + 1]))
    assert _host(np.arange(3, dtype=np.uint8)).dtype == np.uint8
    assert _host(np.ones(2)).dtype == np.float32
