"""Packed students (compression/packed*.py): the grouped dense kernels and ops.split against finite
differences, their bad inputs, the packed network against the students it packs (forward, training steps,
optimizer state back in the students), and distill's choice between the packed path and the loop."""

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import layers, ops
from pybrowserml.compression import NotPackable, distill, pack_students
from pybrowserml.compression.distillation import _optimizers, _packing
from pybrowserml.compression.packed_steps import Layout

RUNS = ((((4, 3), (0, 2)), 3), (((7, 2),), 2))  # group 0 reads columns 4-6 then 0-1; columns 2-3 and 9 unread


@pytest.fixture(autouse=True)
def numpy_backend():
    pb.set_backend("numpy")


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28, 1)).astype(np.uint8), rng.integers(0, 10, n).astype("int32")


def _students(tag, widths=(0.25, 0.35, 0.5), **kwargs):
    return [pb.zoo.dense_block_cnn(alpha=a, seed=10 + i, name=f"{tag}{a}", **kwargs) for i, a in enumerate(widths)]


# -- the kernels and ops -----------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", [None, "relu"])
def test_grouped_dense_gradients_match_finite_differences(activation):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((4, 10)), rng.standard_normal(5 * 3 + 2 * 2), rng.standard_normal(5)
    fn = lambda x, w, b: ops.grouped_dense(x, w, b, RUNS, activation=activation)  # noqa: E731
    result = pb.debug.gradient_check(fn, [x, w, b], eps=1e-6)
    assert result.passed, result


def test_grouped_dense_is_each_groups_own_product():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((3, 10)).astype("float32"), rng.standard_normal(19).astype("float32")
    y = ops.grouped_dense(pb.Tensor(x), pb.Tensor(w), None, RUNS).numpy()
    first = np.concatenate([x[:, 4:7], x[:, 0:2]], axis=1) @ w[:15].reshape(5, 3)
    np.testing.assert_allclose(y, np.concatenate([first, x[:, 7:9] @ w[15:].reshape(2, 2)], axis=1), rtol=1e-6)
    dx = pb.get_backend().run(
        "grouped_dense_grad_input", np.ones((3, 5), "float32"), w, groups=RUNS, input_shape=x.shape
    )
    assert not dx[:, [2, 3, 9]].any(), "columns no group reads get a zero gradient"


@pytest.mark.parametrize(
    "groups, message",
    [
        ((), "groups is empty"),
        ([(((0, 2),), 2), (((1, 2),), 1)], "both read input 1"),
        ([(((8, 3),), 2)], "reads 8:11, not in the 10 inputs"),
        ([(((0, 2),), 0)], "at least one unit"),
        ([((), 2)], "at least one unit and one"),
        ([(((0, 2),),)], "must be"),
        ([(((0.5, 2),), 2)], "must be"),
    ],
)
def test_bad_groups_are_clear_errors(groups, message):
    be = pb.get_backend()
    with pytest.raises(ValueError, match=message):
        be.run("grouped_dense", np.zeros((2, 10), "float32"), np.zeros(4, "float32"), None, groups=groups)


def test_a_weight_of_the_wrong_size_or_shape_is_refused():
    be = pb.get_backend()
    x = np.zeros((2, 10), "float32")
    with pytest.raises(ValueError, match="the groups need 19"):
        be.run("grouped_dense", x, np.zeros(18, "float32"), None, groups=RUNS)
    with pytest.raises(ValueError, match="must be flat"):
        be.run("grouped_dense", x, np.zeros((19, 1), "float32"), None, groups=RUNS)
    with pytest.raises(ValueError, match="bias"):
        be.run("grouped_dense", x, np.zeros(19, "float32"), np.zeros(4, "float32"), groups=RUNS)


def test_split_pieces_get_their_gradients_joined():
    rng = np.random.default_rng(2)
    weights = rng.standard_normal(6)

    def fn(x):
        a, b, c = ops.split(x, [1, 3, 2], axis=-1)
        return ops.sum(a * 2.0) + ops.sum(ops.square(b)) + ops.sum(c * pb.Tensor(weights[:2], dtype=x.dtype))

    assert pb.debug.gradient_check(fn, [rng.standard_normal((3, 6))]).passed
    x = pb.Tensor(rng.standard_normal((2, 5)), requires_grad=True)
    first, _ = ops.split(x, [2, 3])
    ops.sum(first).backward()  # the unused piece's share is zeros
    np.testing.assert_array_equal(x.grad, np.concatenate([np.ones((2, 2)), np.zeros((2, 3))], axis=1))
    with pytest.raises(ValueError, match="sum to 5"):
        ops.split(x, [2, 2])


# -- layouts and the packed network --------------------------------------------------------------------------


def test_a_concat_of_packed_tensors_keeps_its_parts_side_by_side():
    a, b = Layout.side_by_side([2, 3]), Layout.side_by_side([1, 4])
    joined = Layout.concat([a, b])
    assert joined.segments == (((0, 2), (5, 1)), ((2, 3), (6, 4)))
    assert joined.width == 10 and joined.student_widths() == [3, 7]
    assert joined.repeated(2).segments == (((0, 4), (10, 2)), ((4, 6), (12, 8)))
    np.testing.assert_array_equal(joined.channels(1), [2, 3, 4, 6, 7, 8, 9])


def _small(width, seed):
    """Every layer kind the packer knows: a shared-input conv, pooling, depthwise (multiplier 2, bias),
    1x1 convs on runs, a concat, an activation, global pooling, dense layers."""
    pb.set_random_seed(seed)
    inputs = layers.Input((9, 9, 2))
    x = layers.Conv2D(width, 3, padding="same", activation="relu6")(inputs)
    x = layers.MaxPooling2D(2)(x)
    d = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, use_bias=True, activation="relu")(x)
    y = layers.Conv2D(width + 1, 1, activation="sigmoid")(d)
    x = layers.Concatenate()([x, y, d])
    x = layers.Conv2D(3, 1, use_bias=False)(layers.ReLU()(x))
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(width, activation="tanh")(x)
    return pb.Model(inputs, layers.Dense(4, activation="softmax")(x))


def test_the_packed_network_computes_what_each_student_does():
    students = [_small(w, seed) for seed, w in enumerate((2, 3, 5))]
    network = pack_students(students)
    x = pb.Tensor(np.random.default_rng(3).standard_normal((3, 9, 9, 2)).astype("float32"))
    for logits in (True, False):
        for student, out in zip(students, network.call(x, logits=logits)):
            want = student.call(x, logits=logits).numpy()
            np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-6)


# Weights after a few Adam steps (lr 3e-3) agree to float rounding: Adam divides by the gradients' own scale,
# so for weights whose gradients are near zero a rounding difference moves the update by a part of a step.
WEIGHT_ATOL = 2e-5


def test_packed_training_steps_give_the_weights_and_optimizer_state_of_training_apart():
    x, y = _images(96)
    teacher = pb.zoo.dense_block_cnn(alpha=0.5, seed=1)
    apart, packed = _students("a"), _students("p")
    for s in apart + packed:
        s.compile(pb.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    alone = distill(apart, teacher, x, y, epochs=2, seed=3, packed=False)
    together = distill(packed, teacher, x, y, epochs=2, seed=3, packed=True)
    for a, p in zip(apart, packed):
        for u, v in zip(a.get_weights(), p.get_weights()):
            np.testing.assert_allclose(u, v, rtol=1e-4, atol=WEIGHT_ATOL)
        np.testing.assert_allclose(alone["loss"][a.name], together["loss"][p.name], rtol=1e-5)
        assert a.optimizer.iterations == p.optimizer.iterations == 6
        sa, sp = a.optimizer.get_state(), p.optimizer.get_state()
        for name in sa["slots"]:
            for u, v in zip(sa["slots"][name], sp["slots"][name]):
                np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-9)
    # the students' optimizers continue from the packed run's state: one more epoch apart stays equal
    distill(apart, teacher, x, y, epochs=1, seed=4, packed=False)
    distill(packed, teacher, x, y, epochs=1, seed=4, packed=False)
    for a, p in zip(apart, packed):
        for u, v in zip(a.get_weights(), p.get_weights()):
            np.testing.assert_allclose(u, v, rtol=1e-4, atol=WEIGHT_ATOL)


def test_students_trained_packed_stay_ordinary_models(tmp_path):
    x, y = _images(32)
    students = _students("s", widths=(0.25, 0.5))
    distill(students, pb.zoo.dense_block_cnn(alpha=0.5, seed=1), x, y, epochs=1, packed=True)
    path = tmp_path / "student.json"
    students[0].save(str(path))
    reloaded = pb.load_model(str(path))
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), students[0].predict(x, verbose=0))


# -- distill's choice -------------------------------------------------------------------------------------


def _choice(students, optimizer="adam", packed=None):
    return _packing(students, _optimizers(students, optimizer), packed)


def test_distill_packs_students_that_differ_only_in_their_widths():
    assert _choice(_students("w")) is not None
    assert _choice(_students("one", widths=(0.5,))) is None, "a single student runs the loop it always did"
    assert _choice(_students("off"), packed=False) is None


def _with_dropout(seed):
    inputs = layers.Input((28, 28, 1))
    x = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3)(inputs))
    return pb.Model(inputs, layers.Dense(10, activation="softmax")(layers.Dropout(0.2, seed=seed)(x)))


def _frozen():
    students = _students("f", widths=(0.25, 0.5))
    students[1].get_layer("stem").trainable = False
    return students


def _compiled_apart(optimizers):
    students = _students("c", widths=(0.25, 0.5))
    for student, optimizer in zip(students, optimizers):
        student.compile(optimizer, "sparse_categorical_crossentropy")
    return students


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda: [pb.zoo.dense_block_cnn(alpha=0.25), pb.zoo.dense_block_cnn(alpha=0.25, layers_per_block=3)], "graph"),
        (lambda: [_with_dropout(1), _with_dropout(2)], "random numbers"),
        (
            lambda: [pb.zoo.dense_block_cnn(alpha=0.25), pb.zoo.dense_block_cnn(alpha=0.25, activation="relu6")],
            "differ",
        ),
        (_frozen, "not trainable"),
        (lambda: 2 * [pb.zoo.dense_block_cnn(alpha=0.25)], "different students"),
        (lambda: _compiled_apart([pb.optimizers.Adam(1e-3), pb.optimizers.Adam(2e-3)]), "optimizer"),
        (lambda: _compiled_apart([pb.optimizers.Adam(), pb.optimizers.SGD()]), "optimizer"),
    ],
)
def test_students_that_do_not_pack_train_in_the_loop(make, reason):
    assert _choice(make()) is None
    with pytest.raises(NotPackable, match=reason):
        _choice(make(), packed=True)


def test_students_that_do_not_pack_still_train_and_packed_must_be_a_choice():
    x, y = _images(32)
    teacher = pb.zoo.dense_block_cnn(alpha=0.5, seed=1)
    students = [_with_dropout(1), _with_dropout(2)]
    before = [s.get_weights() for s in students]
    result = distill(students, teacher, x, y, epochs=1)
    assert all(len(v) == 1 for v in result["loss"].values())
    assert all(not np.array_equal(b[0], s.get_weights()[0]) for b, s in zip(before, students))
    with pytest.raises(ValueError, match="packed must be None"):
        distill(students, teacher, x, y, packed="yes")


def test_optimizers_that_stepped_apart_pack_with_their_state():
    x, y = _images(64)
    teacher = pb.zoo.dense_block_cnn(alpha=0.5, seed=1)
    apart, packed = _students("a", widths=(0.25, 0.5)), _students("p", widths=(0.25, 0.5))
    for s in apart + packed:
        s.compile(pb.optimizers.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy")
    for group in (apart, packed):
        distill(group, teacher, x, y, epochs=1, seed=1, packed=False)
    distill(apart, teacher, x, y, epochs=1, seed=2, packed=False)
    distill(packed, teacher, x, y, epochs=1, seed=2, packed=True)
    for a, p in zip(apart, packed):
        for u, v in zip(a.get_weights(), p.get_weights()):
            np.testing.assert_allclose(u, v, rtol=1e-4, atol=WEIGHT_ATOL)
