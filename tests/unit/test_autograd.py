"""The autograd engine: gradient accumulation, graph release, no_grad, and the per-op fallback."""

import gc

import numpy as np
import pytest

import pybrowserml as pb
from pybrowserml import ops
from pybrowserml.backends.base import Backend
from pybrowserml.backends.numpy.kernels import KERNELS


class Boxed:
    """A device array that is not an ndarray, so the fallback path has to download and upload."""

    def __init__(self, array):
        self.array = np.array(array, copy=True)


class HalfBackend(Backend):
    """Keeps data in its own boxes and implements only elementwise kernels; everything else falls back."""

    name = "half"

    def __init__(self):
        super().__init__()
        own = ("add", "mul", "scale", "neg", "sum", "reshape", "broadcast_to")

        def boxed(kernel):
            return lambda *a, **kw: Boxed(kernel(*[x.array if isinstance(x, Boxed) else x for x in a], **kw))

        self.kernels = {name: boxed(KERNELS[name]) for name in own}

    def upload(self, array):
        return Boxed(array)

    def download(self, array):
        return array.array.copy()

    def zeros(self, shape, dtype="float32"):
        return Boxed(np.zeros(shape, dtype))

    def write(self, array, values):
        array.array[...] = values

    def shape(self, array):
        return array.array.shape


def test_a_tensor_used_twice_gets_the_sum_of_both_gradients():
    x = pb.Variable(np.array([1.0, 2.0, 3.0]), "x")
    y = ops.sum(x * x + x * 3.0)
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * np.array([1.0, 2.0, 3.0]) + 3.0)


def test_broadcasting_gradients_are_summed_back_to_the_operand_shape():
    a = pb.Variable(np.ones((4, 3)), "a")
    b = pb.Variable(np.array([1.0, 2.0, 3.0]), "b")
    ops.sum(a * b).backward()
    np.testing.assert_allclose(b.grad, [4.0, 4.0, 4.0])
    np.testing.assert_allclose(a.grad, np.tile([1.0, 2.0, 3.0], (4, 1)))


def test_no_grad_records_nothing():
    x = pb.Variable(np.array([1.0]), "x")
    with pb.no_grad():
        y = x * 2.0
    assert not y.requires_grad
    with pytest.raises(RuntimeError, match="does not depend"):
        y.backward()


def test_backward_releases_saved_activations():
    x = pb.Variable(np.ones((2, 2)), "x")
    hidden = x * 2.0
    loss = ops.sum(ops.relu(hidden))
    assert loss._parents
    loss.backward()
    assert loss._parents == () and loss._backward is None


def test_backward_of_a_non_scalar_needs_a_gradient():
    x = pb.Variable(np.ones(3), "x")
    with pytest.raises(ValueError, match="needs a scalar"):
        (x * 2.0).backward()


def test_memory_follows_python_lifetime():
    gc.collect()  # garbage cycles left by earlier tests (models) must not die in the middle of the count
    before = pb.memory()["numpy"]["tensors"]
    t = pb.Tensor(np.zeros((10, 10), dtype=np.float32))
    assert pb.memory()["numpy"]["tensors"] == before + 1
    del t
    gc.collect()
    assert pb.memory()["numpy"]["tensors"] == before


def test_missing_kernels_fall_back_to_numpy_with_identical_results_and_are_counted():
    rng = np.random.default_rng(0)
    x_host, w_host = rng.standard_normal((2, 5, 5, 3)), rng.standard_normal((3, 3, 3, 4))
    half = HalfBackend()
    results = {}
    for backend in (pb.get_backend("numpy"), half):
        x = pb.Tensor(x_host, backend=backend)
        w = pb.Variable(w_host, "w", backend=backend, dtype="float64")
        loss = ops.sum(ops.conv2d(x, w, strides=2, activation="relu") * 0.5)
        loss.backward()
        results[backend.name] = (loss.item(), backend.download(w.grad))
    assert results["half"][0] == results["numpy"][0]
    np.testing.assert_array_equal(results["half"][1], results["numpy"][1])
    assert half.fallback_counts["conv2d"] == 1
    assert half.fallback_counts["conv2d_grad_filter"] == 1
    assert "mul" not in half.fallback_counts and "scale" not in half.fallback_counts


def test_in_place_kernels_write_their_fallback_results_back_to_the_device():
    half = HalfBackend()
    p, g = half.upload(np.array([1.0, 2.0])), half.upload(np.array([0.5, 0.5]))
    v = half.zeros((2,), "float64")
    half.run("sgd_update", [p], [g], [v], lr=0.1, momentum=0.9)
    np.testing.assert_allclose(half.download(p), [0.95, 1.95])
    np.testing.assert_allclose(half.download(v), [-0.05, -0.05])


def test_an_unknown_kernel_is_a_clear_error():
    with pytest.raises(KeyError, match="no kernel named 'frobnicate'"):
        HalfBackend().run("frobnicate")


@pytest.mark.parametrize("backend", ["numpy", "half"])
def test_gradient_sums_never_write_into_a_shared_gradient(backend):
    """add's backward hands one array to both inputs; concat's hands out slices that the engine sums
    with add_parts. x gets three contributions, w shares the first one."""
    be = pb.backends.get_backend("numpy") if backend == "numpy" else HalfBackend()
    rng = np.random.default_rng(0)
    x = pb.Variable(rng.standard_normal((2, 3, 4)), backend=be)
    w = pb.Variable(rng.standard_normal((2, 3, 4)), backend=be)
    r = rng.standard_normal((2, 3, 12)).astype(np.float32)
    s = x + w
    t = ops.concat([s, x, x], axis=-1)
    loss = ops.sum(t * pb.Tensor(r, backend=be))
    loss.backward()
    np.testing.assert_allclose(be.download(w.grad), r[..., :4], rtol=1e-6)
    np.testing.assert_allclose(be.download(x.grad), r[..., :4] + r[..., 4:8] + r[..., 8:], rtol=1e-6)


def test_dense_block_gradients_match_finite_differences():
    """Every input of a dense block feeds several concats: their slices are summed in one pass.
    Seeded: with unseeded weights about 2% of draws put a ReLU input within the finite difference's
    step of its kink, where the central difference itself is wrong."""
    pb.set_random_seed(3)
    block = pb.layers.DenseBlock(3, layers=3, strides=1, name="check_block")
    x = np.random.default_rng(1).standard_normal((2, 5, 5, 2)) + 0.1
    result = pb.debug.gradient_check(block, [x])
    assert result.passed, result
