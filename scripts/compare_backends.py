"""Issue 5's accuracy check: train the reference model on Fashion-MNIST with the same seed and epochs on
the numpy backend in CPython and on the wasm backend in headless Chromium, and compare test accuracy.

    .build/venv/bin/python scripts/compare_backends.py --epochs 3

Adam(LR) decays to 1% along a cosine over the run (like scripts/train_reference.py --cosine): float32
sums in another order send the two runs down slightly different paths, and at a constant rate the last
steps' noise decides the final accuracy by up to a point; a decayed rate lets both settle.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SCRIPT = """
import pybrowserml as pb
(x, y), (x_test, y_test) = {load}
pb.set_random_seed(SEED)
model = pb.zoo.dense_block_cnn((28, 28, 1), 10)
steps = EPOCHS * -(-len(x) // 32)
model.compile(pb.optimizers.Adam(pb.schedules.CosineDecay(LR, steps, alpha=0.01)), "sparse_categorical_crossentropy",
              metrics=["accuracy"])
{fit}
"""


def run_cpython(args, out):

    import pybrowserml as pb

    namespace = {"SEED": args.seed, "LR": args.lr, "EPOCHS": args.epochs}
    code = SCRIPT.format(
        load="pb.data.load_fashion_mnist()",
        fit="model.fit(x, y, batch_size=32, epochs=EPOCHS, seed=SEED, verbose=0)\n"
        "result = model.evaluate(x_test, y_test, batch_size=256, verbose=0)",
    )
    pb.set_backend("numpy")
    exec(code, namespace)
    out["numpy (CPython)"] = namespace["result"][1]


def run_page(args, out):
    from harness import Browser

    with Browser() as browser:
        page = browser.new_pyodide_page()
        code = (
            f"SEED, LR, EPOCHS = {args.seed}, {args.lr}, {args.epochs}\n"
            "import pybrowserml as pb\nawait pb.set_backend_async('wasm')\n"
            + SCRIPT.format(
                load="await pb.data.load_fashion_mnist_async()",
                fit="await model.fit_async(x, y, batch_size=32, epochs=EPOCHS, seed=SEED, verbose=0)\n"
                "result = await model.evaluate_async(x_test, y_test, batch_size=256, verbose=0)",
            )
            + "\nresult[1]"
        )
        out["wasm (Chromium)"] = page.run(code)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = {}
    # CPython trains in a thread while the page trains; Playwright's sync API stays on the main thread.
    cpython = threading.Thread(target=run_cpython, args=(args, out))
    cpython.start()
    run_page(args, out)
    cpython.join()
    out["difference_points"] = round(100 * abs(out["numpy (CPython)"] - out["wasm (Chromium)"]), 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
