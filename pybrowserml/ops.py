"""Differentiable ops over Tensors. Forward and backward are both made of backend kernels.

Every op: run the forward kernel(s), then ``Tensor.wrap`` the result with a backward closure that
maps the output gradient (a backend array) to one gradient per input (or None). Nothing here touches
device data from Python, so an op costs the same few kernel calls on every backend.
"""

from __future__ import annotations

import numpy as np

from .tensor import GradPiece, GradSlice, Tensor, Variable  # noqa: F401  (Variable re-exported for layer code)

# -- helpers ---------------------------------------------------------------------------------------


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    if isinstance(value, Tensor):
        return value
    backend = like.backend if like is not None else None
    dtype = like.dtype if like is not None else None
    return Tensor(value, backend=backend, dtype=dtype)


def _pair(value, name):
    if isinstance(value, int):
        return (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return value


def _axis(axis, ndim):
    return axis + ndim if axis < 0 else axis


def _reduced_shape(shape, axis):
    """The keepdims shape of a reduction over `axis` (None = all axes)."""
    if axis is None:
        return (1,) * len(shape)
    axes = {_axis(a, len(shape)) for a in (axis if isinstance(axis, (tuple, list)) else (axis,))}
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


# -- elementwise arithmetic with broadcasting -------------------------------------------------------


def _unbroadcast(be, g, shape):
    return g if be.shape(g) == tuple(shape) else be.run("sum_to_shape", g, shape=tuple(shape))


def add(a, b):
    if not isinstance(b, Tensor) and np.isscalar(b):
        return scale(a, 1.0, float(b))
    if not isinstance(a, Tensor) and np.isscalar(a):
        return scale(b, 1.0, float(a))
    a, b = as_tensor(a, b if isinstance(b, Tensor) else None), as_tensor(b, a)
    be = a.backend
    y = be.run("add", a.data, b.data)
    return Tensor.wrap(y, be, (a, b), lambda g: (_unbroadcast(be, g, a.shape), _unbroadcast(be, g, b.shape)))


def sub(a, b):
    if not isinstance(b, Tensor) and np.isscalar(b):
        return scale(a, 1.0, -float(b))
    if not isinstance(a, Tensor) and np.isscalar(a):
        return scale(b, -1.0, float(a))
    a, b = as_tensor(a, b if isinstance(b, Tensor) else None), as_tensor(b, a)
    be = a.backend
    y = be.run("sub", a.data, b.data)
    return Tensor.wrap(
        y,
        be,
        (a, b),
        lambda g: (_unbroadcast(be, g, a.shape), _unbroadcast(be, be.run("neg", g), b.shape)),
    )


def mul(a, b):
    if not isinstance(b, Tensor) and np.isscalar(b):
        return scale(a, float(b), 0.0)
    if not isinstance(a, Tensor) and np.isscalar(a):
        return scale(b, float(a), 0.0)
    a, b = as_tensor(a, b if isinstance(b, Tensor) else None), as_tensor(b, a)
    be = a.backend
    y = be.run("mul", a.data, b.data)

    def backward(g):
        ga = _unbroadcast(be, be.run("mul", g, b.data), a.shape) if a.requires_grad else None
        gb = _unbroadcast(be, be.run("mul", g, a.data), b.shape) if b.requires_grad else None
        return ga, gb

    return Tensor.wrap(y, be, (a, b), backward)


def div(a, b):
    if not isinstance(b, Tensor) and np.isscalar(b):
        return scale(a, 1.0 / float(b), 0.0)
    a, b = as_tensor(a, b if isinstance(b, Tensor) else None), as_tensor(b, a)
    be = a.backend
    y = be.run("div", a.data, b.data)

    def backward(g):
        ga = _unbroadcast(be, be.run("div", g, b.data), a.shape) if a.requires_grad else None
        gb = None
        if b.requires_grad:  # d(a/b)/db = -(a/b)/b
            gb = _unbroadcast(be, be.run("neg", be.run("div", be.run("mul", g, y), b.data)), b.shape)
        return ga, gb

    return Tensor.wrap(y, be, (a, b), backward)


def scale(x, alpha=1.0, beta=0.0):
    """x * alpha + beta with Python scalars: one kernel, no scalar upload."""
    be = x.backend
    y = be.run("scale", x.data, alpha=alpha, beta=beta)
    return Tensor.wrap(y, be, (x,), lambda g: (be.run("scale", g, alpha=alpha, beta=0.0),))


def neg(x):
    return scale(x, -1.0, 0.0)


def _unary(kernel, grad_from_input_output):
    def op(x):
        be = x.backend
        y = be.run(kernel, x.data)
        return Tensor.wrap(y, be, (x,), lambda g: (grad_from_input_output(be, g, x.data, y),))

    op.__name__ = kernel
    return op


exp = _unary("exp", lambda be, g, x, y: be.run("mul", g, y))
log = _unary("log", lambda be, g, x, y: be.run("div", g, x))
sqrt = _unary("sqrt", lambda be, g, x, y: be.run("div", be.run("scale", g, alpha=0.5, beta=0.0), y))
square = _unary("square", lambda be, g, x, y: be.run("mul", be.run("scale", g, alpha=2.0, beta=0.0), x))
abs = _unary(
    "abs",
    lambda be, g, x, y: be.run(
        "mul", g, be.run("sub", be.run("where_positive", x), be.run("where_positive", be.run("neg", x)))
    ),
)
relu = _unary("relu", lambda be, g, x, y: be.run("activation_grad", g, y, activation="relu"))
relu6 = _unary("relu6", lambda be, g, x, y: be.run("activation_grad", g, y, activation="relu6"))
sigmoid = _unary("sigmoid", lambda be, g, x, y: be.run("activation_grad", g, y, activation="sigmoid"))
tanh = _unary("tanh", lambda be, g, x, y: be.run("activation_grad", g, y, activation="tanh"))


def pow(x, p):
    """x ** p for a Python scalar p."""
    p = float(p)
    be = x.backend
    y = be.run("pow_scalar", x.data, p=p)
    return Tensor.wrap(
        y,
        be,
        (x,),
        lambda g: (be.run("mul", g, be.run("scale", be.run("pow_scalar", x.data, p=p - 1), alpha=p, beta=0.0)),),
    )


def clip(x, lo, hi):
    """Clip values; the gradient flows where the value was inside [lo, hi] (like tf.clip_by_value)."""
    be = x.backend
    y = be.run("clip", x.data, lo=lo, hi=hi)

    def backward(g):
        inside = be.run(
            "mul",
            be.run("where_positive", be.run("scale", x.data, alpha=1.0, beta=-lo)),
            be.run("where_positive", be.run("scale", x.data, alpha=-1.0, beta=hi)),
        )
        return (be.run("mul", g, inside),)

    return Tensor.wrap(y, be, (x,), backward)


def activation(x, name):
    """Apply an activation by Keras name (None / 'linear' / 'relu' / 'relu6' / 'sigmoid' / 'tanh' / 'softmax')."""
    if name is None or name == "linear":
        return x
    table = {"relu": relu, "relu6": relu6, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax}
    if name not in table:
        raise ValueError(f"unknown activation {name!r}: use one of {sorted(table)} or None")
    return table[name](x)


# -- reductions and shapes -------------------------------------------------------------------------


def sum(x, axis=None, keepdims=False):
    be = x.backend
    y = be.run("sum", x.data, axis=axis, keepdims=keepdims)
    kept = _reduced_shape(x.shape, axis)
    return Tensor.wrap(
        y,
        be,
        (x,),
        lambda g: (be.run("broadcast_to", be.run("reshape", g, shape=kept), shape=x.shape),),
    )


def mean(x, axis=None, keepdims=False):
    count = x.size // int(np.prod(_reduced_shape(x.shape, axis)))
    return scale(sum(x, axis=axis, keepdims=keepdims), 1.0 / count, 0.0)


def reshape(x, shape):
    shape = tuple(int(d) for d in shape)
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1]))
        shape = tuple(x.size // known if d == -1 else d for d in shape)
    if int(np.prod(shape)) != x.size:
        raise ValueError(f"cannot reshape a tensor of shape {x.shape} ({x.size} values) to {shape}")
    be = x.backend
    y = be.run("reshape", x.data, shape=shape)
    return Tensor.wrap(y, be, (x,), lambda g: (be.run("reshape", g, shape=x.shape),))


def flatten(x):
    """(N, ...) -> (N, prod(...))."""
    return reshape(x, (x.shape[0], -1))


def transpose(x, axes=None):
    axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(axes)
    inverse = tuple(np.argsort(axes))
    be = x.backend
    y = be.run("transpose", x.data, axes=axes)
    return Tensor.wrap(y, be, (x,), lambda g: (be.run("transpose", g, axes=inverse),))


def concat(tensors, axis=-1):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concat needs at least one tensor")
    axis = _axis(axis, tensors[0].ndim)
    be = tensors[0].backend
    # Lazy where nothing can change the parts before the result is read: variables are updated in place.
    lazy = not any(isinstance(t, Variable) for t in tensors)
    y = be.run("concat", [t.data for t in tensors], axis=axis, lazy=lazy)
    bounds = [0]
    for t in tensors:
        bounds.append(bounds[-1] + t.shape[axis])

    def backward(g):
        # slices stay lazy: the engine reads them in place when it sums each input's gradient parts
        return tuple(
            GradSlice(g, axis, bounds[i], bounds[i + 1]) if t.requires_grad else None for i, t in enumerate(tensors)
        )

    return Tensor.wrap(y, be, tensors, backward)


def split(x, sizes, axis=-1):
    """The pieces of `x` along `axis`, of `sizes` (which sum to that axis's length): a list of tensors."""
    # Each piece's backward hands `x` a GradPiece; the engine joins them with one concat (zeros for a
    # piece without a gradient).
    axis = _axis(axis, x.ndim)
    sizes = [int(s) for s in sizes]
    if not sizes or any(s < 1 for s in sizes) or int(np.sum(sizes)) != x.shape[axis]:
        raise ValueError(f"split: sizes {sizes} must be positive and sum to {x.shape[axis]} (axis {axis} of {x.shape})")
    be = x.backend
    pieces, start = [], 0
    for size in sizes:
        data = be.run("slice", x.data, axis=axis, start=start, stop=start + size)
        pieces.append(Tensor.wrap(data, be, (x,), lambda g, start=start: (GradPiece(g, axis, start, x.shape),)))
        start += size
    return pieces


def softmax(x, axis=-1):
    be = x.backend
    y = be.run("softmax", x.data, axis=axis)

    def backward(g):  # y * (g - sum(g * y))
        gy = be.run("mul", g, y)
        return (be.run("sub", gy, be.run("mul", y, be.run("sum", gy, axis=axis, keepdims=True))),)

    return Tensor.wrap(y, be, (x,), backward)


def log_softmax(x, axis=-1):
    be = x.backend
    y = be.run("log_softmax", x.data, axis=axis)

    def backward(g):  # g - softmax * sum(g)
        return (be.run("sub", g, be.run("mul", be.run("exp", y), be.run("sum", g, axis=axis, keepdims=True))),)

    return Tensor.wrap(y, be, (x,), backward)


# -- dense and convolutions ------------------------------------------------------------------------


def matmul(a, b):
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"matmul takes 2-D tensors, got shapes {a.shape} and {b.shape}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul: inner sizes differ: {a.shape} @ {b.shape}")
    be = a.backend
    y = be.run("matmul", a.data, b.data)

    def backward(g):
        ga = be.run("matmul", g, b.data, transpose_b=True) if a.requires_grad else None
        gb = be.run("matmul", a.data, g, transpose_a=True) if b.requires_grad else None
        return ga, gb

    return Tensor.wrap(y, be, (a, b), backward)


def _activation_bias_grad(be, g, y, activation, b):
    """(dz, db) of `act(z + b)`: one fused kernel when both are needed, since it reads dz once."""
    needs_db = b is not None and b.requires_grad
    if activation and needs_db:
        return be.run("activation_bias_grad", g, y, activation=activation)
    dz = be.run("activation_grad", g, y, activation=activation) if activation else g
    return dz, (be.run("bias_grad", dz) if needs_db else None)


def _fused_parents(x, w, b):
    return (x, w) if b is None else (x, w, b)


def dense(x, w, b=None, activation=None):
    """act(x @ w + b) in one kernel; activation None, 'relu' or 'relu6'."""
    be = x.backend
    y = be.run("dense", x.data, w.data, None if b is None else b.data, activation=activation)

    def backward(g):
        dz, db = _activation_bias_grad(be, g, y, activation, b)
        grads = [
            be.run("matmul", dz, w.data, transpose_b=True) if x.requires_grad else None,
            be.run("matmul", x.data, dz, transpose_a=True) if w.requires_grad else None,
        ]
        if b is not None:
            grads.append(db)
        return grads

    return Tensor.wrap(y, be, _fused_parents(x, w, b), backward)


def grouped_dense(x, w, b=None, groups=(), activation=None):
    """Block-diagonal dense: group g's output columns are act(x[..., its segments] @ its block of w + b).
    Groups and the flat w: backends/numpy/kernels/_groups.py; activation None, 'relu' or 'relu6'."""
    # Packed students run their 1x1 convs and dense heads this way: one kernel per direction for all.
    be = x.backend
    y = be.run("grouped_dense", x.data, w.data, None if b is None else b.data, groups=groups, activation=activation)

    def backward(g):
        dz, db = _activation_bias_grad(be, g, y, activation, b)
        grads = [
            be.run("grouped_dense_grad_input", dz, w.data, groups=groups, input_shape=x.shape)
            if x.requires_grad
            else None,
            be.run("grouped_dense_grad_filter", x.data, dz, groups=groups) if w.requires_grad else None,
        ]
        if b is not None:
            grads.append(db)
        return grads

    return Tensor.wrap(y, be, _fused_parents(x, w, b), backward)


def _conv_like(kind, x, w, b, strides, padding, activation):
    if x.ndim != 4:
        raise ValueError(f"{kind} expects a 4-D NHWC input, got shape {x.shape}")
    strides = _pair(strides, "strides")
    be = x.backend
    y = be.run(
        kind, x.data, w.data, None if b is None else b.data, strides=strides, padding=padding, activation=activation
    )

    def backward(g):
        dz, db = _activation_bias_grad(be, g, y, activation, b)
        grads = [
            be.run(kind + "_grad_input", dz, w.data, input_shape=x.shape, strides=strides, padding=padding)
            if x.requires_grad
            else None,
            be.run(kind + "_grad_filter", x.data, dz, filter_shape=w.shape, strides=strides, padding=padding)
            if w.requires_grad
            else None,
        ]
        if b is not None:
            grads.append(db)
        return grads

    return Tensor.wrap(y, be, _fused_parents(x, w, b), backward)


def conv2d(x, w, b=None, strides=1, padding="same", activation=None):
    """2-D convolution, NHWC input, HWIO filter, bias and activation fused into the kernel."""
    return _conv_like("conv2d", x, w, b, strides, padding, activation)


def depthwise_conv2d(x, w, b=None, strides=1, padding="same", activation=None):
    """Depthwise convolution, filter (kh, kw, in, multiplier), output channel c * multiplier + m."""
    return _conv_like("depthwise_conv2d", x, w, b, strides, padding, activation)


def conv_transpose_output_size(size, kernel, stride, padding):
    """Keras's Conv2DTranspose output length along one axis: size * stride, plus the window's overhang
    past the stride with padding='valid'."""
    return size * stride + (max(kernel - stride, 0) if padding == "valid" else 0)


def conv2d_transpose(x, w, b=None, strides=2, padding="same", activation=None):
    """Transposed convolution, NHWC input, filter (kh, kw, out channels, in channels) like Keras.

    It is the input gradient of conv2d with the same filter and geometry, so it runs on the conv kernels
    exactly: forward conv2d_grad_input, input gradient conv2d, filter gradient conv2d_grad_filter with
    the output gradient as the image. Bias and activation (None, 'relu', 'relu6'): on a backend with its
    own conv2d_transpose kernel (conv2d_grad_input with them as an epilogue) in the same pass; elsewhere
    one kernel each after conv2d_grad_input, the same values without handing the forward to numpy."""
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"conv2d_transpose expects a 4-D NHWC input and a 4-D filter, got {x.shape} and {w.shape}")
    kh, kw, out_channels, in_channels = w.shape
    if x.shape[-1] != in_channels:
        raise ValueError(f"conv2d_transpose: input has {x.shape[-1]} channels, the filter expects {in_channels}")
    strides = _pair(strides, "strides")
    n, h, wd, _ = x.shape
    out_shape = (
        n,
        conv_transpose_output_size(h, kh, strides[0], padding),
        conv_transpose_output_size(wd, kw, strides[1], padding),
        out_channels,
    )
    if activation not in (None, "relu", "relu6"):
        raise ValueError(f"conv2d_transpose applies None, 'relu' or 'relu6', got {activation!r}")
    be = x.backend
    if be.has("conv2d_transpose"):
        y = be.run(
            "conv2d_transpose",
            x.data,
            w.data,
            None if b is None else b.data,
            output_shape=out_shape,
            strides=strides,
            padding=padding,
            activation=activation,
        )
    else:
        y = be.run("conv2d_grad_input", x.data, w.data, input_shape=out_shape, strides=strides, padding=padding)
        if b is not None:
            y = be.run("add", y, b.data)
        if activation == "relu":
            y = be.run("relu", y)
        elif activation == "relu6":
            y = be.run("relu6", y)

    def backward(g):
        dz, db = _activation_bias_grad(be, g, y, activation, b)
        grads = [
            be.run("conv2d", dz, w.data, None, strides=strides, padding=padding) if x.requires_grad else None,
            be.run("conv2d_grad_filter", dz, x.data, filter_shape=w.shape, strides=strides, padding=padding)
            if w.requires_grad
            else None,
        ]
        if b is not None:
            grads.append(db)
        return grads

    return Tensor.wrap(y, be, _fused_parents(x, w, b), backward)


# -- pooling and normalisation ---------------------------------------------------------------------


def global_avg_pool(x):
    be = x.backend
    y = be.run("global_avg_pool", x.data)
    return Tensor.wrap(y, be, (x,), lambda g: (be.run("global_avg_pool_grad", g, input_shape=x.shape),))


def _pool_window(pool_size, strides):
    """(pool_size, strides) as pairs; strides default to the window, like Keras."""
    pool_size = _pair(pool_size, "pool_size")
    return pool_size, pool_size if strides is None else _pair(strides, "strides")


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    pool_size, strides = _pool_window(pool_size, strides)
    be = x.backend
    y = be.run("max_pool2d", x.data, pool_size=pool_size, strides=strides, padding=padding)
    return Tensor.wrap(
        y,
        be,
        (x,),
        lambda g: (be.run("max_pool2d_grad", g, x.data, y, pool_size=pool_size, strides=strides, padding=padding),),
    )


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    pool_size, strides = _pool_window(pool_size, strides)
    be = x.backend
    y = be.run("avg_pool2d", x.data, pool_size=pool_size, strides=strides, padding=padding)
    return Tensor.wrap(
        y,
        be,
        (x,),
        lambda g: (
            be.run("avg_pool2d_grad", g, input_shape=x.shape, pool_size=pool_size, strides=strides, padding=padding),
        ),
    )


def upsample_nearest2d(x, size=2):
    """Every pixel repeated over a size x size block (UpSampling2D with interpolation='nearest')."""
    if x.ndim != 4:
        raise ValueError(f"upsample_nearest2d expects a 4-D NHWC input, got shape {x.shape}")
    size = _pair(size, "size")
    be = x.backend
    y = be.run("upsample_nearest2d", x.data, size=size)
    return Tensor.wrap(y, be, (x,), lambda g: (be.run("upsample_nearest2d_grad", g, size=size),))


def batch_norm(x, gamma, beta, moving_mean, moving_var, training=False, momentum=0.99, epsilon=1e-3):
    """Batch normalisation over all axes but the last; in training also updates the moving statistics."""
    be = x.backend
    if not training:
        y = be.run(
            "batch_norm_infer", x.data, gamma.data, beta.data, moving_mean.data, moving_var.data, epsilon=epsilon
        )
        mean_, var_ = moving_mean.data, moving_var.data
    else:
        y, mean_, var_ = be.run("batch_norm_train", x.data, gamma.data, beta.data, epsilon=epsilon)
        for stat, batch_value in ((moving_mean, mean_), (moving_var, var_)):
            stat.assign_device(
                be.run(
                    "add",
                    be.run("scale", stat.data, alpha=momentum, beta=0.0),
                    be.run("scale", batch_value, alpha=1.0 - momentum, beta=0.0),
                )
            )

    def backward(g):
        if training:
            dx, dgamma, dbeta = be.run("batch_norm_grad", g, x.data, gamma.data, mean_, var_, epsilon=epsilon)
            return dx, dgamma, dbeta
        # Inference mode is an affine map per channel.
        inv_std = be.run("pow_scalar", be.run("scale", var_, alpha=1.0, beta=epsilon), p=-0.5)
        dx = be.run("mul", g, be.run("mul", gamma.data, inv_std))
        x_hat = be.run("mul", be.run("sub", x.data, mean_), inv_std)
        return dx, be.run("bias_grad", be.run("mul", g, x_hat)), be.run("bias_grad", g)

    return Tensor.wrap(y, be, (x, gamma, beta), backward)


# -- losses and metrics ----------------------------------------------------------------------------


def _labels(labels, like):
    if isinstance(labels, Tensor):
        return labels
    array = np.asarray(labels)
    return Tensor(array, backend=like.backend, dtype=np.int32 if array.dtype.kind in "iub" else like.dtype)


def softmax_xent(logits, labels, sparse=True):
    """Mean softmax cross-entropy from logits, fused and numerically stable. Returns a scalar tensor."""
    if logits.ndim != 2:
        raise ValueError(f"softmax cross-entropy expects logits of shape (batch, classes), got {logits.shape}")
    labels = _labels(labels, logits)
    be = logits.backend
    loss, probs = be.run("softmax_xent", logits.data, labels.data, sparse=sparse)
    return Tensor.wrap(
        loss, be, (logits,), lambda g: (be.run("softmax_xent_grad", probs, labels.data, g, sparse=sparse),)
    )


def count_correct(logits, labels, sparse=True):
    """How many rows of the batch are classified right (a scalar tensor, no gradient)."""
    labels = _labels(labels, logits)
    return Tensor.wrap(logits.backend.run("count_correct", logits.data, labels.data, sparse=sparse), logits.backend)


def dropout(x, rate, rng):
    """Inverted dropout with a mask drawn on the host from `rng` (a numpy Generator)."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    if rate == 0.0:
        return x
    keep = (rng.random(x.shape) >= rate).astype(x.dtype) / (1.0 - rate)
    return mul(x, Tensor(keep, backend=x.backend, dtype=x.dtype))


def remap_pixels(x, rows, cols, fill_value=0.0):
    """y[n, i, j] = x[n, rows[n, i], cols[n, j]], or fill_value where either index is -1 (NHWC).

    rows (N, H_out) and cols (N, W_out) are int32 host arrays, e.g. the shifts of RandomTranslation;
    the maps go to the device, the pixels never come back to the host."""
    if x.ndim != 4:
        raise ValueError(f"remap_pixels expects a 4-D NHWC input, got shape {x.shape}")
    rows, cols = np.ascontiguousarray(rows, np.int32), np.ascontiguousarray(cols, np.int32)
    n, h, w = x.shape[:3]
    if rows.ndim != 2 or cols.ndim != 2 or len(rows) != n or len(cols) != n:
        raise ValueError(
            f"remap_pixels: rows and cols must be (batch, size) int arrays for a batch of {n}, "
            f"got shapes {rows.shape} and {cols.shape}"
        )
    outside = [m.size and (m.min() < -1 or m.max() >= size) for m, size in ((rows, h), (cols, w))]
    if any(outside):
        raise ValueError(f"remap_pixels: indices must be -1 (fill) or inside the {h}x{w} image")
    be = x.backend
    row_map, col_map = be.upload(rows), be.upload(cols)
    y = be.run("remap_pixels", x.data, row_map, col_map, fill_value=float(fill_value))

    def backward(g):
        return (be.run("remap_pixels_grad", g, row_map, col_map, input_shape=x.shape),)

    return Tensor.wrap(y, be, (x,), backward)


# -- operators on Tensor ---------------------------------------------------------------------------

Tensor.__add__ = lambda self, other: add(self, other)
Tensor.__radd__ = lambda self, other: add(other, self)
Tensor.__sub__ = lambda self, other: sub(self, other)
Tensor.__rsub__ = lambda self, other: sub(other, self)
Tensor.__mul__ = lambda self, other: mul(self, other)
Tensor.__rmul__ = lambda self, other: mul(other, self)
Tensor.__truediv__ = lambda self, other: div(self, other)
Tensor.__rtruediv__ = lambda self, other: div(as_tensor(other, self), self)
Tensor.__neg__ = lambda self: neg(self)
Tensor.__pow__ = lambda self, p: pow(self, p)
Tensor.__matmul__ = lambda self, other: matmul(self, other)
Tensor.T = property(lambda self: transpose(self))
