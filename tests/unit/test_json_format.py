"""The JSON model format: round trips at every precision, and safe loading that refuses every bad file."""

import base64
import json

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import layers
from pybrowserml.io import ModelFormatError, json_format, load_json, quantization_report, save_json


def small_model(compiled=True):
    pb.set_random_seed(7)
    inputs = layers.Input((12, 12, 1), name="image")
    x = layers.Conv2D(6, 3, padding="same", activation="relu", name="stem")(inputs)
    x = layers.dense_block(x, 4, layers=2, strides=2, name="block")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    model = pb.Model(inputs, layers.Dense(3, activation="softmax", name="head")(x), name="small")
    if compiled:
        model.compile(pb.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def batch():
    return np.random.default_rng(0).random((8, 12, 12, 1)).astype("float32")


def resign(document):
    """Recompute the checksum after editing, so the check that matters is the one that fails."""
    document["sha256"] = json_format.hashlib.sha256(json_format.canonical_bytes(document)).hexdigest()
    return json.dumps(document)


@pytest.mark.parametrize("quantize,tolerance", [("float32", 0.0), ("float16", 2e-3), ("uint16", 1e-3), ("uint8", 3e-2)])
def test_round_trip_rebuilds_the_model(tmp_path, batch, quantize, tolerance):
    model = small_model()
    path = tmp_path / "model.json"
    result = save_json(model, path, quantize=quantize)
    assert result["path"] == str(path) and result["bytes"] == path.stat().st_size
    loaded = load_json(path)
    assert loaded.get_config() == model.get_config()
    assert [w.name for w in loaded.weights] == [w.name for w in model.weights]
    diff = max(np.abs(a - b).max() for a, b in zip(model.get_weights(), loaded.get_weights()))
    assert diff <= tolerance
    assert diff <= result["max_abs_error"] + 1e-9
    np.testing.assert_allclose(
        loaded.predict(batch, verbose=0), model.predict(batch, verbose=0), atol=max(10 * tolerance, 1e-6)
    )


def test_the_document_follows_the_documented_schema(tmp_path):
    model = small_model()
    save_json(model, tmp_path / "m.json", quantize="uint8")
    document = json.loads((tmp_path / "m.json").read_text())
    assert document["format"] == "pybrowserml-model" and document["version"] == 1
    assert document["architecture"] == model.get_config()
    assert document["training_config"]["loss"]["name"] == "sparse_categorical_crossentropy"
    kernel = next(w for w in document["weights"] if w["name"] == "stem/kernel")
    assert kernel["shape"] == [3, 3, 1, 6] and kernel["dtype"] == "float32"
    assert kernel["encoding"]["kind"] == "affine" and kernel["encoding"]["axis"] == 3
    assert len(base64.b64decode(kernel["encoding"]["scale"])) == 2 * 6  # bfloat16 scales
    assert len(base64.b64decode(kernel["data"])) == 3 * 3 * 1 * 6
    bias = next(w for w in document["weights"] if w["name"] == "stem/bias")
    assert bias["encoding"]["axis"] is None


def test_loaded_model_comes_back_compiled_and_trains(tmp_path):
    model = small_model()
    save_json(model, tmp_path / "m.json", quantize="float32")
    loaded = load_json(tmp_path / "m.json")
    assert type(loaded.optimizer).__name__ == "Adam" and loaded.optimizer.learning_rate == 0.01
    x = (np.random.default_rng(1).random((16, 12, 12, 1)) * 255).astype("uint8")
    history = loaded.fit(x, np.arange(16) % 3, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert load_json(tmp_path / "m.json", compile=False).optimizer is None


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda: pb.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
        lambda: pb.optimizers.AdamW(0.002),
        lambda: pb.optimizers.Adam(pb.schedules.CosineDecay(0.01, 100)),
    ],
)
def test_optimizer_config_and_schedules_survive_the_round_trip(optimizer):
    from pybrowserml.io import encode_model

    model = small_model(compiled=False)
    model.compile(optimizer(), "sparse_categorical_crossentropy", metrics=["accuracy"])
    loaded = load_json(encode_model(model, "float32")[0])
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.metrics_names == ["accuracy"]


def test_loads_from_text_bytes_and_model_method(tmp_path):
    model = small_model()
    model.save_json(tmp_path / "m.json", quantize="uint16")
    data = (tmp_path / "m.json").read_bytes()
    assert load_json(data).get_config() == model.get_config()
    assert load_json(data.decode()).get_config() == model.get_config()


def test_uint8_file_size_and_report_for_the_reference_model():
    pb.set_random_seed(0)
    report = quantization_report(pb.zoo.dense_block_cnn(), quantize="uint8")
    # Measured 29.7% (80,353 of 270,501 bytes) with one scale per channel; the 4x of the weights
    # themselves is diluted by the architecture, the entries' names and the per-channel scales.
    assert report["ratio"] <= 0.30
    assert report["quantized_json_bytes"] < report["float32_json_bytes"]
    assert 0 < report["mean_abs_error"] < report["max_abs_error"] < 0.01
    per_tensor = quantization_report(pb.zoo.dense_block_cnn(), quantize="uint8", per_channel=False)
    assert per_tensor["quantized_json_bytes"] < report["quantized_json_bytes"]


# -- safe loading ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_text():
    model = small_model()
    from pybrowserml.io import encode_model

    data, _ = encode_model(model, "uint8")
    return data.decode()


def test_truncated_file_is_refused(saved_text):
    with pytest.raises(ModelFormatError, match="not valid JSON .*truncated"):
        load_json(saved_text[: len(saved_text) // 2])


def test_tampered_weights_fail_the_checksum(saved_text):
    document = json.loads(saved_text)
    data = document["weights"][0]["data"]
    document["weights"][0]["data"] = ("B" if data[0] != "B" else "C") + data[1:]
    with pytest.raises(ModelFormatError, match="checksum does not match"):
        load_json(json.dumps(document))


def test_oversized_file_is_refused_unless_the_limit_is_raised(saved_text):
    with pytest.raises(ModelFormatError, match="over the limit of 1,000 bytes"):
        load_json(saved_text, max_bytes=1000)
    assert load_json(saved_text, max_bytes=len(saved_text)).name == "small"


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda d: d.update(version=2), "version 2 is not supported .* upgrade"),
        (lambda d: d.update(format="keras"), "not a pybrowserml model file"),
        (lambda d: d.pop("weights"), "no 'weights' field"),
        (lambda d: d.update(weights={}), "'weights' must be list"),
        (lambda d: d["weights"][0].update(shape=[3, 3, 1, 7]), "truncated or corrupt"),
        (lambda d: d["weights"][0].update(shape=[3, "3"]), "is not a list of non-negative ints"),
        (lambda d: d["weights"][0].update(data=d["weights"][0]["data"][:-4]), "base64 characters, expected"),
        (lambda d: d["weights"][0].update(data="!" * len(d["weights"][0]["data"])), "not valid base64"),
        (lambda d: d["weights"][0]["encoding"].update(kind="pickle"), "encoding kind 'pickle' is unknown"),
        (lambda d: d["weights"][0]["encoding"].update(bits=4), "bits must be 8 or 16"),
        (lambda d: d["weights"][0]["encoding"].update(scale=base64.b64encode(bytes(4)).decode()), "encoding.scale"),
        (lambda d: d["weights"].pop(), "architecture has .* weights but the file holds"),
        (
            lambda d: d["architecture"]["config"]["layers"][0]["config"].update(filters=5),
            "does not match the architecture",
        ),
        (lambda d: d["architecture"].update(class_name="Evil"), "cannot be rebuilt"),
        (lambda d: d["architecture"]["config"]["layers"][0].update(class_name="os.system"), "unknown layer class"),
    ],
)
def test_inconsistent_files_are_refused(saved_text, edit, message):
    document = json.loads(saved_text)
    edit(document)
    with pytest.raises(ModelFormatError, match=message):
        load_json(resign(document))


def test_non_json_constants_and_non_objects_are_refused(saved_text):
    with pytest.raises(ModelFormatError, match="NaN"):
        load_json('{"format": NaN}')
    with pytest.raises(ModelFormatError, match="JSON object"):
        load_json(b"[1, 2]")
    with pytest.raises(ModelFormatError, match="not UTF-8"):
        load_json(b"\xff\xfe{")
    with pytest.raises(ModelFormatError, match="empty"):
        load_json(b"")
    with pytest.raises(ModelFormatError, match="nests JSON too deeply"):
        load_json(b"[" * 100_000 + b"]" * 100_000)


def test_missing_file_and_wrong_arguments(tmp_path):
    with pytest.raises(FileNotFoundError, match="load_json_async"):
        load_json(str(tmp_path / "nope.json"))
    with pytest.raises(TypeError, match="path, JSON text or bytes"):
        load_json(42)
    with pytest.raises(ValueError, match="save_json_async"):
        save_json(small_model(), "x", store="indexeddb")
    with pytest.raises(ValueError, match="quantize='int8' is not supported"):
        save_json(small_model(), tmp_path / "m.json", quantize="int8")
    assert not (tmp_path / "m.json").exists()


def test_unbuilt_model_cannot_be_saved(tmp_path):
    model = pb.Sequential([layers.Dense(3)])
    with pytest.raises(ValueError, match="has no weights yet"):
        save_json(model, tmp_path / "m.json")


def test_sequential_round_trip(tmp_path, batch):
    pb.set_random_seed(3)
    model = pb.Sequential(
        [
            layers.Input((12, 12, 1)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    save_json(model, tmp_path / "seq.json", quantize="float32")
    loaded = load_json(tmp_path / "seq.json")
    np.testing.assert_array_equal(loaded.predict(batch, verbose=0), model.predict(batch, verbose=0))
