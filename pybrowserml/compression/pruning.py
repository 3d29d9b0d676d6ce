"""Magnitude pruning during training (TF-MOT's prune_low_magnitude as a callback).

Every `frequency` steps between `begin_step` and `end_step` the smallest-magnitude entries of each
prunable kernel are masked so that its sparsity follows a polynomial schedule up to `target_sparsity`.
Only those mask updates read the weights back; after every optimizer step the masks are re-applied on the
device (one `mul` kernel per pruned kernel), so pruned weights stay exactly zero through training and
saving (the JSON format then stores them as a bitmap plus the non-zero values).
"""

from __future__ import annotations

import numpy as np

from ..callbacks.base import Callback


def prunable_weights(model, min_size=1024, depthwise=False) -> list:
    """The kernels magnitude pruning acts on by default: conv and dense kernels of at least `min_size`
    entries. Not biases or batch norm; not small kernels such as a 3x3 stem on one channel, nor (unless
    `depthwise`) depthwise kernels, which hold few of the weights and where masking kills whole taps of
    a channel's only filter: both cost much accuracy for few bytes."""
    suffixes = ("/kernel", "/depthwise_kernel") if depthwise else ("/kernel",)
    return [
        w
        for w in model.trainable_weights
        if w.name.endswith(suffixes) and len(w.shape) >= 2 and int(np.prod(w.shape)) >= min_size
    ]


def sparsity(model) -> float:
    """Fraction of exact zeros among the entries of the model's (default) prunable kernels."""
    weights = prunable_weights(model)
    total = sum(int(np.prod(w.shape)) for w in weights)
    zeros = sum(int(np.count_nonzero(w.numpy() == 0)) for w in weights)
    return zeros / total if total else 0.0


class PolynomialSparsity:
    """s(t) = s_f + (s_i - s_f) * (1 - (t - begin) / (end - begin)) ** power for begin <= t <= end
    (TF-MOT's PolynomialDecay): fast pruning at first, gentle near the end; s_f after `end_step`."""

    def __init__(self, target_sparsity, begin_step, end_step, initial_sparsity=0.0, power=3):
        if not 0.0 <= initial_sparsity <= target_sparsity < 1.0:
            raise ValueError(
                f"sparsities must satisfy 0 <= initial_sparsity ({initial_sparsity}) <= target_sparsity "
                f"({target_sparsity}) < 1"
            )
        if not 0 <= begin_step < end_step:
            raise ValueError(f"need 0 <= begin_step ({begin_step}) < end_step ({end_step})")
        self.target_sparsity, self.initial_sparsity = float(target_sparsity), float(initial_sparsity)
        self.begin_step, self.end_step, self.power = int(begin_step), int(end_step), power

    def __call__(self, step: int) -> float:
        progress = min(max((step - self.begin_step) / (self.end_step - self.begin_step), 0.0), 1.0)
        return self.target_sparsity + (self.initial_sparsity - self.target_sparsity) * (1.0 - progress) ** self.power


def magnitude_mask(values: np.ndarray, fraction: float) -> np.ndarray:
    """float32 mask zeroing the `fraction` of entries of smallest |value| (ties broken by position)."""
    flat = np.abs(values).ravel()
    count = int(round(fraction * flat.size))
    mask = np.ones(flat.size, dtype="float32")
    if count:
        mask[np.argsort(flat, kind="stable")[:count]] = 0.0
    return mask.reshape(values.shape)


class PruneLowMagnitude(Callback):
    """Prune the model's kernels to `target_sparsity` during fit (pass it in `callbacks=`).

    The step is the optimizer's update count, so the schedule continues across several fit calls.
    `end_step` None: the end of this fit (epochs * steps per epoch after the current step). `weights`:
    the variables to prune (default: `prunable_weights(model)`). Each kernel is pruned to the scheduled
    sparsity on its own (layer-wise, like TF-MOT).
    """

    def __init__(
        self, target_sparsity=0.5, begin_step=0, end_step=None, frequency=100, initial_sparsity=0.0, weights=None
    ):
        super().__init__()
        if not isinstance(frequency, int) or frequency < 1:
            raise ValueError(f"PruneLowMagnitude: frequency must be an int >= 1 (steps), got {frequency!r}")
        self.target_sparsity, self.initial_sparsity = target_sparsity, initial_sparsity
        self.begin_step, self.end_step, self.frequency = begin_step, end_step, frequency
        self.weights = weights
        self.schedule = None
        self.masks: dict[int, object] = {}  # id(variable) -> device mask

    def on_train_begin(self, logs=None):
        if self.model.optimizer is None:
            raise RuntimeError("PruneLowMagnitude: compile the model before fit")
        end = self.end_step
        if end is None:
            end = self.model.optimizer.iterations + self.params.get("epochs", 1) * self.params.get("steps", 1)
        self.schedule = PolynomialSparsity(
            self.target_sparsity, self.begin_step, max(end, self.begin_step + 1), self.initial_sparsity
        )
        self.pruned = list(self.weights) if self.weights is not None else prunable_weights(self.model)
        if not self.pruned:
            raise ValueError("PruneLowMagnitude: the model has no conv, depthwise or dense kernels to prune")
        if self.model.optimizer.iterations > self.schedule.begin_step:
            # Resumed or continued past the start (a restored checkpoint, a reloaded pruned model): the
            # zeros already there are the masks until the next scheduled update.
            for variable in self.pruned:
                if id(variable) not in self.masks:
                    kept = (variable.numpy() != 0).astype("float32")
                    self.masks[id(variable)] = variable.backend.upload(kept)

    def on_train_batch_end(self, batch, logs=None):
        step = self.model.optimizer.iterations
        schedule = self.schedule
        due = schedule.begin_step <= step <= schedule.end_step and (
            (step - schedule.begin_step) % self.frequency == 0 or step == schedule.end_step
        )
        if due:
            self.update_masks(schedule(step))
        self.apply_masks()

    def update_masks(self, fraction: float) -> None:
        """New masks from the current magnitudes (one readback per kernel, only at scheduled steps)."""
        for variable in self.pruned:
            mask = magnitude_mask(variable.numpy(), fraction)
            self.masks[id(variable)] = variable.backend.upload(mask)

    def apply_masks(self) -> None:
        """Zero the masked entries on the device (after each optimizer update)."""
        for variable in self.pruned:
            mask = self.masks.get(id(variable))
            if mask is not None:
                variable.assign_device(variable.backend.run("mul", variable.data, mask))
