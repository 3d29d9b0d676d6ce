"""Learning-rate schedules against their closed-form Keras formulas, configs and errors."""

import json
import math

import pytest

from pybrowserml import schedules


def test_exponential_decay_smooth_and_staircase():
    s = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert s(0) == pytest.approx(0.1)
    assert s(10) == pytest.approx(0.05)
    assert s(15) == pytest.approx(0.1 * 0.5**1.5)
    stair = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    assert stair(9) == pytest.approx(0.1)
    assert stair(15) == pytest.approx(0.05)
    assert stair(20) == pytest.approx(0.025)


def test_piecewise_constant_boundaries_are_inclusive_on_the_left_value():
    s = schedules.PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
    assert [s(0), s(100), s(101), s(200), s(201), s(10_000)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]


def test_piecewise_constant_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="1 less than the length of values"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5])


def test_polynomial_decay_without_and_with_cycle():
    s = schedules.PolynomialDecay(1.0, decay_steps=100, end_learning_rate=0.1, power=2.0)
    assert s(0) == pytest.approx(1.0)
    assert s(50) == pytest.approx(0.9 * 0.25 + 0.1)
    assert s(100) == pytest.approx(0.1)
    assert s(500) == pytest.approx(0.1)  # capped at decay_steps
    c = schedules.PolynomialDecay(1.0, decay_steps=100, end_learning_rate=0.0, power=1.0, cycle=True)
    assert c(0) == pytest.approx(1.0)
    assert c(150) == pytest.approx(1.0 - 150 / 200)  # decay_steps grows to 200
    assert c(100) == pytest.approx(0.0)


def test_inverse_time_decay():
    s = schedules.InverseTimeDecay(0.5, decay_steps=10, decay_rate=2.0)
    assert s(5) == pytest.approx(0.5 / (1 + 2.0 * 0.5))
    stair = schedules.InverseTimeDecay(0.5, decay_steps=10, decay_rate=2.0, staircase=True)
    assert stair(15) == pytest.approx(0.5 / 3.0)


def test_cosine_decay_with_alpha():
    s = schedules.CosineDecay(1.0, decay_steps=100, alpha=0.1)
    assert s(0) == pytest.approx(1.0)
    assert s(50) == pytest.approx(0.9 * 0.5 + 0.1)
    assert s(100) == pytest.approx(0.1)
    assert s(1000) == pytest.approx(0.1)
    assert s(25) == pytest.approx(0.9 * 0.5 * (1 + math.cos(math.pi / 4)) + 0.1)


def test_cosine_decay_with_linear_warmup():
    s = schedules.CosineDecay(0.0, decay_steps=100, warmup_target=1.0, warmup_steps=10)
    assert s(0) == pytest.approx(0.0)
    assert s(5) == pytest.approx(0.5)
    assert s(10) == pytest.approx(1.0)  # decay starts from warmup_target
    assert s(60) == pytest.approx(0.5)
    assert s(110) == pytest.approx(0.0)
    assert s(500) == pytest.approx(0.0)


def test_cosine_decay_restarts_periods():
    s = schedules.CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=2.0, m_mul=0.5)
    assert s(0) == pytest.approx(1.0)
    assert s(5) == pytest.approx(0.5)
    assert s(10) == pytest.approx(0.5)  # second period starts at m_mul * initial and lasts 20 steps
    assert s(20) == pytest.approx(0.25)


@pytest.mark.parametrize(
    "schedule",
    [
        schedules.ExponentialDecay(0.1, 10, 0.9, staircase=True),
        schedules.PiecewiseConstantDecay([5], [0.1, 0.01]),
        schedules.PolynomialDecay(0.1, 50, cycle=True),
        schedules.InverseTimeDecay(0.1, 10, 0.5),
        schedules.CosineDecay(0.1, 100, alpha=0.2, warmup_target=0.3, warmup_steps=5),
        schedules.CosineDecayRestarts(0.1, 10),
    ],
)
def test_config_round_trip_through_json_and_get(schedule):
    config = json.loads(json.dumps(schedules.serialize(schedule)))
    rebuilt = schedules.get(config)
    assert type(rebuilt) is type(schedule)
    assert rebuilt.get_config() == schedule.get_config()
    assert [rebuilt(s) for s in (0, 3, 7, 42)] == [schedule(s) for s in (0, 3, 7, 42)]


def test_get_passes_schedules_and_callables_through_and_rejects_junk():
    s = schedules.CosineDecay(0.1, 10)
    assert schedules.get(s) is s
    fn = lambda step: 0.1  # noqa: E731
    assert schedules.get(fn) is fn
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'Nope'"):
        schedules.get("Nope")
    with pytest.raises(ValueError, match="cannot build ExponentialDecay"):
        schedules.get("ExponentialDecay")
    with pytest.raises(ValueError, match="could not interpret"):
        schedules.get(3)


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="decay_steps must be > 0"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="step >= 0"):
        schedules.CosineDecay(0.1, 10)(-1)


def test_an_optimizer_follows_a_schedule_during_fit():
    pb = pytest.importorskip("pybrowserml")
    import numpy as np

    pb.set_backend("numpy")
    pb.set_random_seed(0)
    schedule = schedules.PiecewiseConstantDecay([4, 8], [0.1, 0.01, 0.001])
    model = pb.models.Sequential([pb.layers.Input((3,)), pb.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=pb.optimizers.SGD(learning_rate=schedule), loss="sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).standard_normal((16, 3)).astype("float32"), np.arange(16, dtype="int32") % 2
    history = model.fit(x, y, batch_size=4, epochs=3, verbose=0)  # 4 steps per epoch
    # The logged rate is the one the next step would use: schedule(4), schedule(8), schedule(12).
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.01, 0.001])
