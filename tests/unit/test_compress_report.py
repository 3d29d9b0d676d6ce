"""Table (a)'s targets as the report prints them, from a study's numbers (no browser here)."""

import compress_report as report


def _row(name, params, macs, accuracy, speed, **extra):
    return {
        "name": name,
        "params": params,
        "nonzero_params": params,
        "macs": macs,
        "json_bytes": 1000,
        "test_accuracy": accuracy,
        "train_seconds": 10.0,
        "infer_samples_per_s": speed,
        **extra,
    }


def study():
    w = report.STUDENT_WIDTH
    return {
        "rows": [
            _row("reference (dense_block_cnn)", 1000, 4000, 0.80, 100.0),
            _row("channel-pruned (keep 0.60) + fine-tune", 500, 2000, 0.795, 170.0, accuracy_before_fine_tune=0.5),
            _row(f"distilled student alpha={w}", 100, 400, 0.784, 900.0),
            _row(f"same student, labels only alpha={w}", 100, 400, 0.76, 900.0),
        ],
        "joint_seconds": 30.0,
        "largest_alone_seconds": 20.0,
        "joint_round_ratios": [1.4, 1.6],
    }


def test_targets_are_printed_as_measured_ratios_with_their_signs():
    lines = report.targets(study()).splitlines()
    assert "0.100 of the params (target <= 0.1), 0.980 of the accuracy (target >= 0.97)" in lines[1]
    assert "labels only: 0.950" in lines[1]
    assert "0.500 of the MACs, accuracy -0.50 points after fine-tuning (target >= -1; -30.00 before)" in lines[2]
    assert "1.70x wasm inference" in lines[2]
    assert "1.50x the time of the largest alone" in lines[3] and "1.40x to 1.60x" in lines[3]


def test_table_a_has_a_line_per_model():
    table = report.table_a(study()).splitlines()
    assert len(table) == 2 + 4
    assert "80.00%" in table[2] and "79.50%" in table[3]
