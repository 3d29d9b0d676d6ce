"""The training progress element in the page: DomProgress driven by fit_async in Pyodide."""

import re

# A tiny classifier on separable random data, quick on the numpy backend.
SETUP = """
import numpy as np
import pybrowserml as pb
from pybrowserml.callbacks import DomProgress, default_progress

pb.set_backend("numpy")
rng = np.random.default_rng(0)
x = rng.standard_normal((1024, 8)).astype("float32")
y = (x[:, 0] > 0).astype("int32")
model = pb.models.Sequential([pb.layers.Input((8,)), pb.layers.Dense(16, activation="relu"), pb.layers.Dense(2)])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
"""


def _element_state(page, element_id):
    return page.js(f"""() => {{
        const root = document.getElementById({element_id!r});
        if (!root) return null;
        return {{
            parent: root.parentElement.tagName,
            classes: [...root.classList],
            title: root.querySelector('.pbml-title').textContent,
            status: root.querySelector('.pbml-status').textContent,
            epochs: [...root.querySelectorAll('.pbml-epochs li')].map(li => li.textContent),
            max: root.querySelector('progress').max,
            value: root.querySelector('progress').value,
            data: {{...root.dataset}},
        }};
    }}""")


def test_fit_async_with_verbose_shows_progress_in_a_created_element(pyodide_page):
    pyodide_page.js("""() => {
        window.__samples = [];
        window.__timer = setInterval(() => {
            const root = document.getElementById('pybrowserml-progress');
            if (root) window.__samples.push(root.dataset.state + ' ' + (root.dataset.step || ''));
        }, 5);
    }""")
    logged = pyodide_page.run(
        SETUP
        + """
assert isinstance(default_progress(1), DomProgress)
history = await model.fit_async(x, y, batch_size=8, epochs=3, verbose=1, yield_every=0.02)
[float(v) for v in history.history["loss"]]
"""
    )
    samples = pyodide_page.js("() => { clearInterval(window.__timer); return window.__samples; }")
    state = _element_state(pyodide_page, "pybrowserml-progress")
    assert state is not None, "fit_async(verbose=1) should create the progress element in the page"
    assert state["parent"] == "BODY"
    assert state["title"].startswith("Epoch 3/3 - done in ")
    assert state["data"]["state"] == "done" and state["data"]["epoch"] == "3"
    assert state["max"] == 128 and state["value"] == 128  # 1024 samples / batch 8
    assert len(state["epochs"]) == 3
    for epoch, (line, loss) in enumerate(zip(state["epochs"], logged), start=1):
        assert line.startswith(f"Epoch {epoch}/3 - 128/128 - ")
        shown = float(re.search(r"loss: ([0-9.e+-]+)", line).group(1))
        assert abs(shown - loss) <= 1e-4 * max(1.0, abs(loss)), (line, loss)
    assert re.search(r"accuracy: [0-9.]+", state["status"])
    assert any(s.startswith("running") for s in samples), "the element should update while fit_async runs"


def test_dom_progress_renders_into_an_existing_container(pyodide_page):
    pyodide_page.js("""() => {
        const host = document.createElement('section');
        const box = document.createElement('div');
        box.id = 'my-progress';
        box.className = 'card';
        box.textContent = 'old content';
        host.appendChild(box);
        document.body.appendChild(host);
    }""")
    pyodide_page.run(
        SETUP
        + """
await model.fit_async(x[:96], y[:96], batch_size=32, epochs=2, verbose=0, callbacks=[DomProgress("my-progress")])
None
"""
    )
    state = _element_state(pyodide_page, "my-progress")
    assert state["parent"] == "SECTION" and state["classes"] == ["card", "pybrowserml-progress"]
    assert state["title"].startswith("Epoch 2/2 - done")
    assert "old content" not in state["status"] and len(state["epochs"]) == 2
    assert re.search(r"^3/3 - \d+s - .* - loss: [0-9.]+", state["status"])
    assert pyodide_page.js("() => document.getElementById('pybrowserml-progress')") is None
