"""Train the reference model (pybrowserml.zoo.dense_block_cnn, 49,018 params) in CPython on the numpy backend.

    python scripts/train_reference.py --dataset fashion-mnist --epochs 12
    python scripts/train_reference.py --epochs 12 --cosine          # cosine-decay the learning rate
    python scripts/train_reference.py --epochs 12 --drop-at 8 10    # divide it by 10 at epochs 8 and 10
    python scripts/train_reference.py --dataset mnist --epochs 30 --lr 3e-3 --cosine --shift 2
                                       # RandomTranslation: shift each training image by up to 2 pixels

Prints per-epoch loss, accuracy, test accuracy and time, then one JSON line with the final figures, and
saves the weights (npz each epoch; quantized and float32 JSON at the end when pybrowserml.io is there).
Datasets come from pybrowserml.data (Fashion-MNIST from Debian's dataset-fashion-mnist package); if that
module is missing, the IDX .gz files are read directly. Pixels stay uint8 and are scaled per batch.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import pybrowserml as pb  # noqa: E402

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


def read_idx_gz(path: Path) -> np.ndarray:
    """IDX format: 2 zero bytes, a dtype code (0x08 = uint8), the rank, big-endian int32 dims, the data."""
    raw = gzip.decompress(path.read_bytes())
    if raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise SystemExit(f"{path}: not an IDX file of uint8")
    rank = raw[3]
    dims = np.frombuffer(raw, ">i4", rank, 4)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * rank).reshape(dims)


def load_fashion_mnist_idx():
    def split(prefix):
        x = read_idx_gz(FASHION_MNIST_DIR / f"{prefix}-images-idx3-ubyte.gz")[..., None]
        y = read_idx_gz(FASHION_MNIST_DIR / f"{prefix}-labels-idx1-ubyte.gz").astype("int32")
        return x, y

    return split("train"), split("t10k")


def load(name):
    try:
        from pybrowserml import data
    except ImportError:
        data = None
    if name == "fashion-mnist":
        return data.load_fashion_mnist() if data is not None else load_fashion_mnist_idx()
    if name == "mnist" and data is not None:
        return data.load_mnist()
    raise SystemExit(f"unknown or unavailable dataset {name!r}: use fashion-mnist (or mnist with pybrowserml.data)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", "--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="train on the first N samples only")
    parser.add_argument("--cosine", action="store_true", help="cosine-decay the learning rate to 1%%")
    parser.add_argument(
        "--drop-at",
        type=int,
        nargs="*",
        default=[],
        help="epochs (1-based) at which the learning rate is divided by 10",
    )
    parser.add_argument(
        "--shift",
        type=int,
        default=0,
        help="augment: shift each training image by up to N pixels (RandomTranslation, zero fill)",
    )
    parser.add_argument("--output", type=Path, default=Path("demo-output"))
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, y_test) = load(args.dataset)
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    print(f"{args.dataset}: {x_train.shape} train, {x_test.shape} test; {pb.get_backend().name} backend", flush=True)
    height, width = x_train.shape[1:3]
    augmentation = (
        [
            pb.layers.RandomTranslation(
                args.shift / height, args.shift / width, fill_mode="constant", seed=args.seed, name="shift"
            )
        ]
        if args.shift
        else []
    )
    model = pb.zoo.dense_block_cnn(x_train.shape[1:], 10, seed=args.seed, augmentation=augmentation)
    steps = args.epochs * -(-len(x_train) // args.batch_size)
    lr = pb.schedules.CosineDecay(args.learning_rate, steps, alpha=0.01) if args.cosine else args.learning_rate
    model.compile(optimizer=pb.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    args.output.mkdir(parents=True, exist_ok=True)

    class Report(pb.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch + 1 in args.drop_at and not args.cosine:
                model.optimizer.learning_rate = model.optimizer.learning_rate / 10
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.started
            test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
            print(
                f"epoch {epoch + 1}/{args.epochs}: loss {logs['loss']:.4f} acc {logs['accuracy']:.4f} "
                f"test loss {test_loss:.4f} test acc {test_acc:.4f} lr {logs['learning_rate']:.2e} "
                f"({seconds:.0f} s, {len(x_train) / seconds:.0f} samples/s)",
                flush=True,
            )
            np.savez(args.output / f"{args.dataset}-weights.npz", *model.get_weights())

    started = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        seed=args.seed,
        verbose=0,
        callbacks=[Report()],
    )
    total = time.perf_counter() - started
    test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    result = {
        "dataset": args.dataset,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "shift": args.shift,
        "learning_rate": args.learning_rate,
        "cosine": args.cosine,
        "seconds": round(total),
        "test_accuracy": test_acc,
        "test_loss": test_loss,
        "params": model.count_params(),
    }
    print(json.dumps(result), flush=True)
    try:
        for quantize in ("uint8", "float32"):
            model.save_json(str(args.output / f"{args.dataset}-{quantize}.json"), quantize=quantize)
    except ImportError as error:
        print(f"weights not saved as JSON ({error}); the npz is in {args.output}", flush=True)


if __name__ == "__main__":
    main()
