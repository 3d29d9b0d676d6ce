"""Knowledge distillation: students trained on a teacher's softened outputs, several in one loop.

The loss of a student (Hinton et al. 2015; Keras's Distiller example):
    alpha * CE(labels, softmax(z_s)) + (1 - alpha) * T**2 * KL(softmax(z_t / T) || softmax(z_s / T))
with z_s, z_t the student's and the teacher's logits and T the temperature (T**2 keeps the soft term's
gradient on the scale of the hard one's). `distill` trains every student against one teacher in the
same loop: each batch is uploaded once and the teacher's forward pass runs once per batch, shared by
all the students, so one run yields a family of models (e.g. several width multipliers).
"""

# Students of one architecture that differ only in their widths train packed (packed.py): one network with
# their channels side by side, one forward and backward pass and one optimizer step for all of them per
# batch; the loss is the sum of the students' own, so each student's gradient is exactly its own.

from __future__ import annotations

import time

import numpy as np

from .. import losses, ops
from .. import optimizers as optimizers_module
from ..input_scaling import integer_scale
from ..tensor import no_grad
from ..training.driver import drive, drive_async, read_back
from ..training.epoch_iterator import EpochIterator
from ..validation import as_inputs, as_labels, check_batch_size
from .packed import NotPackable, pack_students


def soft_targets(teacher_logits, temperature):
    """(softmax(z_t / T), its mean entropy over the batch) of the teacher: the constants of the students'
    soft loss, computed once per batch whatever the number of students."""
    scaled = ops.scale(teacher_logits, 1.0 / temperature)
    soft = ops.softmax(scaled)
    entropy = ops.neg(ops.mean(ops.sum(soft * ops.log_softmax(scaled), axis=-1)))
    return soft, entropy


def distillation_loss(student_logits, labels, teacher_soft, teacher_entropy, temperature=4.0, alpha=0.1):
    """The scalar loss above; `teacher_soft`, `teacher_entropy` from `soft_targets` (integer labels).

    KL(p_t || p_s) = CE(p_t, p_s) - H(p_t): the cross-entropy is one fused softmax cross-entropy kernel on
    the scaled logits (soft labels; its gradient (p_s - p_t) / batch comes from the same kernel pair),
    and the entropy is a constant that makes the value a true KL (0 when the student equals the teacher).
    """
    hard = ops.softmax_xent(student_logits, labels, sparse=True)
    soft = ops.softmax_xent(ops.scale(student_logits, 1.0 / temperature), teacher_soft, sparse=False)
    weight = (1.0 - alpha) * temperature * temperature
    # add, not sub: sub's backward would negate the gradient for the constant entropy too
    return ops.scale(hard, alpha) + ops.scale(soft, weight) + ops.scale(teacher_entropy, -weight)


def _logits(model, x, training):
    """A softmax-headed model's logits (its head without the softmax); other models' outputs as they are."""
    return model.call(x, training=training, logits=model.ends_in_softmax())


def _check(students, teacher, temperature, alpha, epochs):
    if not students:
        raise ValueError("distill: give at least one student model")
    if temperature <= 0:
        raise ValueError(f"distill: temperature must be > 0, got {temperature}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"distill: alpha (the weight of the true labels' loss) must be in [0, 1], got {alpha}")
    if not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"distill: epochs must be an int >= 0, got {epochs!r}")
    backend = teacher.home_backend()
    for student in students:
        if student is teacher:
            raise ValueError("distill: the teacher cannot be one of its students")
        if student.home_backend() is not backend:
            raise ValueError(
                f"distill: student {student.name!r} lives on the {student.home_backend().name} backend and the "
                f"teacher on {backend.name}; build them on the same backend"
            )
        if tuple(student.output_shape) != tuple(teacher.output_shape):
            raise ValueError(
                f"distill: student {student.name!r} outputs {student.output_shape}, the teacher {teacher.output_shape}"
            )


def _optimizers(students, optimizer):
    result = []
    for student in students:
        if student.optimizer is not None:
            result.append(student.optimizer)
        elif isinstance(optimizer, optimizers_module.Optimizer) and len(students) > 1:
            raise ValueError(
                "distill: one Optimizer instance cannot train several students; pass a name ('adam') or a "
                "callable returning a new Optimizer, or compile each student with its own"
            )
        else:
            result.append(optimizers_module.get(optimizer() if callable(optimizer) else optimizer))
    return result


def _packing(students, opts, packed):
    # (the packed network, its optimizer) when the students train packed, else None (one after another):
    # packed=None packs whenever two or more students can, True insists (NotPackable says why not).
    if packed is False or (packed is None and len(students) < 2):
        return None
    try:
        network = pack_students(students)
        return network, network.pack_optimizer(opts)
    except NotPackable:
        if packed:
            raise
        return None


def _step_apart(students, opts, xb, yb, soft, entropy, temperature, alpha):
    # each student's step, one after another: [each one's loss]
    step_losses = []
    for student, opt in zip(students, opts):
        trainable = student.trainable_weights
        for v in trainable:
            v.grad = None
        loss = distillation_loss(_logits(student, xb, True), yb, soft, entropy, temperature, alpha)
        loss.backward()
        opt.apply_gradients(trainable)
        step_losses.append(loss)
    return step_losses


def _step_packed(network, opt, xb, yb, soft, entropy, temperature, alpha):
    # every student's step in one pass of the packed network: the loss is the sum of the students' own, so
    # each student's gradient is exactly its own. [each one's loss]
    trainable = network.trainable_weights
    for v in trainable:
        v.grad = None
    logits = network.call(xb, training=True, logits=network.students[0].ends_in_softmax())
    step_losses = [distillation_loss(z, yb, soft, entropy, temperature, alpha) for z in logits]
    total = step_losses[0]
    for loss in step_losses[1:]:
        total = total + loss
    total.backward()
    opt.apply_gradients(trainable)
    return step_losses


def _distill_loop(
    students, teacher, x, y, temperature, alpha, epochs, batch_size, optimizer, seed, packed, asynchronous
):
    _check(students, teacher, temperature, alpha, epochs)
    if packed not in (None, True, False):
        raise ValueError(f"distill: packed must be None (automatic), True or False, got {packed!r}")
    batch_size = check_batch_size(batch_size, "distill")
    x = as_inputs(x, teacher, "distill")
    y = np.asarray(as_labels(y, x, teacher, losses.SparseCategoricalCrossentropy(), "distill"), dtype="int32")
    opts = _optimizers(students, optimizer)
    packing = _packing(students, opts, packed)
    backend = teacher.home_backend()
    random_layers = [layer for s in students for layer in s.random_layers()]
    batches = EpochIterator(
        x,
        y,
        batch_size,
        backend,
        shuffle=True,
        rng=np.random.default_rng(seed),
        random_layers=random_layers,
        integer_scale=integer_scale(teacher),  # teacher and students see the same batch
    )
    history = {student.name: [] for student in students}
    started = time.perf_counter()
    try:
        for epoch in range(epochs):
            sums = [None] * len(students)
            for _, xb, yb in batches.epoch(epoch):
                with no_grad():
                    soft, entropy = soft_targets(_logits(teacher, xb, training=False), temperature)
                if packing is None:
                    step_losses = _step_apart(students, opts, xb, yb, soft, entropy, temperature, alpha)
                else:
                    step_losses = _step_packed(*packing, xb, yb, soft, entropy, temperature, alpha)
                with no_grad():  # the epoch's loss sums stay on the device until the epoch ends
                    for i, loss in enumerate(step_losses):
                        weighted = ops.scale(loss, float(xb.shape[0]))
                        sums[i] = weighted if sums[i] is None else sums[i] + weighted
                yield None
            for student, total in zip(students, sums):
                value = yield from read_back(backend, total.data, asynchronous)
                history[student.name].append(float(np.asarray(value).reshape(())) / len(x))
    finally:  # also when training stops early: the students keep what the packed network learnt
        if packing is not None:
            network, packed_opt = packing
            network.push_weights()
            network.unpack_optimizer(packed_opt, opts)
    return {"loss": history, "seconds": time.perf_counter() - started}


def distill(
    students,
    teacher,
    x,
    y,
    temperature=4.0,
    alpha=0.1,
    epochs=1,
    batch_size=32,
    optimizer="adam",
    seed=None,
    packed=None,
):
    """Train `students` (a model or a list) from `teacher` on (x, integer labels y) for `epochs`.

    Each student uses its own optimizer: its compiled one, else a new one from `optimizer` (a name or a
    callable returning an Optimizer). Returns {"loss": {student name: [mean loss per epoch]}, "seconds"}.

    `packed`: None packs two or more students into one network when they pack (one graph up to the widths,
    like optimizers: compression.pack_students), True insists, False never packs; either way each student
    ends with its own weights and optimizer state, as if trained alone.
    """
    students = [students] if not isinstance(students, (list, tuple)) else list(students)
    loop = _distill_loop(
        students, teacher, x, y, temperature, alpha, epochs, batch_size, optimizer, seed, packed, asynchronous=False
    )
    return drive(loop, "distill: a readback had to wait; use `await distill_async(...)` in the browser")


async def distill_async(
    students,
    teacher,
    x,
    y,
    temperature=4.0,
    alpha=0.1,
    epochs=1,
    batch_size=32,
    optimizer="adam",
    seed=None,
    packed=None,
    yield_every=0.1,
):
    """distill for the browser: gives the page's event loop a turn every `yield_every` seconds."""
    students = [students] if not isinstance(students, (list, tuple)) else list(students)
    loop = _distill_loop(
        students, teacher, x, y, temperature, alpha, epochs, batch_size, optimizer, seed, packed, asynchronous=True
    )
    return await drive_async(loop, yield_every)
