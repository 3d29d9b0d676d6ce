"""Affine (uint8/uint16), float16 and float32 weight encodings: zero exact, errors bounded by the step."""

import numpy as np
import pytest

from pybrowserml.io import quantize as q


def _roundtrip(array, quantize, name="layer/kernel", per_channel=True):
    raw, encoding = q.encode(array, quantize, name=name, per_channel=per_channel)
    assert len(raw) == q.encoded_size(array.shape, encoding)
    return q.decode(raw, array.shape, encoding), encoding


@pytest.mark.parametrize("quantize", ["uint8", "uint16"])
@pytest.mark.parametrize("per_channel", [True, False])
def test_zero_is_exact_and_error_is_within_one_step(quantize, per_channel):
    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.3, (3, 3, 8, 16)).astype("float32")
    w[0, 0] = 0.0  # zeros scattered through every output channel
    w[..., 3] = np.abs(w[..., 3]) + 0.5  # a channel entirely positive: its range still has to include 0
    w[..., 4] = -np.abs(w[..., 4]) - 0.5  # and one entirely negative
    w[..., 5] = 0.0  # and an all-zero channel
    restored, encoding = _roundtrip(w, quantize, per_channel=per_channel)
    assert encoding["kind"] == "affine" and encoding["bits"] == q.AFFINE_BITS[quantize]
    assert encoding["axis"] == (3 if per_channel else None)
    assert np.all(restored[w == 0.0] == 0.0)
    scale, zero_point = q.affine_parameters(encoding)
    step = scale if per_channel else np.full(16, scale[0])
    # Rounding the zero point can push the range end by half a step, so the bound is one step.
    assert np.all(np.abs(restored - w) <= step * 1.0001 + 1e-12)
    assert zero_point.dtype.kind == "u"


def test_per_channel_beats_per_tensor_when_channel_ranges_differ():
    rng = np.random.default_rng(1)
    w = rng.normal(0, 1, (16, 8)).astype("float32") * np.logspace(-3, 0, 8, dtype="float32")
    per_channel, _ = _roundtrip(w, "uint8", per_channel=True)
    per_tensor, _ = _roundtrip(w, "uint8", per_channel=False)
    small = slice(0, 3)  # the channels with tiny weights lose almost everything with one shared scale
    assert np.abs(per_channel - w)[:, small].max() < np.abs(per_tensor - w)[:, small].max() / 10


def test_uint16_is_finer_than_uint8():
    w = np.random.default_rng(2).normal(0, 1, (64, 32)).astype("float32")
    e8 = np.abs(_roundtrip(w, "uint8")[0] - w).max()
    e16 = np.abs(_roundtrip(w, "uint16")[0] - w).max()
    assert e16 < e8 / 100


def test_channel_axis_by_weight_kind():
    assert q.channel_axis("conv/kernel", (3, 3, 4, 8)) == 3
    assert q.channel_axis("dense/kernel", (32, 10)) == 1
    assert q.channel_axis("block/layer_1/depthwise/depthwise_kernel", (3, 3, 16, 1)) == 2
    assert q.channel_axis("conv/bias", (8,)) is None


def test_depthwise_kernels_get_one_scale_per_input_channel():
    w = np.random.default_rng(3).normal(0, 1, (3, 3, 6, 2)).astype("float32")
    w[:, :, 2] *= 100
    restored, encoding = _roundtrip(w, "uint8", name="dw/depthwise_kernel")
    assert encoding["axis"] == 2 and len(q.affine_parameters(encoding)[0]) == 6
    assert np.abs(restored - w)[:, :, 0].max() < 0.05


def test_float16_and_float32():
    w = np.random.default_rng(4).normal(0, 1, (5, 7)).astype("float32")
    restored32, enc32 = _roundtrip(w, "float32")
    assert enc32 == {"kind": "float32"} and np.array_equal(restored32, w)
    restored16, enc16 = _roundtrip(w, "float16")
    assert enc16 == {"kind": "float16"}
    assert np.array_equal(restored16, w.astype("float16").astype("float32"))


def test_bad_inputs_are_refused_with_clear_errors():
    with pytest.raises(ValueError, match="quantize='int4' is not supported"):
        q.check_quantize("int4")
    assert q.check_quantize(None) == "float32"
    with pytest.raises(ValueError, match="NaN or infinite"):
        q.encode(np.array([1.0, np.nan], "float32"), "uint8")
    with pytest.raises(ValueError, match="beyond float16's range"):
        q.encode(np.array([1e6], "float32"), "float16")


def test_all_zero_tensor_and_scalar():
    restored, encoding = _roundtrip(np.zeros((4, 4), "float32"), "uint8")
    assert np.all(restored == 0)
    scalar, _ = _roundtrip(np.array(2.5, "float32"), "uint8")
    assert scalar.shape == () and abs(float(scalar) - 2.5) < 0.01


def test_scales_are_bfloat16_rounded_up_so_the_range_still_fits():
    lo = np.array([-1.0, -0.3, 0.0, -1e-30])
    hi = np.array([1.0, 2.7, 1e-3, 0.0])
    scale, zero_point = q.affine_params(lo, hi, 8)
    exact = (hi - lo) / 255
    assert np.all(scale.view("uint32") & 0xFFFF == 0)  # representable in the 2 bytes the file stores
    assert np.all(scale >= exact) and np.all(scale <= exact * (1 + 2**-7) * 1.0001)
    assert np.all((255 - zero_point) * scale.astype("float64") >= hi * (1 - 2**-8))
