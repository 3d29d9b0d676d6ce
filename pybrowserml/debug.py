"""Debugging helpers: "can this model overfit a handful of samples?" and finite-difference gradient checks.

- ``overfit_check(model, x, y)`` trains the compiled model on its first `n` samples and reports whether
  the training loss goes near zero, with likely causes when it does not. The user's model is left as
  it was: its weights, optimizer state and learning rate are snapshotted and restored afterwards.
- ``gradient_check(layer_or_fn, inputs)`` compares autograd gradients with central finite differences,
  for a layer (w.r.t. its inputs and trainable weights), a loss ``f(y_true, y_pred)`` (w.r.t. y_pred)
  or any function of tensors. It computes in float64 on the numpy backend by default.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from dataclasses import dataclass, field

import numpy as np

from . import ops
from .tensor import Tensor, no_grad
from .training import random_states, set_random_states

# -- overfit_check ---------------------------------------------------------------------------------


@dataclass
class OverfitResult:
    """What overfit_check found. ``passed`` is True when the training loss fell to `threshold` or below."""

    passed: bool
    initial_loss: float
    final_loss: float
    steps: int
    message: str
    losses: list = field(default_factory=list)

    def __str__(self):
        return self.message


def _first(data, n):
    if isinstance(data, (list, tuple)):
        return type(data)(_first(d, n) for d in data)
    if isinstance(data, dict):
        return {k: _first(v, n) for k, v in data.items()}
    return np.asarray(data)[:n]


def _num_samples(data):
    if isinstance(data, (list, tuple)):
        return _num_samples(data[0])
    if isinstance(data, dict):
        return _num_samples(next(iter(data.values())))
    return len(data)


def _zeroed(state):
    """An optimizer state with the same shapes as `state` but fresh: step 0 and zero slots."""
    return {
        "iterations": 0,
        "slots": {name: [np.zeros_like(a) for a in arrays] for name, arrays in state.get("slots", {}).items()},
    }


@contextlib.contextmanager
def preserved_training_state(model):
    """Snapshot what training changes and restore it on exit: weights, optimizer state (step and slots),
    learning rate, ``model.history``, ``stop_training`` and the dropout layers' random generators."""
    optimizer = getattr(model, "optimizer", None)
    weights = model.get_weights()
    get_state = getattr(optimizer, "get_state", None)
    opt_state = get_state() if callable(get_state) else None
    learning_rate = getattr(optimizer, "learning_rate", None)
    history = getattr(model, "history", None)
    stop_training = getattr(model, "stop_training", False)
    random_layers = model.random_layers() if hasattr(model, "random_layers") else []
    dropout_states = random_states(random_layers)
    try:
        yield
    finally:
        model.set_weights(weights)
        if opt_state is not None:
            if not opt_state.get("slots") and optimizer.get_state().get("slots"):
                # The optimizer had never stepped: training built its slots, so reset them to what a fresh
                # optimizer starts from (zeros at step 0) rather than leaving the trial run's moments.
                opt_state = _zeroed(optimizer.get_state())
            optimizer.set_state(opt_state)
        if learning_rate is not None:
            optimizer.learning_rate = learning_rate
        model.history = history
        model.stop_training = stop_training
        set_random_states(random_layers, dropout_states)


def _loss_name(model) -> str:
    loss = getattr(model, "loss", None)
    if loss is None:
        return ""
    if isinstance(loss, str):
        return loss.lower()
    return (getattr(loss, "name", None) or type(loss).__name__ or "").lower()


def _num_classes(y):
    y = np.asarray(y)
    if y.ndim >= 2 and y.shape[-1] > 1:
        return int(y.shape[-1])
    if y.dtype.kind in "iu" or (y.size and np.all(np.mod(y, 1) == 0)):
        return int(y.max()) + 1 if y.size else None
    return None


def _diagnose(losses, threshold, model, x, y, epochs):
    initial, final = losses[0], losses[-1]
    if not all(math.isfinite(v) for v in losses):
        step = next(i for i, v in enumerate(losses) if not math.isfinite(v))
        return (
            f"FAILED: the loss became {losses[step]} at step {step + 1}. Likely causes: a learning rate that "
            "is too high, inputs that are not scaled (e.g. raw 0-255 pixels) or contain NaN/inf, or a "
            "log of zero (probabilities fed to a loss that expects logits)."
        )
    if final <= threshold:
        return (
            f"passed: the training loss fell from {initial:.4g} to {final:.4g} (<= {threshold}) in "
            f"{len(losses)} steps on {_num_samples(x)} samples."
        )
    hints = []
    name = _loss_name(model)
    classes = _num_classes(y) if "crossentropy" in name else None
    if classes and classes > 1 and initial > 3 * math.log(classes):
        hints.append(
            f"the initial loss {initial:.3g} is far above ln({classes}) = {math.log(classes):.3g} "
            "expected from an untrained classifier: check from_logits against the output activation, "
            "the label format (sparse vs one-hot) and the weight initialisation"
        )
    if final >= 0.9 * initial:
        hints += [
            "the loss barely moved: the learning rate may be far too low (or so high that it diverges), "
            "weights may be frozen (trainable=False) or disconnected from the output, or the labels do "
            "not match the loss (sparse labels with categorical_crossentropy, or the reverse)",
            "inputs that are not normalised (e.g. 0-255 pixels) also stall training",
        ]
    else:
        hints.append(
            f"the loss went down ({initial:.4g} -> {final:.4g}) but not to {threshold}: train longer "
            f"(epochs > {epochs}), raise the learning rate, reduce regularisation (dropout, weight "
            "decay, noise layers) or use a larger model"
        )
    return (
        f"FAILED: the training loss went from {initial:.4g} to {final:.4g} in {len(losses)} steps on "
        f"{_num_samples(x)} samples, above the threshold {threshold}. Likely causes: " + "; ".join(hints) + "."
    )


def overfit_check(model, x, y, n=20, epochs=200, threshold=0.05, batch_size=None):
    """Check that a compiled model can drive its training loss near zero on `n` samples.

    A model that cannot memorise 20 samples has a bug (wrong loss/label pairing, frozen or disconnected
    weights, a bad learning rate, unscaled inputs) that more data will not fix. The model is trained in
    place, then its weights, optimizer state and learning rate are restored, so the caller's model is
    unchanged afterwards. Training stops as soon as the loss reaches `threshold`.

    Args:
        model: a compiled model (``fit`` / ``get_weights`` / ``set_weights``).
        x, y: training data; the first `n` samples are used.
        n: number of samples to memorise.
        epochs: maximum number of epochs (one full-batch step each unless `batch_size` is given).
        threshold: the training loss counted as "near zero".
        batch_size: defaults to `n` (full-batch steps, deterministic).

    Returns:
        OverfitResult(passed, initial_loss, final_loss, steps, message, losses), where the losses are
        the per-epoch training losses (training mode: dropout active).
    """
    from .callbacks import LambdaCallback

    if getattr(model, "optimizer", None) is None:
        raise ValueError("overfit_check needs a compiled model: call model.compile(optimizer=..., loss=...) first")
    if n < 1 or epochs < 1:
        raise ValueError(f"overfit_check needs n >= 1 and epochs >= 1, got n={n}, epochs={epochs}")
    available = _num_samples(x)
    if _num_samples(y) != available:
        raise ValueError(f"x has {available} samples but y has {_num_samples(y)}")
    n = min(n, available)
    xs, ys = _first(x, n), _first(y, n)
    batch_size = batch_size or n
    losses = []

    def record(epoch, logs):
        loss = float(logs["loss"])
        losses.append(loss)
        if loss <= threshold or not math.isfinite(loss):
            model.stop_training = True

    with preserved_training_state(model):
        # No shuffling and a fixed seed: the trial run draws nothing from the global random generator.
        model.fit(
            xs,
            ys,
            epochs=epochs,
            batch_size=batch_size,
            verbose=0,
            shuffle=False,
            seed=0,
            callbacks=[LambdaCallback(on_epoch_end=record)],
        )
    if not losses:
        raise RuntimeError("overfit_check: fit() ran no epoch, so there is no loss to judge")
    steps_per_epoch = math.ceil(n / batch_size)
    message = _diagnose(losses, threshold, model, xs, ys, epochs)
    return OverfitResult(
        passed=math.isfinite(losses[-1]) and losses[-1] <= threshold,
        initial_loss=losses[0],
        final_loss=losses[-1],
        steps=len(losses) * steps_per_epoch,
        message=message,
        losses=losses,
    )


# -- gradient_check --------------------------------------------------------------------------------


@dataclass
class TensorCheck:
    """Autograd vs finite differences for one tensor (an input or a weight)."""

    name: str
    shape: tuple
    checked: int
    max_abs_error: float
    max_rel_error: float
    passed: bool


@dataclass
class GradientCheckResult:
    passed: bool
    tensors: list
    dtype: str
    eps: float
    rtol: float

    @property
    def max_rel_error(self) -> float:
        return max((t.max_rel_error for t in self.tensors), default=0.0)

    def __str__(self):
        lines = [
            f"gradient check ({self.dtype}, eps={self.eps:g}, rtol={self.rtol:g}): "
            + ("passed" if self.passed else "FAILED")
        ]
        for t in self.tensors:
            lines.append(
                f"  {'ok  ' if t.passed else 'FAIL'} {t.name} {t.shape}: max rel error "
                f"{t.max_rel_error:.2e}, max abs error {t.max_abs_error:.2e} ({t.checked} elements)"
            )
        return "\n".join(lines)


def _is_loss(fn) -> bool:
    """Losses are called as f(y_true, y_pred): recognised by those parameter names."""
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False
    return params[:2] == ["y_true", "y_pred"]


def _layer_variables(layer):
    weights = getattr(layer, "trainable_weights", None)
    if weights is None:
        weights = [w for w in getattr(layer, "weights", []) if getattr(w, "trainable", True)]
    return list(weights)


@contextlib.contextmanager
def _weights_as(variables, dtype, also_restore=()):
    """Temporarily hold `variables` in `dtype` (float64 checks of float32 layers); on exit put back the
    original arrays of those and of `also_restore` (state that calls may replace, e.g. moving statistics).

    This swaps the device array behind each Variable, which only a backend that stores float64 (numpy)
    supports; the original arrays and dtypes come back untouched.
    """
    saved = [(v, v.data, v.dtype, v.grad) for v in [*variables, *also_restore]]
    try:
        for v in variables:
            if v.dtype != dtype:
                v.data = v.backend.upload(v.backend.download(v.data).astype(dtype))
                v.dtype = np.dtype(dtype)
            v.grad = None
        yield
    finally:
        for v, data, old_dtype, grad in saved:
            v.data, v.dtype, v.grad = data, old_dtype, grad


def _sample_indices(size, max_checks, rng):
    if size <= max_checks:
        return np.arange(size)
    return np.sort(rng.choice(size, size=max_checks, replace=False))


def gradient_check(
    fn_or_layer,
    inputs,
    eps=None,
    rtol=None,
    atol=None,
    dtype="float64",
    wrt=None,
    max_checks=200,
    seed=0,
    **call_kwargs,
):
    """Compare autograd gradients of `fn_or_layer` with central finite differences.

    The (possibly non-scalar) output is reduced to ``sum(output * r)`` with a fixed random `r`, so every
    output element contributes. For each checked element the relative error is
    ``|autograd - numeric| / max(|autograd|, |numeric|, atol)``.

    Args:
        fn_or_layer: a layer (checked w.r.t. its inputs and trainable weights; built by the first call),
            a loss ``f(y_true, y_pred)`` (checked w.r.t. y_pred), or any function of Tensors.
        inputs: one array, or a list/tuple of arrays passed as positional arguments.
        eps: finite-difference step; 1e-6 in float64, 1e-3 in float32.
        rtol: largest relative error that passes; 1e-5 in float64, 2e-2 in float32.
        atol: floor of the error denominator, so gradients near zero compare absolutely;
            1e-6 in float64, 1e-3 in float32.
        dtype: "float64" (numpy backend only, the precise check) or "float32" (any backend).
        wrt: indices of the positional inputs to check (default: all float inputs; y_pred for losses).
        max_checks: elements per tensor checked (a seeded random subset of bigger tensors).
        seed: seeds the projection `r` and the element subset.
        **call_kwargs: passed to every call (e.g. ``training=False``).

    Non-differentiable points (ReLU at exactly 0, ties in max-pooling) and random layers (dropout in
    training mode) do not have matching finite differences: check those with inputs away from kinks and
    with randomness off.

    Returns:
        GradientCheckResult with one TensorCheck per checked tensor and an overall ``passed``.
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"gradient_check dtype must be float32 or float64, got {dtype}")
    precise = dtype == np.float64
    eps = eps if eps is not None else (1e-6 if precise else 1e-3)
    rtol = rtol if rtol is not None else (1e-5 if precise else 2e-2)
    atol = atol if atol is not None else (1e-6 if precise else 1e-3)
    rng = np.random.default_rng(seed)

    args = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    host = [np.asarray(a) for a in args]
    is_layer = hasattr(fn_or_layer, "weights") or hasattr(fn_or_layer, "trainable_weights")
    if wrt is None:
        if _is_loss(fn_or_layer) and len(host) == 2:
            wrt = (1,)
        else:
            wrt = tuple(i for i, a in enumerate(host) if a.dtype.kind == "f")
    wrt = tuple(wrt)
    for i in wrt:
        if not 0 <= i < len(host):
            raise ValueError(f"wrt index {i} is out of range for {len(host)} inputs")
        if host[i].dtype.kind != "f":
            raise ValueError(f"input {i} has dtype {host[i].dtype}: only float inputs can be checked")
    host = [a.astype(dtype) if a.dtype.kind == "f" else a for a in host]

    from .backends import get_backend

    backend = get_backend()
    if precise and backend.name != "numpy":
        raise ValueError(
            "gradient_check in float64 runs on the numpy backend; call "
            "pybrowserml.set_backend('numpy') first, or pass dtype='float32'"
        )

    def call(arrays, requires_grad=False, kwargs=call_kwargs):
        tensors = [Tensor(a, backend=backend, requires_grad=requires_grad and i in wrt) for i, a in enumerate(arrays)]
        out = fn_or_layer(*tensors, **kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradient_check needs a function returning one Tensor, got {type(out).__name__}")
        return tensors, out

    with no_grad():
        # The output shape, and a layer's weights built on first use; in inference mode, so that nothing
        # (moving statistics) is updated before the state below is saved.
        _, probe = call(host, kwargs={k: v for k, v in call_kwargs.items() if k != "training"})
    variables = _layer_variables(fn_or_layer) if is_layer else []
    # Calls in training mode update state such as BatchNormalization's moving statistics (by replacing
    # their arrays): keep every other weight's array to put back afterwards.
    others = [v for v in getattr(fn_or_layer, "weights", []) if all(v is not w for w in variables)]
    projection = rng.standard_normal(probe.shape).astype(dtype) if probe.shape else np.asarray(1.0, dtype)

    def objective(arrays):
        with no_grad():
            _, out = call(arrays)
        return float(np.sum(out.numpy().astype(np.float64) * projection))

    with _weights_as(variables, dtype, also_restore=others):
        # Autograd gradients.
        tensors, out = call(host, requires_grad=True)
        if not out.requires_grad:
            raise ValueError("the output does not depend on any checked input or weight: nothing to check")
        ops.sum(out * Tensor(projection, backend=backend)).backward()
        analytic = []
        for i in wrt:
            g = tensors[i].grad
            analytic.append((f"input[{i}]", None if g is None else backend.download(g)))
        for v in variables:
            analytic.append((v.name, None if v.grad is None else backend.download(v.grad)))

        # Finite differences, perturbing one element at a time.
        checks = []
        targets = [("input", i) for i in wrt] + [("weight", v) for v in variables]
        for (name, grad), (kind, target) in zip(analytic, targets):
            if kind == "input":
                base = host[target]
            else:
                base = backend.download(target.data)
            shape = base.shape
            if grad is None:
                checks.append(TensorCheck(name, shape, 0, math.inf, math.inf, False))
                continue
            flat_grad = np.asarray(grad, dtype=np.float64).reshape(-1)
            indices = _sample_indices(base.size, max_checks, rng)
            numeric = np.empty(len(indices))
            for k, index in enumerate(indices):
                values = []
                for sign in (1.0, -1.0):
                    perturbed = base.copy()
                    perturbed.reshape(-1)[index] += sign * eps
                    if kind == "input":
                        arrays = list(host)
                        arrays[target] = perturbed
                        values.append(objective(arrays))
                    else:
                        backend.write(target.data, perturbed)
                        values.append(objective(host))
                if kind == "weight":
                    backend.write(target.data, base)
                numeric[k] = (values[0] - values[1]) / (2 * eps)
            auto = flat_grad[indices]
            abs_err = np.abs(auto - numeric)
            rel_err = abs_err / np.maximum(np.maximum(np.abs(auto), np.abs(numeric)), atol)
            max_rel = float(rel_err.max()) if rel_err.size else 0.0
            checks.append(
                TensorCheck(
                    name,
                    tuple(shape),
                    int(len(indices)),
                    float(abs_err.max()) if abs_err.size else 0.0,
                    max_rel,
                    max_rel <= rtol,
                )
            )
    return GradientCheckResult(
        passed=all(c.passed for c in checks), tensors=checks, dtype=str(dtype), eps=eps, rtol=rtol
    )


__all__ = [
    "overfit_check",
    "OverfitResult",
    "gradient_check",
    "GradientCheckResult",
    "TensorCheck",
    "preserved_training_state",
]
