"""scripts/bench's report: the table cells, the target ratios and the failure notes it derives from measured rows."""

import pytest

from bench_lib import report


def _row(key, label, train=None, infer=None, **extra):
    as_entries = lambda rates: {b: {"samples_per_s": v} for b, v in (rates or {}).items()}  # noqa: E731
    return {"key": key, "label": label, "train": as_entries(train), "infer": as_entries(infer), **extra}


TFJS_WASM_ERROR = "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'"


def _rows():
    tfjs_wasm = _row(
        report.TFJS_WASM,
        "TF.js wasm",
        infer={32: 500.0},
        missing_backprop_kernels=["Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropFilter"],
    )
    tfjs_wasm["train"] = {32: {"error": TFJS_WASM_ERROR, "missing_kernel": "Conv2DBackpropFilter"}}
    return {
        report.PB_WASM: _row(report.PB_WASM, "pb wasm", train={32: 300.0}, infer={32: 450.0}),
        report.PB_PYODIDE_NUMPY: _row(report.PB_PYODIDE_NUMPY, "pb numpy", train={32: 20.0}),
        report.TFJS_CPU: _row(report.TFJS_CPU, "TF.js cpu", train={32: 3.0}),
        report.TFJS_WEBGL: _row(report.TFJS_WEBGL, "TF.js webgl", train={32: 6.0}),
        report.TFJS_WASM: tfjs_wasm,
    }


def test_ratios_compare_against_tfjs_best_training_backend_and_same_threading_inference():
    # The threaded page's peak probe was disturbed (15): the run's best probe (20) is the peak for both.
    gemm = {
        "1 thread": {"threads": 1, "fma_peak_gflops": 20.0, "gemm_256_gflops": 11.0},
        "2 threads": {"threads": 2, "fma_peak_gflops": 15.0, "gemm_256_gflops": 26.0},
    }
    items = {r["name"].split(" (")[0]: r for r in report.ratios(_rows(), gemm)}
    training = items["wasm 1 thread training b32 / TF.js webgl"]
    assert training["value"] == pytest.approx(50.0) and training["met"] is True
    versus_numpy = items["wasm 1 thread training b32 / numpy in Pyodide"]
    assert versus_numpy["value"] == pytest.approx(15.0) and versus_numpy["met"] is False
    inference = items["wasm 1 thread inference b32 / TF.js wasm 1 thread"]
    assert inference["value"] == pytest.approx(0.9) and inference["met"] is True
    shares = [r for r in report.ratios(_rows(), gemm) if r["name"].startswith("GEMM")]
    assert [r["value"] for r in shares] == pytest.approx([0.55, 0.65])  # the threaded GEMM against 2 x peak
    assert [r["met"] for r in shares] == [False, True]


def test_a_ratio_with_a_missing_side_is_reported_as_not_measured():
    rows = _rows()
    del rows[report.PB_PYODIDE_NUMPY]
    items = report.ratios(rows, {})
    versus_numpy = next(r for r in items if "numpy in Pyodide" in r["name"])
    assert versus_numpy["value"] is None and versus_numpy["met"] is None
    assert "not measured" in report.format_ratios([versus_numpy])


def test_table_shows_rates_and_why_tfjs_wasm_cannot_train():
    rows = list(_rows().values())
    text = report.table(rows, [32])
    cells = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in text.splitlines()}
    assert cells[""] == ["train b32", "infer b32"]
    assert cells["pb wasm"] == ["300", "450"]
    assert cells["TF.js cpu"] == ["3", "-"]
    assert cells["TF.js wasm"] == ["n/a (no DepthwiseConv2dNative backprop)", "500"]
    notes = report.format_failures(rows)
    assert TFJS_WASM_ERROR in notes and "DepthwiseConv2dNativeBackpropFilter" in notes


def test_gpu_ratios_pair_ours_with_tfjs_of_the_same_device_and_compare_dispatches():
    rows = _rows()
    rows[report.PB_WEBGL] = _row(report.PB_WEBGL, "pb webgl", train={32: 24.0}, infer={32: 40.0})
    rows[report.PB_WEBGL]["train"][32]["dispatches_per_step"] = 120
    rows[report.TFJS_WEBGL]["train"][32]["dispatches_per_step"] = 600
    rows[report.TFJS_WEBGL]["infer"] = {32: {"samples_per_s": 10.0}}
    rows[report.PB_WEBGPU] = {"key": report.PB_WEBGPU, "label": "pb webgpu", "unavailable": "no adapter"}
    items = {r["name"]: r for r in report.gpu_ratios(rows)}
    assert items["pb webgl train b32 / TF.js webgl"]["value"] == pytest.approx(4.0)
    assert items["pb webgl train b32 / TF.js webgl"]["met"] is True
    assert items["pb webgl infer b32 / TF.js webgl"]["value"] == pytest.approx(4.0)
    assert items["pb webgpu train b32 / tfjs_webgpu"]["met"] is None  # nothing to compare: not measured
    assert items["TF.js webgl dispatches per training step b32 / ours (webgl)"]["value"] == pytest.approx(5.0)
    # our webgpu did not start: its dispatch comparison with TF.js webgl is listed, not measured
    assert items["TF.js webgl dispatches per training step b32 / ours (webgpu)"]["met"] is None
    assert "TF.js webgpu dispatches per training step b32 / ours (webgpu)" not in items
    table = report.table(list(rows.values()), (32,))
    assert "n/a (cannot start, see below)" in table
    assert "pb webgpu: could not start: no adapter" in report.format_failures(list(rows.values()))
    assert report.format_dispatches(list(rows.values()), (8, 32)) == (
        "  TF.js webgl: b8 -, b32 600\n  pb webgl: b8 -, b32 120"
    )


def test_webgpu_dispatches_compare_with_tfjs_webgl_and_webgpu_and_webgl_rows_may_be_missing():
    rows = _rows()
    rows[report.PB_WEBGPU] = _row(report.PB_WEBGPU, "pb webgpu", train={32: 30.0}, infer={32: 50.0})
    rows[report.PB_WEBGPU]["train"][32]["dispatches_per_step"] = 122
    rows[report.TFJS_WEBGPU] = _row(report.TFJS_WEBGPU, "TF.js webgpu", train={32: 5.0}, infer={32: 20.0})
    rows[report.TFJS_WEBGPU]["train"][32]["dispatches_per_step"] = 500
    rows[report.TFJS_WEBGL]["train"][32]["dispatches_per_step"] = 200
    items = {r["name"]: r for r in report.gpu_ratios(rows)}  # no pb webgl row at all (not registered)
    assert items["pb webgpu train b32 / TF.js webgpu"]["value"] == pytest.approx(6.0)
    assert items["pb webgpu infer b32 / TF.js webgpu"]["met"] is True
    webgl = items["TF.js webgl dispatches per training step b32 / ours (webgpu)"]
    assert webgl["value"] == pytest.approx(200 / 122) and webgl["met"] is False
    assert items["TF.js webgpu dispatches per training step b32 / ours (webgpu)"]["value"] == pytest.approx(500 / 122)
    assert items["TF.js webgl dispatches per training step b32 / ours (webgl)"]["met"] is None
    assert "pb webgl" not in report.table(list(rows.values()), (32,))


def test_gpu_table_ratios_say_single_pass_and_paired_gpu_figures_carry_their_own_targets():
    rows = _rows()
    rows[report.PB_WEBGL] = _row(report.PB_WEBGL, "pb webgl", train={32: 24.0}, infer={32: 40.0})
    rows[report.TFJS_WEBGL]["infer"] = {32: {"samples_per_s": 10.0}}
    rows[report.PB_WEBGL]["train"][32]["dispatches_per_step"] = 120
    rows[report.TFJS_WEBGL]["train"][32]["dispatches_per_step"] = 600
    lines = report.format_ratios(report.gpu_ratios(rows)).splitlines()
    assert "  pb webgl train b32 / TF.js webgl: 4.00x (single pass, see paired; target >= 3.0x: met)" in lines
    dispatch_lines = [line for line in lines if "dispatches" in line]
    assert dispatch_lines and not any("single pass" in line for line in dispatch_lines)

    def paired(ratios, target):
        rounds = [{"pybrowserml": r, "tfjs_webgl": 1.0, "ratio": r} for r in ratios]
        return {"batch": 32, "versus": "tfjs_webgl", "target": target, "rounds": rounds, "ratio": sorted(ratios)[1]}

    text = report.format_paired(
        {
            "training, webgl / TF.js webgl (SwiftShader)": paired([3.5, 2.0, 4.0], 3.0),
            "inference, webgl / TF.js webgl (SwiftShader)": paired([1.0, 1.9, 2.5], 2.0),
        }
    )
    assert text.splitlines() == [
        "  training, webgl / TF.js webgl (SwiftShader): 3.50x (median of rounds 3.50, 2.00, 4.00; target >= 3x: met)",
        "  inference, webgl / TF.js webgl (SwiftShader): 1.90x (median of rounds 1.00, 1.90, 2.50; target >= 2x: NOT met)",
    ]
