"""TF.js itself, in the page, loads what export_tfjs downloads and predicts what pybrowserml predicts."""

import base64
import json

import numpy as np

TFJS_URL = "/node_modules/@tensorflow/tfjs/dist/tf.min.js"

# Build File objects from the downloaded bytes, as a user picking the two files would, and load them.
JS_LOAD_AND_PREDICT = """async ([files, batch, shape]) => {
  const asFile = ([name, b64]) => new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name);
  const model = await tf.loadLayersModel(tf.io.browserFiles(files.map(asFile)));
  const bytes = Uint8Array.from(atob(batch), (c) => c.charCodeAt(0));
  const x = tf.tensor(new Float32Array(bytes.buffer), shape);
  const probs = await model.predict(x).array();
  return { probs, layers: model.layers.map((l) => l.getClassName()) };
}"""

TRAIN_IN_PAGE = """
import numpy as np, pybrowserml as pb
from pybrowserml.io import export_tfjs
pb.set_random_seed(5)
model = pb.zoo.dense_block_cnn(input_shape=(12, 12, 1), classes=4, filters=(4, 6), layers_per_block=2,
                               stem_filters=4)
model.compile(pb.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
rng = np.random.default_rng(1)
# The class is the image's brightness level, something global average pooling can see.
labels = rng.integers(0, 4, 96)
images = (rng.random((96, 12, 12, 1)) * 0.25 + labels[:, None, None, None] * 0.25).astype("float32")
model.fit(images, labels.astype("int32"), epochs=6, batch_size=16, verbose=0, seed=0)
x = images[:16]
model.predict(x, verbose=0).tolist()
"""


def _export_and_collect(page, quantize):
    downloads = []

    def collect(download):
        downloads.append(download)

    page.page.on("download", collect)
    result = page.run(f"export_tfjs(model, 'fashion-cnn', quantize={quantize!r})")
    while len(downloads) < 2:
        page.page.wait_for_event("download")
    files = []
    for download in downloads:
        with open(download.path(), "rb") as f:
            files.append([download.suggested_filename, base64.b64encode(f.read()).decode()])
    page.page.remove_listener("download", collect)
    return result, files


def test_tfjs_loads_the_export_and_predicts_the_same_classes(pyodide_page):
    page = pyodide_page
    page.page.add_script_tag(url=TFJS_URL)
    expected = np.array(page.run(TRAIN_IN_PAGE))
    assert len(set(expected.argmax(1))) >= 2  # a batch with several predicted classes: a real comparison
    batch = base64.b64encode(np.array(page.run("x.tolist()"), dtype="float32").tobytes()).decode()

    result, files = _export_and_collect(page, None)
    assert sorted(name for name, _ in files) == ["fashion-cnn.json", "fashion-cnn.weights.bin"]
    assert json.loads(base64.b64decode(files[[n for n, _ in files].index("fashion-cnn.json")][1]))["weightsManifest"][
        0
    ]["paths"] == ["./fashion-cnn.weights.bin"]
    out = page.js(JS_LOAD_AND_PREDICT, [files, batch, [16, 12, 12, 1]])
    probs = np.array(out["probs"])
    assert "DepthwiseConv2D" in out["layers"] and "Concatenate" in out["layers"]
    np.testing.assert_allclose(probs, expected, atol=1e-4)
    assert np.array_equal(probs.argmax(1), expected.argmax(1))

    _, files8 = _export_and_collect(page, "uint8")
    bin8 = next(len(base64.b64decode(b)) for n, b in files8 if n.endswith(".bin"))
    bin32 = next(len(base64.b64decode(b)) for n, b in files if n.endswith(".bin"))
    assert bin8 * 4 == bin32
    probs8 = np.array(page.js(JS_LOAD_AND_PREDICT, [files8, batch, [16, 12, 12, 1]])["probs"])
    np.testing.assert_allclose(probs8, expected, atol=0.05)
    top2 = np.sort(expected, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 0.1  # rows not on a knife's edge keep their class after uint8
    assert clear.sum() >= 8
    assert np.array_equal(probs8.argmax(1)[clear], expected.argmax(1)[clear])
