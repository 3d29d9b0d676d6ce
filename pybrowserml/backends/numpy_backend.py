"""The numpy reference backend: the oracle for every other backend and the per-op fallback.

Device arrays are plain numpy arrays. Kernels follow docs/architecture.md (NHWC, HWIO filters,
TensorFlow padding). They are written for clarity first and speed second: convolutions are
im2col views (``as_strided``) contracted with ``tensordot`` so CPython's BLAS does the work.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .base import Backend

# -- padding and windows ----------------------------------------------------------------------------


def output_size_and_pads(size: int, k: int, s: int, padding: str):
    """TensorFlow's rule: (output size, padding before, padding after)."""
    if padding == "same":
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        return out, total // 2, total - total // 2
    if padding == "valid":
        out = (size - k) // s + 1
        if out < 1:
            raise ValueError(
                f"window {k} is larger than the input ({size}) with padding='valid': "
                "use padding='same' or a larger input"
            )
        return out, 0, 0
    raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")


def _geometry(input_shape, kh, kw, strides, padding):
    _, h, w, _ = input_shape
    sh, sw = strides
    oh, pt, pb = output_size_and_pads(h, kh, sh, padding)
    ow, pl, pr = output_size_and_pads(w, kw, sw, padding)
    return oh, ow, (pt, pb), (pl, pr)


def _pad(x, pads_h, pads_w, value=0.0):
    if pads_h == (0, 0) and pads_w == (0, 0):
        return x
    return np.pad(x, ((0, 0), pads_h, pads_w, (0, 0)), constant_values=value)


def _windows(xp, kh, kw, oh, ow, strides):
    """A read-only view (N, OH, OW, KH, KW, C) of every window: im2col without copying."""
    n, _, _, c = xp.shape
    sn, sh_, sw_, sc = xp.strides
    sh, sw = strides
    return as_strided(
        xp, (n, oh, ow, kh, kw, c), (sn, sh_ * sh, sw_ * sw, sh_, sw_, sc), writeable=False
    )


def _window_slice(kh_i, kw_i, oh, ow, strides):
    sh, sw = strides
    return (slice(None), slice(kh_i, kh_i + sh * (oh - 1) + 1, sh), slice(kw_i, kw_i + sw * (ow - 1) + 1, sw))


def _crop(xp, input_shape, pads_h, pads_w):
    h, w = input_shape[1], input_shape[2]
    return np.ascontiguousarray(xp[:, pads_h[0] : pads_h[0] + h, pads_w[0] : pads_w[0] + w, :])


# -- activations (epilogues are applied to the kernel's output; gradients read that output) -------


def _activate(y, activation):
    if activation is None or activation == "linear":
        return y
    if activation == "relu":
        return np.maximum(y, 0, out=y)
    if activation == "relu6":
        return np.clip(y, 0, 6, out=y)
    raise ValueError(f"unknown fused activation {activation!r}: use None, 'relu' or 'relu6'")


def activation_grad(dy, y, activation=None):
    if activation is None or activation == "linear":
        return dy
    if activation == "relu":
        return dy * (y > 0)
    if activation == "relu6":
        return dy * ((y > 0) & (y < 6))
    if activation == "sigmoid":
        return dy * y * (1 - y)
    if activation == "tanh":
        return dy * (1 - y * y)
    raise ValueError(f"unknown activation {activation!r}")


# -- dense and convolutions ------------------------------------------------------------------------


def matmul(a, b, transpose_a=False, transpose_b=False):
    return (a.T if transpose_a else a) @ (b.T if transpose_b else b)


def dense(x, w, b=None, activation=None):
    y = x @ w
    if b is not None:
        y += b
    return _activate(y, activation)


def bias_grad(dz):
    return dz.reshape(-1, dz.shape[-1]).sum(axis=0)


def activation_bias_grad(dy, y, activation=None):
    """The backward of bias + activation in one kernel: (activation_grad(dy, y), bias_grad of that)."""
    dz = activation_grad(dy, y, activation)
    return dz, bias_grad(dz)


def remap_pixels(x, rows, cols, fill_value=0.0):
    """y[n, i, j] = x[n, rows[n, i], cols[n, j]], fill_value where an index is -1 (ops.remap_pixels)."""
    batch = np.arange(len(x))[:, None, None]
    y = x[batch, np.maximum(rows, 0)[:, :, None], np.maximum(cols, 0)[:, None, :]]
    outside = (rows < 0)[:, :, None] | (cols < 0)[:, None, :]
    y[outside] = fill_value
    return y


def remap_pixels_grad(dy, rows, cols, input_shape):
    """The adjoint of remap_pixels: each output pixel's gradient goes back to the pixel it copied."""
    dx = np.zeros(input_shape, dtype=dy.dtype)
    inside = (rows >= 0)[:, :, None] & (cols >= 0)[:, None, :]
    batch = np.broadcast_to(np.arange(len(dy))[:, None, None], inside.shape)
    r = np.broadcast_to(rows[:, :, None], inside.shape)
    c = np.broadcast_to(cols[:, None, :], inside.shape)
    np.add.at(dx, (batch[inside], r[inside], c[inside]), dy[inside])
    return dx


def parts_shape(shapes, slices) -> tuple:
    """The common shape of a gradient sum's parts (add_parts): shapes[i], cut to start:stop along axis
    where slices[i] is (axis, start, stop). A clear error when the entries do not fit or differ."""
    if not shapes or len(shapes) != len(slices):
        raise ValueError(f"add_parts: need one slice entry (None or (axis, start, stop)) per array, got "
                         f"{len(shapes)} arrays and {len(slices)} slice entries")
    result = []
    for shape, cut in zip(shapes, slices):
        shape = tuple(shape)
        if cut is not None:
            axis, start, stop = cut
            if not -len(shape) <= axis < len(shape) or not 0 <= start <= stop <= shape[axis]:
                raise ValueError(f"add_parts: slice {start}:{stop} of axis {axis} does not fit shape {shape}")
            axis %= len(shape)
            shape = shape[:axis] + (stop - start,) + shape[axis + 1:]
        result.append(shape)
    if any(shape != result[0] for shape in result):
        raise ValueError(f"add_parts: all parts must have the same shape, got {result}")
    return result[0]


def add_parts(arrays, slices):
    """The sum of a gradient's parts: arrays[i], or arrays[i][start:stop along axis] where slices[i] is
    (axis, start, stop) (a concat input's share of the concat's gradient). A new array; no part is written."""
    parts_shape([a.shape for a in arrays], slices)
    views = [a if s is None else _slice_view(a, *s) for a, s in zip(arrays, slices)]
    out = views[0] + views[1] if len(views) > 1 else views[0].copy()
    for v in views[2:]:
        np.add(out, v, out=out)
    return out


def conv2d(x, w, b=None, strides=(1, 1), padding="same", activation=None):
    kh, kw, c, o = w.shape
    if x.shape[-1] != c:
        raise ValueError(f"conv2d: input has {x.shape[-1]} channels, filter expects {c}")
    oh, ow, ph, pw = _geometry(x.shape, kh, kw, strides, padding)
    if kh == kw == 1 and strides == (1, 1):
        y = (x.reshape(-1, c) @ w.reshape(c, o)).reshape(x.shape[0], oh, ow, o)
    else:
        cols = _windows(_pad(x, ph, pw), kh, kw, oh, ow, strides)
        y = np.tensordot(cols, w, axes=([3, 4, 5], [0, 1, 2]))
    if b is not None:
        y += b
    return _activate(y, activation)


def conv2d_grad_input(dz, w, input_shape, strides=(1, 1), padding="same"):
    kh, kw, c, o = w.shape
    oh, ow, ph, pw = _geometry(input_shape, kh, kw, strides, padding)
    n, h, wd, _ = input_shape
    if kh == kw == 1 and strides == (1, 1):
        return (dz.reshape(-1, o) @ w.reshape(c, o).T).reshape(input_shape)
    cols = np.tensordot(dz, w, axes=([3], [3]))  # (N, OH, OW, KH, KW, C)
    dxp = np.zeros((n, h + sum(ph), wd + sum(pw), c), dtype=dz.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[_window_slice(i, j, oh, ow, strides)] += cols[:, :, :, i, j, :]
    return _crop(dxp, input_shape, ph, pw)


def conv2d_grad_filter(x, dz, filter_shape, strides=(1, 1), padding="same"):
    kh, kw, c, o = filter_shape
    oh, ow, ph, pw = _geometry(x.shape, kh, kw, strides, padding)
    if kh == kw == 1 and strides == (1, 1):
        return (x.reshape(-1, c).T @ dz.reshape(-1, o)).reshape(filter_shape)
    cols = _windows(_pad(x, ph, pw), kh, kw, oh, ow, strides)
    return np.tensordot(cols, dz, axes=([0, 1, 2], [0, 1, 2]))


def depthwise_conv2d(x, w, b=None, strides=(1, 1), padding="same", activation=None):
    kh, kw, c, m = w.shape
    if x.shape[-1] != c:
        raise ValueError(f"depthwise_conv2d: input has {x.shape[-1]} channels, filter expects {c}")
    oh, ow, ph, pw = _geometry(x.shape, kh, kw, strides, padding)
    xp = _pad(x, ph, pw)
    dtype = np.result_type(x, w)
    if m == 1:  # the common case: one einsum over the im2col view, no temporaries (4x faster here)
        y = np.einsum("nhwijc,ijc->nhwc", _windows(xp, kh, kw, oh, ow, strides), w[..., 0]).astype(dtype)
    else:
        y = np.zeros((x.shape[0], oh, ow, c, m), dtype=dtype)
        for i in range(kh):
            for j in range(kw):
                y += xp[_window_slice(i, j, oh, ow, strides)][..., None] * w[i, j]
        y = y.reshape(x.shape[0], oh, ow, c * m)
    if b is not None:
        y += b
    return _activate(y, activation)


def depthwise_conv2d_grad_input(dz, w, input_shape, strides=(1, 1), padding="same"):
    kh, kw, c, m = w.shape
    oh, ow, ph, pw = _geometry(input_shape, kh, kw, strides, padding)
    n, h, wd, _ = input_shape
    dz5 = dz.reshape(n, oh, ow, c, m)
    dxp = np.zeros((n, h + sum(ph), wd + sum(pw), c), dtype=dz.dtype)
    tmp = np.empty((n, oh, ow, c), dtype=dz.dtype)
    for i in range(kh):
        for j in range(kw):
            if m == 1:
                np.multiply(dz, w[i, j, :, 0], out=tmp)
            else:
                np.einsum("nhwcm,cm->nhwc", dz5, w[i, j], out=tmp)
            dxp[_window_slice(i, j, oh, ow, strides)] += tmp
    return _crop(dxp, input_shape, ph, pw)


def depthwise_conv2d_grad_filter(x, dz, filter_shape, strides=(1, 1), padding="same"):
    kh, kw, c, m = filter_shape
    oh, ow, ph, pw = _geometry(x.shape, kh, kw, strides, padding)
    xp = _pad(x, ph, pw)
    dz5 = dz.reshape(x.shape[0], oh, ow, c, m)
    dw = np.empty(filter_shape, dtype=dz.dtype)
    if m == 1:
        dw[..., 0] = np.einsum("nhwijc,nhwc->ijc", _windows(xp, kh, kw, oh, ow, strides), dz)
        return dw
    flat_dz = dz5.reshape(-1, c, m)
    for i in range(kh):
        for j in range(kw):
            window = xp[_window_slice(i, j, oh, ow, strides)]
            dw[i, j] = np.einsum("pc,pcm->cm", window.reshape(-1, c), flat_dz)
    return dw


# -- pooling ---------------------------------------------------------------------------------------


def global_avg_pool(x):
    return x.mean(axis=(1, 2))


def global_avg_pool_grad(dy, input_shape):
    n, h, w, c = input_shape
    return np.broadcast_to((dy / (h * w))[:, None, None, :], input_shape).copy()


def max_pool2d(x, pool_size=(2, 2), strides=(2, 2), padding="valid"):
    oh, ow, ph, pw = _geometry(x.shape, *pool_size, strides, padding)
    cols = _windows(_pad(x, ph, pw, -np.inf), *pool_size, oh, ow, strides)
    return cols.max(axis=(3, 4))


def max_pool2d_grad(dy, x, y, pool_size=(2, 2), strides=(2, 2), padding="valid"):
    """Each window's gradient goes to its first maximum, as TensorFlow's MaxPoolGrad does."""
    oh, ow, ph, pw = _geometry(x.shape, *pool_size, strides, padding)
    xp = _pad(x, ph, pw, -np.inf)
    dxp = np.zeros(xp.shape, dtype=dy.dtype)
    taken = np.zeros(y.shape, dtype=bool)
    for i in range(pool_size[0]):
        for j in range(pool_size[1]):
            window = _window_slice(i, j, oh, ow, strides)
            hit = (xp[window] == y) & ~taken
            dxp[window] += dy * hit
            taken |= hit
    return _crop(dxp, x.shape, ph, pw)


def _avg_pool_counts(input_shape, pool_size, strides, padding):
    """How many real (unpadded) inputs each window averages: TensorFlow excludes the padding."""
    ones = np.ones((1, input_shape[1], input_shape[2], 1), dtype=np.float64)
    oh, ow, ph, pw = _geometry(ones.shape, *pool_size, strides, padding)
    return _windows(_pad(ones, ph, pw), *pool_size, oh, ow, strides).sum(axis=(3, 4))


def avg_pool2d(x, pool_size=(2, 2), strides=(2, 2), padding="valid"):
    oh, ow, ph, pw = _geometry(x.shape, *pool_size, strides, padding)
    cols = _windows(_pad(x, ph, pw), *pool_size, oh, ow, strides)
    counts = _avg_pool_counts(x.shape, pool_size, strides, padding)
    return (cols.sum(axis=(3, 4)) / counts).astype(x.dtype)


def avg_pool2d_grad(dy, input_shape, pool_size=(2, 2), strides=(2, 2), padding="valid"):
    oh, ow, ph, pw = _geometry(input_shape, *pool_size, strides, padding)
    counts = _avg_pool_counts(input_shape, pool_size, strides, padding)
    share = (dy / counts).astype(dy.dtype)
    n, h, w, c = input_shape
    dxp = np.zeros((n, h + sum(ph), w + sum(pw), c), dtype=dy.dtype)
    for i in range(pool_size[0]):
        for j in range(pool_size[1]):
            dxp[_window_slice(i, j, oh, ow, strides)] += share
    return _crop(dxp, input_shape, ph, pw)


# -- batch normalisation ---------------------------------------------------------------------------


def _channel_axes(x):
    return tuple(range(x.ndim - 1))


def batch_norm_train(x, gamma, beta, epsilon=1e-3):
    axes = _channel_axes(x)
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    y = (x - mean) / np.sqrt(var + epsilon) * gamma + beta
    return y.astype(x.dtype), mean.astype(x.dtype), var.astype(x.dtype)


def batch_norm_infer(x, gamma, beta, mean, var, epsilon=1e-3):
    return ((x - mean) / np.sqrt(var + epsilon) * gamma + beta).astype(x.dtype)


def batch_norm_grad(dy, x, gamma, mean, var, epsilon=1e-3):
    axes = _channel_axes(x)
    count = x.size // x.shape[-1]
    inv_std = 1.0 / np.sqrt(var + epsilon)
    x_hat = (x - mean) * inv_std
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * x_hat).sum(axis=axes)
    dx = gamma * inv_std / count * (count * dy - dbeta - x_hat * dgamma)
    return dx.astype(x.dtype), dgamma.astype(x.dtype), dbeta.astype(x.dtype)


# -- losses and metrics ----------------------------------------------------------------------------


def _onehot(labels, classes, dtype):
    out = np.zeros((labels.shape[0], classes), dtype=dtype)
    out[np.arange(labels.shape[0]), labels.astype(np.int64)] = 1
    return out


def softmax_xent(logits, labels, sparse=True):
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    log_probs = shifted - np.log(total)
    target = _onehot(labels, logits.shape[1], logits.dtype) if sparse else labels
    loss = -(target * log_probs).sum() / logits.shape[0]
    return np.asarray(loss, dtype=logits.dtype), (exp / total).astype(logits.dtype)


def softmax_xent_grad(probs, labels, g, sparse=True):
    target = _onehot(labels, probs.shape[1], probs.dtype) if sparse else labels
    return ((probs - target) * (g / probs.shape[0])).astype(probs.dtype)


def count_correct(logits, labels, sparse=True):
    truth = labels if sparse else labels.argmax(axis=1)
    return np.asarray((logits.argmax(axis=1) == truth).sum(), dtype=np.float32)


# -- optimizer updates, in place over lists --------------------------------------------------------


def adam_update(params, grads, ms, vs, lr=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-7, step=1,
                weight_decay=0.0, decoupled=True):
    """Keras 3's Adam: bias correction folded into the step size; AdamW decays weights first."""
    alpha = lr * np.sqrt(1 - beta2**step) / (1 - beta1**step)
    for p, g, m, v in zip(params, grads, ms, vs):
        if weight_decay:
            if decoupled:
                p -= p * (weight_decay * lr)
            else:
                g = g + weight_decay * p
        m += (g - m) * (1 - beta1)
        v += (g * g - v) * (1 - beta2)
        p -= (alpha * m / (np.sqrt(v) + epsilon)).astype(p.dtype)


def sgd_update(params, grads, velocities, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
    """Keras 3's SGD: velocity = momentum * velocity - lr * g; weight decay is decoupled."""
    for p, g, v in zip(params, grads, velocities):
        if weight_decay:
            p -= p * (weight_decay * lr)
        if momentum:
            v *= momentum
            v -= lr * g
            p += (momentum * v - lr * g) if nesterov else v
        else:
            p -= lr * g


# -- elementwise, reductions and shapes ------------------------------------------------------------


def sum_to_shape(g, shape):
    """Undo numpy broadcasting: sum g down to `shape`."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, d in enumerate(shape) if d == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def _softmax(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(a, axis=-1):
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _reduction(fn):
    def kernel(a, axis=None, keepdims=False):
        return np.asarray(fn(a, axis=axis, keepdims=keepdims), dtype=a.dtype)

    return kernel


def concat(arrays, axis=-1, lazy=False):
    """lazy: a device backend may defer the copy (backends/wasm: ConcatArray); numpy always copies."""
    return np.concatenate(arrays, axis=axis)


def _slice_view(a, axis, start, stop):
    index = [slice(None)] * a.ndim
    index[axis] = slice(start, stop)
    return a[tuple(index)]


def _slice(a, axis, start, stop):
    return np.ascontiguousarray(_slice_view(a, axis, start, stop))


KERNELS = {
    # elementwise (numpy broadcasting)
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "maximum": np.maximum,
    "neg": np.negative,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "square": np.square,
    "pow_scalar": lambda a, p: np.power(a, p).astype(a.dtype),
    "scale": lambda a, alpha=1.0, beta=0.0: (a * alpha + beta).astype(a.dtype),
    "relu": lambda a: np.maximum(a, 0),
    "relu6": lambda a: np.clip(a, 0, 6),
    "sigmoid": lambda a: (1 / (1 + np.exp(-a))).astype(a.dtype),
    "tanh": np.tanh,
    "clip": lambda a, lo, hi: np.clip(a, lo, hi),
    "where_positive": lambda a: (a > 0).astype(a.dtype),
    "activation_grad": activation_grad,
    # reductions and shapes
    "sum": _reduction(np.sum),
    "mean": _reduction(np.mean),
    "max": _reduction(np.max),
    "sum_to_shape": sum_to_shape,
    "broadcast_to": lambda a, shape: np.ascontiguousarray(np.broadcast_to(a, shape)),
    "reshape": lambda a, shape: a.reshape(shape),
    "transpose": lambda a, axes=None: np.ascontiguousarray(np.transpose(a, axes)),
    "concat": concat,
    "slice": _slice,
    "add_parts": add_parts,
    "remap_pixels": remap_pixels,
    "remap_pixels_grad": remap_pixels_grad,
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "argmax": lambda a, axis=-1: a.argmax(axis=axis).astype(np.int32),
    "cast": lambda a, dtype: a.astype(dtype),
    "from_uint8": lambda a, scale=1.0 / 255.0: a.astype(np.float32) * np.float32(scale),
    # dense and convolutions
    "matmul": matmul,
    "dense": dense,
    "bias_grad": bias_grad,
    "activation_bias_grad": activation_bias_grad,
    "conv2d": conv2d,
    "conv2d_grad_input": conv2d_grad_input,
    "conv2d_grad_filter": conv2d_grad_filter,
    "depthwise_conv2d": depthwise_conv2d,
    "depthwise_conv2d_grad_input": depthwise_conv2d_grad_input,
    "depthwise_conv2d_grad_filter": depthwise_conv2d_grad_filter,
    # pooling and normalisation
    "global_avg_pool": global_avg_pool,
    "global_avg_pool_grad": global_avg_pool_grad,
    "max_pool2d": max_pool2d,
    "max_pool2d_grad": max_pool2d_grad,
    "avg_pool2d": avg_pool2d,
    "avg_pool2d_grad": avg_pool2d_grad,
    "batch_norm_train": batch_norm_train,
    "batch_norm_infer": batch_norm_infer,
    "batch_norm_grad": batch_norm_grad,
    # losses, metrics, optimizers
    "softmax_xent": softmax_xent,
    "softmax_xent_grad": softmax_xent_grad,
    "count_correct": count_correct,
    "adam_update": adam_update,
    "sgd_update": sgd_update,
}


class NumpyBackend(Backend):
    name = "numpy"

    def __init__(self):
        super().__init__()
        self.kernels = dict(KERNELS)

    def upload(self, array):
        array = np.asarray(array)
        if array.dtype not in (np.float32, np.float64, np.int32, np.uint8):
            array = array.astype(np.int32 if array.dtype.kind in "iub" else np.float32)
        return np.array(array, copy=True, order="C")

    def download(self, array):
        return np.array(array, copy=True)

    def zeros(self, shape, dtype="float32"):
        return np.zeros(shape, dtype=dtype)

    def write(self, array, values):
        values = np.asarray(values)
        if values.shape != array.shape:
            raise ValueError(f"cannot write an array of shape {values.shape} into one of shape {array.shape}")
        array[...] = values

    def shape(self, array):
        return array.shape


NUMPY = NumpyBackend()
