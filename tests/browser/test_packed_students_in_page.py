"""Packed students on the wasm backend in the page: distill's packed path (grouped dense kernels in C) trains
the students to the weights they get apart, with no kernel falling back to numpy."""

SCRIPT = """
import numpy as np
import pybrowserml as pb
from pybrowserml.compression import distill_async

await pb.set_backend_async("wasm")
backend = pb.get_backend()
rng = np.random.default_rng(0)
x = rng.integers(0, 256, (64, 28, 28, 1)).astype(np.uint8)
y = rng.integers(0, 10, 64).astype("int32")
teacher = pb.zoo.dense_block_cnn(alpha=0.5, seed=1)


def students(tag):
    made = [pb.zoo.dense_block_cnn(alpha=a, seed=10 + i, name=f"{tag}{a}") for i, a in enumerate((0.25, 0.35, 0.5))]
    for s in made:
        s.compile(pb.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    return made


apart, packed = students("a"), students("p")
alone = await distill_async(apart, teacher, x, y, epochs=2, batch_size=16, seed=3, packed=False)
calls = {}
original = dict(backend.kernels)


def counted(name, fn):
    def run(*args, **attrs):
        calls[name] = calls.get(name, 0) + 1
        return fn(*args, **attrs)
    return run


backend.kernels.update({k: counted(k, f) for k, f in original.items()})
backend.fallback_counts.clear()
try:
    together = await distill_async(packed, teacher, x, y, epochs=2, batch_size=16, seed=3)
finally:
    backend.kernels.update(original)
errors = [
    max(float(np.max(np.abs(u - v)) / (1 + np.max(np.abs(u)))) for u, v in zip(a.get_weights(), p.get_weights()))
    for a, p in zip(apart, packed)
]
{
    "errors": errors,
    "losses": [[alone["loss"][a.name], together["loss"][p.name]] for a, p in zip(apart, packed)],
    "calls": calls,
    "fallbacks": dict(backend.fallback_counts),
}
"""


def test_packed_students_train_on_wasm_to_the_weights_they_get_apart(pyodide_page):
    r = pyodide_page.run(SCRIPT)
    steps = 2 * 64 // 16
    # one grouped product per 1x1 conv and head (9 layers) and direction, for all three students at once
    assert r["calls"].get("grouped_dense") == 9 * steps
    assert r["calls"].get("grouped_dense_grad_input") == r["calls"].get("grouped_dense_grad_filter") == 9 * steps
    assert r["calls"].get("adam_update") == steps, "one optimizer step for every student"
    assert not {k for k in r["fallbacks"] if k.startswith("grouped")}, r["fallbacks"]
    assert max(r["errors"]) < 1e-4, r["errors"]
    for alone, together in r["losses"]:
        assert all(abs(a - b) <= 1e-5 * (1 + abs(a)) for a, b in zip(alone, together)), (alone, together)
