"""Distillation: the loss's gradient, and several students trained in one loop against one teacher."""

import gzip

import numpy as np
import pytest

import pybrowserml as pb
from harness.paths import FASHION_MNIST
from pybrowserml import ops
from pybrowserml.compression import distill, distillation_loss
from pybrowserml.compression.distillation import soft_targets


def _fashion_mnist(n):
    images = gzip.open(FASHION_MNIST / "train-images-idx3-ubyte.gz").read()[16 : 16 + n * 784]
    labels = gzip.open(FASHION_MNIST / "train-labels-idx1-ubyte.gz").read()[8 : 8 + n]
    return np.frombuffer(images, np.uint8).reshape(n, 28, 28, 1), np.frombuffer(labels, np.uint8).astype("int32")


@pytest.fixture(autouse=True)
def numpy_backend():
    pb.set_backend("numpy")


def _loss_of(temperature, alpha):
    def loss(student_logits, teacher_logits, labels):
        soft, entropy = soft_targets(teacher_logits, temperature)
        return distillation_loss(student_logits, labels, soft, entropy, temperature, alpha)

    return loss


@pytest.mark.parametrize("temperature, alpha", [(1.0, 0.5), (4.0, 0.1), (2.5, 0.0)])
def test_distillation_loss_gradient_matches_finite_differences(temperature, alpha):
    rng = np.random.default_rng(0)
    student, teacher = rng.standard_normal((6, 5)) * 2, rng.standard_normal((6, 5)) * 2
    labels = rng.integers(0, 5, 6).astype("int32")
    result = pb.debug.gradient_check(
        _loss_of(temperature, alpha), [student, teacher, labels], wrt=[0], eps=1e-5, atol=1e-4
    )
    assert result.passed, result


def test_distillation_loss_is_the_formula():
    rng = np.random.default_rng(1)
    zs, zt = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    labels = np.array([0, 2, 1, 1], dtype="int32")
    t, alpha = 3.0, 0.3
    value = _loss_of(t, alpha)(pb.Tensor(zs), pb.Tensor(zt), pb.Tensor(labels, dtype="int32")).item()

    def log_softmax(z):
        z = z - z.max(-1, keepdims=True)
        return z - np.log(np.exp(z).sum(-1, keepdims=True))

    hard = -log_softmax(zs)[np.arange(4), labels].mean()
    p_t = np.exp(log_softmax(zt / t))
    kl = (p_t * (log_softmax(zt / t) - log_softmax(zs / t))).sum(-1).mean()
    np.testing.assert_allclose(value, alpha * hard + (1 - alpha) * t * t * kl, rtol=1e-5)


@pytest.mark.parametrize("packed", [False, True])
def test_a_student_trained_jointly_ends_with_the_weights_it_gets_alone(packed):
    """The teacher's outputs are shared, not mixed: joint training is each student's own run, in one loop
    (exactly) or packed into one network (the same arithmetic, summed in other orders)."""
    x, y = _fashion_mnist(96)
    teacher = pb.zoo.dense_block_cnn(alpha=0.5, seed=1)
    alone = pb.zoo.dense_block_cnn(alpha=0.25, seed=2, name="alone")
    joint = pb.zoo.dense_block_cnn(alpha=0.25, seed=2, name="joint")
    other = pb.zoo.dense_block_cnn(alpha=0.35, seed=3, name="other")
    solo = distill(alone, teacher, x, y, epochs=2, batch_size=32, seed=5)
    both = distill([joint, other], teacher, x, y, epochs=2, batch_size=32, seed=5, packed=packed)
    for a, b in zip(alone.get_weights(), joint.get_weights()):
        if packed:
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
        else:
            np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(solo["loss"]["alone"], both["loss"]["joint"], rtol=0 if not packed else 1e-6)
    assert set(both["loss"]) == {"joint", "other"} and len(both["loss"]["other"]) == 2


def test_distillation_lowers_the_students_loss():
    x, y = _fashion_mnist(256)
    pb.set_random_seed(0)
    teacher = pb.zoo.dense_block_cnn(alpha=0.5, seed=1, kernel_initializer="he_normal")
    teacher.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    teacher.fit(x, y, epochs=3, batch_size=32, verbose=0, seed=0)
    student = pb.zoo.dense_block_cnn(alpha=0.25, seed=2, kernel_initializer="he_normal")
    history = distill(student, teacher, x, y, temperature=4.0, alpha=0.1, epochs=3, seed=0)
    losses = history["loss"][student.name]
    assert losses[-1] < losses[0]


def test_bad_arguments_are_clear_errors():
    x, y = _fashion_mnist(8)
    teacher, student = pb.zoo.dense_block_cnn(alpha=0.25, seed=1), pb.zoo.dense_block_cnn(alpha=0.25, seed=2)
    with pytest.raises(ValueError, match="temperature"):
        distill(student, teacher, x, y, temperature=0)
    with pytest.raises(ValueError, match="alpha"):
        distill(student, teacher, x, y, alpha=1.5)
    with pytest.raises(ValueError, match="teacher cannot be one of its students"):
        distill(teacher, teacher, x, y)
    with pytest.raises(ValueError, match="one Optimizer instance"):
        distill([student, pb.zoo.dense_block_cnn(alpha=0.25)], teacher, x, y, optimizer=pb.optimizers.Adam())
    with pytest.raises(ValueError, match="outputs"):
        distill(pb.zoo.dense_block_cnn(alpha=0.25, classes=5), teacher, x, y)


def test_the_kl_term_vanishes_when_the_student_equals_the_teacher():
    z = pb.Tensor(np.random.default_rng(2).standard_normal((3, 4)))
    soft, entropy = soft_targets(z, 2.0)
    labels = pb.Tensor(np.array([0, 1, 2], dtype="int32"), dtype="int32")
    value = distillation_loss(z, labels, soft, entropy, 2.0, alpha=0.0).item()
    assert abs(value) < 1e-6
    assert ops.softmax_xent(z, labels).item() > 0
