"""Models: Sequential and functional, with Keras's compile / fit / evaluate / predict / summary.

The training loop lives in one place, `_fit_loop`, read top to bottom. It is a generator so that the
same loop serves `fit` (CPython, runs it straight through) and `await fit_async` (the browser: it yields
to the page's event loop every `yield_every` seconds and awaits callbacks that write to IndexedDB).

Data flows one way: uint8 (or float) batches -> one upload per batch -> forward, backward and ONE
optimizer kernel call on device -> loss and correct-count accumulated on device -> read back only when
logs are due (at most every `log_every` seconds and at epoch end), never in the middle of a step.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import time
import warnings

import numpy as np

from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from . import random as pb_random
from .callbacks.base import CallbackList
from .layers.base import LAYER_CLASSES, Layer, SymbolicTensor, shape_str, unique_name
from .layers.core import InputLayer
from .tensor import Tensor, no_grad
from .validation import as_inputs, as_labels, check_batch_size


def to_float_batch(x: np.ndarray) -> np.ndarray:
    """uint8 pixels become float32 in [0, 1] batch by batch (the dataset stays uint8 in memory)."""
    if x.dtype == np.uint8:
        return x.astype("float32") * np.float32(1.0 / 255.0)
    return x.astype("float32", copy=False)


class Model(Layer):
    """A functional model: `Model(inputs, outputs)` over layers called on `Input(...)` tensors."""

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        super().__init__(name=name or unique_name("functional"), **kwargs)
        self.optimizer = None
        self.loss = None
        self.metrics_names: list[str] = []
        self.compiled_metrics: list = []  # (log name, Metric) pairs from compile(metrics=...)
        self.stop_training = False
        self.history = None
        self._fit_state = None
        self._nodes: list[SymbolicTensor] = []
        if inputs is not None or outputs is not None:
            self._init_graph(inputs, outputs)

    # -- the graph ---------------------------------------------------------------------------------------
    def _init_graph(self, inputs, outputs):
        if isinstance(inputs, (list, tuple)) or isinstance(outputs, (list, tuple)):
            if len(inputs) != 1 or len(outputs) != 1:
                raise NotImplementedError("models with several inputs or outputs are not supported yet")
            inputs, outputs = inputs[0], outputs[0]
        if not isinstance(inputs, SymbolicTensor) or not isinstance(inputs.layer, InputLayer):
            raise TypeError("Model(inputs, outputs): inputs must come from pybrowserml.layers.Input(shape)")
        if not isinstance(outputs, SymbolicTensor):
            raise TypeError("Model(inputs, outputs): outputs must be the result of calling layers on the inputs")
        order, seen = [], set()

        def visit(t):
            if id(t) in seen:
                return
            seen.add(id(t))
            for parent in t.parents:
                visit(parent)
            order.append(t)

        visit(outputs)
        if inputs not in order:
            raise ValueError("Model(inputs, outputs): outputs do not depend on these inputs")
        layers = [t.layer for t in order]
        if len({id(layer) for layer in layers}) != len(layers):
            raise NotImplementedError("a layer used twice in one model (weight sharing) is not supported")
        self._input = inputs
        self._nodes = [t for t in order if t is not inputs]
        self._output = outputs
        self._layers = [t.layer for t in self._nodes]
        self.input_shape = tuple(inputs.shape[1:])
        self.built = True

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @property
    def output_shape(self):
        return tuple(self._output.shape[1:])

    def get_layer(self, name):
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r} in model {self.name!r}")

    def _output_layer(self):
        return self._output.layer

    def ends_in_softmax(self) -> bool:
        check = getattr(self._output_layer(), "ends_in_softmax", None)
        return bool(check and check())

    def call(self, x, training=False, logits=False):
        values = {id(self._input): x}
        for node in self._nodes:
            args = [values[id(p)] for p in node.parents]
            arg = args if isinstance(node.layer, _LIST_INPUT_LAYERS) else args[0]
            if logits and node is self._output:
                values[id(node)] = node.layer.logits(arg, training=training)
            else:
                values[id(node)] = node.layer(arg, training=training)
        return values[id(self._output)]

    def __call__(self, inputs, training=False):
        if isinstance(inputs, SymbolicTensor):
            raise NotImplementedError("calling a model on symbolic inputs (nesting models) is not supported yet")
        if not isinstance(inputs, Tensor):
            inputs = Tensor(to_float_batch(np.asarray(inputs)), backend=self._home_backend())
        return self.call(inputs, training=training)

    def _home_backend(self):
        """Where this model's weights live: batches go there, even if another backend became current
        since the model was built (a batch on another backend would hand its kernels foreign pointers)."""
        for layer in _walk(self.layers):
            if layer._weights:
                return layer._weights[0].backend
        return None  # no weights: the current backend

    # -- compile ---------------------------------------------------------------------------------------
    def compile(self, optimizer="adam", loss=None, metrics=None):
        """Keras's compile. The default optimizer is Adam (learning rate 1e-3)."""
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='sparse_categorical_crossentropy'")
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = losses_module.get(loss)
        if getattr(self.loss, "from_logits", False) and self.built and self.ends_in_softmax():
            warnings.warn(f"model {self.name!r} ends in a softmax (it outputs probabilities) but the loss has "
                          "from_logits=True; use from_logits=False (the default): the softmax is then fused "
                          "into the loss, which is stable", stacklevel=2)
        self.compiled_metrics = []
        for identifier in list(metrics or []):
            metric = metrics_module.get(identifier, self.loss)
            self.compiled_metrics.append((identifier if isinstance(identifier, str) else metric.name, metric))
        # The compiled metric names, as passed (io saves them to re-compile a loaded model).
        self.metrics_names = [name for name, _ in self.compiled_metrics]
        self.compiled = True

    def _require_compiled(self, where):
        if self.optimizer is None or self.loss is None:
            raise RuntimeError(f"{where}: call model.compile(optimizer, loss, metrics) first")

    # -- one step -----------------------------------------------------------------------------------------
    def _upload_batch(self, xb, yb):
        home = self._home_backend()
        x = Tensor(to_float_batch(xb), backend=home)
        y = Tensor(yb, backend=home, dtype=yb.dtype) if yb is not None else None
        return x, y

    def _loss_and_output(self, x, y, training):
        use_logits = (getattr(self.loss, "fuses_softmax", False) and not getattr(self.loss, "from_logits", True)
                      and self.ends_in_softmax())
        out = self.call(x, training=training, logits=use_logits)
        value = self.loss.from_logits_call(y, out) if use_logits else self.loss(y, out)
        return value, out

    def _accumulate(self, totals, value, out, y, n):
        """Running sums on device (metrics' update_state): nothing is read back here."""
        for name, metric in totals:
            if name == "loss":
                metric.update_state(value, n)
            else:
                metric.update_state(y, out)

    def _new_totals(self):
        """Fresh accumulators for one epoch (or one evaluation): the loss mean and each compiled metric."""
        totals = [("loss", metrics_module.Mean("loss"))]
        for name, metric in self.compiled_metrics:
            fresh = copy.copy(metric)
            fresh.reset_state()
            totals.append((name, fresh))
        return totals

    def _read_totals(self, totals, prefix=""):
        """The logs: one scalar download per metric."""
        return {prefix + name: metric.result() for name, metric in totals}

    def train_step(self, xb, yb, totals=None):
        """Forward, backward and one optimizer update on a batch; sums go into `totals` on device."""
        x, y = self._upload_batch(xb, yb)
        trainable = self.trainable_weights
        for v in trainable:
            v.grad = None
        value, out = self._loss_and_output(x, y, training=True)
        value.backward()
        self.optimizer.apply_gradients(trainable)
        if totals is not None:
            self._accumulate(totals, value, out, y, len(xb))
        return value

    def train_on_batch(self, x, y):
        """Keras's train_on_batch: one step, returns the batch loss as a float."""
        self._require_compiled("train_on_batch")
        x = as_inputs(x, self, "train_on_batch")
        y = as_labels(y, x, self, self.loss, "train_on_batch")
        return float(self.train_step(x, y).item())

    # -- fit ----------------------------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=32, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, initial_epoch=0, seed=None, resume=False, log_every=0.1):
        """Keras's fit; returns a History (history.history: loss, metrics, val_*, learning_rate per epoch).

        x: uint8 pixels (scaled to float32 in [0, 1] batch by batch, so the dataset stays uint8 in memory)
        or floats (used as they are). y: int labels (N,) for sparse losses, (N, classes) floats otherwise.
        `seed` fixes the shuffling (the weights come from `pybrowserml.set_random_seed` or the builder's
        seed). `log_every`: seconds between reads of the running loss/metrics for the progress bar.

        Resume: `resume=True` asks the first callback with a `restore(model)` method (e.g.
        pybrowserml.callbacks.BackupAndRestore) to restore weights and optimizer state; it returns None
        (nothing saved: start afresh) or the `model._fit_state` it saved, and fit continues from there
        exactly as the uninterrupted run would have (same weights; the resumed epoch's logged loss and
        metrics average only the batches run after the resume).

        `model._fit_state` (read by checkpoint callbacks, JSON-able) during fit:
            {"epoch": current epoch,
             "step": batches of that epoch done (updated before on_train_batch_end),
             "rng_state": the shuffling Generator's bit_generator.state at the START of the epoch
                          (before its permutation was drawn),
             "next_epoch_rng_state": its state after the permutation (where the next epoch starts; an
                          end-of-epoch backup resumes from it),
             "dropout_states": each Dropout layer's Generator state at the start of the epoch,
             "dropout_states_at_step": the same after `step` batches}
        """
        loop = self._fit_loop(x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                              shuffle, initial_epoch, seed, resume, log_every)
        return _drive(loop, "fit")

    async def fit_async(self, x=None, y=None, batch_size=32, epochs=1, verbose="auto", callbacks=None,
                        validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0, seed=None,
                        resume=False, log_every=0.1, yield_every=0.1):
        """fit for the browser: yields to the page's event loop every `yield_every` seconds (like TF.js's
        yieldEvery) so the page stays responsive, and awaits callbacks that write to IndexedDB."""
        loop = self._fit_loop(x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                              shuffle, initial_epoch, seed, resume, log_every)
        return await _drive_async(loop, yield_every)

    def _fit_loop(self, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                  shuffle, initial_epoch, seed, resume, log_every):
        self._require_compiled("fit")
        batch_size = check_batch_size(batch_size, "fit")
        x = as_inputs(x, self, "fit")
        y = as_labels(y, x, self, self.loss, "fit")
        if not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
        if validation_data is None and validation_split:
            if not 0.0 < validation_split < 1.0:
                raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
            cut = int(len(x) * (1.0 - validation_split))  # Keras takes the last samples, before shuffling
            if cut < 1 or cut == len(x):
                raise ValueError(f"fit: validation_split={validation_split} leaves no samples on one side "
                                 f"of {len(x)}")
            x, y, validation_data = x[:cut], y[:cut], (x[cut:], y[cut:])
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val)")
            val_x = as_inputs(validation_data[0], self, "fit (validation_data)")
            val_y = as_labels(validation_data[1], val_x, self, self.loss, "fit (validation_data)")

        n = len(x)
        steps = -(-n // batch_size)
        rng = np.random.default_rng(seed if seed is not None else pb_random.generator().integers(2**63 - 1))
        cbs = self._callback_list(callbacks, verbose, {"verbose": verbose, "epochs": epochs, "steps": steps,
                                                       "batch_size": batch_size, "samples": n}, history=True)
        self.stop_training = False
        start_epoch, start_step, restored = initial_epoch, 0, None

        yield from _await_all(cbs.call("on_train_begin", {}))
        if resume:
            restored = yield from self._restore_from_checkpoint(cbs)
            if restored is not None:
                start_epoch, start_step = int(restored["epoch"]), int(restored["step"])

        epoch_logs = {}
        for epoch in range(start_epoch, epochs):
            if restored is not None and epoch == start_epoch:
                rng.bit_generator.state = restored["rng_state"]
                self._set_random_states(restored.get("dropout_states"))
            # Everything a checkpoint needs to replay this epoch exactly, captured before drawing from rng.
            self._fit_state = {"epoch": epoch, "step": 0, "rng_state": rng.bit_generator.state,
                               "dropout_states": self._random_states()}
            order = rng.permutation(n) if shuffle else np.arange(n)
            # Where the next epoch starts drawing: an end-of-epoch checkpoint resumes from here.
            self._fit_state["next_epoch_rng_state"] = rng.bit_generator.state
            first_step = start_step if (restored is not None and epoch == start_epoch) else 0
            if first_step:
                self._set_random_states(restored.get("dropout_states_at_step"))
            yield from _await_all(cbs.call("on_epoch_begin", epoch, {}))
            totals = self._new_totals()
            last_read = time.monotonic()
            for step in range(first_step, steps):
                yield from _await_all(cbs.call("on_train_batch_begin", step, {}))
                index = order[step * batch_size:(step + 1) * batch_size]
                self.train_step(x[index], y[index], totals)
                self._fit_state["step"] = step + 1
                self._fit_state["dropout_states_at_step"] = self._random_states()
                batch_logs = {"size": len(index)}
                now = time.monotonic()
                if now - last_read >= log_every or step == steps - 1:
                    batch_logs.update(self._read_totals(totals))  # between steps, never mid-step
                    last_read = now
                yield from _await_all(cbs.call("on_train_batch_end", step, batch_logs))
                yield None  # a point where fit_async may give the page's event loop a turn
                if self.stop_training:
                    break
            epoch_logs = self._read_totals(totals)
            if validation_data is not None:
                val_logs = yield from self._evaluate_batches(val_x, val_y, batch_size, cbs, "val_", log_every)
                epoch_logs.update(val_logs)
            epoch_logs["learning_rate"] = self.optimizer.current_learning_rate()
            yield from _await_all(cbs.call("on_epoch_end", epoch, epoch_logs))
            if self.stop_training:
                break
        yield from _await_all(cbs.call("on_train_end", epoch_logs))
        return cbs.history

    def _restore_from_checkpoint(self, cbs):
        restorers = [c for c in cbs if hasattr(c, "restore")]
        if not restorers:
            raise ValueError("fit(resume=True) needs a checkpoint callback, e.g. "
                             "callbacks=[pybrowserml.callbacks.BackupAndRestore('my-run')]")
        result = restorers[0].restore(self)
        if inspect.isawaitable(result):
            result = yield result
        return result

    def _random_layers(self):
        """Layers drawing from their own generator in training (Dropout, RandomTranslation)."""
        return [layer for layer in _walk(self.layers) if isinstance(getattr(layer, "rng", None), np.random.Generator)]

    def _random_states(self):
        return [layer.rng.bit_generator.state for layer in self._random_layers()]

    def _set_random_states(self, states):
        if states:
            for layer, state in zip(self._random_layers(), states):
                layer.rng.bit_generator.state = state

    # -- evaluate and predict --------------------------------------------------------------------------------------
    def _evaluate_batches(self, x, y, batch_size, cbs, prefix="", log_every=0.1):
        """Generator: the test loop (also fit's validation). Sums stay on device until logs are due."""
        totals = self._new_totals()
        steps = -(-len(x) // batch_size)
        last_read = time.monotonic()
        yield from _await_all(cbs.call("on_test_begin", {}))
        with no_grad():
            for step in range(steps):
                yield from _await_all(cbs.call("on_test_batch_begin", step, {}))
                start = step * batch_size
                xb, yb = self._upload_batch(x[start:start + batch_size], y[start:start + batch_size])
                value, out = self._loss_and_output(xb, yb, training=False)
                self._accumulate(totals, value, out, yb, xb.shape[0])
                batch_logs = {}
                now = time.monotonic()
                if now - last_read >= log_every or step == steps - 1:
                    batch_logs = self._read_totals(totals)
                    last_read = now
                yield from _await_all(cbs.call("on_test_batch_end", step, batch_logs))
                yield None
        logs = self._read_totals(totals, prefix)
        yield from _await_all(cbs.call("on_test_end", self._read_totals(totals)))
        return logs

    def _evaluate_loop(self, x, y, batch_size, verbose, callbacks, return_dict, where):
        self._require_compiled(where)
        batch_size = check_batch_size(batch_size, where)
        x = as_inputs(x, self, where)
        y = as_labels(y, x, self, self.loss, where)
        cbs = self._callback_list(callbacks, verbose, {"verbose": verbose, "epochs": 1,
                                                       "steps": -(-len(x) // batch_size), "batch_size": batch_size})
        logs = yield from self._evaluate_batches(x, y, batch_size, cbs)
        if return_dict:
            return logs
        return logs["loss"] if len(logs) == 1 else list(logs.values())

    def evaluate(self, x=None, y=None, batch_size=32, verbose="auto", callbacks=None, return_dict=False):
        """Keras's evaluate: the loss, or [loss, *metrics] with metrics (a dict with return_dict=True)."""
        return _drive(self._evaluate_loop(x, y, batch_size, verbose, callbacks, return_dict, "evaluate"),
                      "evaluate")

    async def evaluate_async(self, x=None, y=None, batch_size=32, verbose="auto", callbacks=None,
                             return_dict=False, yield_every=0.1):
        """evaluate for the browser: gives the page's event loop a turn every `yield_every` seconds."""
        loop = self._evaluate_loop(x, y, batch_size, verbose, callbacks, return_dict, "evaluate")
        return await _drive_async(loop, yield_every)

    def _predict_loop(self, x, batch_size, verbose, callbacks):
        batch_size = check_batch_size(batch_size, "predict")
        x = as_inputs(x, self, "predict")
        steps = -(-len(x) // batch_size)
        cbs = self._callback_list(callbacks, verbose, {"verbose": verbose, "epochs": 1, "steps": steps,
                                                       "batch_size": batch_size})
        outputs = []
        yield from _await_all(cbs.call("on_predict_begin", {}))
        with no_grad():
            for step in range(steps):
                yield from _await_all(cbs.call("on_predict_batch_begin", step, {}))
                xb = Tensor(to_float_batch(x[step * batch_size:(step + 1) * batch_size]), backend=self._home_backend())
                outputs.append(self.call(xb, training=False).numpy())  # predict's job is to bring data back
                yield from _await_all(cbs.call("on_predict_batch_end", step, {"outputs": outputs[-1]}))
                yield None
        yield from _await_all(cbs.call("on_predict_end", {}))
        return np.concatenate(outputs)

    def predict(self, x, batch_size=32, verbose="auto", callbacks=None) -> np.ndarray:
        """Model outputs for x (probabilities with a softmax head), as one numpy array."""
        return _drive(self._predict_loop(x, batch_size, verbose, callbacks), "predict")

    async def predict_async(self, x, batch_size=32, verbose="auto", callbacks=None, yield_every=0.1) -> np.ndarray:
        """predict for the browser: gives the page's event loop a turn every `yield_every` seconds."""
        return await _drive_async(self._predict_loop(x, batch_size, verbose, callbacks), yield_every)

    def _callback_list(self, callbacks, verbose, params, history=False):
        from .callbacks import default_progress  # the callbacks package imports models lazily

        return CallbackList(callbacks, model=self, add_history=history, progress=default_progress(verbose),
                            params=params)

    # -- weights, summary, config ---------------------------------------------------------------------------------
    def summary(self, print_fn=print) -> str:
        """Prints a table of layers, output shapes and parameter counts, the totals and the weight bytes."""
        rows = [(f"{layer.name} ({type(layer).__name__})", shape_str((None, *shape)), layer.count_params())
                for layer, shape in self._layer_output_shapes()]
        width = max([len(r[0]) for r in rows] + [20]) + 2
        lines = [f'Model: "{self.name}"', f"{'Layer (type)':<{width}}{'Output Shape':<22}{'Param #':>10}",
                 "-" * (width + 32)]
        lines += [f"{name:<{width}}{shape:<22}{count:>10,}" for name, shape, count in rows]
        total = self.count_params()
        trainable = int(sum(np.prod(w.shape) for w in self.trainable_weights))
        lines += ["-" * (width + 32), f"Total params: {total:,} ({_bytes(4 * total)} as float32)",
                  f"Trainable params: {trainable:,}", f"Non-trainable params: {total - trainable:,}"]
        try:
            from .io import quantization_report

            report = quantization_report(self, quantize="uint8")
            lines.append(f"Quantized uint8 JSON: {_bytes(report['quantized_json_bytes'])} vs "
                         f"{_bytes(report['float32_json_bytes'])} as float32 JSON; max |error| "
                         f"{report['max_abs_error']:.2e}, mean |error| {report['mean_abs_error']:.2e}")
        except ImportError:
            pass
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    def _layer_output_shapes(self):
        return [(node.layer, node.shape[1:]) for node in self._nodes]

    def save_json(self, path_or_name, quantize="uint8", **kwargs):
        """Save architecture + weights as (quantized) JSON: a file in CPython, a download in the browser."""
        from .io import save_json

        return save_json(self, path_or_name, quantize=quantize, **kwargs)

    def get_config(self) -> dict:
        layers = []
        for node in self._nodes:
            layers.append({"class_name": type(node.layer).__name__, "config": node.layer.get_config(),
                           "inbound": [p.layer.name for p in node.parents]})
        return {"class_name": "Functional", "config": {
            "name": self.name, "input": {"name": self._input.layer.name, "shape": list(self.input_shape)},
            "layers": layers, "output": self._output.layer.name}}


class Sequential(Model):
    """A plain stack of layers: `Sequential([Input((28, 28, 1)), Conv2D(16, 3), ...])`."""

    def __init__(self, layers=None, name=None, **kwargs):
        super().__init__(name=name or unique_name("sequential"), **kwargs)
        self._stack: list[Layer] = []
        self.input_shape = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, SymbolicTensor) and isinstance(layer.layer, InputLayer):
            if self._stack or self.input_shape is not None:
                raise ValueError("Sequential: Input(...) can only come first")
            self.input_shape = tuple(layer.shape[1:])
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add takes a layer, got {layer!r}")
        self._stack.append(layer)
        self._layers = list(self._stack)
        if self.input_shape is not None:
            self.build(self.input_shape)

    @property
    def layers(self):
        return list(self._stack)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._stack:
            layer._ensure_built(shape)
            shape = layer.compute_output_shape(shape)
        self.input_shape = tuple(input_shape)
        self.built = True

    @property
    def output_shape(self):
        if self.input_shape is None:
            raise ValueError(f"model {self.name!r} has no input shape yet: start it with Input(shape)")
        shape = self.input_shape
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return tuple(shape)

    def _output_layer(self):
        return self._stack[-1]

    def _layer_output_shapes(self):
        shape, rows = self.input_shape, []
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
            rows.append((layer, shape))
        return rows

    def call(self, x, training=False, logits=False):
        if not self._stack:
            raise ValueError(f"model {self.name!r} has no layers")
        if self.input_shape is None:
            self.build(x.shape[1:])
        for layer in self._stack[:-1]:
            x = layer(x, training=training)
        last = self._stack[-1]
        return last.logits(x, training=training) if logits else last(x, training=training)

    def ends_in_softmax(self) -> bool:
        check = getattr(self._stack[-1], "ends_in_softmax", None) if self._stack else None
        return bool(check and check())

    def get_config(self) -> dict:
        return {"class_name": "Sequential", "config": {
            "name": self.name, "input_shape": list(self.input_shape) if self.input_shape else None,
            "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()} for layer in self._stack]}}


def model_from_config(config: dict) -> Model:
    """Rebuild a model (fresh weights) from `model.get_config()`; JSON-safe, no code execution.

    The config format (stable: io writes it into saved JSON files):
        Sequential: {"class_name": "Sequential", "config": {"name", "input_shape": [h, w, c] | None,
                     "layers": [{"class_name": "Conv2D", "config": {...layer.get_config()}}, ...]}}
        Functional: {"class_name": "Functional", "config": {"name", "input": {"name", "shape"},
                     "layers": [{"class_name", "config", "inbound": [names of the parent layers]}, ...]
                                 (in topological order), "output": name of the output layer}}
    Layer class names are Keras's (Conv2D, DepthwiseConv2D, SeparableConv2D, Dense, Flatten, Dropout,
    Activation, ReLU, ReLU6, Softmax, Concatenate, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
    BatchNormalization) plus DenseBlock; each layer config holds the layer's constructor arguments.
    """
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ValueError("model config must be a dict with 'class_name' and 'config'")
    body = config["config"]

    def make(entry):
        cls = LAYER_CLASSES.get(entry.get("class_name"))
        if cls is None or cls in (Model, Sequential) or not issubclass(cls, Layer):
            raise ValueError(f"unknown layer class {entry.get('class_name')!r} in model config")
        return cls.from_config(dict(entry["config"]))

    if config["class_name"] == "Sequential":
        from .layers.core import Input

        model = Sequential(name=body["name"])
        if body.get("input_shape"):
            model.add(Input(tuple(body["input_shape"])))
        for entry in body["layers"]:
            model.add(make(entry))
        return model
    if config["class_name"] == "Functional":
        from .layers.core import Input

        inputs = Input(tuple(body["input"]["shape"]), name=body["input"]["name"])
        tensors = {body["input"]["name"]: inputs}
        for entry in body["layers"]:
            layer = make(entry)
            parents = [tensors[name] for name in entry["inbound"]]
            tensors[layer.name] = layer(parents if isinstance(layer, _LIST_INPUT_LAYERS) else parents[0])
        return Model(inputs, tensors[body["output"]], name=body["name"])
    raise ValueError(f"unknown model class {config['class_name']!r}: expected 'Sequential' or 'Functional'")


# -- helpers -------------------------------------------------------------------------------------------------------

from .layers.core import Concatenate  # noqa: E402

_LIST_INPUT_LAYERS = (Concatenate,)


def _walk(layers):
    for layer in layers:
        yield layer
        yield from _walk(layer._layers)


def _bytes(n):
    return f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.2f} MiB"


def _await_all(pending):
    """Inside the loop generator: hand every awaitable to the driver (fit_async awaits, fit refuses)."""
    for awaitable in pending:
        yield awaitable


def _drive(loop, where):
    value = None
    try:
        while True:
            item = loop.send(value)
            value = None
            if item is not None:
                if hasattr(item, "close"):
                    item.close()  # a coroutine we will not run: close it so Python does not warn
                raise RuntimeError(f"{where}: a callback returned an awaitable (e.g. a checkpoint written to "
                                   f"IndexedDB); use `await model.{where}_async(...)` instead")
    except StopIteration as stop:
        return stop.value


_YIELD_SECONDS = 0.001


async def _drive_async(loop, yield_every):
    value = None
    last_yield = time.monotonic()
    while True:
        try:
            item = loop.send(value)
        except StopIteration as stop:
            return stop.value
        value = None
        if item is not None:
            value = await item
            last_yield = time.monotonic()
        elif time.monotonic() - last_yield >= yield_every:
            # A real timer, not sleep(0): Pyodide schedules 0-delay callbacks through a message channel, which
            # Chromium runs ahead of the page's timers (a 20 ms setInterval fired only every ~250 ms).
            await asyncio.sleep(_YIELD_SECONDS)
            last_yield = time.monotonic()
