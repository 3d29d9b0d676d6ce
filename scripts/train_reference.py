"""Train the reference model (pybrowserml.zoo.dense_block_cnn) in CPython on the numpy backend.

`python scripts/train_reference.py --dataset fashion-mnist --epochs 12` prints per-epoch loss, accuracy
and time, then the test accuracy, and saves the weights as quantized JSON (and float32 JSON) when the
io module is available. These are the figures quoted in README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import pybrowserml as pb  # noqa: E402
from pybrowserml import data  # noqa: E402


def load(name):
    if name == "fashion-mnist":
        return data.load_fashion_mnist()
    if name == "mnist":
        return data.load_mnist()
    raise SystemExit(f"unknown dataset {name!r}: fashion-mnist or mnist")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cosine", action="store_true", help="cosine-decay the learning rate to 1e-5")
    parser.add_argument("--output", type=Path, default=Path("demo-output"))
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, y_test) = load(args.dataset)
    print(f"{args.dataset}: {x_train.shape} train, {x_test.shape} test", flush=True)
    pb.set_random_seed(args.seed)
    model = pb.zoo.dense_block_cnn(x_train.shape[1:], 10)
    steps = args.epochs * -(-len(x_train) // args.batch_size)
    lr = pb.schedules.CosineDecay(1e-3, steps, alpha=0.01) if args.cosine else 1e-3
    model.compile(optimizer=pb.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    args.output.mkdir(parents=True, exist_ok=True)

    class Report(pb.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.started
            test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=256)
            print(f"epoch {epoch + 1}/{args.epochs}: loss {logs['loss']:.4f} acc {logs['accuracy']:.4f} "
                  f"test acc {test_acc:.4f} ({seconds:.0f} s, {len(x_train) / seconds:.0f} samples/s)", flush=True)
            np.savez(args.output / f"{args.dataset}-weights.npz", *model.get_weights())

    started = time.perf_counter()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, seed=args.seed, verbose=0,
              callbacks=[Report()])
    total = time.perf_counter() - started
    test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=256)
    result = {"dataset": args.dataset, "epochs": args.epochs, "batch_size": args.batch_size, "seconds": total,
              "test_accuracy": test_acc, "test_loss": test_loss}
    print(json.dumps(result), flush=True)
    if hasattr(pb, "io"):
        for quantize in ("uint8", "float32"):
            model.save_json(str(args.output / f"{args.dataset}-{quantize}.json"), quantize=quantize)


if __name__ == "__main__":
    main()
