"""The compression table: the reference model and its compressed variants, trained in headless Chromium
on the wasm backend (Pyodide, offline), on Fashion-MNIST.

    python scripts/compress_report.py            # the full study (~12 min on an idle 2-core machine)
    python scripts/compress_report.py --quick    # a small one, to check that everything runs (~3 min)
    python scripts/compress_report.py --joint    # only the reference and the joint students (~5 min)

Table (a): params (non-zero ones for the magnitude-pruned model), MACs per image, bytes of the uint8 JSON
file (sparse weights as bitmap + values), wasm inference samples/s (batch 64), test accuracy, training
time; then the targets as measured ratios. Table (b): MobileUNet's alpha x input-size table from
scripts/report_lib/mobile_unet.py, at MobileNet-like widths and for the small default network (the
contrast). Also written as JSON to --output.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))

from harness import REPO, Browser  # noqa: E402

PAGE_SOURCE = (SCRIPTS / "report_lib" / "compress_page.py").read_text()
_INSTALL = """
import sys, types
_module = types.ModuleType("compress_page")
exec(compile(_SOURCE, "compress_page.py", "exec"), _module.__dict__)
sys.modules["compress_page"] = _module
del _SOURCE, _module
"""

PLANS = {
    # train samples, test samples, reference epochs, fine-tune epochs, student epochs
    "quick": {"train": 2000, "test": 1000, "epochs": 2, "fine_tune": 1, "student_epochs": 4},
    "full": {"train": 10000, "test": 5000, "epochs": 8, "fine_tune": 2, "student_epochs": 16},
}
# Students train twice the reference's epochs (a tenth of its MACs: still far cheaper). Against the 8-epoch
# reference (84.5%, constant rate) the alpha=0.25 student reached 79.0% with T = 4, alpha 0.3 (alpha: the
# weight of the true labels), 81.6% with T = 2 / 0.5, 81.3% with T = 1 / 0.5, 81.8% with T = 4 / 0.7, and
# 82.1% on the labels alone: this small student gains from a weak teacher's soft targets only when the
# labels keep most of the weight.
TEMPERATURE, DISTILL_ALPHA = 4.0, 0.7
STUDENT_WIDTH = 0.25  # 4,870 params: under 1/10 of the reference's 49,018
JOINT_WIDTHS = [0.25, 0.35, 0.5]


def _call(page, expression):
    return page.run(f"import compress_page\nawait compress_page.{expression}")


def run_study(page, plan, log):
    page.run(f"_SOURCE = {PAGE_SOURCE!r}\n" + _INSTALL)
    loaded = _call(page, f"load({plan['train']}, {plan['test']})")
    log(f"data: {loaded}")
    rows = []

    def step(label, expression):
        started = time.monotonic()
        result = _call(page, expression)
        log(f"{label}: done in {time.monotonic() - started:.0f} s")
        return result

    rows.append(step("reference", f"reference({plan['epochs']})"))
    rows.append(step("magnitude pruning", f"magnitude_pruned(0.75, {plan['fine_tune']})"))
    rows.append(step("channel pruning", f"structured_pruned(0.5, {plan['fine_tune']})"))
    distill_args = f"{plan['student_epochs']}, {TEMPERATURE}, {DISTILL_ALPHA}"
    rows += step("distillation", f"distilled({STUDENT_WIDTH}, {distill_args})")
    joint = step("joint students", f"joint({JOINT_WIDTHS!r}, {distill_args})")
    rows += joint["rows"]
    speeds = step("inference timing", "inference_speeds()")
    for row in rows:
        row["infer_samples_per_s"] = speeds[row["name"]]
    return {
        "rows": rows,
        "joint_seconds": joint["joint_seconds"],
        "largest_alone_seconds": joint["largest_alone_seconds"],
        "joint_round_ratios": joint.get("round_ratios", []),
    }


def run_joint_study(page, plan, log):
    """Only what the joint students' line needs: the data, the reference (their teacher), the joint run."""
    page.run(f"_SOURCE = {PAGE_SOURCE!r}\n" + _INSTALL)
    loaded = _call(page, f"load({plan['train']}, {plan['test']})")
    log(f"data: {loaded}")
    started = time.monotonic()
    rows = [_call(page, f"reference({plan['epochs']})")]
    log(f"reference: done in {time.monotonic() - started:.0f} s")
    started = time.monotonic()
    joint = _call(page, f"joint({JOINT_WIDTHS!r}, {plan['student_epochs']}, {TEMPERATURE}, {DISTILL_ALPHA})")
    log(f"joint students: done in {time.monotonic() - started:.0f} s")
    for row in rows + joint["rows"]:
        row["infer_samples_per_s"] = 0.0  # not timed in this run
    return {
        "rows": rows + joint["rows"],
        "joint_seconds": joint["joint_seconds"],
        "largest_alone_seconds": joint["largest_alone_seconds"],
        "joint_round_ratios": joint.get("round_ratios", []),
    }


def joint_target(study) -> str:
    ratio = study["joint_seconds"] / study["largest_alone_seconds"]
    rounds = study.get("joint_round_ratios")
    return (
        f"  joint training of {len(JOINT_WIDTHS)} students: {ratio:.2f}x the time of the largest alone "
        f"(target < 1.5x; {study['joint_seconds']:.0f} s vs {study['largest_alone_seconds']:.0f} s"
        + (f"; per alternating epoch {min(rounds):.2f}x to {max(rounds):.2f}x)" if rounds else ")")
    )


def table_a(study) -> str:
    header = (
        f"{'model':<44}{'params':>9}{'nonzero':>9}{'MACs':>11}{'JSON bytes':>12}"
        f"{'infer/s':>10}{'test acc':>10}{'train s':>9}"
    )
    lines = [header, "-" * len(header)]
    for r in study["rows"]:
        lines.append(
            f"{r['name']:<44}{r['params']:>9,}{r['nonzero_params']:>9,}{r['macs']:>11,}{r['json_bytes']:>12,}"
            f"{r['infer_samples_per_s']:>10,.0f}{100 * r['test_accuracy']:>9.2f}%{r['train_seconds']:>9.0f}"
        )
    return "\n".join(lines)


def targets(study) -> str:
    by_name = {r["name"]: r for r in study["rows"]}
    ref = study["rows"][0]
    channel = next(r for r in study["rows"] if r["name"].startswith("channel-pruned"))
    student = by_name[f"distilled student alpha={STUDENT_WIDTH}"]
    scratch = by_name[f"same student, labels only alpha={STUDENT_WIDTH}"]
    return "\n".join(
        [
            "targets (measured):",
            f"  distilled student: {student['params'] / ref['params']:.3f} of the params (target <= 0.1), "
            f"{student['test_accuracy'] / ref['test_accuracy']:.3f} of the accuracy (target >= 0.97); "
            f"labels only: {scratch['test_accuracy'] / ref['test_accuracy']:.3f}",
            f"  channel pruning: {channel['macs'] / ref['macs']:.3f} of the MACs, "
            f"accuracy {100 * (channel['test_accuracy'] - ref['test_accuracy']):+.2f} points after fine-tuning "
            f"(target >= -1; {100 * (channel['accuracy_before_fine_tune'] - ref['test_accuracy']):+.2f} before), "
            f"{channel['infer_samples_per_s'] / ref['infer_samples_per_s']:.2f}x wasm inference (target >= 1.6x)",
            joint_target(study),
        ]
    )


def table_b(browser, quick) -> dict:
    """MobileUNet's alpha x input-size tables (scripts/report_lib/mobile_unet.py) in a fresh page of the same
    browser: {"mobile_unet": rows at MobileNet-like widths, "mobile_unet_small": rows of the small default
    network, the contrast}."""
    from report_lib.mobile_unet import SMALL_FILTERS, STUDY_FILTERS, mobile_unet_table

    page = browser.new_pyodide_page()
    return {
        key: mobile_unet_table(filters=filters, quick=quick, page=page)
        for key, filters in (("mobile_unet", STUDY_FILTERS), ("mobile_unet_small", SMALL_FILTERS))
    }


def print_table_a(study):
    machine, plan = study["machine"], study["plan"]
    print(f"run {machine['date']}, {machine['cores']} cores, 1/5/15-min load at the start {machine['load']}")
    print(f"(a) compression on Fashion-MNIST ({plan['train']:,} training images, {plan['test']:,} test), wasm:")
    print(table_a(study))
    if study.get("joint_only"):
        print("target (measured):\n" + joint_target(study), flush=True)
        return
    print(targets(study), flush=True)


def print_table_b(study):
    from report_lib.mobile_unet import format_table

    for key in ("mobile_unet", "mobile_unet_small"):
        if key in study:
            rows = study[key]
            filters = tuple(rows[0].get("filters", (16, 32, 64)))
            print()
            print(f"(b) MobileUNet filters={filters} on MNIST foreground masks, wasm (alpha x input size):")
            print(format_table(rows))
    finished = study.get("finished")
    if finished:
        print(f"finished {finished['date']}, load then {finished['load']}, {study['seconds']:.0f} s in all")


def print_tables(study):
    print_table_a(study)
    if "mobile_unet" in study:
        print_table_b(study)


def _machine() -> dict:
    """When and on how loaded a machine the numbers were measured (this machine is shared)."""
    load = " ".join(f"{v:.1f}" for v in os.getloadavg())
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return {"date": date, "load": load, "cores": os.cpu_count()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small study (2,000 images, 1-2 epochs)")
    parser.add_argument(
        "--joint", action="store_true", help="only the reference and the joint students (table (a)'s joint line)"
    )
    parser.add_argument("--output", type=Path, default=Path("compress-results.json"))
    parser.add_argument("--skip-build", action="store_true", help="do not run scripts/setup and scripts/build")
    parser.add_argument("--print", type=Path, metavar="JSON", help="print the tables of an earlier run's --output")
    args = parser.parse_args(argv)
    if args.print:
        print_tables(json.loads(args.print.read_text()))
        return
    if not args.skip_build:
        for step in ("setup", "build"):
            subprocess.run([str(REPO / "scripts" / step)], check=True)
    plan = PLANS["quick" if args.quick else "full"]
    started = time.monotonic()

    def log(message):
        print(f"[{time.monotonic() - started:6.0f} s] {message}", file=sys.stderr, flush=True)

    machine = _machine()
    with Browser() as browser:
        page = browser.new_pyodide_page()
        study = run_joint_study(page, plan, log) if args.joint else run_study(page, plan, log)
        study["plan"] = plan
        study["machine"] = machine
        study["joint_only"] = args.joint
        print_table_a(study)
        if not args.joint:
            study.update(table_b(browser, args.quick))
        study["finished"] = _machine()
        study["seconds"] = time.monotonic() - started
        if args.joint:
            print(
                f"finished {study['finished']['date']}, load then {study['finished']['load']}, {study['seconds']:.0f} s"
            )
        else:
            print_table_b(study)
    args.output.write_text(json.dumps(study, indent=1))


if __name__ == "__main__":
    main()
