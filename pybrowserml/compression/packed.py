"""Students packed into one network: the same architecture up to its widths, run side by side along the channels.

`pack_students(students)` builds the packed network (packed_steps.py, one step per layer) and copies the
students' weights in; `PackedStudents.call` returns every student's output from one pass, each exactly what
that student computes alone (the same arithmetic, other float rounding); `push_weights` copies the packed
weights back into the students, which stay ordinary models. `pack_optimizer` / `unpack_optimizer` do the
same for the students' optimizers (one optimizer over the packed weights: its update is per entry, so one
step of it is every student's own step). A set of students that cannot pack raises NotPackable, saying why.

What packs: functional models of the same graph whose layers differ only in their widths (filters, units),
all weights trainable, no layer drawing random numbers in training, built from InputLayer, Conv2D (on the
input, or 1x1 with stride 1 elsewhere), Dense, DepthwiseConv2D, Concatenate along the channels, pooling,
Rescaling and activation layers (softmax only as the output).
"""

from __future__ import annotations

import copy

import numpy as np

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
PER_CHANNEL_LAYERS = (GlobalAveragePooling2D, MaxPooling2D, AveragePooling2D, Rescaling, ReLU, LeakyReLU, Activation)


class NotPackable(ValueError):
    """These students cannot run as one packed network; the message says why."""


def _same_config(layers):
    configs = [{k: v for k, v in layer.get_config().items() if k not in WIDTH_KEYS} for layer in layers]
    return all(c == configs[0] for c in configs)


def _check_students(students):
    if len(students) < 2:
        raise NotPackable("packing needs at least two students")
    first = students[0]
    backend = first.home_backend()
    if len({id(student) for student in students}) != len(students):
        raise NotPackable("a student is listed twice")
    for student in students:
        if not hasattr(student, "_nodes") or not student._nodes:
            raise NotPackable(f"student {student.name!r} is not a functional model")
        if student.home_backend() is not backend:
            raise NotPackable(f"student {student.name!r} lives on another backend than {first.name!r}")
        if tuple(student.input_shape) != tuple(first.input_shape) or len(student._nodes) != len(first._nodes):
            raise NotPackable(f"students {first.name!r} and {student.name!r} do not have the same graph")
        if student.random_layers():
            raise NotPackable(f"student {student.name!r} has layers drawing random numbers in training")
        if len(student.trainable_weights) != len(student.weights):
            raise NotPackable(f"student {student.name!r} has weights that are not trainable")
    return backend


def _sources(student, node, index_of):
    return [INPUT if parent is student._input else index_of[id(parent)] for parent in node.parents]


def _step(layers, sources, layouts, is_output):
    """The packed step running `layers` (one per student) on inputs of `layouts` (None: the shared input)."""
    first, shared = layers[0], [layout is None for layout in layouts]
    kind = type(first)
    if any(type(layer) is not kind for layer in layers) or not _same_config(layers):
        raise NotPackable(f"layer {first.name!r}: the students' layers differ in more than their widths")
    if getattr(first, "activation", None) == "softmax" and not is_output:
        raise NotPackable(f"layer {first.name!r}: a softmax mixes channels")
    if kind in (Conv2D, Dense):
        if shared[0]:
            return WideLayer(sources, layers)
        one_by_one = kind is Dense or (first.kernel_size == (1, 1) and first.strides == (1, 1))
        if not one_by_one:
            raise NotPackable(f"layer {first.name!r}: a {first.kernel_size} conv on packed channels mixes students")
        return GroupedLinear(sources, layers, layouts[0])
    if kind is DepthwiseConv2D:
        if shared[0]:
            raise NotPackable(f"layer {first.name!r}: a depthwise conv on the input every student reads")
        return PackedDepthwise(sources, layers, layouts[0])
    if kind is Concatenate:
        if any(shared):
            raise NotPackable(f"layer {first.name!r}: a concat with the input every student reads")
        rank = len(layers[0].input_shape[0]) if isinstance(layers[0].input_shape, list) else None
        if first.axis not in (-1, rank):
            raise NotPackable(f"layer {first.name!r}: a concat along another axis than the channels")
        return PackedConcat(sources, layouts)
    if kind in PER_CHANNEL_LAYERS or (kind is Softmax and is_output and first.ends_in_softmax()):
        return PerChannel(sources, first, layouts[0])
    raise NotPackable(f"layer {first.name!r}: {kind.__name__} layers do not pack")


class PackedStudents:
    """Several students as one network; see the module's docstring."""

    def __init__(self, students):
        self.backend = _check_students(students)
        self.students = list(students)
        self.steps = []
        layouts = {INPUT: None}
        index_of = [{id(node): i for i, node in enumerate(s._nodes)} for s in students]
        for i, node in enumerate(students[0]._nodes):
            sources = _sources(students[0], node, index_of[0])
            for student, index in zip(students[1:], index_of[1:]):
                if _sources(student, student._nodes[i], index) != sources:
                    raise NotPackable(f"students {students[0].name!r} and {student.name!r} are wired differently")
            layers = [s._nodes[i].layer for s in students]
            is_output = node is students[0]._output
            step = _step(layers, sources, [layouts[k] for k in sources], is_output)
            if isinstance(step, PerChannel) and step.layout is None and is_output:
                raise NotPackable("the students' output is the shared input")
            layouts[i] = step.layout
            self.steps.append(step)
        output = self.steps[-1].layout
        if students[0]._nodes[-1] is not students[0]._output or output is None or not output.is_side_by_side():
            raise NotPackable("the students' outputs are not one layer's output channels")
        self.output_widths = output.student_widths()
        self._make_variables()

    def _make_variables(self):
        """The packed Variables (weights copied in from the students), assigned to each step."""
        for index, step in enumerate(self.steps):
            if not step.weights:
                continue
            packed = []
            for weight in step.weights:
                values = weight.pack([v.numpy() for v in weight.students])
                weight.variable = Variable(
                    values, name=f"packed/{index}/{weight.students[0].name}", backend=self.backend
                )
                packed.append(weight.variable)
            step.kernel = packed[0]
            step.bias = packed[1] if len(packed) > 1 else None

    @property
    def packed_weights(self):
        return [weight for step in self.steps for weight in step.weights]

    @property
    def trainable_weights(self):
        return [weight.variable for weight in self.packed_weights]

    def call(self, x, training=False, logits=False):
        """Every student's output (its logits when `logits`) for the batch x, in the students' order."""
        values = {INPUT: x}
        last = len(self.steps) - 1
        # a softmax head normalises each student's outputs alone: applied after the split
        softmax = self.students[0].ends_in_softmax()
        for i, step in enumerate(self.steps):
            values[i] = step.compute([values[k] for k in step.sources], training, i == last and (logits or softmax))
        outputs = ops.split(values[last], self.output_widths, axis=-1)
        return [ops.softmax(z) for z in outputs] if softmax and not logits else outputs

    def push_weights(self):
        """Copy the packed weights back into the students' variables."""
        for weight in self.packed_weights:
            for variable, values in zip(weight.students, weight.unpack(weight.variable.numpy())):
                variable.assign(values)

    # -- optimizers ---------------------------------------------------------------------------------------
    def _slot_indices(self, optimizers):
        """Per packed weight, per student: the index of the student's variable in its optimizer's list."""
        indices = []
        for s, (student, optimizer) in enumerate(zip(self.students, optimizers)):
            position = {id(v): i for i, v in enumerate(optimizer._variables or student.trainable_weights)}
            indices.append([position[id(weight.students[s])] for weight in self.packed_weights])
        return indices

    def pack_optimizer(self, optimizers):
        """One optimizer over the packed weights that steps exactly like the students' (same class, settings
        and step count; their slots, if any, packed in)."""
        first = optimizers[0]
        for student, optimizer in zip(self.students, optimizers):
            if type(optimizer) is not type(first) or optimizer.get_config() != first.get_config():
                raise NotPackable(f"student {student.name!r}'s optimizer is not set up like the others'")
            if optimizer.iterations != first.iterations:
                raise NotPackable(f"student {student.name!r}'s optimizer has taken another number of steps")
            built = optimizer._variables
            if built is not None and [id(v) for v in built] != [id(v) for v in student.trainable_weights]:
                raise NotPackable(f"student {student.name!r}'s optimizer was built for other variables")
        if len({optimizer._variables is None for optimizer in optimizers}) > 1:
            raise NotPackable("some of the students' optimizers have stepped, others not")
        packed = copy.copy(first)
        packed._variables, packed._slots = None, {}
        if first._variables is not None:
            packed._build(self.trainable_weights)
            indices = self._slot_indices(optimizers)
            for name in packed.slot_names:
                for j, weight in enumerate(self.packed_weights):
                    host = [self.backend.download(opt._slots[name][idx[j]]) for opt, idx in zip(optimizers, indices)]
                    self.backend.write(packed._slots[name][j], weight.pack(host))
        return packed

    def unpack_optimizer(self, packed, optimizers):
        """Write the packed optimizer's step count and slots back into the students' optimizers."""
        if packed._variables is None:
            return
        for student, optimizer in zip(self.students, optimizers):
            if optimizer._variables is None:
                optimizer._build(student.trainable_weights)
        indices = self._slot_indices(optimizers)
        for name in packed.slot_names:
            for j, weight in enumerate(self.packed_weights):
                parts = weight.unpack(self.backend.download(packed._slots[name][j]))
                for optimizer, idx, values in zip(optimizers, indices, parts):
                    self.backend.write(optimizer._slots[name][idx[j]], np.asarray(values, dtype="float32"))
        for optimizer in optimizers:
            optimizer.iterations = packed.iterations


def pack_students(students) -> PackedStudents:
    """The packed network of `students`, or NotPackable saying why they do not pack."""
    return PackedStudents(list(students))
