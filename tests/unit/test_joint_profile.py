"""The joint-distillation profile's arithmetic (no browser here)."""

from report_lib.profile_joint import format_profile, packed_ratio, predicted_ratio


def test_joint_is_the_teacher_plus_every_student_against_the_teacher_plus_the_largest():
    ms = {"teacher forward": 10.0, "student 0.25": 5.0, "student 0.35": 8.0, "student 0.5": 10.0}
    assert predicted_ratio(ms) == (10 + 5 + 8 + 10) / (10 + 10)


def test_packed_is_the_teacher_plus_the_packed_step_against_the_teacher_plus_the_largest():
    ms = {"teacher forward": 10.0, "student 0.25": 5.0, "student 0.5": 10.0, "packed students": 12.0}
    assert packed_ratio(ms) == (10 + 12) / (10 + 10)
    assert predicted_ratio(ms) == (10 + 5 + 10) / (10 + 10)  # the packed phase is not a student


def test_the_table_lists_every_kernel_per_phase_and_the_prediction():
    kernels = {
        "teacher forward": {"ms": {"conv2d": 4.0, "python (rest)": 1.0}, "calls": {"conv2d": 9}},
        "student 0.5": {"ms": {"conv2d": 2.0, "adam_update": 0.5}, "calls": {"conv2d": 9, "adam_update": 1}},
    }
    table = format_profile({"batch": 32, "ms": {"teacher forward": 5.0, "student 0.5": 5.0}, "kernels": kernels})
    lines = table.splitlines()
    assert lines[2].startswith("conv2d") and "4.00 x9" in lines[2] and "2.00 x9" in lines[2]
    assert any(line.startswith("adam_update") and "0.00 x0" in line for line in lines)
    assert lines[-1] == "predicted joint / largest alone: 1.00x apart"  # one student: joint is alone


def test_the_table_gives_the_packed_ratio_when_there_is_a_packed_phase():
    ms = {"teacher forward": 4.0, "student 0.25": 1.0, "student 0.5": 2.0, "packed students": 2.5}
    kernels = {name: {"ms": {}, "calls": {}} for name in ms}
    last = format_profile({"batch": 32, "ms": ms, "kernels": kernels}).splitlines()[-1]
    assert last == "predicted joint / largest alone: 1.17x apart, 1.08x packed"
