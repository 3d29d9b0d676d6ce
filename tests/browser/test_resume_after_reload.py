"""A page reloaded in the middle of fit_async resumes from its IndexedDB backup and ends with exactly the
weights of a run that was never interrupted."""

import numpy as np
import pytest

from harness import PyodideError

SETUP = """
import asyncio
import numpy as np, pybrowserml as pb
from pybrowserml.callbacks import BackupAndRestore, LambdaCallback

def make_model():
    pb.set_random_seed(8)
    model = pb.zoo.dense_block_cnn(input_shape=(10, 10, 1), classes=3, filters=(4,), layers_per_block=2,
                                   stem_filters=4)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

rng = np.random.default_rng(0)
x = (rng.random((128, 10, 10, 1)) * 255).astype("uint8")
y = rng.integers(0, 3, 128).astype("int32")
FIT = dict(epochs=3, batch_size=16, seed=4, verbose=0)   # 8 batches per epoch
"""

START_AND_HANG = (
    SETUP
    + """
gate = {"reached": False}

def hang_mid_training(batch, logs):
    # Stand-in for the user closing the tab: at epoch 1, batch 5 training stops making progress
    # (after BackupAndRestore, listed first, has written its backup of this batch).
    if model.fit_state.epoch == 1 and batch == 5:
        gate["reached"] = True
        return asyncio.Event().wait()

model = make_model()
task = asyncio.ensure_future(model.fit_async(
    x, y, callbacks=[BackupAndRestore("reload-run", save_freq=2), LambdaCallback(on_train_batch_end=hang_mid_training)],
    **FIT))
"started"
"""
)


def test_fit_async_resumes_after_a_reload(persistent_pyodide_page):
    page = persistent_pyodide_page
    assert page.run(START_AND_HANG) == "started"
    page.page.wait_for_function("() => pyodide.globals.get('gate').toJs().get('reached') === true")
    progress = page.run("[model.fit_state.epoch, model.fit_state.step, task.done()]")
    assert progress == [1, 6, False]  # mid-training: epoch 1 (of 0..2), 6 of 8 batches done

    page.reload()
    resumed = page.run(
        SETUP
        + """
from pybrowserml.storage import open_store
model = make_model()
seen = []
history = await model.fit_async(x, y, resume=True, callbacks=[
    BackupAndRestore("reload-run", save_freq=2),
    LambdaCallback(on_train_batch_begin=lambda b, logs: seen.append((model.fit_state.epoch, b)))], **FIT)
{"weights": [w.ravel().tolist() for w in model.get_weights()], "first": seen[0], "steps": len(seen),
 "epochs": history.epoch, "left": await open_store("checkpoints").keys()}
"""
    )
    # The last backup was written after batch 5 of epoch 1 (every 2nd batch: 2, 4, ..., 14 overall).
    assert resumed["first"] == [1, 6] and resumed["steps"] == 2 + 8
    assert resumed["epochs"] == [1, 2]
    assert "reload-run" not in resumed["left"]  # deleted once training finished

    reference = page.run("""
model = make_model()
await model.fit_async(x, y, **FIT)
[w.ravel().tolist() for w in model.get_weights()]
""")
    for got, want in zip(resumed["weights"], reference):
        np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)

    # IndexedDB writes are asynchronous: plain fit cannot await them and says what to use instead.
    with pytest.raises(PyodideError, match="use `await model.fit_async"):
        page.run("model.fit(x, y, epochs=1, verbose=0, callbacks=[BackupAndRestore('sync-run', save_freq=1)])")
