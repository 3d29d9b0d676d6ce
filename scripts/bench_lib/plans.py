"""How many steps each row times (time_steps/timeSteps keyword arguments).

Fast rows get many steps and a median over seconds of work; slow rows (numpy in Pyodide, TF.js cpu and
webgl on SwiftShader, at up to tens of seconds per training step) one warm-up and one to three timed steps,
so the whole benchmark stays around ten minutes on a 2-core machine.
"""

BATCHES = (8, 32, 128)
MEMORY_STEPS = 200  # training steps between the two device-memory readings on wasm
PAIRED_ROUNDS = 5  # alternating rounds of each paired comparison

FAST_TRAIN = {"warmup": 3, "steps": 20, "budget_s": 3.0, "min_steps": 5}
FAST_INFER = {"warmup": 3, "steps": 30, "budget_s": 2.0, "min_steps": 5}
SLOW_TRAIN = {"warmup": 1, "steps": 3, "budget_s": 6.0, "min_steps": 1}
SLOW_INFER = {"warmup": 1, "steps": 5, "budget_s": 3.0, "min_steps": 2}
# GPU paired comparisons: one warm-up and one timed step per side and round (the median over rounds does the
# smoothing); SLOW_TRAIN's three steps over PAIRED_ROUNDS rounds would add four minutes on SwiftShader.
GPU_PAIRED_TRAIN = {"warmup": 1, "steps": 1, "budget_s": 0.0, "min_steps": 1}
GPU_PAIRED_INFER = {"warmup": 1, "steps": 1, "budget_s": 0.0, "min_steps": 1}
# TF.js cpu trains at about 1 sample/s here: a warm-up step at batch 128 alone would take two minutes. Its
# kernels are plain JavaScript, already warm after the first batch size, so later sizes skip the warm-up.
# (Not so for webgl, which compiles shaders for every new shape.)
TFJS_CPU_TRAIN = {**SLOW_TRAIN, "warmup_after_first": 0}

# --quick: a smoke run of the whole pipeline (a few minutes; figures are rougher).
QUICK_BATCHES = (8, 32)
QUICK_MEMORY_STEPS = 20
QUICK_PAIRED_ROUNDS = 2
QUICK = {
    "FAST_TRAIN": {"warmup": 2, "steps": 5, "budget_s": 1.0, "min_steps": 3},
    "FAST_INFER": {"warmup": 2, "steps": 5, "budget_s": 1.0, "min_steps": 3},
    "SLOW_TRAIN": {"warmup": 1, "steps": 1, "budget_s": 0.0, "min_steps": 1},
    "SLOW_INFER": {"warmup": 1, "steps": 1, "budget_s": 0.0, "min_steps": 1},
    "TFJS_CPU_TRAIN": {"warmup": 1, "steps": 1, "budget_s": 0.0, "min_steps": 1, "warmup_after_first": 0},
    "GPU_PAIRED_TRAIN": GPU_PAIRED_TRAIN,
    "GPU_PAIRED_INFER": GPU_PAIRED_INFER,
}


def plans(quick: bool) -> dict:
    if quick:
        return {
            **QUICK,
            "BATCHES": QUICK_BATCHES,
            "MEMORY_STEPS": QUICK_MEMORY_STEPS,
            "PAIRED_ROUNDS": QUICK_PAIRED_ROUNDS,
        }
    return {
        "FAST_TRAIN": FAST_TRAIN,
        "FAST_INFER": FAST_INFER,
        "SLOW_TRAIN": SLOW_TRAIN,
        "SLOW_INFER": SLOW_INFER,
        "TFJS_CPU_TRAIN": TFJS_CPU_TRAIN,
        "GPU_PAIRED_TRAIN": GPU_PAIRED_TRAIN,
        "GPU_PAIRED_INFER": GPU_PAIRED_INFER,
        "BATCHES": BATCHES,
        "MEMORY_STEPS": MEMORY_STEPS,
        "PAIRED_ROUNDS": PAIRED_ROUNDS,
    }
