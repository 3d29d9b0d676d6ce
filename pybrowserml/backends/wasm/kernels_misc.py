"""WASM kernels beyond GEMM: depthwise convolution, pooling, batch normalisation, softmax
cross-entropy, optimizer updates, concat/slice/transpose/reshape.

Every function has exactly the signature and result of the numpy kernel of the same name
(backends/numpy_backend.py, the oracle): shapes and TensorFlow padding are computed here, outputs
allocated with ``rt.empty``, then one exported C function does the work (web/kernels/wasm/
depthwise.c, pooling.c, norm.c, loss.c, optim.c, shape.c). Cases the C side does not cover (other
dtypes, softmax over another axis, transposes of more than 2 axes) go to ``rt.fallback``, the numpy
path of the backend, which counts them: results never depend on which path ran.
"""

from __future__ import annotations

import math

import numpy as np

from .kernels_gemm import conv_geometry
from .runtime import ConcatArray

F32 = np.dtype(np.float32)
I32 = np.dtype(np.int32)

# Activation codes of web/kernels/wasm/pb.h that the depthwise kernel fuses.
FUSED_ACTIVATIONS = {None: 0, "linear": 0, "relu": 1, "relu6": 2}
# Channel groups a depthwise kernel reads in place of one input (PB_DW_MAX_PARTS in depthwise.c).
MAX_GROUPS = 4


def _pair(value, what):
    """(a, b) from an int or a pair, as Keras accepts for strides and pool sizes."""
    pair = (int(value),) * 2 if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"{what} must be a positive int or a pair of positive ints, got {value!r}")
    return pair


def _require_4d(array_shape, kernel, what="input"):
    if len(array_shape) != 4:
        raise ValueError(f"{kernel}: the {what} must be 4-D NHWC (batch, height, width, channels), "
                         f"got shape {tuple(array_shape)}")


def make_kernels(rt):
    """The kernel table entries of this module, bound to one WasmRuntime."""
    ex = rt.exports
    # Exports are looked up once: each Python -> JS call then costs ~1 us (PLATFORM.md).
    pb_dw, pb_dw_gi, pb_dw_gf = ex.pb_depthwise_conv2d, ex.pb_depthwise_conv2d_grad_input, ex.pb_depthwise_conv2d_grad_filter
    pb_gap, pb_gap_grad = ex.pb_global_avg_pool, ex.pb_global_avg_pool_grad
    pb_maxpool, pb_maxpool_grad = ex.pb_max_pool2d, ex.pb_max_pool2d_grad
    pb_avgpool, pb_avgpool_grad = ex.pb_avg_pool2d, ex.pb_avg_pool2d_grad
    pb_bn_train, pb_bn_infer, pb_bn_grad = ex.pb_batch_norm_train, ex.pb_batch_norm_infer, ex.pb_batch_norm_grad
    pb_xent, pb_xent_grad, pb_count, pb_softmax = ex.pb_softmax_xent, ex.pb_softmax_xent_grad, ex.pb_count_correct, ex.pb_softmax
    pb_adam, pb_sgd = ex.pb_adam_update, ex.pb_sgd_update
    pb_copy_rows, pb_concat_rows, pb_transpose2d = ex.pb_copy_rows, ex.pb_concat_rows, ex.pb_transpose2d
    fallback = lambda name, *args, **attrs: rt.fallback(name, args, attrs)  # noqa: E731

    def all_f32(*arrays):
        return all(a is None or a.dtype == F32 for a in arrays)

    def channel_groups(x):
        """A lazy concat's parts (the kernels gather them, so the concat is never copied), else [x]."""
        if isinstance(x, ConcatArray) and not x.materialized and len(x.parts) <= MAX_GROUPS:
            return x.parts
        return [x]

    def group_args(x, m=1):
        """(count, x0, c0, ..., x3, c3) of the depthwise kernels' grouped input."""
        groups = channel_groups(x) if m == 1 else [x]
        args = [len(groups)]
        for g in groups:
            args += [g.ptr, g.shape[-1]]
        return args + [0, 0] * (MAX_GROUPS - len(groups))

    # -- depthwise convolution -----------------------------------------------------------------
    def depthwise_conv2d(x, w, b=None, strides=(1, 1), padding="same", activation=None):
        act = FUSED_ACTIVATIONS.get(activation)
        if act is None or not all_f32(x, w, b):
            return fallback("depthwise_conv2d", x, w, b, strides=strides, padding=padding, activation=activation)
        _require_4d(x.shape, "depthwise_conv2d")
        kh, kw, c, m = w.shape
        if x.shape[-1] != c:
            raise ValueError(f"depthwise_conv2d: input has {x.shape[-1]} channels, filter expects {c}")
        if b is not None and b.shape != (c * m,):
            raise ValueError(f"depthwise_conv2d: bias has shape {b.shape}, expected ({c * m},)")
        sh, sw = strides = _pair(strides, "strides")
        n, h, wd, _ = x.shape
        oh, ow, pt, pl = conv_geometry(x.shape, kh, kw, strides, padding)
        y = rt.empty((n, oh, ow, c * m))
        if y.size:
            pb_dw(*group_args(x, m), w.ptr, b.ptr if b is not None else 0, y.ptr, n, h, wd, c, m, kh, kw, sh, sw, pt, pl,
                  oh, ow, act)
        return y

    def depthwise_conv2d_grad_input(dz, w, input_shape, strides=(1, 1), padding="same"):
        if not all_f32(dz, w):
            return fallback("depthwise_conv2d_grad_input", dz, w, input_shape=input_shape, strides=strides, padding=padding)
        _require_4d(input_shape, "depthwise_conv2d_grad_input", "input_shape")
        kh, kw, c, m = w.shape
        sh, sw = strides = _pair(strides, "strides")
        n, h, wd, _ = input_shape
        oh, ow, pt, pl = conv_geometry(input_shape, kh, kw, strides, padding)
        if dz.shape != (n, oh, ow, c * m):
            raise ValueError(f"depthwise_conv2d_grad_input: dz has shape {dz.shape}, expected {(n, oh, ow, c * m)}")
        dx = rt.empty(tuple(input_shape))
        if dx.size:
            pb_dw_gi(dz.ptr, w.ptr, dx.ptr, n, h, wd, c, m, kh, kw, sh, sw, pt, pl, oh, ow)
        return dx

    def depthwise_conv2d_grad_filter(x, dz, filter_shape, strides=(1, 1), padding="same"):
        if not all_f32(x, dz):
            return fallback("depthwise_conv2d_grad_filter", x, dz, filter_shape=filter_shape, strides=strides,
                            padding=padding)
        _require_4d(x.shape, "depthwise_conv2d_grad_filter")
        kh, kw, c, m = filter_shape
        sh, sw = strides = _pair(strides, "strides")
        n, h, wd, _ = x.shape
        oh, ow, pt, pl = conv_geometry(x.shape, kh, kw, strides, padding)
        if dz.shape != (n, oh, ow, c * m):
            raise ValueError(f"depthwise_conv2d_grad_filter: dz has shape {dz.shape}, expected {(n, oh, ow, c * m)}")
        dw = rt.empty(tuple(filter_shape))
        if dw.size:
            pb_dw_gf(*group_args(x, m), dz.ptr, dw.ptr, n, h, wd, c, m, kh, kw, sh, sw, pt, pl, oh, ow)
        return dw

    # -- pooling -------------------------------------------------------------------------------
    def global_avg_pool(x):
        if not all_f32(x):
            return fallback("global_avg_pool", x)
        _require_4d(x.shape, "global_avg_pool")
        n, h, w, c = x.shape
        y = rt.empty((n, c))
        if y.size:
            offset = 0
            for g in channel_groups(x):  # a lazy concat is pooled part by part into its columns of y
                if g.shape[-1]:
                    pb_gap(g.ptr, y.ptr + 4 * offset, n, h * w, g.shape[-1], c)
                offset += g.shape[-1]
        return y

    def global_avg_pool_grad(dy, input_shape):
        if not all_f32(dy):
            return fallback("global_avg_pool_grad", dy, input_shape=input_shape)
        _require_4d(input_shape, "global_avg_pool_grad", "input_shape")
        n, h, w, c = input_shape
        dx = rt.empty(tuple(input_shape))
        if dx.size:
            pb_gap_grad(dy.ptr, dx.ptr, n, h * w, c)
        return dx

    def pool_call(name, x_shape, pool_size, strides, padding):
        """Window geometry shared by the four pooling kernels."""
        _require_4d(x_shape, name)
        ph, pw = _pair(pool_size, "pool_size")
        sh, sw = _pair(strides, "strides")
        oh, ow, pt, pl = conv_geometry(x_shape, ph, pw, (sh, sw), padding)
        n, h, w, c = x_shape
        return (n, oh, ow, c), (n, h, w, c, ph, pw, sh, sw, pt, pl, oh, ow)

    def max_pool2d(x, pool_size=(2, 2), strides=(2, 2), padding="valid"):
        if not all_f32(x):
            return fallback("max_pool2d", x, pool_size=pool_size, strides=strides, padding=padding)
        out_shape, dims = pool_call("max_pool2d", x.shape, pool_size, strides, padding)
        y = rt.empty(out_shape)
        if y.size:
            pb_maxpool(x.ptr, y.ptr, *dims)
        return y

    def max_pool2d_grad(dy, x, y, pool_size=(2, 2), strides=(2, 2), padding="valid"):
        if not all_f32(dy, x, y):
            return fallback("max_pool2d_grad", dy, x, y, pool_size=pool_size, strides=strides, padding=padding)
        out_shape, dims = pool_call("max_pool2d_grad", x.shape, pool_size, strides, padding)
        if dy.shape != out_shape or y.shape != out_shape:
            raise ValueError(f"max_pool2d_grad: dy {dy.shape} and y {y.shape} must both have the pooled shape {out_shape}")
        dx = rt.empty(x.shape)
        if dx.size:
            pb_maxpool_grad(dy.ptr, x.ptr, y.ptr, dx.ptr, *dims)
        return dx

    def avg_pool2d(x, pool_size=(2, 2), strides=(2, 2), padding="valid"):
        if not all_f32(x):
            return fallback("avg_pool2d", x, pool_size=pool_size, strides=strides, padding=padding)
        out_shape, dims = pool_call("avg_pool2d", x.shape, pool_size, strides, padding)
        y = rt.empty(out_shape)
        if y.size:
            pb_avgpool(x.ptr, y.ptr, *dims)
        return y

    def avg_pool2d_grad(dy, input_shape, pool_size=(2, 2), strides=(2, 2), padding="valid"):
        if not all_f32(dy):
            return fallback("avg_pool2d_grad", dy, input_shape=input_shape, pool_size=pool_size, strides=strides,
                            padding=padding)
        out_shape, dims = pool_call("avg_pool2d_grad", tuple(input_shape), pool_size, strides, padding)
        if dy.shape != out_shape:
            raise ValueError(f"avg_pool2d_grad: dy has shape {dy.shape}, expected the pooled shape {out_shape}")
        dx = rt.empty(tuple(input_shape))
        if dx.size:
            pb_avgpool_grad(dy.ptr, dx.ptr, *dims)
        return dx

    # -- batch normalisation (statistics over all axes but the last) ---------------------------
    def _bn_dims(name, x, *per_channel):
        if x.ndim < 1:
            raise ValueError(f"{name}: the input needs a channel axis, got a scalar")
        c = x.shape[-1]
        for a in per_channel:
            if a.shape != (c,):
                raise ValueError(f"{name}: per-channel arrays must have shape ({c},), got {a.shape}")
        return (x.size // c if c else 0), c

    def batch_norm_train(x, gamma, beta, epsilon=1e-3):
        if not all_f32(x, gamma, beta) or x.size == 0:
            return fallback("batch_norm_train", x, gamma, beta, epsilon=epsilon)
        rows, c = _bn_dims("batch_norm_train", x, gamma, beta)
        y, mean, var = rt.empty(x.shape), rt.empty((c,)), rt.empty((c,))
        pb_bn_train(x.ptr, gamma.ptr, beta.ptr, y.ptr, mean.ptr, var.ptr, rows, c, float(epsilon))
        return y, mean, var

    def batch_norm_infer(x, gamma, beta, mean, var, epsilon=1e-3):
        if not all_f32(x, gamma, beta, mean, var):
            return fallback("batch_norm_infer", x, gamma, beta, mean, var, epsilon=epsilon)
        rows, c = _bn_dims("batch_norm_infer", x, gamma, beta, mean, var)
        y = rt.empty(x.shape)
        if y.size:
            pb_bn_infer(x.ptr, gamma.ptr, beta.ptr, mean.ptr, var.ptr, y.ptr, rows, c, float(epsilon))
        return y

    def batch_norm_grad(dy, x, gamma, mean, var, epsilon=1e-3):
        if not all_f32(dy, x, gamma, mean, var) or x.size == 0:
            return fallback("batch_norm_grad", dy, x, gamma, mean, var, epsilon=epsilon)
        rows, c = _bn_dims("batch_norm_grad", x, gamma, mean, var)
        if dy.shape != x.shape:
            raise ValueError(f"batch_norm_grad: dy has shape {dy.shape}, x has {x.shape}")
        dx, dgamma, dbeta = rt.empty(x.shape), rt.empty((c,)), rt.empty((c,))
        pb_bn_grad(dy.ptr, x.ptr, gamma.ptr, mean.ptr, var.ptr, dx.ptr, dgamma.ptr, dbeta.ptr, rows, c, float(epsilon))
        return dx, dgamma, dbeta

    # -- losses and metrics --------------------------------------------------------------------
    def _labels_ok(name, logits, labels, sparse):
        """True when the C kernel handles these labels; raises on shapes numpy would reject."""
        if logits.ndim != 2:
            raise ValueError(f"{name}: logits must be 2-D (batch, classes), got shape {logits.shape}")
        n, k = logits.shape
        if sparse:
            if labels.shape != (n,):
                raise ValueError(f"{name}: sparse labels must have shape ({n},) (one class index per row), "
                                 f"got {labels.shape}; use sparse=False for one-hot labels")
            return labels.dtype == I32 and k > 0
        if labels.shape != (n, k):
            raise ValueError(f"{name}: one-hot labels must have shape {(n, k)}, got {labels.shape}; "
                             "use sparse=True for class indices")
        return labels.dtype == F32 and k > 0

    def _raise_bad_labels(name, bad, k):
        raise ValueError(f"{name}: {bad} sparse label(s) outside [0, {k}): labels must be class indices "
                         f"0..{k - 1} of the model's {k} outputs")

    def softmax_xent(logits, labels, sparse=True):
        if not all_f32(logits) or not _labels_ok("softmax_xent", logits, labels, sparse):
            return fallback("softmax_xent", logits, labels, sparse=sparse)
        n, k = logits.shape
        loss, probs = rt.empty(()), rt.empty((n, k))
        bad = pb_xent(logits.ptr, labels.ptr, probs.ptr, loss.ptr, n, k, int(bool(sparse)))
        if bad:
            _raise_bad_labels("softmax_xent", bad, k)
        return loss, probs

    def softmax_xent_grad(probs, labels, g, sparse=True):
        if not all_f32(probs, g) or g.size != 1 or not _labels_ok("softmax_xent_grad", probs, labels, sparse):
            return fallback("softmax_xent_grad", probs, labels, g, sparse=sparse)
        n, k = probs.shape
        dlogits = rt.empty((n, k))
        bad = pb_xent_grad(probs.ptr, labels.ptr, g.ptr, dlogits.ptr, n, k, int(bool(sparse)))
        if bad:
            _raise_bad_labels("softmax_xent_grad", bad, k)
        return dlogits

    def count_correct(logits, labels, sparse=True):
        if not all_f32(logits) or not _labels_ok("count_correct", logits, labels, sparse):
            return fallback("count_correct", logits, labels, sparse=sparse)
        n, k = logits.shape
        out = rt.empty(())
        pb_count(logits.ptr, labels.ptr, out.ptr, n, k, int(bool(sparse)))
        return out

    def softmax_kernel(name, log):
        def kernel(a, axis=-1):
            last = a.ndim > 0 and axis in (-1, a.ndim - 1)
            if not all_f32(a) or not last or a.size == 0:
                return fallback(name, a, axis=axis)
            y = rt.empty(a.shape)
            pb_softmax(a.ptr, y.ptr, a.size // a.shape[-1], a.shape[-1], int(log))
            return y

        kernel.__name__ = name
        return kernel

    # -- optimizer updates (in place) ----------------------------------------------------------
    def sizes_ptr(arrays):
        return rt.int_list([a.size for a in arrays], keep=True)

    def _check_lists(name, first, *others):
        for other in others:
            for a, b in zip(first, other):
                if a.shape != b.shape:
                    raise ValueError(f"{name}: a parameter of shape {a.shape} was paired with a state or "
                                     f"gradient of shape {b.shape}")

    def adam_update(params, grads, ms, vs, lr=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-7, step=1,
                    weight_decay=0.0, decoupled=True):
        params, grads, ms, vs = list(params), list(grads), list(ms), list(vs)
        count = min(len(params), len(grads), len(ms), len(vs))  # zip() semantics, like numpy
        params, grads, ms, vs = params[:count], grads[:count], ms[:count], vs[:count]
        if not all_f32(*params, *grads, *ms, *vs):
            return fallback("adam_update", params, grads, ms, vs, lr=lr, beta1=beta1, beta2=beta2, epsilon=epsilon,
                            step=step, weight_decay=weight_decay, decoupled=decoupled)
        if count == 0:
            return None
        _check_lists("adam_update", params, grads, ms, vs)
        alpha = lr * math.sqrt(1 - beta2**step) / (1 - beta1**step)
        decay = weight_decay * lr if weight_decay and decoupled else 0.0
        l2 = weight_decay if weight_decay and not decoupled else 0.0
        pb_adam(rt.ptr_list(params, keep=True), rt.ptr_list(grads), rt.ptr_list(ms, keep=True), rt.ptr_list(vs, keep=True),
                sizes_ptr(params), count,
                float(alpha), float(1 - beta1), float(1 - beta2), float(epsilon), float(decay), float(l2))
        return None

    def sgd_update(params, grads, velocities, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        params, grads, velocities = list(params), list(grads), list(velocities)
        count = min(len(params), len(grads), len(velocities))  # zip() semantics, like numpy
        params, grads, velocities = params[:count], grads[:count], velocities[:count]
        if not all_f32(*params, *grads, *velocities):
            return fallback("sgd_update", params, grads, velocities, lr=lr, momentum=momentum, nesterov=nesterov,
                            weight_decay=weight_decay)
        if count == 0:
            return None
        _check_lists("sgd_update", params, grads, velocities)
        decay = weight_decay * lr if weight_decay else 0.0
        pb_sgd(rt.ptr_list(params, keep=True), rt.ptr_list(grads), rt.ptr_list(velocities, keep=True),
               sizes_ptr(params), count, float(lr), float(momentum), int(bool(nesterov)), float(decay))
        return None

    # -- concat, slice, transpose (32-bit copies: float32 and int32 alike) ---------------------
    def concat(arrays, axis=-1, lazy=False):
        """lazy=True: a concat along the last axis of float32 arrays may return a ConcatArray, copied
        only if a kernel that cannot read the parts needs it (the parts must not change meanwhile)."""
        arrays = list(arrays)
        if not arrays:
            raise ValueError("concat: need at least one array to concatenate")
        first = arrays[0]
        ndim = first.ndim
        if ndim == 0 or any(a.dtype != first.dtype for a in arrays):
            return fallback("concat", arrays, axis=axis)
        if not -ndim <= axis < ndim:
            raise ValueError(f"concat: axis {axis} is out of range for {ndim}-D arrays")
        axis %= ndim
        for a in arrays:
            if a.ndim != ndim or a.shape[:axis] != first.shape[:axis] or a.shape[axis + 1:] != first.shape[axis + 1:]:
                raise ValueError(f"concat: all arrays must match except along axis {axis}; got shapes "
                                 f"{[x.shape for x in arrays]}")
        out_shape = first.shape[:axis] + (sum(a.shape[axis] for a in arrays),) + first.shape[axis + 1:]
        if lazy and axis == ndim - 1 and first.dtype == F32 and len(arrays) > 1:
            return ConcatArray(rt, arrays, out_shape, first.dtype)
        y = rt.empty(out_shape, first.dtype)
        if y.size == 0:
            return y
        rows = math.prod(first.shape[:axis])
        inner = math.prod(first.shape[axis + 1:])
        widths = [a.shape[axis] * inner for a in arrays]
        if len(arrays) <= 3:
            rt.copy_side_by_side(arrays, y, rows, widths)  # a few inputs: one strided copy each, no list
        else:
            pb_concat_rows(rt.ptr_list(arrays), rt.int_list(widths), len(arrays), y.ptr, rows)
        return y

    def slice_(a, axis, start, stop):
        if a.ndim == 0 or a.dtype not in (F32, I32):
            return fallback("slice", a, axis=axis, start=start, stop=stop)
        if not -a.ndim <= axis < a.ndim:
            raise ValueError(f"slice: axis {axis} is out of range for a {a.ndim}-D array")
        axis %= a.ndim
        lo, hi, _ = slice(start, stop).indices(a.shape[axis])  # numpy's clipping of start/stop
        length = max(hi - lo, 0)
        out_shape = a.shape[:axis] + (length,) + a.shape[axis + 1:]
        y = rt.empty(out_shape, a.dtype)
        if y.size:
            rows = math.prod(a.shape[:axis])
            inner = math.prod(a.shape[axis + 1:])
            pb_copy_rows(a.ptr + 4 * lo * inner, a.shape[axis] * inner, y.ptr, length * inner, rows, length * inner)
        return y

    def reshape(a, shape):
        """A view of the same WASM memory (no copy), like numpy's reshape of a contiguous array."""
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
        if shape.count(-1) > 1 or any(d < -1 for d in shape):
            raise ValueError(f"reshape: invalid shape {shape} (at most one -1, no other negative sizes)")
        if -1 in shape:
            known = math.prod(d for d in shape if d != -1)
            if known == 0 or a.size % known:
                raise ValueError(f"reshape: cannot reshape an array of {a.size} elements into shape {shape}")
            shape = tuple(a.size // known if d == -1 else d for d in shape)
        if math.prod(shape) != a.size:
            raise ValueError(f"reshape: cannot reshape an array of shape {a.shape} ({a.size} elements) into shape {shape}")
        return rt.view(a, shape)

    def transpose(a, axes=None):
        swap = a.ndim == 2 and (axes is None or tuple(int(ax) % 2 for ax in axes) == (1, 0))
        if a.dtype not in (F32, I32) or not swap:
            return fallback("transpose", a, axes=axes)
        rows, cols = a.shape
        y = rt.empty((cols, rows), a.dtype)
        if y.size:
            pb_transpose2d(a.ptr, y.ptr, rows, cols)
        return y

    return {
        "depthwise_conv2d": depthwise_conv2d,
        "depthwise_conv2d_grad_input": depthwise_conv2d_grad_input,
        "depthwise_conv2d_grad_filter": depthwise_conv2d_grad_filter,
        "global_avg_pool": global_avg_pool,
        "global_avg_pool_grad": global_avg_pool_grad,
        "max_pool2d": max_pool2d,
        "max_pool2d_grad": max_pool2d_grad,
        "avg_pool2d": avg_pool2d,
        "avg_pool2d_grad": avg_pool2d_grad,
        "batch_norm_train": batch_norm_train,
        "batch_norm_infer": batch_norm_infer,
        "batch_norm_grad": batch_norm_grad,
        "softmax_xent": softmax_xent,
        "softmax_xent_grad": softmax_xent_grad,
        "count_correct": count_correct,
        "softmax": softmax_kernel("softmax", False),
        "log_softmax": softmax_kernel("log_softmax", True),
        "adam_update": adam_update,
        "sgd_update": sgd_update,
        "concat": concat,
        "slice": slice_,
        "reshape": reshape,
        "transpose": transpose,
    }
