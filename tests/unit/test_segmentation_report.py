"""Table (b)'s arithmetic: the alpha^2 x pixels scaling ratios and the printed table (no browser here)."""

import numpy as np
import pytest
from report_lib.mobile_unet import add_scaling, fitted_scaling, format_table


def row(alpha, size, ms):
    return {"alpha": alpha, "size": size, "iou": 0.9, "params": 1000, "infer_ms": ms, "train_samples_per_s": 50.0}


def test_proportional_rows_have_ratio_one_and_an_outlier_shows():
    rows = add_scaling([row(1.0, 28, 1.0), row(0.5, 28, 0.25), row(1.0, 56, 4.0), row(0.5, 56, 3.0)])
    assert [round(r["scaling"], 2) for r in rows] == [1.0, 1.0, 1.0, 3.0]
    table = format_table(rows)
    assert "3 of 4 rows within 25%" in table
    assert "from 1.00 to 3.00" in table
    assert table.count("\n|") == 5  # the separator and four rows


def test_factor_lines_separate_the_pixel_and_the_alpha_growth():
    rows = add_scaling([row(1.0, 28, 1.0), row(0.5, 28, 0.5), row(1.0, 56, 4.0), row(0.5, 56, 2.0)])
    lines = format_table(rows).splitlines()
    assert "alpha 1.0: ms growth / pixel growth from 28x28: 1.00" in lines
    assert "size 28x28: ms(alpha) / ms(1.0) over alpha^2 ratio: 2.00" in lines


def test_macs_lines_tell_the_network_arithmetic_from_the_kernels_speed():
    rows = [row(1.0, 28, 1.0), row(0.5, 28, 0.5), row(1.0, 56, 4.0), row(0.5, 56, 2.0)]
    for r, macs in zip(rows, (100, 50, 400, 200)):
        r["macs"] = macs
    table = format_table(add_scaling(rows))
    assert "| MMACs" in table
    assert "MACs vs alpha^2 x pixels: ratios to the median from 0.67 to 1.33" in table  # 50 MACs at 1/4 of 100
    assert "inference ms vs MACs: ratios to the median from 1.00 to 1.00; 4 of 4 rows within 25%" in table


def test_the_fitted_constant_is_the_geometric_mean_of_the_per_unit_times():
    # per-unit times 1, 1, 1, 16: median 1, geometric mean 2 (the least-squares constant in log space)
    rows = add_scaling([row(1.0, 28, 1.0), row(0.5, 28, 0.25), row(1.0, 56, 4.0), row(0.5, 56, 16.0)])
    assert [round(r, 2) for r in fitted_scaling(rows)] == [0.5, 0.5, 0.5, 8.0]
    table = format_table(rows)
    assert "k fitted: ratios to the fit from 0.50 to 8.00; 0 of 4 rows within 25%" in table
    assert "ratio = (infer ms / (alpha^2 x pixels))" in table


def test_digits_are_framed_to_32_pixels_then_scaled_by_nearest_neighbour():
    from report_lib.page_unet import framed

    digits = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28, 1)
    masks = (digits[..., 0] % 2).astype(np.int32)
    small, big = framed(digits, 32), framed(masks, 64)
    assert small.shape == (2, 32, 32, 1) and big.shape == (2, 64, 64)
    assert (small[:, 2:30, 2:30] == digits).all() and small[:, :2].max() == 0 and small[:, :, 30:].max() == 0
    assert (big[:, 4:60:2, 4:60:2] == masks).all() and (big[:, 5:61:2, 5:61:2] == masks).all()
    assert big[:, :4].max() == 0
    with pytest.raises(ValueError, match="multiple of 32"):
        framed(digits, 56)
