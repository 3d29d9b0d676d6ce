"""Training through the public API inside Pyodide: same numbers as CPython, and a page that stays alive."""

import asyncio
import base64
import gzip
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from harness.paths import FASHION_MNIST

# One script, run unchanged in CPython and in the page. X_B64/Y_B64 carry the same images to both.
TRAINING_SCRIPT = """
import base64
import numpy as np
import pybrowserml as pb

pb.set_backend("numpy")
x = np.frombuffer(base64.b64decode(X_B64), np.uint8).reshape(-1, 28, 28, 1)
y = np.frombuffer(base64.b64decode(Y_B64), np.uint8).astype("int32")
pb.set_random_seed(7)
model = pb.zoo.dense_block_cnn((28, 28, 1), 10)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = await model.fit_async(x, y, batch_size=16, epochs=5, shuffle=True, seed=7, verbose=0)
curve = [float(v) for v in history.history["loss"]]
"""


def _fashion_mnist_subset(n=64):
    images = gzip.open(FASHION_MNIST / "train-images-idx3-ubyte.gz").read()[16 : 16 + n * 784]
    labels = gzip.open(FASHION_MNIST / "train-labels-idx1-ubyte.gz").read()[8 : 8 + n]
    return base64.b64encode(images).decode(), base64.b64encode(labels).decode()


def _run_in_cpython(script, namespace):
    async def main():
        exec(
            compile(
                "async def __script():\n"
                + "\n".join("    " + line for line in script.splitlines())
                + "\n    return locals()",
                "<training script>",
                "exec",
            ),
            namespace,
        )
        return await namespace["__script"]()

    # Playwright's sync API keeps an event loop running in this thread: run ours in another one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


def test_loss_curve_in_the_page_matches_cpython_for_the_same_seed(pyodide_page):
    x_b64, y_b64 = _fashion_mnist_subset()
    cpython = _run_in_cpython(TRAINING_SCRIPT, {"X_B64": x_b64, "Y_B64": y_b64})["curve"]
    in_page = pyodide_page.run(f"X_B64 = {x_b64!r}\nY_B64 = {y_b64!r}\n" + TRAINING_SCRIPT + "\ncurve")
    assert len(in_page) == len(cpython) == 5
    assert cpython[-1] < cpython[0], "the model should learn something on its own training images"
    np.testing.assert_allclose(in_page, cpython, rtol=1e-4, atol=1e-5)


def test_page_stays_responsive_while_training_on_the_main_thread(pyodide_page):
    x_b64, y_b64 = _fashion_mnist_subset(256)
    pyodide_page.js("""() => {
        window.__ticks = [];
        window.__timer = setInterval(() => window.__ticks.push(performance.now()), 20);
    }""")
    result = pyodide_page.run(
        f"X_B64 = {x_b64!r}\nY_B64 = {y_b64!r}\n"
        + """
import base64
import js
import numpy as np
import pybrowserml as pb

x = np.frombuffer(base64.b64decode(X_B64), np.uint8).reshape(-1, 28, 28, 1)
y = np.frombuffer(base64.b64decode(Y_B64), np.uint8).astype("int32")
await pb.set_backend_async("wasm")  # what a page trains on; a numpy step in Pyodide alone can exceed 250 ms
model = pb.zoo.dense_block_cnn((28, 28, 1), 10)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
batch_ends = []
record = pb.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: batch_ends.append(js.performance.now()))
start = js.performance.now()
# Batch 8: many short steps, so the test shows fit_async handing the page a turn between them.
await model.fit_async(x, y, batch_size=8, epochs=4, verbose=0, callbacks=[record])
{"start": start, "end": js.performance.now(), "steps": 4 * len(x) // 8, "batch_ends": batch_ends}
"""
    )
    ticks = pyodide_page.js("() => { clearInterval(window.__timer); return window.__ticks; }")
    during = [t for t in ticks if result["start"] <= t <= result["end"]]
    edges = [result["start"], *during, result["end"]]
    gaps = np.diff(edges)
    duration = result["end"] - result["start"]
    # Long enough to mean something (fit_async yields about every 100 ms), and ticks all along.
    assert duration > 1000 and len(during) >= duration / 250, (
        f"the timer fired {len(during)} times in {duration:.0f} ms"
    )
    # fit_async gives the page a turn once 100 ms have passed, at the end of a step: the page may wait
    # that long plus the step then running plus a tick. The bound uses the longest step measured in this
    # same run, so a loaded machine (longer steps, descheduled processes) moves both sides alike; a fit
    # that stopped yielding would freeze the page for many steps and fail it.
    longest_step = float(np.diff([result["start"], *result["batch_ends"]]).max())
    bound = 100 + 2 * longest_step + 2 * 20
    assert gaps.max() <= bound, (
        f"the page froze for {gaps.max():.0f} ms during training ({result['steps']} steps, longest step "
        f"{longest_step:.0f} ms, so at most {bound:.0f} ms was expected)"
    )
