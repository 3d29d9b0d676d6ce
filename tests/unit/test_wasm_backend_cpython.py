"""The parts of the WASM backend that CPython can check: its refusal outside Pyodide, its op table's
composition, and the pure shape logic deciding which calls the C kernels take (the kernels
themselves are tested in tests/browser/)."""

import pytest

import pybrowserml
from pybrowserml.backends.kernel_names import KERNELS_BY_FAMILY, DuplicateKernelError, family_name, merge_tables
from pybrowserml.backends.wasm import create, create_async
from pybrowserml.backends.wasm.kernels import FAMILIES, make_table
from pybrowserml.backends.wasm.kernels.conv import DIRECT_CONV_MAX_CHANNELS, uses_direct_conv
from pybrowserml.backends.wasm.kernels.elementwise import _normalise_axes, _period
from pybrowserml.geometry import window_geometry


def test_wasm_backend_explains_that_it_needs_pyodide():
    with pytest.raises(RuntimeError, match="Pyodide"):
        create()
    # Stepped by hand rather than with asyncio.run: a test session that also drives Playwright
    # already has an event loop running in this thread. It raises before its first await.
    with pytest.raises(RuntimeError, match="numpy backend"):
        create_async().send(None)
    with pytest.raises(RuntimeError, match="Pyodide"):
        pybrowserml.set_backend("wasm")
    assert pybrowserml.get_backend().name == "numpy"


@pytest.mark.parametrize(
    "operand, out, expected",
    [
        ((2, 3, 5), (2, 3, 5), 30),  # same shape
        ((), (2, 3, 5), 1),  # scalar
        ((1, 1), (4, 6), 1),  # a size-1 array is a scalar too
        ((5,), (2, 3, 5), 5),  # bias-like trailing axis
        ((1, 5), (2, 3, 5), 5),
        ((3, 5), (2, 3, 5), 15),  # a longer trailing suffix
        ((3, 1), (3, 4), None),  # broadcast along the last axis: numpy fallback
        ((2, 1, 5), (2, 3, 5), None),  # broadcast in the middle: numpy fallback
    ],
)
def test_operand_period_covers_scalars_and_trailing_broadcasts_only(operand, out, expected):
    assert _period(operand, out) == expected


def test_reduction_axes_are_normalised_or_rejected():
    assert _normalise_axes(None, 3) == (0, 1, 2)
    assert _normalise_axes(-1, 4) == (3,)
    assert _normalise_axes((2, 0, 1), 4) == (0, 1, 2)
    assert _normalise_axes((0, -3), 3) is None  # the same axis twice: numpy reports the error
    assert _normalise_axes(5, 3) is None


@pytest.mark.parametrize(
    "shape, k, strides, padding, expected",
    [
        ((1, 28, 28, 1), 3, (1, 1), "same", (28, 28, 1, 1)),
        ((1, 7, 9, 1), 3, (2, 2), "same", (4, 5, 1, 1)),
        ((1, 8, 8, 1), 3, (2, 2), "same", (4, 4, 0, 0)),  # the extra padding goes after
        ((1, 9, 7, 1), 3, (2, 2), "valid", (4, 3, 0, 0)),
    ],
)
def test_conv_geometry_follows_tensorflow_padding(shape, k, strides, padding, expected):
    """(out_h, out_w, pad_top, pad_left): what the conv, depthwise and pooling kernels pass to C."""
    geometry = window_geometry(shape, k, k, strides, padding)
    assert (geometry.out_h, geometry.out_w, geometry.pad_top, geometry.pad_left) == expected


def test_only_few_channel_non_pointwise_convolutions_take_the_direct_kernels():
    assert uses_direct_conv(1, 3, 3)  # the reference stem
    assert uses_direct_conv(DIRECT_CONV_MAX_CHANNELS, 5, 5)
    assert uses_direct_conv(3, 1, 3) and uses_direct_conv(2, 7, 1)  # only 1x1 is excluded
    assert not uses_direct_conv(DIRECT_CONV_MAX_CHANNELS + 1, 3, 3)  # im2col + GEMM
    assert not uses_direct_conv(1, 1, 1)  # pointwise: one GEMM, no im2col
    assert not uses_direct_conv(0, 3, 3)


class _FakeRuntime:
    """Enough of a WasmRuntime to build the op table in CPython: every export is a placeholder."""

    fallback = None

    class exports:  # noqa: N801 (stands for the module's exports object)
        def __getattr__(self, name):
            return name

    exports = exports()


def test_each_family_module_registers_only_its_own_family():
    for module in FAMILIES:
        family = family_name(module)
        names = set(module.make_kernels(_FakeRuntime()))
        assert names, f"{family}: no kernels"
        assert names <= set(KERNELS_BY_FAMILY[family]), f"{family}: {names - set(KERNELS_BY_FAMILY[family])}"
    assert [family_name(m) for m in FAMILIES] == list(KERNELS_BY_FAMILY)


def test_the_op_table_is_every_family_merged_and_a_second_reshape_is_refused():
    table = make_table(_FakeRuntime())
    assert {
        "matmul",
        "conv2d",
        "depthwise_conv2d",
        "max_pool2d",
        "batch_norm_grad",
        "softmax_xent",
        "adam_update",
        "reshape",
        "from_uint8",
        "add",
        "remap_pixels",
    } <= set(table)
    shape_kernels = FAMILIES[[family_name(m) for m in FAMILIES].index("shape")].make_kernels(_FakeRuntime())
    with pytest.raises(DuplicateKernelError, match="reshape"):
        merge_tables({"elementwise": {"reshape": shape_kernels["reshape"]}, "shape": shape_kernels})
