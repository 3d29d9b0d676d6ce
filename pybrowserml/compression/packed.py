"""Students packed into one network: the same architecture up to its widths, run side by side along the channels."""

# `pack_students(students)` builds the packed network (packed_steps.py, one step per layer) and copies the
# students' weights in; `PackedStudents.call` returns every student's output from one pass, each what that
# student computes alone (the same arithmetic, other float rounding); `push_weights` copies the packed
# weights back into the students, which stay ordinary models. `pack_optimizer` / `unpack_optimizer` do the
# same for the students' optimizers (one optimizer over the packed weights: its update is per entry, so one
# step of it is every student's own step). Students that cannot pack raise NotPackable, saying why.
#
# What packs: functional models of the same graph whose layers differ only in their widths (filters,
# units), all weights trainable, no layer drawing random numbers in training, built from InputLayer,
# Conv2D (on the input, or 1x1 with stride 1 elsewhere), Dense, DepthwiseConv2D, Concatenate along the
# channels, pooling, Rescaling and activation layers (softmax only as the output).

from __future__ import annotations

import copy

from .. import ops
from ..layers import (
    Activation,
    AveragePooling2D,
    Concatenate,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    GlobalAveragePooling2D,
    LeakyReLU,
    MaxPooling2D,
    ReLU,
    Rescaling,
    Softmax,
)
from ..tensor import Variable
from .packed_steps import GroupedLinear, PackedConcat, PackedDepthwise, PerChannel, WideLayer

INPUT = "input"
WIDTH_KEYS = ("name", "filters", "units")  # what may differ between the students' layers
PER_CHANNEL = (GlobalAveragePooling2D, MaxPooling2D, AveragePooling2D, Rescaling, ReLU, LeakyReLU, Activation)


class NotPackable(ValueError):
    """These students cannot run as one packed network; the message says why."""


def _check(students):
    first = students[0]
    if len(students) < 2 or len({id(s) for s in students}) < len(students):
        raise NotPackable("packing needs two or more different students")
    for s in students:
        if not getattr(s, "_nodes", None) or s.home_backend() is not first.home_backend():
            raise NotPackable(f"student {s.name!r} is not a functional model on {first.name!r}'s backend")
        if s.input_shape != first.input_shape or len(s._nodes) != len(first._nodes):
            raise NotPackable(f"students {first.name!r} and {s.name!r} do not have the same graph")
        if s.random_layers():
            raise NotPackable(f"student {s.name!r} has layers drawing random numbers in training")
        if len(s.trainable_weights) != len(s.weights):
            raise NotPackable(f"student {s.name!r} has weights that are not trainable")


def _step(layers, sources, layouts, is_output):
    # the packed step running `layers` (one per student) on inputs of `layouts` (None: the shared input)
    first, kind, shared = layers[0], type(layers[0]), layouts[0] is None
    configs = [{k: v for k, v in x.get_config().items() if k not in WIDTH_KEYS} for x in layers]
    if any(type(x) is not kind or c != configs[0] for x, c in zip(layers, configs)):
        raise NotPackable(f"layer {first.name!r}: the students' layers differ in more than their widths")
    problem = None
    if getattr(first, "activation", None) == "softmax" and not is_output:
        problem = "a softmax mixes channels"
    elif kind in (Conv2D, Dense):
        if shared:
            return WideLayer(sources, layers)
        if kind is Dense or (first.kernel_size, first.strides) == ((1, 1), (1, 1)):
            return GroupedLinear(sources, layers, layouts[0])
        problem = "a conv wider than 1x1 on packed channels mixes students"
    elif kind is DepthwiseConv2D and not shared:
        return PackedDepthwise(sources, layers, layouts[0])
    elif kind is Concatenate and None not in layouts and first.axis in (-1, len(first.input_shape[0])):
        return PackedConcat(sources, layouts)
    elif kind in PER_CHANNEL or (kind is Softmax and is_output and first.ends_in_softmax()):
        return PerChannel(sources, first, layouts[0])
    raise NotPackable(f"layer {first.name!r} ({kind.__name__}): {problem or 'does not pack here'}")


class PackedStudents:
    """Several students of one architecture (up to its widths) as one network: see pack_students."""

    def __init__(self, students):
        _check(students)
        self.students, self.steps, layouts = list(students), [], {INPUT: None}
        first = students[0]
        for i, node in enumerate(first._nodes):
            sources = [INPUT if p is first._input else first._nodes.index(p) for p in node.parents]
            for s in students[1:]:
                if [INPUT if p is s._input else s._nodes.index(p) for p in s._nodes[i].parents] != sources:
                    raise NotPackable(f"students {first.name!r} and {s.name!r} are wired differently")
            step = _step(
                [s._nodes[i].layer for s in students],
                sources,
                [layouts[k] for k in sources],
                i == len(first._nodes) - 1,
            )
            layouts[i] = step.layout
            self.steps.append(step)
        output = self.steps[-1].layout
        if (
            first._nodes[-1] is not first._output
            or output is None
            or output != type(output).side_by_side(output.student_widths())
        ):
            raise NotPackable("the students' outputs are not one layer's output channels")
        self.output_widths = output.student_widths()
        self.packed_weights = [w for step in self.steps for w in step.weights]
        for k, s in enumerate(students):  # the packed weights in the order of each student's own
            if [w.students[k] for w in self.packed_weights] != s.trainable_weights:
                raise NotPackable(f"student {s.name!r}'s weights are not in its layers' order")
        backend = first.home_backend()
        for i, w in enumerate(self.packed_weights):
            w.variable = Variable(w.pack([v.numpy() for v in w.students]), name=f"packed/{i}", backend=backend)

    @property
    def trainable_weights(self):
        return [w.variable for w in self.packed_weights]

    def call(self, x, training=False, logits=False):
        """Every student's output (its logits when `logits`) for the batch x, in the students' order."""
        values, last = {INPUT: x}, len(self.steps) - 1
        softmax = self.students[0].ends_in_softmax()  # each student's softmax alone: after the split
        for i, step in enumerate(self.steps):
            values[i] = step.compute([values[k] for k in step.sources], training, i == last and (logits or softmax))
        outputs = ops.split(values[last], self.output_widths, axis=-1)
        return [ops.softmax(z) for z in outputs] if softmax and not logits else outputs

    def push_weights(self):
        """Copy the packed weights back into the students' variables."""
        for w in self.packed_weights:
            for variable, values in zip(w.students, w.unpack(w.variable.numpy())):
                variable.assign(values)

    def pack_optimizer(self, optimizers):
        """One optimizer over the packed weights stepping like the students' (same kind, settings and step
        count; their moments, if any, packed in)."""
        first = optimizers[0]
        for s, opt in zip(self.students, optimizers):
            same = type(opt) is type(first) and opt.get_config() == first.get_config()
            if not same or opt.iterations != first.iterations or opt._variables not in (None, s.trainable_weights):
                raise NotPackable(f"student {s.name!r}'s optimizer differs from the others' (kind, settings, steps)")
        if len({opt._variables is None for opt in optimizers}) > 1:
            raise NotPackable("some of the students' optimizers have stepped, others not")
        packed = copy.copy(first)
        packed._variables, packed._slots = None, {}
        if first._variables is not None:
            slots = [opt.get_state()["slots"] for opt in optimizers]
            packed.set_state(
                {
                    "iterations": first.iterations,
                    "slots": {
                        n: [w.pack([s[n][i] for s in slots]) for i, w in enumerate(self.packed_weights)]
                        for n in packed.slot_names
                    },
                },
                self.trainable_weights,
            )
        return packed

    def unpack_optimizer(self, packed, optimizers):
        """Write the packed optimizer's step count and moments back into the students' optimizers."""
        if packed._variables is None:
            return
        parts = {
            n: [w.unpack(a) for w, a in zip(self.packed_weights, arrays)]
            for n, arrays in packed.get_state()["slots"].items()
        }
        for k, (s, opt) in enumerate(zip(self.students, optimizers)):
            slots = {n: [p[k] for p in per_weight] for n, per_weight in parts.items()}
            opt.set_state({"iterations": packed.iterations, "slots": slots}, s.trainable_weights)


def pack_students(students) -> PackedStudents:
    """The packed network of `students`: functional models of one graph whose layers differ only in their
    widths (filters, units), every weight trainable, nothing random in training. NotPackable says why not."""
    return PackedStudents(list(students))
