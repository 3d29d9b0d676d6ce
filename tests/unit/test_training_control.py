"""TrainingControl: a page's pause / resume / stop buttons, driving fit_async (and plain fit from a thread)."""

import asyncio
import threading

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml.callbacks import LambdaCallback, TrainingControl


def small_model():
    pb.set_random_seed(1)
    model = pb.models.Sequential(
        [pb.layers.Input((4, 4, 1)), pb.layers.Flatten(), pb.layers.Dense(3, activation="softmax")]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


rng = np.random.default_rng(0)
X = (rng.random((64, 4, 4, 1)) * 255).astype("uint8")
Y = rng.integers(0, 3, 64).astype("int32")
FIT = dict(batch_size=8, epochs=2, verbose=0, seed=0)  # 8 batches per epoch


def test_stop_ends_fit_after_the_current_batch():
    model = small_model()
    control = TrainingControl()
    seen = []

    def on_batch_end(batch, logs):
        seen.append(batch)
        if batch == 2:
            control.stop()

    history = model.fit(X, Y, callbacks=[LambdaCallback(on_train_batch_end=on_batch_end), control], **FIT)
    assert seen == [0, 1, 2]  # batch 3 never ran
    assert history.epoch == [0]  # the epoch that was cut still logs, the next one never starts
    assert model.stop_training is True and control.state == "stopped"


def test_a_fit_that_runs_to_the_end_is_finished_and_the_control_can_be_reused():
    model = small_model()
    states = []
    control = TrainingControl(on_state=states.append)
    model.fit(X, Y, callbacks=[control], **FIT)
    assert control.state == "finished" and states == ["running", "finished"]
    control.stop()  # after the end: nothing to stop, the next fit stops at once
    seen = []
    model.fit(X, Y, callbacks=[control, LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))], **FIT)
    assert seen == [] and control.state == "stopped"


def test_stop_training_set_in_on_epoch_begin_trains_no_batch():
    model = small_model()
    seen = []

    def stop(epoch, logs):
        if epoch == 1:
            model.stop_training = True

    callbacks = [LambdaCallback(on_epoch_begin=stop, on_train_batch_end=lambda b, logs: seen.append(b))]
    history = model.fit(X, Y, callbacks=callbacks, **FIT)
    assert len(seen) == 8 and history.epoch == [0, 1]


def test_pause_waits_without_blocking_the_event_loop_then_resume_goes_on():
    async def scenario():
        model = small_model()
        states = []
        control = TrainingControl(on_state=states.append, poll_seconds=0.005)
        batches = []

        def on_batch_end(batch, logs):
            batches.append(batch)
            if batch == 3 and len(batches) == 4:
                control.pause()

        task = asyncio.ensure_future(
            model.fit_async(X, Y, callbacks=[LambdaCallback(on_train_batch_end=on_batch_end), control], **FIT)
        )
        ticks = 0
        while control.state != "paused" or len(batches) < 4:
            await asyncio.sleep(0.001)
        for _ in range(20):  # the loop keeps turning while fit waits: a page's buttons still work
            await asyncio.sleep(0.002)
            ticks += 1
        paused_at = list(batches)
        assert not task.done() and control.paused
        control.resume()
        history = await task
        return ticks, paused_at, batches, history, states

    ticks, paused_at, batches, history, states = asyncio.run(scenario())
    assert states == ["running", "pausing", "paused", "running", "finished"]
    assert ticks == 20 and paused_at == [0, 1, 2, 3]  # no batch ran while paused
    assert len(batches) == 16 and history.epoch == [0, 1]


def test_stop_during_a_pause_ends_fit():
    async def scenario():
        model = small_model()
        control = TrainingControl(poll_seconds=0.005)
        control.pause()  # paused before fit even starts: it waits after the first batch
        task = asyncio.ensure_future(model.fit_async(X, Y, callbacks=[control], **FIT))
        while model.fit_state is None or model.fit_state.step < 1:
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.02)
        step = model.fit_state.step
        control.stop()
        history = await task
        return step, model.fit_state.step, history, control.state

    step, final_step, history, state = asyncio.run(scenario())
    assert step == final_step == 1 and history.epoch == [0] and state == "stopped"


def test_plain_fit_in_a_thread_pauses_until_another_thread_resumes():
    model = small_model()
    control = TrainingControl()
    reached = threading.Event()

    def on_batch_end(batch, logs):
        if batch == 1 and not reached.is_set():
            control.pause()
            reached.set()

    result = {}
    worker = threading.Thread(
        target=lambda: result.update(
            history=model.fit(X, Y, callbacks=[LambdaCallback(on_train_batch_end=on_batch_end), control], **FIT)
        )
    )
    worker.start()
    assert reached.wait(30)
    worker.join(0.2)
    assert worker.is_alive() and model.fit_state.step == 2  # blocked after batch 1 (steps done: 2)
    control.resume()
    worker.join(30)
    assert not worker.is_alive() and result["history"].epoch == [0, 1]


def test_bad_arguments_say_what_was_wrong():
    with pytest.raises(TypeError, match="on_state must be a function"):
        TrainingControl(on_state="running")
    with pytest.raises(ValueError, match="poll_seconds must be > 0"):
        TrainingControl(poll_seconds=0)
