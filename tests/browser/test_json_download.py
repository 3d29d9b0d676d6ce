"""In the page: save_json offers a real download of the quantized JSON, which CPython loads into the same
model; IndexedDB keeps a saved model across a reload; a tampered file is refused in the page too."""

import numpy as np
import pytest

from harness import PyodideError

BUILD_MODEL = """
import numpy as np, pybrowserml as pb
pb.set_random_seed(3)
model = pb.zoo.dense_block_cnn(input_shape=(12, 12, 1), classes=4, filters=(4, 6), layers_per_block=2,
                               stem_filters=4)
x = np.random.default_rng(0).random((6, 12, 12, 1)).astype("float32")
"""


def test_save_json_downloads_a_file_cpython_loads(pyodide_page, tmp_path):
    pyodide_page.run(BUILD_MODEL)
    with pyodide_page.page.expect_download() as info:
        result = pyodide_page.run("""
result = model.save_json("my-model.json", quantize="uint8")
dict(result, text=str(result))
""")
    download = info.value
    assert download.suggested_filename == "my-model.json"
    target = tmp_path / "my-model.json"
    download.save_as(target)
    assert result["download"] == "my-model.json" and result["bytes"] == target.stat().st_size
    assert "of float32 JSON" in result["text"]

    from pybrowserml.io import load_json

    loaded = load_json(target)
    page_probs = np.array(pyodide_page.run("model.predict(x, verbose=0).tolist()"))
    x = np.random.default_rng(0).random((6, 12, 12, 1)).astype("float32")
    # The page's model is float32; the download is uint8: close, and the same weights the page computes
    # when it loads its own file back.
    np.testing.assert_allclose(loaded.predict(x, verbose=0), page_probs, atol=0.02)
    import base64

    page_loaded = np.array(
        pyodide_page.run(f"""
import base64
again = pb.load_json(base64.b64decode({base64.b64encode(target.read_bytes()).decode()!r}))
again.predict(x, verbose=0).tolist()
""")
    )
    np.testing.assert_allclose(loaded.predict(x, verbose=0), page_loaded, atol=1e-6)

    # The same page refuses a tampered file, and points sync callers to the async IndexedDB API.
    with pytest.raises(PyodideError, match="ModelFormatError: the model file's checksum does not match"):
        pyodide_page.run("""
import json
from pybrowserml.io import encode_model
data, _ = encode_model(model, "uint8")
doc = json.loads(data)
doc["architecture"]["config"]["name"] = "renamed"
pb.load_json(json.dumps(doc))
""")
    with pytest.raises(PyodideError, match="save_json_async"):
        pyodide_page.run("model.save_json('x.json', store='indexeddb')")


def test_indexeddb_keeps_a_model_across_a_reload(persistent_pyodide_page):
    page = persistent_pyodide_page
    saved = page.run(
        BUILD_MODEL
        + """
from pybrowserml.io import save_json_async
await save_json_async(model, "kept-model", quantize="float16")
model.predict(x, verbose=0).tolist()
"""
    )
    page.reload()
    restored = page.run("""
import numpy as np
from pybrowserml.io import load_json_async
model = await load_json_async("kept-model")
x = np.random.default_rng(0).random((6, 12, 12, 1)).astype("float32")
model.predict(x, verbose=0).tolist()
""")
    np.testing.assert_allclose(restored, saved, atol=5e-3)
    with pytest.raises(PyodideError, match="no model named 'missing'.*kept-model"):
        page.run("from pybrowserml.io import load_json_async\nawait load_json_async('missing')")
