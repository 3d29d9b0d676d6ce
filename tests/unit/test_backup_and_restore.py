"""BackupAndRestore: a crash mid-epoch, a new model object and fit(resume=True) end exactly where an
uninterrupted run ends (weights, optimizer state, shuffling and dropout all continue)."""

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import layers
from pybrowserml.callbacks import BackupAndRestore, LambdaCallback
from pybrowserml.callbacks.backup_and_restore import CheckpointError

rng = np.random.default_rng(0)
X = (rng.random((80, 10, 10, 1)) * 255).astype("uint8")
Y = rng.integers(0, 3, 80).astype("int32")
FIT = dict(batch_size=16, epochs=3, verbose=0)  # 5 batches per epoch


def make_model(dropout=True, optimizer="adam"):
    pb.set_random_seed(21)
    inputs = layers.Input((10, 10, 1))
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = layers.dense_block(x, 4, layers=2, strides=2)
    x = layers.GlobalAveragePooling2D()(x)
    if dropout:
        x = layers.Dropout(0.3, seed=4)(x)
    model = pb.Model(inputs, layers.Dense(3, activation="softmax")(x))
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class Crash(Exception):
    pass


def crash_at(model, epoch, batch):
    def check(b, logs):
        if model.fit_state.epoch == epoch and b == batch:
            raise Crash(f"simulated crash at epoch {epoch} batch {batch}")

    return LambdaCallback(on_train_batch_end=check)


def reference_weights(seed=None, **kwargs):
    model = make_model(**kwargs)
    model.fit(X, Y, seed=seed, **FIT)
    return model.get_weights()


def assert_same(a, b):
    assert max(np.abs(u - v).max() for u, v in zip(a, b)) <= 1e-6


@pytest.mark.parametrize("save_freq,crash", [(1, (1, 2)), (2, (1, 3)), ("epoch", (2, 1))])
def test_resume_after_a_crash_matches_an_uninterrupted_run(tmp_path, save_freq, crash):
    expected = reference_weights(seed=3)
    first = make_model()
    with pytest.raises(Crash):
        first.fit(
            X, Y, seed=3, callbacks=[BackupAndRestore(tmp_path, save_freq=save_freq), crash_at(first, *crash)], **FIT
        )
    assert (tmp_path / "latest.rec").exists()  # a crash leaves the backup in place
    second = make_model()
    history = second.fit(X, Y, seed=3, resume=True, callbacks=[BackupAndRestore(tmp_path, save_freq=save_freq)], **FIT)
    assert_same(second.get_weights(), expected)
    # The resumed fit starts in the epoch of the crash (mid-epoch backups) or the one after the last backup.
    assert history.epoch == list(range(crash[0], 3))
    assert not (tmp_path / "latest.rec").exists()  # deleted after the run finished


def test_resume_with_sgd_momentum_and_an_unseeded_fit(tmp_path):
    # Without fit(seed=...), the shuffling generator is drawn from the package-wide one (set by
    # set_random_seed in make_model), so the reference run shuffles like the interrupted one.
    sgd = lambda: pb.optimizers.SGD(0.1, momentum=0.9)  # noqa: E731
    expected = reference_weights(dropout=False, optimizer=sgd())
    first = make_model(dropout=False, optimizer=sgd())
    with pytest.raises(Crash):
        first.fit(X, Y, callbacks=[BackupAndRestore(tmp_path, save_freq=1), crash_at(first, 1, 1)], **FIT)
    resumed = make_model(dropout=False, optimizer=sgd())
    pb.random.generator().integers(100)  # the resumed process's global generator is elsewhere: no matter
    resumed.fit(X, Y, resume=True, callbacks=[BackupAndRestore(tmp_path, save_freq=1)], **FIT)
    assert resumed.optimizer.iterations == 15
    assert_same(resumed.get_weights(), expected)


def test_resume_without_a_backup_starts_from_scratch(tmp_path):
    model = make_model()
    model.fit(X, Y, seed=3, resume=True, callbacks=[BackupAndRestore(tmp_path / "none")], **FIT)
    assert_same(model.get_weights(), reference_weights(seed=3))


def test_backup_is_kept_when_asked_and_records_the_progress(tmp_path):
    model = make_model()
    model.fit(X, Y, seed=3, callbacks=[BackupAndRestore(tmp_path, delete_checkpoint=False)], **FIT)
    fresh = make_model()
    progress = BackupAndRestore(tmp_path).restore(fresh)
    assert progress["epoch"] == 3 and progress["step"] == 0
    assert fresh.optimizer.iterations == 15
    assert_same(fresh.get_weights(), model.get_weights())


def test_a_backup_of_another_model_is_refused(tmp_path):
    model = make_model()
    model.fit(X, Y, seed=3, callbacks=[BackupAndRestore(tmp_path, delete_checkpoint=False)], **FIT)
    pb.set_random_seed(1)
    inputs = layers.Input((10, 10, 1))
    different = pb.Model(inputs, layers.Dense(3, activation="softmax")(layers.GlobalAveragePooling2D()(inputs)))
    different.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(CheckpointError, match="written for another model"):
        BackupAndRestore(tmp_path).restore(different)


def test_corrupt_backup_is_never_used(tmp_path):
    model = make_model()
    model.fit(X, Y, seed=3, callbacks=[BackupAndRestore(tmp_path, delete_checkpoint=False)], **FIT)
    record = tmp_path / "latest.rec"
    data = bytearray(record.read_bytes())
    data[len(data) // 2] ^= 0xFF
    record.write_bytes(bytes(data))
    from pybrowserml.storage import CorruptRecordError

    fresh = make_model()
    before = fresh.get_weights()
    with pytest.raises(CorruptRecordError):
        BackupAndRestore(tmp_path).restore(fresh)
    assert_same(fresh.get_weights(), before)


def test_bad_arguments():
    with pytest.raises(ValueError, match="save_freq must be 'epoch' or a positive int"):
        BackupAndRestore("x", save_freq=0)
    with pytest.raises(ValueError, match="backup_dir"):
        BackupAndRestore("")
    model = make_model()
    with pytest.raises(ValueError, match="resume=True. needs a checkpoint callback"):
        model.fit(X, Y, resume=True, **FIT)


@pytest.mark.parametrize(
    "save_freq,crash,kept",
    [
        (1, (1, 2), ("epoch", "step", "rng_state", "dropout_states", "dropout_states_at_step")),
        ("epoch", (2, 1), ("epoch", "step", "rng_state", "dropout_states")),
    ],
)
def test_a_checkpoint_with_only_the_entries_it_needs_still_resumes_exactly(tmp_path, save_freq, crash, kept):
    """A mid-epoch record needs epoch, step, rng_state and both dropout states; an epoch-end record the first
    four (the other FitState entries are None there): such records resume exactly."""
    import io
    import json

    from pybrowserml.storage import DirectoryStore

    expected = reference_weights(seed=3)
    first = make_model()
    with pytest.raises(Crash):
        first.fit(
            X, Y, seed=3, callbacks=[BackupAndRestore(tmp_path, save_freq=save_freq), crash_at(first, *crash)], **FIT
        )
    store = DirectoryStore(tmp_path)
    with np.load(io.BytesIO(store.get_sync("latest")), allow_pickle=False) as archive:
        arrays = dict(archive)
    meta = json.loads(arrays["meta"].tobytes())
    fit_keys = ("epoch", "step", "rng_state", "next_epoch_rng_state", "dropout_states", "dropout_states_at_step")
    meta = {key: value for key, value in meta.items() if key not in fit_keys or key in kept}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype="uint8")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    store.put_sync("latest", buffer.getvalue())
    second = make_model()
    second.fit(X, Y, seed=3, resume=True, callbacks=[BackupAndRestore(tmp_path, save_freq=save_freq)], **FIT)
    assert_same(second.get_weights(), expected)
