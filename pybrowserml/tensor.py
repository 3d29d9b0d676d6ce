"""Tensor: a backend array plus the autograd node that produced it. The whole engine is here.

A Tensor holds a handle to data living on its backend (a numpy array, a slot of WASM memory, a GPU
buffer) and never copies it to Python unless asked (``numpy()``, ``item()``). Ops (ops.py) create
Tensors with a backward closure that maps the output gradient to input gradients using backend
kernels only. ``backward()`` walks the graph in reverse topological order, sums gradients of
tensors used more than once, stores them on the leaves, and then cuts the graph so that saved
activations are released as soon as they are no longer needed.
"""

from __future__ import annotations

import contextlib
import weakref

import numpy as np

from . import backends
from .backends import get_backend

_grad_enabled = True
_live = weakref.WeakSet()


@contextlib.contextmanager
def no_grad():
    """Record nothing inside: for inference, evaluation and optimizer updates."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    return _grad_enabled


def _host_array(value, dtype):
    array = np.asarray(value)
    if dtype is not None:
        return array.astype(dtype, copy=False)
    if array.dtype == np.float64 and not isinstance(value, np.ndarray):
        return array.astype(np.float32)  # Python floats and lists default to float32, like Keras
    if array.dtype.kind in "iub" and not isinstance(value, np.ndarray):
        return array.astype(np.float32)
    if array.dtype == np.uint8:
        return array.astype(np.int32)  # backends hold uint8 (pixel batches), but Tensor(pixels) is int32
    return array


class Tensor:
    __slots__ = ("data", "backend", "shape", "dtype", "requires_grad", "grad", "_parents", "_backward", "__weakref__")

    def __init__(self, value, backend=None, requires_grad=False, dtype=None):
        """Upload `value` (array-like) to `backend` (the current one by default)."""
        backend = backend or get_backend()
        host = _host_array(value, dtype)
        self._bind(backend.upload(host), backend, requires_grad)

    def _bind(self, data, backend, requires_grad):
        self.data = data
        self.backend = backend
        self.shape = tuple(backend.shape(data))
        self.dtype = _dtype_of(data, backend)
        self.requires_grad = requires_grad
        self.grad = None
        self._parents = ()
        self._backward = None
        _live.add(self)

    @classmethod
    def wrap(cls, data, backend, parents=(), backward=None):
        """A tensor around an existing backend array; records the op if any parent needs a gradient."""
        t = cls.__new__(cls)
        needs_grad = _grad_enabled and any(p.requires_grad for p in parents)
        t._bind(data, backend, needs_grad)
        if needs_grad:
            t._parents = tuple(parents)
            t._backward = backward
        return t

    # -- data out --------------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        return self.backend.download(self.data)

    def item(self) -> float:
        return float(self.numpy())

    def __float__(self):
        return self.item()

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape)) if self.shape else 1

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self):
        return f"Tensor(shape={self.shape}, dtype={self.dtype}, backend={self.backend.name})"

    # -- autograd --------------------------------------------------------------------------------
    def backward(self, grad=None):
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` (a backend array) for every leaf that needs it."""
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not depend on any trainable variable")
        be = self.backend
        if grad is None:
            if self.shape not in ((), (1,)):
                raise ValueError(f"backward() without a gradient needs a scalar, got shape {self.shape}")
            grad = be.upload(np.ones(self.shape, dtype=self.dtype))
        elif isinstance(grad, Tensor):
            grad = grad.data
        order = _topological_order(self)
        # A tensor used several times gets one gradient part per use; they are summed in one pass when
        # the tensor's own node is reached (add_parts), so concat's slices are never copied out first.
        parts = {id(self): [grad]}
        for node in reversed(order):
            node_parts = parts.pop(id(node), None)
            if node_parts is None:
                continue
            g = _sum_parts(be, node_parts)
            if node._backward is None:  # a leaf: a Variable or an input that asked for gradients
                node.grad = g if node.grad is None else be.run("add", node.grad, g)
                continue
            for parent, pg in zip(node._parents, node._backward(g)):
                if pg is None or not parent.requires_grad:
                    continue
                parts.setdefault(id(parent), []).append(pg)
            # Cut the graph behind us so that saved activations are freed now, not when the loss dies.
            node._parents = ()
            node._backward = None

    # operators are attached by ops.py, which owns every differentiable computation


class GradSlice:
    """A parent's gradient that is a slice of its child's (concat's backward): `grad[start:stop]` along
    `axis`, left unmaterialised so that the engine can sum it with the parent's other parts in one pass."""

    __slots__ = ("grad", "axis", "start", "stop")

    def __init__(self, grad, axis, start, stop):
        self.grad, self.axis, self.start, self.stop = grad, axis, start, stop

    def materialize(self, be):
        return be.run("slice", self.grad, axis=self.axis, start=self.start, stop=self.stop)


class GradPiece:
    # A parent's gradient of which its child is a piece (split's backward): `grad` at start:start+len along
    # `axis` of an array of `shape`, zeros elsewhere, left unmaterialised so that the pieces of one split
    # are joined by one concat.

    __slots__ = ("grad", "axis", "start", "shape")

    def __init__(self, grad, axis, start, shape):
        self.grad, self.axis, self.start, self.shape = grad, axis, start, tuple(shape)

    def stop(self, be):
        return self.start + be.shape(self.grad)[self.axis]


def _join_pieces(be, pieces):
    # The gradient of a split tensor from its pieces' gradients: one concat in axis order, the gaps of
    # pieces without a gradient filled with zeros; None when pieces overlap (they are then summed as parts).
    pieces = sorted(pieces, key=lambda p: p.start)
    axis, shape = pieces[0].axis, pieces[0].shape
    if any(p.axis != axis or p.shape != shape for p in pieces):
        return None
    dtype = _dtype_of(pieces[0].grad, be)
    arrays, position = [], 0
    for piece in pieces:
        if piece.start < position:
            return None
        if piece.start > position:
            arrays.append(be.zeros(shape[:axis] + (piece.start - position,) + shape[axis + 1 :], dtype))
        arrays.append(piece.grad)
        position = piece.stop(be)
    if position < shape[axis]:
        arrays.append(be.zeros(shape[:axis] + (shape[axis] - position,) + shape[axis + 1 :], dtype))
    return arrays[0] if len(arrays) == 1 else be.run("concat", arrays, axis=axis)


def _sum_parts(be, parts):
    """One tensor's gradient from its parts (arrays, GradSlices and GradPieces). Parts may be shared (add's
    backward hands one array to both inputs), so none is written to."""
    pieces = [p for p in parts if isinstance(p, GradPiece)]
    if pieces:
        joined = _join_pieces(be, pieces) if len(pieces) == len(parts) else None
        if joined is not None:
            return joined
        parts = [_join_pieces(be, [p]) if isinstance(p, GradPiece) else p for p in parts]
    if len(parts) == 1:
        part = parts[0]
        return part.materialize(be) if isinstance(part, GradSlice) else part
    arrays = [p.grad if isinstance(p, GradSlice) else p for p in parts]
    slices = [(p.axis, p.start, p.stop) if isinstance(p, GradSlice) else None for p in parts]
    return be.run("add_parts", arrays, slices)


def _topological_order(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for parent in node._parents:
            if parent.requires_grad and id(parent) not in seen:
                stack.append((parent, False))
    return order


def _dtype_of(data, backend):
    dtype = getattr(data, "dtype", None)
    return np.dtype(dtype) if dtype is not None else np.dtype("float32")


class Variable(Tensor):
    """A named, trainable tensor owned by a layer (weights, biases, moving statistics)."""

    __slots__ = ("name", "trainable")

    def __init__(self, value, name="variable", trainable=True, backend=None, dtype="float32"):
        super().__init__(value, backend=backend, requires_grad=trainable, dtype=dtype)
        self.name = name
        self.trainable = trainable

    def assign(self, value):
        """Overwrite the values in place on the device (shape must match)."""
        value = np.asarray(value, dtype=self.dtype)
        if value.shape != self.shape:
            raise ValueError(f"variable {self.name!r} has shape {self.shape}; cannot assign shape {value.shape}")
        self.backend.write(self.data, value)

    def assign_device(self, data):
        """Replace the device array (moving statistics computed by kernels)."""
        self.data = data

    def __repr__(self):
        return f"Variable({self.name!r}, shape={self.shape}, dtype={self.dtype}, trainable={self.trainable})"


def live_tensor_stats(backend) -> dict:
    tensors = [t for t in list(_live) if t.backend is backend]
    nbytes = sum(int(np.prod(t.shape)) * t.dtype.itemsize for t in tensors)
    return {"tensors": len(tensors), "tensor_bytes": nbytes}


def memory() -> dict:
    """Live device arrays, bytes, numpy fallbacks and live tensors for each backend created in this
    session (like tf.memory())."""
    report = backends.memory()
    for name, entry in report.items():
        entry.update(live_tensor_stats(get_backend(name)))
    return report
