"""Where a joint-distillation step's time goes on wasm: the teacher's forward pass, each student's training
step apart and the packed step of all of them (distill's packed path: the students as one network), timed
per kernel, at two batch sizes (the fixed cost of a step's kernel calls against the part that grows with
the batch).

    python -m scripts.report_lib.profile_joint                        # students alpha 0.25, 0.35, 0.5
    python -m scripts.report_lib.profile_joint --widths 0.25 0.5 --batches 1 32

A joint step is one teacher forward plus every student's step (apart) or the packed step; the largest
student distilled alone is one teacher forward plus its step. So the predicted joint / alone ratio is
(T + sum of students) / (T + the largest) apart and (T + packed) / (T + the largest) packed, which
scripts/compress_report.py measures on whole epochs. Each phase runs `calls` times per round, round-robin
over the phases (the machine's other load falls on all of them alike); its time is the fastest round. The
page is cross-origin isolated (fine-grained performance.now(); the kernels still run on one thread). Kernel times come from as many more rounds with every entry of the wasm kernel table wrapped by a
timer (wasm calls are synchronous: the wall time of a call is its kernel plus ~1 us of FFI), the mean
over those rounds per kernel; "python (rest)" is the phase's time minus its kernels (layers, ops, autograd, the
optimizer's loop). A page that is not crossOriginIsolated rounds performance.now() to 0.1 ms, so a single
call's kernel time is coarse; sums over a phase's calls are what to read. The data are random
images: only the time is measured.
"""

from __future__ import annotations

import argparse
import os

PAGE = r"""
import time
import numpy as np
import pybrowserml as pb
from pybrowserml.compression import distillation, pack_students
from pybrowserml.tensor import no_grad

await pb.set_backend_async("wasm", threads=1)
backend = pb.get_backend()
_original = dict(backend.kernels)
TEMPERATURE, ALPHA = 4.0, 0.7


def _timed(name, fn, times, calls):
    def run(*args, **attrs):
        start = time.perf_counter()
        result = fn(*args, **attrs)
        times[name] = times.get(name, 0.0) + time.perf_counter() - start
        calls[name] = calls.get(name, 0) + 1
        return result
    return run


def _phases(widths, batch, extra=None):
    # the teacher's forward and one distillation step per student (and per model of `extra`, name -> model)
    rng = np.random.default_rng(0)
    xb = pb.Tensor(rng.random((batch, 28, 28, 1), dtype=np.float32))
    yb = pb.Tensor(rng.integers(0, 10, batch).astype("int32"))
    teacher = pb.zoo.dense_block_cnn(seed=0, kernel_initializer="he_normal", name="teacher")
    targets = {}

    def teacher_forward():
        with no_grad():
            logits = distillation._logits(teacher, xb, training=False)
            targets["soft"], targets["entropy"] = distillation.soft_targets(logits, TEMPERATURE)

    def student_step(student):
        trainable = student.trainable_weights
        for v in trainable:
            v.grad = None
        logits = distillation._logits(student, xb, True)
        loss = distillation.distillation_loss(
            logits, yb, targets["soft"], targets["entropy"], TEMPERATURE, ALPHA
        )
        loss.backward()
        student.optimizer.apply_gradients(trainable)

    def packed_step(network, optimizer):
        distillation._step_packed(
            network, optimizer, xb, yb, targets["soft"], targets["entropy"], TEMPERATURE, ALPHA
        )

    def new_students(seed):
        return [
            pb.zoo.dense_block_cnn(alpha=width, seed=seed + i, kernel_initializer="he_normal")
            for i, width in enumerate(widths)
        ]

    models = {f"student {width}": model for width, model in zip(widths, new_students(1))}
    models.update(extra or {})
    phases = {"teacher forward": teacher_forward}
    for name, model in models.items():
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        phases[name] = lambda s=model: student_step(s)
    if len(widths) > 1:  # the same students, packed (their own copies: each phase trains its models)
        twins = new_students(1)
        for twin in twins:
            twin.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        network = pack_students(twins)
        optimizer = network.pack_optimizer([twin.optimizer for twin in twins])
        phases["packed students"] = lambda: packed_step(network, optimizer)
    return phases


def _fastest(phases, rounds, calls):
    # seconds per call of each phase: the fastest of `rounds` rounds of `calls` calls, after a warm-up
    for run in phases.values():  # the teacher first: its targets feed the students' steps
        run(); run()
    best = {name: float("inf") for name in phases}
    for _ in range(rounds):
        for name, run in phases.items():
            start = time.perf_counter()
            for _ in range(calls):
                run()
            best[name] = min(best[name], (time.perf_counter() - start) / calls)
    return best


def profile(widths, batch, rounds, calls):
    phases = _phases(widths, batch)
    best = _fastest(phases, rounds, calls)
    kernels = {name: {"ms": {}, "calls": {}} for name in phases}
    for _ in range(rounds):
        for name, run in phases.items():
            times, counts = {}, {}
            backend.kernels.update({k: _timed(k, f, times, counts) for k, f in _original.items()})
            try:
                for _ in range(calls):
                    run()
            finally:
                backend.kernels.update(_original)
            ms = kernels[name]["ms"]
            for k, v in times.items():  # the mean over rounds: a minimum of coarse clock readings is biased
                ms[k] = ms.get(k, 0.0) + 1000 * v / (calls * rounds)
            kernels[name]["calls"] = {k: v // calls for k, v in counts.items()}
    for name in phases:
        ms = kernels[name]["ms"]
        ms["python (rest)"] = max(0.0, 1000 * best[name] - sum(ms.values()))
    return {"batch": batch, "ms": {k: 1000 * v for k, v in best.items()}, "kernels": kernels}
"""


def predicted_ratio(ms: dict) -> float:
    """(teacher + every student) / (teacher + the largest student): joint apart against the largest alone."""
    students = [v for k, v in ms.items() if k.startswith("student")]
    return (ms["teacher forward"] + sum(students)) / (ms["teacher forward"] + max(students))


def packed_ratio(ms: dict) -> float:
    """(teacher + the packed step) / (teacher + the largest student): joint packed against the largest alone."""
    students = [v for k, v in ms.items() if k.startswith("student")]
    return (ms["teacher forward"] + ms["packed students"]) / (ms["teacher forward"] + max(students))


def format_profile(result) -> str:
    ms, kernels = result["ms"], result["kernels"]
    names = list(ms)
    keys = sorted(
        {k for n in names for k in kernels[n]["ms"]}, key=lambda k: -max(kernels[n]["ms"].get(k, 0) for n in names)
    )
    head = f"batch {result['batch']}: ms per call".ljust(32) + "".join(f"{n:>18}" for n in names)
    lines = [head, "-" * len(head)]
    for key in keys:
        cells = "".join(f"{kernels[n]['ms'].get(key, 0):>12.2f} x{kernels[n]['calls'].get(key, 0):<4}" for n in names)
        lines.append(f"{key:<32}{cells}")
    lines.append(f"{'total (fastest round)':<32}" + "".join(f"{ms[n]:>18.2f}" for n in names))
    line = f"predicted joint / largest alone: {predicted_ratio(ms):.2f}x apart"
    if "packed students" in ms:
        line += f", {packed_ratio(ms):.2f}x packed"
    lines.append(line)
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=float, nargs="+", default=[0.25, 0.35, 0.5])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32], help="batch sizes to profile")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=5, help="calls of each phase per round")
    args = parser.parse_args(argv)
    from harness import Browser

    with Browser(isolated=True) as browser:
        page = browser.new_pyodide_page()
        page.run(PAGE)
        print(f"load (1/5/15 min) {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
        for batch in args.batches:
            print(format_profile(page.run(f"profile({args.widths!r}, {batch}, {args.rounds}, {args.calls})")))
            print()


if __name__ == "__main__":
    main()
