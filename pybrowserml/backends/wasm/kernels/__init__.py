"""The wasm backend's op table: one module per kernel family (named like its C source in csrc/),
each with ``make_kernels(rt)`` returning {kernel name: wrapper bound to the WasmRuntime rt}.

FAMILIES is the one list of those modules: a new family module is added here, and its names must be
in backends/kernel_names.py under the same family (merge_tables refuses duplicates and unknown names).
"""

from __future__ import annotations

from ...kernel_names import family_name, merge_tables
from . import conv, depthwise, elementwise, gemm, loss, norm, optim, pooling, remap, shape

# The family modules, in the order of kernel_names.KERNELS_BY_FAMILY; each one's name is its family.
FAMILIES = (gemm, conv, depthwise, pooling, norm, loss, optim, shape, elementwise, remap)


def make_table(rt) -> dict:
    """The backend's op table for one WasmRuntime: every family's kernels, merged (no name twice)."""
    return merge_tables({family_name(module): module.make_kernels(rt) for module in FAMILIES})


__all__ = ["FAMILIES", "make_table"]
