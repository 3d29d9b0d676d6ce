"""TF.js layers-format export: topology, weights manifest and shard, and TF.js itself (in Node) reading it."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import layers
from pybrowserml.io import TFJSExportError, export_tfjs, tfjs_artifacts

REPO = Path(__file__).resolve().parents[2]
TFJS = REPO / "node_modules" / "@tensorflow" / "tfjs"


def functional_model():
    pb.set_random_seed(11)
    return pb.zoo.dense_block_cnn(
        input_shape=(12, 12, 1), classes=4, filters=(4, 6), layers_per_block=2, stem_filters=4
    )


def sequential_model():
    pb.set_random_seed(12)
    return pb.Sequential(
        [
            layers.Input((12, 12, 1)),
            layers.Conv2D(4, 3, padding="same", activation="relu6"),
            layers.BatchNormalization(),
            layers.SeparableConv2D(5, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.DepthwiseConv2D(3, depth_multiplier=2),
            layers.ReLU(),
            layers.AveragePooling2D(2, padding="same"),
            layers.Flatten(),
            layers.Dropout(0.1),
            layers.Dense(4),
            layers.Softmax(),
        ]
    )


def dequantized(spec, raw):
    """What TF.js computes from a manifest entry: q * scale + min (float32)."""
    quant = spec.get("quantization")
    if quant is None:
        return np.frombuffer(raw, "<f4").reshape(spec["shape"])
    if quant["dtype"] == "float16":
        return np.frombuffer(raw, "<f2").astype("float32").reshape(spec["shape"])
    values = np.frombuffer(raw, "<u1" if quant["dtype"] == "uint8" else "<u2").astype("float64")
    return (values * quant["scale"] + quant["min"]).astype("float32").reshape(spec["shape"])


def split_shard(model_json, shard):
    out, offset = [], 0
    for spec in model_json["weightsManifest"][0]["weights"]:
        size = int(np.prod(spec["shape"])) * {"uint8": 1, "uint16": 2, "float16": 2}.get(
            spec.get("quantization", {}).get("dtype"), 4
        )
        out.append(dequantized(spec, shard[offset : offset + size]))
        offset += size
    assert offset == len(shard)
    return out


def test_functional_topology_and_manifest():
    model = functional_model()
    model_json, shard = tfjs_artifacts(model, quantize=None)
    assert model_json["format"] == "layers-model"
    topology = model_json["modelTopology"]
    assert topology["class_name"] == "Functional"
    by_name = {layer["name"]: layer for layer in topology["config"]["layers"]}
    assert by_name["image"]["class_name"] == "InputLayer"
    assert by_name["image"]["config"]["batch_input_shape"] == [None, 12, 12, 1]
    assert by_name["block_1/layer_1/depthwise"]["class_name"] == "DepthwiseConv2D"
    assert by_name["block_1/output"]["class_name"] == "Concatenate"
    assert by_name["block_1/output"]["inbound_nodes"] == [
        [["block_1/layer_1/pointwise", 0, 0, {}], ["block_1/layer_2/pointwise", 0, 0, {}]]
    ]
    assert by_name["classifier"]["config"]["activation"] == "softmax"
    assert topology["config"]["output_layers"] == [["classifier", 0, 0]]
    specs = model_json["weightsManifest"][0]["weights"]
    assert [s["name"] for s in specs] == [w.name for w in model.weights]
    assert model_json["weightsManifest"][0]["paths"] == ["group1-shard1of1.bin"]
    for restored, original in zip(split_shard(model_json, shard), model.get_weights()):
        np.testing.assert_array_equal(restored, original)


@pytest.mark.parametrize("quantize,tolerance", [("uint8", 0.02), ("uint16", 1e-4), ("float16", 1e-3)])
def test_quantized_weights_follow_tfjs_dequantization(quantize, tolerance):
    model = functional_model()
    model_json, shard = tfjs_artifacts(model, quantize=quantize)
    assert len(shard) < 4 * model.count_params()
    for spec, restored, original in zip(
        model_json["weightsManifest"][0]["weights"], split_shard(model_json, shard), model.get_weights()
    ):
        assert spec["quantization"]["dtype"] == quantize
        assert np.abs(restored - original).max() <= tolerance
        assert np.all(np.abs(restored[original == 0]) < 1e-6)  # zero stays (almost) zero in TF.js's float math


def test_sequential_maps_layers_to_tfjs_names():
    model = sequential_model()
    model_json, _ = tfjs_artifacts(model, quantize=None)
    entries = model_json["modelTopology"]["config"]["layers"]
    assert [e["class_name"] for e in entries] == [
        "Conv2D",
        "BatchNormalization",
        "SeparableConv2D",
        "MaxPooling2D",
        "DepthwiseConv2D",
        "ReLU",
        "AveragePooling2D",
        "Flatten",
        "Dropout",
        "Dense",
        "Softmax",
    ]
    assert entries[0]["config"]["batch_input_shape"] == [None, 12, 12, 1]
    assert entries[0]["config"]["activation"] == "relu6"
    names = [s["name"] for s in model_json["weightsManifest"][0]["weights"]]
    sep = model.layers[2].name
    assert {f"{sep}/depthwise_kernel", f"{sep}/pointwise_kernel", f"{sep}/bias"} <= set(names)


def test_export_writes_the_two_files(tmp_path):
    result = export_tfjs(functional_model(), tmp_path / "tfjs", quantize="uint8")
    model_json = json.loads((tmp_path / "tfjs" / "model.json").read_text())
    shard = (tmp_path / "tfjs" / "group1-shard1of1.bin").read_bytes()
    assert result["bytes"] == len(shard) + len((tmp_path / "tfjs" / "model.json").read_bytes())
    assert len(split_shard(model_json, shard)) == len(functional_model().weights)


def dense_block_sequential():
    pb.set_random_seed(13)
    return pb.Sequential(
        [
            layers.Input((12, 12, 1)),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.DenseBlock(4, layers=3, strides=2),
            layers.GlobalAveragePooling2D(),
            layers.Dense(4, activation="softmax"),
        ]
    )


def test_sequential_with_a_dense_block_becomes_a_functional_topology():
    model = dense_block_sequential()
    model_json, _ = tfjs_artifacts(model, quantize=None)
    topology = model_json["modelTopology"]
    assert topology["class_name"] == "Functional"
    by_name = {layer["name"]: layer for layer in topology["config"]["layers"]}
    block = model.layers[1].name
    assert by_name[f"{block}/layer_3/inputs"]["inbound_nodes"] == [
        [[f"{block}/layer_1/pointwise", 0, 0, {}], [f"{block}/layer_2/pointwise", 0, 0, {}]]
    ]
    assert by_name[f"{block}/layer_2/depthwise"]["inbound_nodes"] == [[[f"{block}/layer_1/pointwise", 0, 0, {}]]]
    assert by_name[f"{block}/layer_1/depthwise"]["config"]["strides"] == [2, 2]
    names = {s["name"] for s in model_json["weightsManifest"][0]["weights"]}
    assert names == {w.name for w in model.weights}


class Squash(layers.Layer):
    """A user's own layer: TF.js has no class for it."""

    def call(self, x, training=False):
        return x


def test_unexportable_models_and_options_are_refused(tmp_path):
    model = pb.Sequential([layers.Input((8, 8, 1)), Squash(name="squash"), layers.Flatten()])
    with pytest.raises(TFJSExportError, match="'squash' .Squash. has no TF.js layers equivalent"):
        export_tfjs(model, tmp_path / "x")
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="not supported by TF.js.*per tensor"):
        export_tfjs(functional_model(), tmp_path / "y", quantize="int8")
    (tmp_path / "file").write_text("")
    with pytest.raises(FileExistsError, match="is a file"):
        export_tfjs(functional_model(), tmp_path / "file")


NODE_SCRIPT = r"""
const tf = require(process.argv[2]);
const fs = require('fs');
const dir = process.argv[3];
(async () => {
  tf.env().set('IS_NODE', true);
  const out = {};
  for (const name of ['float32', 'uint8', 'sequential', 'dense_block', 'pixels']) {
    const mj = JSON.parse(fs.readFileSync(`${dir}/${name}.json`));
    const bin = fs.readFileSync(`${dir}/${name}.bin`);
    const model = await tf.loadLayersModel(tf.io.fromMemory({modelTopology: mj.modelTopology,
      weightSpecs: mj.weightsManifest[0].weights,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength)}));
    // 'pixels': raw 0-255 pixels as TF.js code has them (tf.browser.fromPixels), into a model trained on uint8
    const xb = fs.readFileSync(`${dir}/${name === 'pixels' ? 'raw_pixels.input' : 'x.bin'}`);
    const x = tf.tensor4d(new Float32Array(xb.buffer, xb.byteOffset, xb.byteLength / 4), [8, 12, 12, 1]);
    out[name] = Array.from(await model.predict(x).data());
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


@pytest.mark.skipif(
    shutil.which("node") is None or not TFJS.exists(),
    reason="needs node and node_modules/@tensorflow/tfjs (scripts/setup installs them)",
)
def test_tfjs_in_node_predicts_what_pybrowserml_predicts(tmp_path):
    x = np.random.default_rng(5).random((8, 12, 12, 1)).astype("float32")
    (tmp_path / "x.bin").write_bytes(x.tobytes())
    pixels = np.random.default_rng(6).integers(0, 256, (8, 12, 12, 1)).astype("uint8")
    (tmp_path / "raw_pixels.input").write_bytes(pixels.astype("float32").tobytes())
    trained_on_pixels = functional_model()
    trained_on_pixels.compile("adam", "sparse_categorical_crossentropy")
    trained_on_pixels.fit(pixels, np.arange(8) % 4, epochs=1, batch_size=4, verbose=0)
    expected = {}
    for name, model, quantize in (
        ("float32", functional_model(), None),
        ("uint8", functional_model(), "uint8"),
        ("sequential", sequential_model(), None),
        ("dense_block", dense_block_sequential(), None),
        ("pixels", trained_on_pixels, None),  # exported with its leading Rescaling(1/255)
    ):
        model_json, shard = tfjs_artifacts(model, quantize=quantize)
        (tmp_path / f"{name}.json").write_text(json.dumps(model_json))
        (tmp_path / f"{name}.bin").write_bytes(shard)
        model.set_weights(split_shard(model_json, shard))  # the weights TF.js will see
        expected[name] = model.predict(pixels if name == "pixels" else x, verbose=0)
    (tmp_path / "run.js").write_text(NODE_SCRIPT)
    done = subprocess.run(
        ["node", str(tmp_path / "run.js"), str(TFJS), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout)
    for name, probs in expected.items():
        tfjs_probs = np.array(got[name], "float32").reshape(probs.shape)
        np.testing.assert_allclose(tfjs_probs, probs, atol=2e-5, err_msg=name)
