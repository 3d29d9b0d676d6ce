"""SGD (momentum, Nesterov), Adam and AdamW, Keras 3 formulas and defaults.

One optimizer step is ONE kernel call over all variables (`adam_update` / `sgd_update`, in place on the
device), so a step costs the same on every backend and never copies weights back to Python.
The learning rate is a float or a schedule (any callable(step) -> float, see pybrowserml.schedules).
"""

from __future__ import annotations

import numpy as np


class Optimizer:
    name = "optimizer"
    slot_names: tuple = ()

    def __init__(self, learning_rate=0.001, weight_decay=None):
        self.learning_rate = learning_rate
        self.weight_decay = float(weight_decay or 0.0)
        self.iterations = 0
        self._slots: dict[str, list] = {}
        self._variables = None

    # -- the learning rate: float or schedule ------------------------------------------------------------
    @property
    def learning_rate(self):
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if not callable(value):
            value = float(value)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"learning rate must be a finite number >= 0, got {value}")
        self._learning_rate = value

    def current_learning_rate(self) -> float:
        lr = self._learning_rate
        return float(lr(self.iterations)) if callable(lr) else lr

    # -- stepping ---------------------------------------------------------------------------------------------
    def _build(self, variables):
        self._variables = list(variables)
        self._slots = {name: [v.backend.zeros(v.shape, "float32") for v in self._variables] for name in self.slot_names}

    def apply_gradients(self, variables) -> None:
        """Update `variables` in place from their .grad (variables without a gradient are left alone).

        Keras's form `apply_gradients(zip(grads, variables))` works too: each gradient (an ndarray or a
        backend array) becomes the variable's .grad first.
        """
        variables = list(variables)
        if variables and isinstance(variables[0], tuple):
            pairs, variables = variables, []
            for grad, variable in pairs:
                if grad is not None:
                    variable.grad = variable.backend.upload(grad) if isinstance(grad, np.ndarray) else grad
                variables.append(variable)
        if self._variables is None:
            self._build(variables)
        elif len(variables) != len(self._variables) or any(a is not b for a, b in zip(variables, self._variables)):
            raise ValueError("this optimizer was built for other variables: create one optimizer per model")
        index = [i for i, v in enumerate(variables) if v.grad is not None]
        if not index:
            return
        lr = self.current_learning_rate()  # a schedule sees the step count before this step, like Keras
        self.iterations += 1
        backend = variables[0].backend
        self._update(
            backend,
            [variables[i].data for i in index],
            [variables[i].grad for i in index],
            {name: [slots[i] for i in index] for name, slots in self._slots.items()},
            lr,
        )

    def _update(self, backend, params, grads, slots, lr):
        raise NotImplementedError

    # -- checkpoints ----------------------------------------------------------------------------------------
    def get_state(self) -> dict:
        """Step count and slot arrays (host copies), for checkpoints."""
        if self._variables is None:
            return {"iterations": self.iterations, "slots": {}}
        backend = self._variables[0].backend
        return {
            "iterations": self.iterations,
            "slots": {name: [backend.download(a) for a in arrays] for name, arrays in self._slots.items()},
        }

    def set_state(self, state: dict, variables=None) -> None:
        if variables is not None and self._variables is None:
            self._build(variables)
        self.iterations = int(state["iterations"])
        if not state.get("slots"):
            return
        if self._variables is None:
            raise ValueError("set_state with slots needs the variables: pass variables=model.trainable_weights")
        backend = self._variables[0].backend
        for name, arrays in state["slots"].items():
            if name not in self._slots or len(arrays) != len(self._slots[name]):
                raise ValueError(f"optimizer state does not match: slot {name!r} with {len(arrays)} arrays")
            for device, host in zip(self._slots[name], arrays):
                backend.write(device, np.asarray(host, dtype="float32"))

    def get_config(self) -> dict:
        lr = self._learning_rate
        lr_config = lr.get_config() | {"class_name": type(lr).__name__} if hasattr(lr, "get_config") else lr
        return {"name": self.name, "learning_rate": lr_config, "weight_decay": self.weight_decay}


class SGD(Optimizer):
    """Keras 3's SGD: v = momentum * v - lr * g; p += v (Nesterov: p += momentum * v - lr * g).
    A `weight_decay` is decoupled like Keras 3's (p -= lr * wd * p before the step)."""

    name = "SGD"
    slot_names = ("velocities",)

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None):
        super().__init__(learning_rate, weight_decay)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"SGD momentum must be in [0, 1], got {momentum}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _update(self, backend, params, grads, slots, lr):
        backend.run(
            "sgd_update",
            params,
            grads,
            slots["velocities"],
            lr=lr,
            momentum=self.momentum,
            nesterov=self.nesterov,
            weight_decay=self.weight_decay,
        )

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Keras 3's Adam. Like Keras 3, a `weight_decay` is decoupled (p -= lr * wd * p before the step),
    so Adam(weight_decay=w) and AdamW(weight_decay=w) are the same optimizer; AdamW only defaults to 0.004."""

    name = "Adam"
    slot_names = ("ms", "vs")
    decoupled = True

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None):
        super().__init__(learning_rate, weight_decay)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _update(self, backend, params, grads, slots, lr):
        backend.run(
            "adam_update",
            params,
            grads,
            slots["ms"],
            slots["vs"],
            lr=lr,
            beta1=self.beta_1,
            beta2=self.beta_2,
            epsilon=self.epsilon,
            step=self.iterations,
            weight_decay=self.weight_decay,
            decoupled=self.decoupled,
        )

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class AdamW(Adam):
    """Adam with decoupled weight decay (Keras default 0.004)."""

    name = "AdamW"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay)


_ALIASES = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


def get(identifier) -> Optimizer:
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _ALIASES:
        return _ALIASES[identifier.lower()]()
    raise ValueError(f"unknown optimizer {identifier!r}: use 'adam', 'adamw', 'sgd' or an Optimizer instance")
