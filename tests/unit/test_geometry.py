"""pybrowserml.geometry: TensorFlow's padding rule and the argument checks layers and backends share."""

import numpy as np
import pytest

from pybrowserml.geometry import check_padding, output_size_and_pads, pair, window_geometry


@pytest.mark.parametrize(
    "size, k, s, padding, expected",
    [
        (28, 3, 1, "same", (28, 1, 1)),
        (28, 3, 2, "same", (14, 0, 1)),  # the extra row goes after, as in TensorFlow
        (7, 3, 2, "same", (4, 1, 1)),
        (5, 1, 2, "same", (3, 0, 0)),
        (4, 4, 4, "same", (1, 0, 0)),
        (28, 3, 1, "valid", (26, 0, 0)),
        (7, 2, 2, "valid", (3, 0, 0)),
        (3, 3, 1, "valid", (1, 0, 0)),
    ],
)
def test_output_size_and_pads_follow_tensorflow(size, k, s, padding, expected):
    assert output_size_and_pads(size, k, s, padding) == expected


def test_same_padding_covers_every_input_exactly_once_per_stride():
    for size in range(1, 12):
        for k in range(1, 6):
            for s in range(1, 4):
                out, before, after = output_size_and_pads(size, k, s, "same")
                assert out == -(-size // s) and before <= after <= before + 1
                assert (out - 1) * s + k <= before + size + after  # the last window fits the padded input


def test_valid_padding_with_a_window_larger_than_the_input_is_refused():
    with pytest.raises(ValueError, match=r"window 5 is larger than the input \(4\) with padding='valid'"):
        output_size_and_pads(4, 5, 1, "valid")
    with pytest.raises(ValueError, match="padding must be 'same' or 'valid', got 'full'"):
        output_size_and_pads(4, 3, 1, "full")


def test_window_geometry_combines_both_axes():
    geo = window_geometry((2, 7, 6, 3), 3, 2, (2, 1), "same")
    assert geo == (4, 6, (1, 1), (0, 1))
    assert (geo.out_h, geo.out_w, geo.pad_top, geo.pad_left) == (4, 6, 1, 0)
    out_h, out_w, pads_h, pads_w = window_geometry((1, 9, 9, 1), 3, 3, (1, 1), "valid")
    assert (out_h, out_w, pads_h, pads_w) == (7, 7, (0, 0), (0, 0))


@pytest.mark.parametrize(
    "value, expected",
    [(3, (3, 3)), ((2, 1), (2, 1)), ([1, 4], (1, 4)), (np.int64(2), (2, 2)), ((np.int32(3), 1), (3, 1))],
)
def test_pair_accepts_an_int_or_a_pair_of_positive_ints(value, expected):
    got = pair(value, "strides")
    assert got == expected and all(type(v) is int for v in got)


@pytest.mark.parametrize("value", [0, -1, (1, 2, 3), (2,), (0, 1), 2.0, (2.0, 1), True, "2", None])
def test_pair_refuses_anything_else_and_names_the_argument_and_layer(value):
    with pytest.raises(ValueError, match=r"layer 'conv': strides must be a positive int or a pair of them, got"):
        pair(value, "strides", "conv")
    with pytest.raises(ValueError, match=r"^kernel_size must be a positive int"):
        pair(value, "kernel_size")


def test_check_padding_normalises_case_and_refuses_other_values():
    assert check_padding("SAME") == "same" and check_padding("valid", "pool") == "valid"
    with pytest.raises(ValueError, match=r"layer 'pool': padding must be 'same' or 'valid', got 'causal'"):
        check_padding("causal", "pool")
    with pytest.raises(ValueError, match=r"^padding must be 'same' or 'valid', got 3"):
        check_padding(3)
