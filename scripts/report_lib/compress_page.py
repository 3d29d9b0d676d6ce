"""The compression study, run inside a Pyodide page on the wasm backend (sent as source by
scripts/compress_report.py; every function is awaited from the host, one variant per call).

Every variant starts from the same trained reference model and is measured the same way: parameters
(and non-zero ones), MACs per image, bytes of the uint8 JSON file, test accuracy, training seconds; at
the end `inference_speeds` times every variant's inference on one batch (probabilities read back).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import pybrowserml as pb
from pybrowserml import compression
from pybrowserml.tensor import no_grad

STATE: dict = {}
INFER_BATCH = 64
BATCH = 32
# Adam 3e-3 trains this network much faster than Keras's default 1e-3 (README); fine-tuning uses 1e-3.
# Every training run decays its rate along a cosine to 1% over its own epochs (as scripts/train_reference.py
# --cosine): with a constant rate the 8-epoch reference stopped at 84.5% and the fine-tuned variants,
# trained longer, overtook it, which measured the extra epochs rather than the compression.
LEARNING_RATE, FINE_TUNE_RATE = 3e-3, 1e-3


async def load(train_samples: int, test_samples: int) -> dict:
    await pb.set_backend_async("wasm")
    (x, y), (x_test, y_test) = await pb.data.load_fashion_mnist_async()
    STATE.update(x=x[:train_samples], y=y[:train_samples], x_test=x_test[:test_samples], y_test=y_test[:test_samples])
    return {"backend": pb.get_backend().name, "train": len(STATE["x"]), "test": len(STATE["x_test"])}


def _adam(learning_rate, epochs):
    """Adam with its rate decayed along a cosine to 1% over `epochs` of the training set (None: constant)."""
    if epochs is None:
        return pb.optimizers.Adam(learning_rate)
    steps = max(1, epochs * -(-len(STATE["x"]) // BATCH))
    return pb.optimizers.Adam(pb.schedules.CosineDecay(learning_rate, steps, alpha=0.01))


def _compiled(model, learning_rate=LEARNING_RATE, epochs=None):
    model.compile(optimizer=_adam(learning_rate, epochs), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _copy(model):
    clone = pb.model_from_config(model.get_config())
    clone.set_weights(model.get_weights())
    return clone


async def inference_speeds(rounds=9, calls=3) -> dict:
    """Inference samples/s of every variant, timed round-robin (each round times every model `calls`
    times) so that the load of a shared machine falls on all of them alike; the median per model."""
    xb = pb.Tensor(STATE["x_test"][:INFER_BATCH].astype("float32") / 255.0)
    seconds = {name: [] for name in STATE["models"]}
    with no_grad():
        for model in STATE["models"].values():  # warm-up
            model.call(xb, training=False).numpy()
        for _ in range(rounds):
            for name, model in STATE["models"].items():
                for _ in range(calls):
                    start = time.perf_counter()
                    model.call(xb, training=False).numpy()
                    seconds[name].append(time.perf_counter() - start)
    return {name: INFER_BATCH / statistics.median(times) for name, times in seconds.items()}


async def _row(name, model, train_seconds) -> dict:
    if model.optimizer is None:  # distilled students: compiled only to be evaluated
        _compiled(model)
    accuracy = (
        await model.evaluate_async(STATE["x_test"], STATE["y_test"], batch_size=256, verbose=0, return_dict=True)
    )["accuracy"]
    STATE.setdefault("models", {})[name] = model
    kernels = compression.prunable_weights(model)
    zeros = sum(int(np.count_nonzero(w.numpy() == 0)) for w in kernels)
    return {
        "name": name,
        "params": model.count_params(),
        "nonzero_params": model.count_params() - zeros,
        "macs": compression.count_macs(model),
        "json_bytes": pb.io.encode_model(model, quantize="uint8", include_optimizer=False)[1]["bytes"],
        "test_accuracy": float(accuracy),
        "train_seconds": train_seconds,
    }


async def _fit(model, epochs, callbacks=()):
    start = time.perf_counter()
    await model.fit_async(
        STATE["x"], STATE["y"], batch_size=BATCH, epochs=epochs, verbose=0, seed=0, callbacks=list(callbacks)
    )
    return time.perf_counter() - start


async def reference(epochs: int) -> dict:
    model = _compiled(pb.zoo.dense_block_cnn(seed=0, kernel_initializer="he_normal", name="reference"), epochs=epochs)
    seconds = await _fit(model, epochs)
    STATE["reference"] = model
    return await _row("reference (dense_block_cnn)", model, seconds)


async def magnitude_pruned(target_sparsity: float, epochs: int) -> dict:
    model = _compiled(_copy(STATE["reference"]), FINE_TUNE_RATE, epochs)
    steps = epochs * -(-len(STATE["x"]) // BATCH)
    prune = compression.PruneLowMagnitude(
        target_sparsity, begin_step=0, end_step=int(0.7 * steps), frequency=max(1, steps // 20)
    )
    seconds = await _fit(model, epochs, [prune])
    return await _row(f"magnitude-pruned {target_sparsity:.0%} + fine-tune", model, seconds)


async def structured_pruned(macs_fraction: float, epochs: int) -> dict:
    keep = compression.channels_for_macs(STATE["reference"], macs_fraction)
    model = _compiled(compression.prune_channels(STATE["reference"], keep), FINE_TUNE_RATE, epochs)
    before = await model.evaluate_async(STATE["x_test"], STATE["y_test"], batch_size=256, verbose=0, return_dict=True)
    seconds = await _fit(model, epochs)
    row = await _row(f"channel-pruned (keep {keep:.2f}) + fine-tune", model, seconds)
    row["accuracy_before_fine_tune"] = float(before["accuracy"])
    return row


def _student(alpha, seed):
    return pb.zoo.dense_block_cnn(alpha=alpha, seed=seed, kernel_initializer="he_normal", name=f"student_{alpha}")


async def _distill(students, epochs, temperature, alpha, seed=0):
    """Distill `students` from the reference; students compiled beforehand keep their own optimizers."""
    result = await compression.distill_async(
        students,
        STATE["reference"],
        STATE["x"],
        STATE["y"],
        temperature=temperature,
        alpha=alpha,
        epochs=epochs,
        batch_size=BATCH,
        seed=seed,
        optimizer=lambda: _adam(LEARNING_RATE, epochs),
    )
    return result["seconds"]


async def distilled(width: float, epochs: int, temperature: float, alpha: float) -> list:
    """The student distilled alone, and the same student trained on the labels alone (the baseline)."""
    student = _student(width, seed=1)
    seconds = await _distill([student], epochs, temperature, alpha)
    scratch = _compiled(_student(width, seed=1), epochs=epochs)
    scratch_seconds = await _fit(scratch, epochs)
    return [
        await _row(f"distilled student alpha={width}", student, seconds),
        await _row(f"same student, labels only alpha={width}", scratch, scratch_seconds),
    ]


async def joint(widths: list, epochs: int, temperature: float, alpha: float) -> dict:
    """Several students in one loop, timed against the largest one distilled alone with the same settings,
    in alternating epochs (joint, alone, joint, ...): the shared machine's load changes by the minute (one
    earlier run, joint first and then alone, measured 2.72x where an idle-er one measured 1.47x), and
    alternating puts it on both alike. The students are compiled first so each keeps its optimizer (and its
    cosine-decayed rate) from one epoch's call to the next."""
    students = [_compiled(_student(w, seed=10 + i), epochs=epochs) for i, w in enumerate(widths)]
    alone = _compiled(_student(max(widths), seed=99), epochs=epochs)
    joint_rounds, alone_rounds = [], []
    for epoch in range(epochs):
        joint_rounds.append(await _distill(students, 1, temperature, alpha, seed=epoch))
        alone_rounds.append(await _distill([alone], 1, temperature, alpha, seed=epoch))
    seconds = sum(joint_rounds)
    rows = [await _row(f"joint student alpha={w}", s, seconds) for w, s in zip(widths, students)]
    return {
        "rows": rows,
        "joint_seconds": seconds,
        "largest_alone_seconds": sum(alone_rounds),
        "round_ratios": [j / a for j, a in zip(joint_rounds, alone_rounds)],
    }
