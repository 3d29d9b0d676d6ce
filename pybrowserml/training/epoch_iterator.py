"""The batches the training loops run on: shuffling, slicing, conversion on the device, resume state.

`EpochIterator` owns the shuffling generator and the slicing of (x, y) into batches, turns each batch
into tensors on the model's backend following the input scaling rule of input_scaling.py (integer pixels
are uploaded as uint8, a quarter of the bytes of float32, and scaled to float32 there by the `from_uint8`
kernel), and keeps `FitState`: what a checkpoint needs to replay an interrupted fit exactly.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..input_scaling import PIXEL_SCALE
from ..tensor import Tensor


@dataclasses.dataclass
class FitState:
    """Where fit is (`model.fit_state`, read by checkpoint callbacks; JSON-able with to_dict()).

    epoch: the current epoch.
    step: batches of that epoch done (updated before on_train_batch_end).
    rng_state: the shuffling Generator's bit_generator.state at the start of the epoch (before its
        permutation was drawn).
    next_epoch_rng_state: its state after the permutation (where the next epoch starts; an end-of-epoch
        checkpoint resumes from it).
    dropout_states: each random layer's (Dropout, RandomTranslation) Generator state at the start of the epoch.
    dropout_states_at_step: the same after `step` batches.
    """

    epoch: int
    step: int = 0
    rng_state: dict | None = None
    next_epoch_rng_state: dict | None = None
    dropout_states: list | None = None
    dropout_states_at_step: list | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FitState:
        """From to_dict()'s output (missing entries are None, e.g. a checkpoint taken at an epoch end)."""
        if not isinstance(data, dict) or data.get("epoch") is None:
            raise ValueError(f"a fit state needs at least an 'epoch' entry, got {data!r}")
        values = {field.name: data.get(field.name) for field in dataclasses.fields(cls)}
        values["epoch"], values["step"] = int(values["epoch"]), int(values["step"] or 0)
        return cls(**values)

    def next_epoch(self) -> FitState:
        """The state to resume from at the start of the next epoch (an end-of-epoch checkpoint)."""
        return FitState(
            self.epoch + 1, 0, rng_state=self.next_epoch_rng_state, dropout_states=self.dropout_states_at_step
        )


def random_states(random_layers) -> list:
    """The Generator state of each layer that draws randomly in training."""
    return [layer.rng.bit_generator.state for layer in random_layers]


def set_random_states(random_layers, states) -> None:
    if states:
        for layer, state in zip(random_layers, states):
            layer.rng.bit_generator.state = state


def input_tensor(x: np.ndarray, backend, integer_scale: float = PIXEL_SCALE) -> Tensor:
    """A batch of inputs on `backend` (input_scaling.py's rule): integer pixels become float32 times
    `integer_scale` on the device (1/255, or 1 before a Rescaling layer), floats are uploaded as float32.
    Integers other than uint8 were range-checked by validation (as_inputs) when integer_scale scales them."""
    if x.dtype.kind in "iu" and (x.dtype == np.uint8 or integer_scale != 1.0):
        pixels = x if x.dtype == np.uint8 else x.astype(np.uint8)
        return Tensor.wrap(backend.run("from_uint8", backend.upload(pixels), scale=integer_scale), backend)
    return Tensor(x.astype(np.float32, copy=False), backend=backend)


class EpochIterator:
    """Batches of `batch_size` samples of (x, y) as tensors on `backend`.

    x: integer or float inputs; y: labels (int32 or float32, as validation.as_labels gives them) or None.
    `integer_scale`: what integer inputs are multiplied by (input_scaling.integer_scale(model)).
    For fit, `rng` (a numpy Generator) shuffles every epoch when `shuffle`, and `random_layers` are the
    layers whose generators a resumed fit must also put back.
    """

    def __init__(self, x, y, batch_size, backend, shuffle=False, rng=None, random_layers=(), integer_scale=PIXEL_SCALE):
        self.x, self.y = x, y
        self.integer_scale = integer_scale
        self.batch_size = batch_size
        self.backend = backend
        self.num_samples = len(x)
        self.steps = -(-self.num_samples // batch_size)
        self.shuffle = shuffle
        self.rng = rng
        self.random_layers = list(random_layers)
        self.state: FitState | None = None

    def batches(self):
        """(step, x, y) for one pass in order (evaluate, predict); y is None without labels."""
        size = self.batch_size
        for step in range(self.steps):
            yield (step, *self._batch(slice(step * size, (step + 1) * size)))

    def epoch(self, epoch: int, resume: FitState | None = None):
        """Start a training epoch (`self.state` is its FitState from now on) and return its batches:
        (step, x, y), shuffled when asked; call step_done(step) after training on each.

        `resume`: a saved FitState of this epoch; the shuffle and the random layers are put back as they
        were, and the epoch continues after the `resume.step` batches already done."""
        layers = self.random_layers
        if resume is not None:
            self.rng.bit_generator.state = resume.rng_state
            set_random_states(layers, resume.dropout_states)
        # Everything a checkpoint needs to replay this epoch exactly, captured before drawing from rng.
        state = FitState(epoch, 0, rng_state=self.rng.bit_generator.state, dropout_states=random_states(layers))
        order = self.rng.permutation(self.num_samples) if self.shuffle else None
        state.next_epoch_rng_state = self.rng.bit_generator.state
        first_step = resume.step if resume is not None else 0
        if first_step:
            set_random_states(layers, resume.dropout_states_at_step)
            state.step = first_step
        state.dropout_states_at_step = random_states(layers) if first_step else state.dropout_states
        self.state = state
        return self._shuffled_batches(first_step, order)

    def _shuffled_batches(self, first_step, order):
        size = self.batch_size
        for step in range(first_step, self.steps):
            index = slice(step * size, (step + 1) * size)
            if order is not None:
                index = order[index]
            yield (step, *self._batch(index))

    def step_done(self, step: int) -> None:
        """Record that batch `step` of the epoch has been trained on (before on_train_batch_end)."""
        self.state.step = step + 1
        self.state.dropout_states_at_step = random_states(self.random_layers)

    def _batch(self, index):
        x = input_tensor(self.x[index], self.backend, self.integer_scale)
        if self.y is None:
            return x, None
        labels = self.y[index]
        return x, Tensor(labels, backend=self.backend, dtype=labels.dtype)
