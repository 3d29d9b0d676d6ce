"""The packed joint-step estimate's arithmetic (no browser here)."""

from report_lib.estimate_packed import format_estimate, packed_estimate

RESULT = {
    "ms": {"teacher forward": 7.0, "student 0.25": 5.0, "student 0.5": 9.0, "summed widths": 20.0},
    "pointwise_ms": {"teacher forward": 0.0, "student 0.25": 1.0, "student 0.5": 3.0, "summed widths": 12.0},
}


def test_the_packed_step_swaps_the_wide_pointwise_convs_for_the_students_own():
    estimate = packed_estimate(RESULT)
    assert estimate["packed_ms"] == 20.0 - 12.0 + (1.0 + 3.0)
    assert estimate["today"] == (7.0 + 5.0 + 9.0) / (7.0 + 9.0)
    assert estimate["packed"] == (7.0 + 12.0) / (7.0 + 9.0)


def test_the_table_shows_every_phase_and_both_ratios():
    lines = format_estimate(RESULT).splitlines()
    assert [line.split()[0] for line in lines[2:6]] == ["teacher", "student", "student", "summed"]
    assert lines[-1] == "joint / largest alone: today 1.31x, packed (estimate) 1.19x"
