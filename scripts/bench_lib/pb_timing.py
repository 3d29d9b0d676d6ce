"""Times pybrowserml on the reference network on the current backend.

This one file runs unchanged in two places: imported in CPython (the native numpy row) and sent as
source to a Pyodide page (the in-browser rows), so every row measures exactly the same steps.
Training is Model.train_on_batch (forward, backward, Adam, the loss read back as a float); inference
is Model.predict on one batch (the probabilities read back). Every timed step is measured on its own
and the median is reported.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time

import numpy as np

import pybrowserml as pb

REFERENCE_PARAMS = 49_018


def random_batch(batch: int, seed: int):
    """Fixed random images and labels: throughput does not depend on the pixel values."""
    rng = np.random.default_rng(seed)
    return rng.random((batch, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, batch).astype(np.int32)


def reference_model():
    """pybrowserml.zoo.dense_block_cnn() compiled like Keras's default: Adam 1e-3, sparse cross-entropy."""
    pb.set_random_seed(0)
    model = pb.zoo.dense_block_cnn()
    params = model.count_params()
    if params != REFERENCE_PARAMS:
        raise RuntimeError(
            f"pybrowserml.zoo.dense_block_cnn() has {params} parameters, expected "
            f"{REFERENCE_PARAMS}: the benchmark would not compare the same network as TF.js"
        )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


async def time_steps(step, warmup: int, steps: int, budget_s: float, min_steps: int = 2) -> dict:
    """`warmup` untimed calls, then up to `steps` timed ones (fewer once `budget_s` of timed work is spent,
    but at least `min_steps`). Returns the median seconds per call."""
    for _ in range(warmup):
        step()
    # In the browser V8 swaps in optimised WASM code only between calls from the event loop: yield once.
    await asyncio.sleep(0.05)
    gc.collect()
    seconds = []
    while len(seconds) < steps and (len(seconds) < min_steps or sum(seconds) < budget_s):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    # best_s too: on a busy machine the fastest step is the least disturbed one (the table uses the median).
    return {"median_s": statistics.median(seconds), "best_s": min(seconds), "steps": len(seconds), "warmup": warmup}


async def measure_training(batch: int, plan: dict) -> dict:
    model = reference_model()
    x, y = random_batch(batch, 1)
    timing = await time_steps(lambda: model.train_on_batch(x, y), **plan)
    return {
        "samples_per_s": batch / timing["median_s"],
        **timing,
        "dispatches_per_step": dispatches_per_step(model, x, y),
    }


def dispatches_per_step(model, x, y):
    """GPU dispatches/draws of one more training step (backend.dispatches), None on CPU backends."""
    backend = pb.get_backend()
    if not hasattr(backend, "dispatches"):
        return None
    before = backend.dispatches
    model.train_on_batch(x, y)
    return backend.dispatches - before


async def measure_inference(batch: int, plan: dict) -> dict:
    model = reference_model()
    x, _ = random_batch(batch, 2)
    timing = await time_steps(lambda: model.predict(x, batch_size=batch, verbose=0), **plan)
    return {"samples_per_s": batch / timing["median_s"], **timing}


async def measure_memory(batch: int = 32, steps: int = 200) -> dict:
    """Device memory of the current backend after training step 1 and after `steps` steps: a leak of
    per-step temporaries shows up as growth."""
    model = reference_model()
    x, y = random_batch(batch, 3)

    def device():
        gc.collect()
        entry = pb.memory()[pb.get_backend().name]
        return {key: entry[key] for key in ("arrays", "bytes", "heap_bytes", "memory_bytes") if key in entry}

    model.train_on_batch(x, y)
    after_first = device()
    for _ in range(steps - 1):
        model.train_on_batch(x, y)
    return {"batch": batch, "steps": steps, "after_step_1": after_first, f"after_step_{steps}": device()}


async def bench(batches, train_plan, infer_plan, memory_steps=0) -> dict:
    """Training and inference figures for each batch size on the current backend (plans: time_steps kwargs;
    train_plan None skips training)."""
    backend = pb.get_backend()
    result = {"backend": backend.name, "train": {}, "infer": {}}
    memory = backend.memory()
    for key in ("threads", "relaxed_simd"):  # wasm only: which kernels module ran
        if key in memory:
            result[key] = memory[key]
    if memory_steps:
        # First, so the heap's high-water mark reflects this network at batch 32, not the batch-128 runs.
        result["memory"] = await measure_memory(steps=memory_steps)
    for batch in batches:
        if train_plan is not None:
            result["train"][batch] = await measure_training(batch, train_plan)
        result["infer"][batch] = await measure_inference(batch, infer_plan)
    result["fallbacks"] = dict(backend.fallback_counts)
    return result
