"""The one input scaling rule, for every numeric dtype (documented in docs/api.md, "Input scaling").

1. A model that begins with a `Rescaling` layer takes inputs of every dtype as they are (converted to
   float32); the layer does the scaling, nothing is scaled twice.
2. Otherwise integer inputs (uint8, int32, int64, uint16, ...) are pixels: they must lie in [0, 255] and
   are multiplied by 1/255 (uint8 travels to the device as uint8 and is converted there; other integer
   dtypes are narrowed to uint8 on the host first, which the range check makes lossless).
3. Float inputs are used as they are. When they look like unscaled pixels (the largest value over 1.5
   and every value a whole number) an `UnscaledInputWarning` says so.

A model remembers whether it was trained on integer pixels or on floats (`model.input_scaling`); the
JSON file keeps that, and the TF.js export puts a Rescaling(1/255) layer in front of a model trained on
integer pixels so TF.js gives the same predictions on raw 0-255 pixels.
"""

from __future__ import annotations

import warnings

import numpy as np

from .layers.reshaping import Rescaling

PIXEL_SCALE = 1.0 / 255.0
_SAMPLE_ROWS = 1024  # the unscaled-floats check looks at this many samples (predict on one image stays cheap)


class UnscaledInputWarning(UserWarning):
    """Float inputs that look like 0-255 pixels reached a model that does not begin with Rescaling."""


def first_layer(model):
    layers = model.layers
    return layers[0] if layers else None


def begins_with_rescaling(model) -> bool:
    return isinstance(first_layer(model), Rescaling)


def integer_scale(model) -> float:
    """What integer inputs are multiplied by before the model's first layer."""
    return 1.0 if begins_with_rescaling(model) else PIXEL_SCALE


def check_input_scaling(x: np.ndarray, model, where: str) -> None:
    """Refuse integer inputs outside [0, 255] (unless the model begins with Rescaling); warn about floats
    that look like unscaled pixels."""
    if begins_with_rescaling(model):
        return
    if x.dtype.kind in "iu" and x.dtype != np.uint8:
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi > 255:
            raise ValueError(
                f"{where}: integer inputs are taken as pixels in [0, 255] and scaled by 1/255, but x "
                f"({x.dtype}) holds values in [{lo}, {hi}]; convert it to float32 scaled as you need, or "
                "begin the model with layers.Rescaling(...) to scale it yourself"
            )
    elif x.dtype.kind == "f":
        sample = x[:_SAMPLE_ROWS]
        top = float(sample.max()) if sample.size else 0.0
        if top > 1.5 and bool(np.all(sample == np.rint(sample))):
            warnings.warn(
                f"{where}: x is {x.dtype} holding whole numbers up to {top:g}, which looks like unscaled 0-255 "
                "pixels; floats are used as they are. Pass uint8 pixels (scaled by 1/255 for you), divide by "
                "255, or begin the model with layers.Rescaling(1 / 255)",
                UnscaledInputWarning,
                stacklevel=4,
            )


def record_training_inputs(model, x: np.ndarray) -> None:
    """Remember what the model was first trained on: integer pixels or floats (saved with it)."""
    if getattr(model, "_trained_on", None) is None:
        model._trained_on = "integers" if x.dtype.kind in "iu" else "floats"


def scaling_config(model) -> dict:
    """The "input_scaling" entry of the JSON format."""
    return {"integer_scale": integer_scale(model), "trained_on": getattr(model, "_trained_on", None)}


def restore_scaling(model, config) -> None:
    """Put back what scaling_config saved; a file whose rule disagrees with its architecture is refused."""
    if config is None:
        return
    expected = integer_scale(model)
    if not np.isclose(config["integer_scale"], expected, rtol=1e-6):
        raise ValueError(
            f"input_scaling.integer_scale is {config['integer_scale']!r} but this architecture scales integer "
            f"inputs by {expected!r}"
        )
    model._trained_on = config.get("trained_on")


def raw_pixel_scale(model) -> float | None:
    """The Rescaling a runtime that feeds raw 0-255 pixels (TF.js) needs in front of this model: 1/255 for a
    model trained on integer pixels without its own Rescaling, else None."""
    if begins_with_rescaling(model) or getattr(model, "_trained_on", None) != "integers":
        return None
    return PIXEL_SCALE
