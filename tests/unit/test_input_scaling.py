"""One input scaling rule for every numeric dtype (pybrowserml/input_scaling.py): integer pixels in [0, 255]
are scaled by 1/255 whatever their dtype, floats are used as given (with a warning when they look like
unscaled pixels), a model beginning with Rescaling takes everything as it is; the rule travels with the
model into its JSON and its TF.js export."""

import hashlib
import json
import warnings

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import layers
from pybrowserml.io import ModelFormatError, json_format, tfjs_artifacts

RNG = np.random.default_rng(0)
PIXELS = RNG.integers(0, 256, (12, 6, 6, 1)).astype("uint8")
LABELS = (np.arange(12) % 3).astype("int32")


def net(first=()):
    pb.set_random_seed(5)
    return pb.Sequential(
        [
            layers.Input((6, 6, 1)),
            *first,
            layers.Conv2D(2, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )


def compiled(model):
    model.compile(pb.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint16", "uint32"])
def test_every_integer_dtype_is_scaled_like_uint8(dtype):
    reference = net().predict(PIXELS, verbose=0)
    x = PIXELS.astype(dtype) if dtype != "int8" else (PIXELS // 2).astype("int8")
    expected = reference if dtype != "int8" else net().predict((PIXELS // 2).astype("uint8"), verbose=0)
    np.testing.assert_array_equal(net().predict(x, verbose=0), expected)
    # and training follows the same path: same losses as uint8
    a, b = compiled(net()), compiled(net())
    uint8 = PIXELS if dtype != "int8" else (PIXELS // 2).astype("uint8")
    assert a.train_on_batch(x, LABELS) == b.train_on_batch(uint8, LABELS)


def test_integers_are_the_same_as_floats_divided_by_255():
    np.testing.assert_allclose(
        net().predict(PIXELS.astype("int32"), verbose=0),
        net().predict(PIXELS.astype("float32") / 255.0, verbose=0),
        rtol=1e-5,
        atol=1e-7,
    )


def test_integers_outside_0_255_are_refused_with_what_to_do():
    for bad in (PIXELS.astype("int32") - 1, PIXELS.astype("int32") + 1000):
        with pytest.raises(ValueError, match=r"integer inputs are taken as pixels in \[0, 255\].*Rescaling"):
            net().predict(bad, verbose=0)


def test_floats_that_look_like_unscaled_pixels_warn():
    with pytest.warns(pb.UnscaledInputWarning, match="looks like unscaled 0-255 pixels"):
        compiled(net()).fit(PIXELS.astype("float32"), LABELS, epochs=1, batch_size=4, verbose=0)
    with pytest.warns(pb.UnscaledInputWarning):
        net().predict(PIXELS.astype("float64"), verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net().predict(PIXELS / 255.0, verbose=0)  # scaled: fine
        net().predict(RNG.standard_normal((4, 6, 6, 1)) * 50, verbose=0)  # large but not whole numbers
        net().predict(PIXELS, verbose=0)  # integers are scaled for you


def test_a_model_beginning_with_rescaling_takes_every_dtype_as_it_is():
    plain = net()
    rescaled = net([layers.Rescaling(1 / 255)])
    rescaled.set_weights(plain.get_weights())
    expected = plain.predict(PIXELS, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 0-255 floats are what this model wants: no warning
        for x in (PIXELS, PIXELS.astype("int64"), PIXELS.astype("float32")):
            np.testing.assert_allclose(rescaled.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-7)
    # integers beyond 255 are the layer's business then
    wide = net([layers.Rescaling(1 / 1000)])
    assert wide.predict((PIXELS.astype("int32") * 3), verbose=0).shape == (12, 3)


def test_the_json_keeps_the_scaling_and_what_the_model_was_trained_on(tmp_path):
    model = compiled(net())
    model.fit(PIXELS, LABELS, epochs=1, batch_size=4, verbose=0)
    model.save_json(tmp_path / "m.json")
    document = json.loads((tmp_path / "m.json").read_bytes())
    assert document["input_scaling"] == {"integer_scale": 1 / 255, "trained_on": "integers"}
    loaded = pb.load_json(tmp_path / "m.json")
    np.testing.assert_allclose(loaded.predict(PIXELS, verbose=0), model.predict(PIXELS, verbose=0), atol=0.02)
    assert pb.io.saving.scaling_config(loaded) == document["input_scaling"]
    floats = compiled(net([layers.Rescaling(1 / 255)]))
    floats.fit(PIXELS.astype("float32"), LABELS, epochs=1, batch_size=4, verbose=0)
    assert pb.io.encode_model(floats)[0].count(b'"input_scaling":{"integer_scale":1.0,"trained_on":"floats"}') == 1


def _resigned(document):
    document["sha256"] = hashlib.sha256(json_format.canonical_bytes(document)).hexdigest()
    return json.dumps(document)


def test_a_json_whose_scaling_disagrees_with_its_architecture_is_refused(tmp_path):
    data, _ = pb.io.encode_model(net([layers.Rescaling(1 / 255)]))
    document = json.loads(data)
    document["input_scaling"]["integer_scale"] = 1 / 255  # but the model begins with Rescaling: 1.0
    with pytest.raises(ModelFormatError, match="input scaling does not fit its architecture"):
        pb.load_json(_resigned(document))
    document["input_scaling"] = {"integer_scale": -1}
    with pytest.raises(ModelFormatError, match="positive number"):
        pb.load_json(_resigned(document))


def test_tfjs_export_puts_rescaling_in_front_of_a_model_trained_on_pixels():
    def first_layers(model, **kwargs):
        topology = tfjs_artifacts(model, **kwargs)[0]["modelTopology"]
        return [(entry["class_name"], entry["config"].get("scale")) for entry in topology["config"]["layers"][:2]]

    pixels = compiled(net())
    pixels.fit(PIXELS, LABELS, epochs=1, batch_size=4, verbose=0)
    assert first_layers(pixels) == [("Rescaling", 1 / 255), ("Conv2D", None)]
    assert first_layers(pixels, input_scale=None)[0] == ("Conv2D", None)
    floats = compiled(net())
    floats.fit(PIXELS / 255.0, LABELS, epochs=1, batch_size=4, verbose=0)
    assert first_layers(floats)[0] == ("Conv2D", None)
    assert first_layers(net([layers.Rescaling(1 / 255)]))[0] == ("Rescaling", 1 / 255)  # its own layer only
    functional = pb.zoo.dense_block_cnn((6, 6, 1), 3, filters=(4,), layers_per_block=2, stem_filters=2)
    compiled(functional).fit(PIXELS, LABELS, epochs=1, batch_size=4, verbose=0)
    topology = tfjs_artifacts(functional)[0]["modelTopology"]["config"]
    by_name = {entry["name"]: entry for entry in topology["layers"]}
    scaling = by_name["dense_block_cnn_input_scaling"]
    assert scaling["class_name"] == "Rescaling" and scaling["inbound_nodes"] == [
        [[topology["input_layers"][0][0], 0, 0, {}]]
    ]
    stem = next(entry for entry in topology["layers"] if entry["class_name"] == "Conv2D")
    assert stem["inbound_nodes"] == [[["dense_block_cnn_input_scaling", 0, 0, {}]]]
