"""Measure what quantized JSON costs: file size vs float32 JSON and test accuracy lost (Fashion-MNIST or MNIST).

    python scripts/check_quantization.py --weights demo-output/fashion-mnist-weights.npz   # trained by train_reference.py
    python scripts/check_quantization.py --model demo-output/fashion-mnist-float32.json    # or a saved model
    python scripts/check_quantization.py --epochs 1 --limit 6000                           # or train one here

For each encoding (uint8 per channel, uint8 per tensor, uint16, float16) the model is saved to bytes,
loaded back with pybrowserml.load_json (the same path a user takes) and evaluated on the 10,000 test
images. Prints a table, then one JSON line with the figures. Targets: uint8 per channel <= 30% of the
float32 JSON and <= 0.5 accuracy points lost.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import pybrowserml as pb  # noqa: E402
from pybrowserml.io import encode_model, load_json  # noqa: E402

VARIANTS = [("uint8", True), ("uint8", False), ("uint16", True), ("float16", True)]


def load_dataset(name):
    try:
        from pybrowserml import data

        return data.load_fashion_mnist() if name == "fashion-mnist" else data.load_mnist()
    except ImportError as error:
        if name != "fashion-mnist":
            raise SystemExit(f"--dataset {name} needs pybrowserml.data") from error
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from train_reference import load_fashion_mnist_idx

        return load_fashion_mnist_idx()


def get_model(args, x_train, y_train):
    if args.model:
        return load_json(args.model)
    model = pb.zoo.dense_block_cnn((28, 28, 1), 10)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    if args.weights:
        with np.load(args.weights, allow_pickle=False) as archive:
            model.set_weights([archive[f"arr_{i}"] for i in range(len(archive.files))])
    else:
        pb.set_random_seed(args.seed)
        limit = args.limit or len(x_train)
        model.fit(x_train[:limit], y_train[:limit], epochs=args.epochs, batch_size=32, seed=args.seed, verbose=1)
    return model


def accuracy(model, x, y):
    return float((model.predict(x, batch_size=500, verbose=0).argmax(1) == y).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--weights", type=Path, help="an .npz of model.get_weights() (scripts/train_reference.py)")
    source.add_argument("--model", type=Path, help="a model saved with save_json")
    parser.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "mnist"])
    parser.add_argument("--epochs", type=int, default=1, help="when training here")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N samples only")
    parser.add_argument("--test-limit", type=int, default=None, help="evaluate on the first N test images only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, y_test) = load_dataset(args.dataset)
    if args.test_limit:
        x_test, y_test = x_test[: args.test_limit], y_test[: args.test_limit]
    model = get_model(args, x_train, y_train)
    reference = accuracy(model, x_test, y_test)
    float32_bytes, _ = encode_model(model, "float32")
    print(
        f"{args.dataset}, float32 JSON: {len(float32_bytes):,} bytes, test accuracy {100 * reference:.2f}% "
        f"on {len(y_test):,} images"
    )
    rows = []
    for quantize, per_channel in VARIANTS:
        data, report = encode_model(model, quantize, per_channel)
        acc = accuracy(load_json(data), x_test, y_test)
        rows.append(
            {
                "quantize": quantize,
                "per_channel": per_channel,
                "bytes": len(data),
                "ratio": round(len(data) / len(float32_bytes), 4),
                "test_accuracy": acc,
                "accuracy_loss_points": round(100 * (reference - acc), 3),
                "max_abs_error": report["max_abs_error"],
                "mean_abs_error": report["mean_abs_error"],
            }
        )
        r = rows[-1]
        print(
            f"{quantize:>8} {'per channel' if per_channel else 'per tensor ':>11}: {len(data):>9,} bytes "
            f"({100 * r['ratio']:.1f}% of float32), test accuracy {100 * acc:.2f}% "
            f"({r['accuracy_loss_points']:+.2f} points lost), max |error| {r['max_abs_error']:.2e}",
            flush=True,
        )
    print(
        json.dumps(
            {
                "dataset": args.dataset,
                "float32_json_bytes": len(float32_bytes),
                "float32_test_accuracy": reference,
                "test_images": int(len(y_test)),
                "variants": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
