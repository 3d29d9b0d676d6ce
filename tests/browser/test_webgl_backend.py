"""The WebGL2 backend in headless Chromium (SwiftShader's WebGL2 with EXT_color_buffer_float here): data in
and out (uint8 R8 textures, int32 as exact floats, sync and async reads), memory accounting, shader
errors, training the reference network like numpy with no fallback, no blocking readPixels and a fixed
number of draws per step, and a lost context. Every kernel against the numpy oracle is the conformance
suite's job (tests/conformance, row webgl).
"""

import pytest

from harness import Browser

SETUP = r"""
import gc
import numpy as np
from pybrowserml.backends import set_backend, set_backend_async
from pybrowserml.backends.numpy import NUMPY
from pybrowserml.backends.webgl import float32_renderable

renderable = await float32_renderable()
gl = await set_backend_async("webgl")
_ = set_backend("numpy")
"""


@pytest.fixture(scope="module")
def page():
    with Browser() as browser:
        page = browser.new_pyodide_page()
        page.run(SETUP)
        yield page
        assert not browser.blocked_requests and not page.errors(), page.errors()


def test_float32_renderable_says_yes_on_a_float_capable_webgl2(page):
    assert page.run("[renderable, gl.rt.renderer]")[0] is True


def test_upload_download_round_trip_keeps_values_shapes_and_dtypes(page):
    result = page.run(r"""
cases = {
    "f32": np.linspace(-3, 3, 35, dtype=np.float32).reshape(5, 7),
    "f32 beyond one texture row": np.arange(4096 * 2 + 5, dtype=np.float32) / 7,
    "i32": np.arange(-4, 9, dtype=np.int32),
    "i32 at 2**24": np.array([-(1 << 24), 0, 1 << 24], dtype=np.int32),
    "scalar": np.array(2.5, dtype=np.float32),
    "empty": np.zeros((0, 3), dtype=np.float32),
    "f64 becomes f32": np.array([[0.1, 0.2]], dtype=np.float64),
    "bool becomes i32": np.array([True, False, True]),
    "u8, 7 bytes": np.arange(250, 257, dtype=np.int64).astype(np.uint8),
    "u8 image batch": (np.arange(2 * 5 * 3) * 37 % 256).astype(np.uint8).reshape(2, 5, 3, 1),
    "non-contiguous": np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2],
}
out = {}
for name, values in cases.items():
    back = await gl.download_async(gl.upload(values))
    sync = gl.download(gl.upload(values))
    out[name] = [list(back.shape), str(back.dtype), bool(np.array_equal(back, values.astype(back.dtype))),
                 bool(np.array_equal(sync, back))]
w = gl.upload(np.zeros((2, 3), np.float32))
doubled = gl.run("scale", w, alpha=2.0, beta=1.0)   # drawn before the write: must see the old values
gl.write(w, np.ones((2, 3)))
out["write"] = (await gl.download_async(w)).tolist()
out["drawn before write"] = (await gl.download_async(doubled)).tolist()
out["zeros"] = (await gl.download_async(gl.zeros((3,), "int32"))).tolist()
out["u8 zeros"] = (await gl.download_async(gl.zeros((5,), "uint8"))).tolist()
pixels = np.array([[0, 1, 127], [128, 254, 255]], np.uint8)
out["from_uint8"] = (await gl.download_async(gl.run("from_uint8", gl.upload(pixels), scale=0.5))).tolist()
out["u8 cast"] = (await gl.download_async(gl.run("cast", gl.upload(pixels), "int32"))).tolist()
out["u8 bytes"] = gl.upload(pixels).nbytes
out["f32 -> i32 truncates"] = gl.download(gl.run("cast", gl.upload(np.array([-2.7, 2.7], np.float32)), "int32")).tolist()
for what, values in [("big int", np.array([1 << 25], np.int64)), ("complex", np.array([1j]))]:
    try:
        gl.upload(values)
        out[what] = "no error"
    except (ValueError, TypeError) as e:
        out[what] = str(e)
try:
    gl.write(w, np.ones((3, 2)))
    out["bad write"] = "no error"
except ValueError as e:
    out["bad write"] = str(e)
out
""")
    for name in ("f32", "f32 beyond one texture row", "non-contiguous", "f64 becomes f32"):
        assert result[name][1:] == ["float32", True, True], (name, result[name])
    assert result["i32"] == [[13], "int32", True, True]
    assert result["i32 at 2**24"] == [[3], "int32", True, True]
    assert result["scalar"] == [[], "float32", True, True]
    assert result["empty"] == [[0, 3], "float32", True, True]
    assert result["bool becomes i32"] == [[3], "int32", True, True]
    assert result["u8, 7 bytes"] == [[7], "uint8", True, True]
    assert result["u8 image batch"] == [[2, 5, 3, 1], "uint8", True, True]
    assert result["write"] == [[1.0] * 3] * 2
    assert result["drawn before write"] == [[1.0] * 3] * 2
    assert result["zeros"] == [0, 0, 0]
    assert result["u8 zeros"] == [0] * 5
    assert result["from_uint8"] == [[0.0, 0.5, 63.5], [64.0, 127.0, 127.5]]
    assert result["u8 cast"] == [[0, 1, 127], [128, 254, 255]]
    assert result["u8 bytes"] == 6  # one byte per pixel in an R8 texture, not four
    assert result["f32 -> i32 truncates"] == [-2, 2]
    assert "2**24" in result["big int"] and "numpy or wasm" in result["big int"], result["big int"]
    assert "complex" in result["complex"], result["complex"]
    assert "shape (3, 2)" in result["bad write"] and "(2, 3)" in result["bad write"]


def test_memory_returns_to_its_start_when_python_drops_the_arrays(page):
    result = page.run(r"""
gc.collect()
before = gl.memory()
arrays = [gl.upload(np.ones((64, 64), np.float32)) for _ in range(10)]
arrays += [gl.run("add", a, a) for a in arrays]
during = gl.memory()
del arrays
gc.collect()
after = gl.memory()
base = gl.upload(np.arange(12, dtype=np.float32))
view = gl.run("reshape", base, shape=(3, -1))   # no copy: shares base's texture and keeps it alive
del base
gc.collect()
view_values = (await gl.download_async(view)).tolist()
del view
gc.collect()
final = gl.memory()
import pybrowserml as pb
{"before": before, "during": during, "after": after, "final": final, "view": view_values,
 "in pb.memory()": "webgl" in pb.memory()}
""")
    before, during, after, final = result["before"], result["during"], result["after"], result["final"]
    assert during["arrays"] == before["arrays"] + 20
    assert during["bytes"] == before["bytes"] + 20 * 64 * 64 * 4
    assert during["textures"] == before["textures"] + 20
    for state in (after, final):
        assert (state["arrays"], state["bytes"], state["textures"]) == (
            before["arrays"],
            before["bytes"],
            before["textures"],
        )
    assert after["pooled_bytes"] >= 20 * 64 * 64 * 4  # freed textures wait in the pool for the next step
    assert result["view"] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert result["in pb.memory()"]


def test_in_place_updates_keep_every_handle_and_view_on_the_new_values(page):
    # adam_update renders into fresh textures that take the arrays' ids: a view taken before the update
    # must read the updated values, and no texture may leak.
    result = page.run(r"""
gc.collect()
start = gl.memory()["textures"]
p, g = gl.upload(np.ones((3, 4), np.float32)), gl.upload(np.full((3, 4), 0.5, np.float32))
m, v = gl.zeros((3, 4)), gl.zeros((3, 4))
flat = gl.run("reshape", p, shape=(-1,))
gl.run("adam_update", [p], [g], [m], [v], lr=0.1, step=1)
host_p, host_m, host_v = np.ones((3, 4), np.float32), np.zeros((3, 4), np.float32), np.zeros((3, 4), np.float32)
NUMPY.run("adam_update", [host_p], [np.full((3, 4), 0.5, np.float32)], [host_m], [host_v], lr=0.1, step=1)
out = {"p": float(np.abs(gl.download(p) - host_p).max()), "view": float(np.abs(gl.download(flat) - host_p.ravel()).max()),
       "m": float(np.abs(gl.download(m) - host_m).max()), "v": float(np.abs(gl.download(v) - host_v).max())}
del p, g, m, v, flat
gc.collect()
out["leaked"] = gl.memory()["textures"] - start
out
""")
    assert max(result[k] for k in ("p", "view", "m", "v")) <= 1e-6, result
    assert result["leaked"] == 0, result


def test_packed_results_feed_the_next_kernels_and_a_write_replaces_them(page):
    # Results of packed kernels (rows of 4k values) are unpacked only when read as R32F, and the next
    # pack of the same rows or a concat of such parts takes the packed texture: the chain depthwise ->
    # pointwise -> concat -> depthwise -> read must equal numpy's, and an in-place update of such a
    # result (adam_update) or a write must be what the next kernel sees.
    result = page.run(r"""
rng = np.random.default_rng(5)
x = rng.standard_normal((2, 6, 6, 8)).astype(np.float32)
dw = rng.standard_normal((3, 3, 8, 1)).astype(np.float32)
pw1, pw2 = rng.standard_normal((1, 1, 8, 12)).astype(np.float32), rng.standard_normal((1, 1, 12, 4)).astype(np.float32)
dw2 = rng.standard_normal((3, 3, 16, 1)).astype(np.float32)
bias = rng.standard_normal(12).astype(np.float32)

def chain(be, x, g=None):
    put = gl.upload if be is gl else (lambda v: v)
    zeros = gl.zeros if be is gl else (lambda shape: np.zeros(shape, np.float32))
    h = be.run("depthwise_conv2d", put(x), put(dw), strides=(1, 1), padding="same")
    a = be.run("conv2d", h, put(pw1), put(bias), strides=(1, 1), padding="same", activation="relu")
    b = be.run("conv2d", a, put(pw2), strides=(1, 1), padding="same")
    c = be.run("concat", [a, b], axis=-1)
    d = be.run("depthwise_conv2d", c, put(dw2), strides=(2, 2), padding="same")
    if g is not None:  # an in-place update of a packed result, then the kernels that read it
        be.run("adam_update", [a], [put(g)], [zeros(a.shape)], [zeros(a.shape)], lr=0.1, step=1)
        d = be.run("concat", [a, be.run("conv2d", a, put(pw2), strides=(1, 1), padding="same")], axis=-1)
    return d

g = rng.standard_normal((2, 6, 6, 12)).astype(np.float32)
out = {}
for name, grad in (("chain", None), ("after update", g)):
    want = chain(NUMPY, x, grad)
    got = gl.download(chain(gl, x, grad))
    out[name] = float(np.abs(got - want).max() / max(1.0, np.abs(want).max()))
a = gl.run("depthwise_conv2d", gl.upload(x), gl.upload(dw), strides=(1, 1), padding="same")
a = gl.run("conv2d", a, gl.upload(pw1), gl.upload(bias), strides=(1, 1), padding="same")
gl.write(a, np.ones(a.shape, np.float32))
got = gl.download(gl.run("conv2d", a, gl.upload(pw2), strides=(1, 1), padding="same"))
out["after write"] = float(np.abs(got.reshape(-1, 4) - np.ones((72, 12), np.float32) @ pw2.reshape(12, 4)).max())
out
""")
    assert max(result.values()) <= 1e-4, result


NETWORK_FIT = r"""
import pybrowserml as pb

class Probe(pb.callbacks.Callback):
    '''After each training step: the webgl backend's memory, draws and blocking readPixels.'''

    def __init__(self, backend):
        super().__init__()
        self.backend, self.rows = backend, []

    def on_train_batch_end(self, batch, logs=None):
        gc.collect()
        memory = self.backend.memory()
        self.rows.append([memory["arrays"], memory["bytes"], self.backend.dispatches, memory["sync_read_pixels"]])

rng = np.random.default_rng(3)
x = (rng.random((8, 12, 12, 1)) * 255).astype(np.uint8)
y = rng.integers(0, 4, 8).astype(np.int32)

async def fit(name, steps, callbacks=()):
    '''Loss after each of `steps` training steps of the reference network (one batch per epoch).'''
    pb.set_backend(name)
    pb.set_random_seed(7)
    model = pb.zoo.dense_block_cnn(input_shape=(12, 12, 1), classes=4, filters=(4, 6), layers_per_block=2)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = await model.fit_async(x, y, batch_size=8, epochs=steps, shuffle=False, verbose=0,
                                    callbacks=list(callbacks))
    pb.set_backend("numpy")
    return [float(v) for v in history.history["loss"]]
"""


def test_reference_model_trains_on_webgl_like_numpy_without_stalls_or_leaks(page):
    result = page.run(
        NETWORK_FIT
        + r"""
gl.fallback_counts.clear()
probe = Probe(gl)
curves = {"numpy": await fit("numpy", 100), "webgl": await fit("webgl", 200, [probe])}
{"curves": curves, "fallbacks": dict(gl.fallback_counts), "rows": probe.rows}
"""
    )
    numpy_curve, gl_curve = result["curves"]["numpy"], result["curves"]["webgl"][:100]
    assert numpy_curve[-1] < 0.8 * numpy_curve[0], "the reference run did not learn: the test network is broken"
    # float32 on both sides, summed in other orders: a relative 1e-3 after 100 Adam steps, while a wrong
    # gradient changes the curve from the first steps on.
    worst = max(abs(a - b) / (1 + abs(a)) for a, b in zip(numpy_curve, gl_curve))
    assert worst <= 1e-3, (worst, numpy_curve[::10], gl_curve[::10])
    assert result["fallbacks"] == {}, "the reference model should train without falling back to numpy"
    rows = result["rows"]
    assert len(rows) == 200
    (arrays_1, bytes_1, _, _), (arrays_200, bytes_200, _, _) = rows[0], rows[-1]
    assert (arrays_200, bytes_200) == (arrays_1, bytes_1), "texture memory grew over 200 steps"
    assert rows[-1][3] == rows[0][3], "fit read textures back with a blocking readPixels (a stall per read)"
    per_step = [b[2] - a[2] for a, b in zip(rows, rows[1:])]
    print("draws per training step:", sorted(set(per_step)))
    # the same draws every step (one batch per epoch: the epoch's metrics reads add none)
    assert len(set(per_step)) == 1 and per_step[0] > 0, sorted(set(per_step))


def test_a_shader_that_does_not_compile_is_reported_with_the_compiler_message(page):
    message = page.run(r"""
gl.rt.js.addFamily("broken", "//# kernel oops 1 - -\nfloat compute(int i) { return undefined_name; }\n")
gl.rt.program("broken", "oops")
try:
    await gl.rt.ready()
    message = "no error"
except Exception as e:
    message = str(e)
message
""")
    assert "oops does not compile" in message and "undefined_name" in message, message


@pytest.fixture
def lossy_page(check_clean):
    """A page of its own: losing contexts makes the browser log console errors."""
    with Browser() as browser:
        page = browser.new_pyodide_page()
        yield page
        check_clean(browser, [page], allow_console_errors=True)


def test_a_lost_context_makes_every_later_call_raise_device_lost_error(lossy_page):
    result = lossy_page.run(r"""
import numpy as np
from pybrowserml.backends.base import DeviceLostError
from pybrowserml.backends.webgl import create_async

doomed = await create_async()  # a context of its own
a = doomed.upload(np.ones((4, 4), np.float32))
doomed.rt.lose_context_for_test()
out = {}
for what, call in [("kernel", lambda: doomed.run("relu", a)), ("upload", lambda: doomed.upload(np.ones(3))),
                   ("sync download", lambda: doomed.download(a)), ("zeros", lambda: doomed.zeros((2,)))]:
    try:
        call()
        out[what] = "no error"
    except DeviceLostError as e:
        out[what] = [e.backend_name, e.reason]
try:
    await doomed.download_async(a)
    out["download_async"] = "no error"
except DeviceLostError as e:
    out["download_async"] = [e.backend_name, e.reason]
out
""")
    for what in ("kernel", "upload", "sync download", "zeros", "download_async"):
        assert result[what][0] == "webgl" and "lost" in result[what][1], (what, result[what])


def test_a_context_lost_during_a_pending_read_back_ends_it(lossy_page):
    result = lossy_page.run(r"""
import asyncio
import numpy as np
from pybrowserml.backends.base import DeviceLostError
from pybrowserml.backends.webgl import create_async

doomed = await create_async()
a = doomed.run("exp", doomed.upload(np.ones((256, 256), np.float32)))
pending = asyncio.ensure_future(doomed.download_async(a))
doomed.rt.js.gl.getExtension("WEBGL_lose_context").loseContext()
try:
    await asyncio.wait_for(pending, 10)
    outcome = "read"
except DeviceLostError:
    outcome = "lost"
except asyncio.TimeoutError:
    outcome = "hung"
outcome
""")
    assert result in ("read", "lost"), result
