"""The one vocabulary of kernel names every backend shares (TF.js's kernel_names.ts).

A backend's op table maps some of these names to callables; the numpy reference backend maps all of
them, so any other backend's missing kernel can fall back to numpy per op. Names are grouped by the
family of kernels that implements them (one Python module, and for compiled backends one source file,
per family: ``backends/<name>/kernels/<family>.py``).
"""

from __future__ import annotations

KERNELS_BY_FAMILY: dict[str, tuple[str, ...]] = {
    "gemm": ("matmul", "dense", "grouped_dense", "grouped_dense_grad_input", "grouped_dense_grad_filter"),
    "conv": ("conv2d", "conv2d_grad_input", "conv2d_grad_filter", "conv2d_transpose"),
    "depthwise": ("depthwise_conv2d", "depthwise_conv2d_grad_input", "depthwise_conv2d_grad_filter"),
    "pooling": (
        "global_avg_pool",
        "global_avg_pool_grad",
        "max_pool2d",
        "max_pool2d_grad",
        "avg_pool2d",
        "avg_pool2d_grad",
        "upsample_nearest2d",
        "upsample_nearest2d_grad",
    ),
    "norm": ("batch_norm_train", "batch_norm_infer", "batch_norm_grad"),
    "loss": ("softmax", "log_softmax", "softmax_xent", "softmax_xent_grad", "count_correct", "confusion_matrix"),
    "optim": ("adam_update", "sgd_update"),
    "shape": ("reshape", "transpose", "broadcast_to", "concat", "slice", "add_parts", "cast", "from_uint8"),
    "elementwise": (
        "add",
        "sub",
        "mul",
        "div",
        "maximum",
        "neg",
        "exp",
        "log",
        "sqrt",
        "abs",
        "square",
        "pow_scalar",
        "scale",
        "relu",
        "relu6",
        "sigmoid",
        "tanh",
        "clip",
        "where_positive",
        "activation_grad",
        "bias_grad",
        "activation_bias_grad",
        "sum",
        "mean",
        "max",
        "sum_to_shape",
        "argmax",
    ),
    "remap": ("remap_pixels", "remap_pixels_grad"),
}

KERNEL_NAMES: frozenset[str] = frozenset(name for names in KERNELS_BY_FAMILY.values() for name in names)

FAMILY_OF: dict[str, str] = {name: family for family, names in KERNELS_BY_FAMILY.items() for name in names}

# Kernels that update their list arguments in place (optimizer steps) and return None. Their numpy
# fallback works on downloaded copies, so the results are written back into the device arrays.
INPLACE_KERNELS: dict[str, tuple[str, ...]] = {
    "adam_update": ("params", "ms", "vs"),
    "sgd_update": ("params", "velocities"),
}

# Activation codes shared by every compiled kernel (the wasm C sources' pb.h, the GPU shaders):
# FUSED_ACTIVATIONS can be an epilogue of conv/dense/depthwise; GRAD_ACTIVATIONS have a backward kernel.
FUSED_ACTIVATIONS: dict[str | None, int] = {None: 0, "linear": 0, "relu": 1, "relu6": 2}
GRAD_ACTIVATIONS: dict[str | None, int] = {**FUSED_ACTIVATIONS, "sigmoid": 3, "tanh": 4}


class DuplicateKernelError(ValueError):
    pass


def merge_tables(tables: dict[str, dict]) -> dict:
    """One op table from a backend's family tables ({family: {kernel name: callable}}).

    A name registered twice, or a name outside the vocabulary, is a bug in the backend: refused here
    rather than letting one registration silently shadow the other."""
    merged: dict = {}
    owner: dict[str, str] = {}
    for family, table in tables.items():
        for name, kernel in table.items():
            if name not in KERNEL_NAMES:
                raise KeyError(
                    f"kernel {name!r} (family {family!r}) is not in backends/kernel_names.py: "
                    "add it to KERNELS_BY_FAMILY and to the numpy backend first"
                )
            if name in merged:
                raise DuplicateKernelError(
                    f"kernel {name!r} is registered by both the {owner[name]!r} and the {family!r} family"
                )
            merged[name] = kernel
            owner[name] = family
    return merged


def family_name(module) -> str:
    """A family module's family: its own name (``backends/<backend>/kernels/<family>.py``)."""
    return module.__name__.rpartition(".")[2]


__all__ = [
    "KERNELS_BY_FAMILY",
    "KERNEL_NAMES",
    "FAMILY_OF",
    "INPLACE_KERNELS",
    "FUSED_ACTIVATIONS",
    "GRAD_ACTIVATIONS",
    "DuplicateKernelError",
    "merge_tables",
    "family_name",
]
