# The demo's training script: what a user would write in their own page. It runs inside Pyodide.
# The page passes settings in `demo_settings` (a dict) and reads progress from the DOM.
import time

import pybrowserml as pb
from pybrowserml import data, zoo

# One epoch at Adam 3e-3 reaches ~82% on Fashion-MNIST; at Keras's 1e-3 this network starts slowly (~77%).
settings = dict(
    epochs=1, train_samples=60000, batch_size=32, backend="auto", seed=0, quantize="uint8", learning_rate=3e-3
)
settings.update(globals().get("demo_settings", {}))


def log(message):
    print(f"[demo] {message}", flush=True)


backend = settings["backend"]
if backend == "auto":
    backend = "wasm" if "wasm" in pb.available_backends() else "numpy"
try:
    await pb.set_backend_async(backend)
except Exception as error:  # the page still trains, just slower
    log(f"backend {backend!r} unavailable ({error}); training on numpy")
    backend = "numpy"
    await pb.set_backend_async("numpy")
log(f"backend: {backend}")

started = time.perf_counter()
(x_train, y_train), (x_test, y_test) = await data.load_fashion_mnist_async()
log(f"Fashion-MNIST: {len(x_train)} train / {len(x_test)} test images in {time.perf_counter() - started:.1f} s")
x_train, y_train = x_train[: settings["train_samples"]], y_train[: settings["train_samples"]]

pb.set_random_seed(settings["seed"])
model = zoo.dense_block_cnn(input_shape=(28, 28, 1), classes=10)
model.compile(
    optimizer=pb.optimizers.Adam(settings["learning_rate"]),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
log(f"model: dense_block_cnn, {model.count_params()} parameters")


class ConsoleProgress(pb.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        log(f"epoch {epoch + 1}: " + ", ".join(f"{k}={v:.4f}" for k, v in (logs or {}).items()))


started = time.perf_counter()
history = await model.fit_async(
    x_train,
    y_train,
    batch_size=settings["batch_size"],
    epochs=settings["epochs"],
    validation_split=0.0,
    shuffle=True,
    seed=settings["seed"],
    verbose=1,
    callbacks=[ConsoleProgress()],
)
seconds = time.perf_counter() - started
log(
    f"trained {settings['epochs']} epoch(s) on {len(x_train)} images in {seconds:.1f} s "
    f"({settings['epochs'] * len(x_train) / seconds:.0f} samples/s)"
)

test_loss, test_accuracy = await model.evaluate_async(x_test, y_test, batch_size=256)
log(f"test accuracy: {test_accuracy:.4f}")

saved = model.save_json("fashion-mnist-dense-block-cnn.json", quantize=settings["quantize"])
log(f"saved quantized JSON: {saved}")
demo_result = {
    "backend": backend,
    "test_accuracy": float(test_accuracy),
    "seconds": seconds,
    "samples_per_second": settings["epochs"] * len(x_train) / seconds,
}
